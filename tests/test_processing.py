"""Tests of transformers_vidanon.processing_vidanon: the saved image processor and the clip transforms."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from _video_fixtures import level_video

from transformers_vidanon.processing_vidanon import (
    ClipAugmentation,
    VidAnonImageProcessor,
    center_crop,
    clip_eval_transform,
    clip_to_frames,
    frames_to_clip,
    resize_shorter_side,
)
from transformers_vidanon.video_processing_vidanon import VidAnonVideoProcessor

torch.set_num_threads(1)


def _register_processor():
    from transformers import AutoImageProcessor

    from transformers_vidanon.configuration_vidanon import VidAnonConfig

    AutoImageProcessor.register(VidAnonConfig, VidAnonImageProcessor, exist_ok=True)
    return VidAnonConfig


# ---------------------------------------------------------------------------------------------------------------
# VidAnonImageProcessor
# ---------------------------------------------------------------------------------------------------------------


def test_processor_outputs_unnormalised_frames_in_unit_range():
    frames = [np.random.default_rng(t).integers(0, 256, (32, 32, 3), dtype=np.uint8) for t in range(4)]
    processor = VidAnonImageProcessor.for_image_size(32)
    pixel_values = processor(frames, return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 4, 3, 32, 32)
    # the frames are already 32x32: resize and crop are identities, so only the 1/255 rescale remains
    expected = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(pixel_values[0], expected, atol=1e-6, rtol=0)


def test_processor_resizes_the_shorter_side_and_centre_crops():
    processor = VidAnonImageProcessor.for_image_size(16)
    frames = [np.zeros((32, 64, 3), dtype=np.uint8)] * 2
    for frame in frames:
        frame[:, 24:40] = 255  # a bright band in the middle third of the width
    pixel_values = processor(frames, return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 2, 3, 16, 16)
    # 32x64 -> 16x32 (band at columns 12..20) -> centre 16x16 from column 8: the band is at columns 4..12
    row = pixel_values[0, 0, 0, 8]
    assert row[:3].max() < 0.05 and row[13:].max() < 0.05 and row[5:11].min() > 0.95


def test_processor_round_trips_through_auto_image_processor(tmp_path):
    from transformers import AutoImageProcessor

    _register_processor()
    VidAnonImageProcessor.for_image_size((32, 48)).save_pretrained(tmp_path)
    loaded = AutoImageProcessor.from_pretrained(tmp_path)
    assert type(loaded) is VidAnonImageProcessor
    assert loaded.do_normalize is False
    assert loaded.crop_size == {"height": 32, "width": 48}
    assert loaded.size == {"shortest_edge": 32}


def test_processor_loads_from_saved_code_alone(tmp_path):
    # processing_vidanon imports only transformers, torch and numpy, so it can travel with a checkpoint and load
    # where the package is not imported at all (checked in a fresh interpreter)
    import subprocess
    import sys

    previous = VidAnonImageProcessor._auto_class
    try:
        VidAnonImageProcessor.register_for_auto_class("AutoImageProcessor")
        VidAnonImageProcessor.for_image_size(24).save_pretrained(tmp_path / "processor")
    finally:
        VidAnonImageProcessor._auto_class = previous
    assert (tmp_path / "processor" / "processing_vidanon.py").is_file()
    script = (
        "import sys, numpy as np\n"
        "from transformers import AutoImageProcessor\n"
        "p = AutoImageProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "x = p([np.zeros((30, 40, 3), dtype=np.uint8)] * 2, return_tensors='pt')['pixel_values']\n"
        "assert not any(m.startswith('transformers_vidanon') for m in sys.modules)\n"
        "print(type(p).__module__.split('.')[0], type(p).__name__, tuple(x.shape))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "processor")],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "transformers_modules VidAnonImageProcessor (1, 2, 3, 24, 24)" in result.stdout


def test_processor_from_model_config_follows_image_size():
    config_class = _register_processor()
    processor = VidAnonImageProcessor.from_model_config(
        config_class(image_size=32, patch_size=8, num_frames=4)
    )
    assert processor.crop_size == {"height": 32, "width": 32}


def test_video_classification_pipeline_matches_a_direct_forward(tmp_path):
    from transformers import pipeline

    from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition

    _register_processor()
    torch.manual_seed(0)
    labels = ["wave", "jump", "run"]
    config = VidAnonConfig(
        image_size=32,
        patch_size=8,
        num_frames=4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=3,
        pruning_layers=[1],
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
    )
    model = VidAnonForPrivacyPreservingActionRecognition(config).eval()
    model.save_pretrained(tmp_path / "model")
    processor = VidAnonImageProcessor.from_model_config(config)
    processor.save_pretrained(tmp_path / "model")
    video = level_video(tmp_path / "clip.mp4", num_frames=12, height=40, width=48)

    classifier = pipeline("video-classification", model=str(tmp_path / "model"))
    assert isinstance(classifier.image_processor, VidAnonImageProcessor)
    assert isinstance(classifier.video_processor, VidAnonVideoProcessor)  # preferred: no deprecated path
    predictions = classifier(str(video), top_k=3)
    assert sorted(p["label"] for p in predictions) == sorted(labels)

    # the pipeline samples num_frames frames uniformly over the video (0, 3, 6, 9 of 12); the same frames through
    # the video processor and the model
    from transformers_vidanon.video import read_clip

    frames = read_clip(video, np.array([0, 3, 6, 9]), backend="pyav")
    video_processor = VidAnonVideoProcessor.from_pretrained(tmp_path / "model")
    with torch.no_grad():
        probabilities = model(**video_processor(frames, return_tensors="pt")).logits.softmax(-1)[0]
    for prediction in predictions:
        assert prediction["score"] == pytest.approx(
            probabilities[labels.index(prediction["label"])].item(), abs=1e-5
        )


# ---------------------------------------------------------------------------------------------------------------
# Layout conversions and evaluation transform
# ---------------------------------------------------------------------------------------------------------------


def test_frames_to_clip_and_back_is_exact():
    frames = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    clip = frames_to_clip(frames)
    assert clip.shape == (3, 3, 5, 7) and clip.dtype == torch.float32
    assert clip.min() >= 0 and clip.max() <= 1
    np.testing.assert_array_equal(clip_to_frames(clip), frames)
    with pytest.raises(ValueError, match="uint8"):
        frames_to_clip(frames.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        frames_to_clip(frames[..., :2])


def test_clip_to_frames_clamps_out_of_range_values():
    clip = torch.tensor([-0.5, 0.5, 1.5]).view(1, 1, 1, 3).expand(2, 3, 1, 3)
    np.testing.assert_array_equal(clip_to_frames(clip)[0, 0, :, 0], [0, 128, 255])


def test_eval_transform_resizes_shorter_side_then_crops_the_centre():
    clip = torch.rand(2, 3, 32, 48)
    out = clip_eval_transform(clip, 32)  # shorter side already 32: only the centre crop acts
    torch.testing.assert_close(out, clip[..., :, 8:40])
    assert clip_eval_transform(torch.rand(2, 3, 64, 96), 32).shape == (2, 3, 32, 32)
    assert clip_eval_transform(torch.rand(2, 3, 64, 96), 28, resize_to=32).shape == (2, 3, 28, 28)
    assert clip_eval_transform(torch.rand(2, 3, 64, 64), (16, 32)).shape == (2, 3, 16, 32)
    assert resize_shorter_side(torch.rand(1, 3, 40, 20), 10).shape == (1, 3, 20, 10)
    with pytest.raises(ValueError, match="cannot crop"):
        center_crop(torch.rand(1, 3, 8, 8), 9)


def test_eval_transform_agrees_with_the_image_processor():
    frames = np.random.default_rng(0).integers(0, 256, (2, 48, 64, 3), dtype=np.uint8)
    frames = np.asarray(
        torch.nn.functional.avg_pool2d(torch.from_numpy(frames).permute(0, 3, 1, 2).float(), 3, 1, 1)
        .permute(0, 2, 3, 1)
        .round()
        .byte()
    )  # smooth: interpolation details matter less
    by_processor = VidAnonImageProcessor.for_image_size(32)(list(frames), return_tensors="pt")[
        "pixel_values"
    ][0]
    by_transform = clip_eval_transform(frames_to_clip(frames), 32)
    assert (by_processor - by_transform).abs().mean() < 0.02


# ---------------------------------------------------------------------------------------------------------------
# ClipAugmentation
# ---------------------------------------------------------------------------------------------------------------


def _coordinate_clip(num_frames: int = 6, height: int = 40, width: int = 56) -> torch.Tensor:
    """Channel 0 = x / W, channel 1 = y / H, channel 2 = t / T: where each output pixel came from."""
    y, x = torch.meshgrid(torch.arange(height) / height, torch.arange(width) / width, indexing="ij")
    frames = [torch.stack([x, y, torch.full_like(x, t / num_frames)]) for t in range(num_frames)]
    return torch.stack(frames)


def test_augmentation_crops_the_same_box_from_every_frame():
    clip = _coordinate_clip()
    augment = ClipAugmentation(
        24, flip_prob=0.0, brightness=0, contrast=0, saturation=0, grayscale_prob=0, erasing_prob=0
    )
    generator = torch.Generator().manual_seed(5)
    params = augment.sample(40, 56, generator)
    out = augment.apply(clip, params)
    assert out.shape == (6, 3, 24, 24)
    for t in range(6):
        torch.testing.assert_close(out[t, :2], out[0, :2], atol=0, rtol=0)  # same source coordinates
        torch.testing.assert_close(out[t, 2], torch.full((24, 24), t / 6))  # frames stay in their order
    top, left, height, width = params.crop
    assert 0.6 * 40 * 56 * 0.95 <= height * width <= 40 * 56
    # the output spans the crop box: its x range starts near left / W and ends near (left + width) / W
    assert out[0, 0].min().item() == pytest.approx(left / 56, abs=1.0 / 56 + 0.02)
    assert out[0, 0].max().item() == pytest.approx((left + width - 1) / 56, abs=1.0 / 56 + 0.02)
    assert out[0, 1].min().item() == pytest.approx(top / 40, abs=1.0 / 40 + 0.02)


def test_augmentation_shares_every_random_choice_across_frames():
    frame = torch.rand(1, 3, 36, 48)
    clip = frame.expand(8, -1, -1, -1).contiguous()
    augment = ClipAugmentation(32, flip_prob=0.5, grayscale_prob=0.5, erasing_prob=1.0)
    for seed in range(5):
        out = augment(clip, generator=torch.Generator().manual_seed(seed))
        assert out.shape == (8, 3, 32, 32)
        assert out.min() >= 0 and out.max() <= 1
        for t in range(1, 8):
            torch.testing.assert_close(out[t], out[0], atol=0, rtol=0)


def test_augmentation_is_deterministic_for_a_seed_and_varies_across_seeds():
    clip = torch.rand(4, 3, 36, 48)
    augment = ClipAugmentation(32)
    first = augment(clip, generator=torch.Generator().manual_seed(1))
    again = augment(clip, generator=torch.Generator().manual_seed(1))
    other = augment(clip, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    assert not torch.equal(first, other)


def test_augmentation_flip_mirrors_the_width():
    clip = _coordinate_clip(2, 32, 32)
    augment = ClipAugmentation(
        32,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_prob=1.0,
        brightness=0,
        contrast=0,
        saturation=0,
        grayscale_prob=0,
        erasing_prob=0,
    )
    out = augment(clip, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, clip.flip(-1), atol=0, rtol=0)


def test_augmentation_colour_jitter_follows_its_factors():
    clip = torch.rand(3, 3, 16, 16) * 0.5
    augment = ClipAugmentation(
        16,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_prob=0,
        brightness=0.4,
        contrast=0,
        saturation=0,
        grayscale_prob=0,
        erasing_prob=0,
    )
    generator = torch.Generator().manual_seed(3)
    params = augment.sample(16, 16, generator)
    assert params.crop == (0, 0, 16, 16) and 0.6 <= params.brightness <= 1.4
    torch.testing.assert_close(augment.apply(clip, params), (clip * params.brightness).clamp(0, 1))


def test_augmentation_grayscale_and_constant_erasing():
    clip = torch.rand(3, 3, 20, 20)
    augment = ClipAugmentation(
        20,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        flip_prob=0,
        brightness=0,
        contrast=0,
        saturation=0,
        grayscale_prob=1.0,
        erasing_prob=1.0,
        erasing_value=0.25,
    )
    params = augment.sample(20, 20, torch.Generator().manual_seed(4))
    out = augment.apply(clip, params)
    assert params.grayscale and params.erase is not None
    torch.testing.assert_close(out[:, 0], out[:, 1], atol=0, rtol=0)
    top, left, height, width = params.erase
    assert (out[:, :, top : top + height, left : left + width] == 0.25).all()
    outside = torch.ones(20, 20, dtype=torch.bool)
    outside[top : top + height, left : left + width] = False
    luma = 0.299 * clip[:, 0] + 0.587 * clip[:, 1] + 0.114 * clip[:, 2]
    torch.testing.assert_close(out[:, 0][:, outside], luma[:, outside])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": (0.9, 0.5)}, "scale"),
        ({"scale": (0.5, 1.5)}, "exceed"),
        ({"flip_prob": 1.5}, "flip_prob"),
        ({"brightness": -0.1}, "brightness"),
        ({"erasing_value": "noise"}, "erasing_value"),
    ],
)
def test_augmentation_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClipAugmentation(16, **kwargs)


def test_augmentation_rejects_non_clips():
    with pytest.raises(ValueError, match=r"\(T, C, H, W\)"):
        ClipAugmentation(16)(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match="float"):
        ClipAugmentation(16)(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))


def test_one_geometry_for_frames_and_for_masks_drawn_at_the_source_size():
    from transformers_vidanon.processing_vidanon import (
        clip_eval_transform,
        covering_size,
        eval_resize_size,
        shorter_side_size,
    )

    assert shorter_side_size(240, 320, 112) == (112, 149) and shorter_side_size(320, 240, 112) == (149, 112)
    assert covering_size(112, 149, 112, 160) == (121, 160)  # a wide crop scales the frame up to cover it
    for (height, width), size in (((240, 320), 112), ((90, 40), 32), ((64, 64), (32, 48))):
        # a frame whose pixels hold their own column index shows where the crop came from
        columns = torch.arange(width, dtype=torch.float32).expand(1, 3, height, width) / width
        resized = eval_resize_size(height, width, size)
        crop = clip_eval_transform(columns, size)
        crop_h, crop_w = (size, size) if isinstance(size, int) else size
        assert crop.shape[-2:] == (crop_h, crop_w)
        left = (resized[1] - crop_w) // 2
        expected = (torch.arange(crop_w) + left + 0.5) / resized[1] - 0.5 / width  # bilinear centre of each column
        torch.testing.assert_close(crop[0, 0, crop_h // 2], expected, atol=0.02, rtol=0)
