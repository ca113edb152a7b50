"""The video processor: its transform, frame sampling, file decoding, and its save / `AutoVideoProcessor` round trip;
and what `save_pretrained` of a model writes beside the weights."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import torch
from transformers.models.auto.video_processing_auto import AutoVideoProcessor

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.processing_vidanon import VidAnonImageProcessor, clip_eval_transform, frames_to_clip
from transformers_vidanon.video import write_video
from transformers_vidanon.video_processing_vidanon import VidAnonVideoProcessor, uniform_frame_indices

torch.set_num_threads(1)


def tiny_config() -> VidAnonConfig:
    return VidAnonConfig(
        image_size=16, patch_size=4, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=4, intermediate_size=37, pruning_layers=[0], keep_rate=0.5, num_labels=3,
    )


@pytest.fixture(scope="module")
def video() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(7, 24, 40, 3), dtype=np.uint8)


def test_transform_is_the_evaluation_transform(video):
    processor = VidAnonVideoProcessor.for_image_size(16)
    pixel_values = processor(video, return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 7, 3, 16, 16)
    torch.testing.assert_close(pixel_values[0], clip_eval_transform(frames_to_clip(video), 16), atol=1e-6, rtol=0)
    assert 0.0 <= float(pixel_values.min()) and float(pixel_values.max()) <= 1.0  # not normalised
    batch = processor([video, video[::-1].copy()], return_tensors="pt")["pixel_values"]
    assert batch.shape == (2, 7, 3, 16, 16)
    torch.testing.assert_close(batch[0], pixel_values[0])
    # a list of frames is one video; a (T, C, H, W) tensor too
    torch.testing.assert_close(processor(list(video), return_tensors="pt")["pixel_values"], pixel_values)
    tensor = torch.from_numpy(video).permute(0, 3, 1, 2)
    torch.testing.assert_close(processor(tensor, return_tensors="pt")["pixel_values"], pixel_values)


def test_frame_sampling_and_exact_size(video):
    processor = VidAnonVideoProcessor.for_image_size(16, num_frames=4)
    sampled = processor(video, do_sample_frames=True, return_tensors="pt")["pixel_values"]
    assert uniform_frame_indices(7, 4).tolist() == [0, 1, 3, 5]
    expected = clip_eval_transform(frames_to_clip(video[[0, 1, 3, 5]]), 16)
    torch.testing.assert_close(sampled[0], expected, atol=1e-6, rtol=0)
    assert uniform_frame_indices(2, 4).tolist() == [0, 0, 1, 1]  # a short video repeats frames
    resized = processor(video, size={"height": 12, "width": 20}, do_center_crop=False, return_tensors="np")
    assert resized["pixel_values"].shape == (1, 7, 3, 12, 20) and isinstance(resized["pixel_values"], np.ndarray)
    with pytest.raises(ValueError, match="unknown argument"):
        processor(video, crop="yes")
    with pytest.raises(ValueError, match="num_frames"):
        VidAnonVideoProcessor.for_image_size(16)(video, do_sample_frames=True)


def test_file_input_is_decoded_with_pyav(video, tmp_path):
    path = write_video(tmp_path / "clip.mp4", video, fps=5)
    with av.open(str(path)) as container:
        decoded = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    processor = VidAnonVideoProcessor.for_image_size(16)
    torch.testing.assert_close(processor(str(path), return_tensors="pt")["pixel_values"],
                               processor(decoded, return_tensors="pt")["pixel_values"])


def test_save_and_auto_video_processor_round_trip(tmp_path):
    processor = VidAnonVideoProcessor.for_image_size((16, 24), num_frames=8)
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "video_preprocessor_config.json").read_text())
    assert saved["video_processor_type"] == "VidAnonVideoProcessor"
    assert saved["auto_map"] == {"AutoVideoProcessor": "video_processing_vidanon.VidAnonVideoProcessor"}
    assert (tmp_path / "video_processing_vidanon.py").is_file() and (tmp_path / "processing_vidanon.py").is_file()
    loaded = AutoVideoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is VidAnonVideoProcessor
    assert loaded.to_dict() == processor.to_dict()
    frames = np.random.default_rng(2).integers(0, 256, size=(8, 30, 40, 3), dtype=np.uint8)
    torch.testing.assert_close(loaded(frames, return_tensors="pt")["pixel_values"],
                               processor(frames, return_tensors="pt")["pixel_values"])


def test_a_checkpoint_with_only_an_image_processor_gets_the_video_processor(tmp_path):
    """Older checkpoints have `preprocessor_config.json` only: `AutoVideoProcessor` still finds VidAnon's."""
    VidAnonImageProcessor.for_image_size(16).save_pretrained(tmp_path)
    tiny_config().save_pretrained(tmp_path)
    loaded = AutoVideoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is VidAnonVideoProcessor and loaded.crop_size.height == 16


def test_save_pretrained_writes_code_processors_and_card(tmp_path):
    torch.manual_seed(0)
    model = VidAnonForPrivacyPreservingActionRecognition(tiny_config())
    model.save_pretrained(tmp_path / "plain")
    files = {p.name for p in (tmp_path / "plain").iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "preprocessor_config.json",
            "video_preprocessor_config.json", "modeling_vidanon.py", "configuration_vidanon.py", "pruning.py",
            "processing_vidanon.py", "video_processing_vidanon.py", "pipelines.py"} <= files
    video = json.loads((tmp_path / "plain" / "video_preprocessor_config.json").read_text())
    assert video["crop_size"] == {"height": 16, "width": 16} and video["num_frames"] == 4
    assert "Not evaluated" in (tmp_path / "plain" / "README.md").read_text()

    # a given processor is saved (the other kind derived from it); an existing card is kept
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "README.md").write_text("my card\n")
    processor = VidAnonImageProcessor.for_image_size(16, size={"shortest_edge": 20})
    model.save_pretrained(tmp_path / "custom", processor=processor)
    assert (tmp_path / "custom" / "README.md").read_text() == "my card\n"
    video = json.loads((tmp_path / "custom" / "video_preprocessor_config.json").read_text())
    image = json.loads((tmp_path / "custom" / "preprocessor_config.json").read_text())
    assert video["size"] == image["size"] == {"shortest_edge": 20}
    model.save_pretrained(tmp_path / "no_card", model_card=False)
    assert not (tmp_path / "no_card" / "README.md").exists()
