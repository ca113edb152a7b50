"""Tests of the baseline anonymizers and the random-pruning control."""

from __future__ import annotations

import json

import pytest
import torch

from transformers_vidanon.evaluation.baselines import (
    BASELINES,
    boxes_to_masks,
    downsample,
    gaussian_kernel1d,
    get_baseline,
    load_boxes,
    random_pruning,
    regions_for_videos,
    strong_blur,
    strongblur_sigma,
)
from transformers_vidanon.pruning import num_tubelets_to_keep


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _video(seed: int = 0, shape=(2, 4, 3, 32, 32)) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _high_frequency_energy(video: torch.Tensor) -> float:
    dx = video[..., :, 1:] - video[..., :, :-1]
    dy = video[..., 1:, :] - video[..., :-1, :]
    return float(dx.pow(2).mean() + dy.pow(2).mean())


def test_registry_names_and_shapes():
    assert set(BASELINES) == {"raw", "down2", "down4", "blackening", "strongblur"}
    video = _video()
    regions = torch.zeros(2, 4, 32, 32, dtype=torch.bool)
    for name in BASELINES:
        out = get_baseline(name)(video, regions=regions)
        assert out.shape == video.shape and out.dtype == video.dtype
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert get_baseline("raw")(video) is video
    with pytest.raises(ValueError, match="down8"):
        get_baseline("down8")
    with pytest.raises(ValueError, match="sigma"):
        get_baseline("down2", sigma=3.0)


def test_down2_of_block_constant_video_is_identity():
    small = _video(1, (2, 4, 3, 8, 8))
    blocky = small.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)  # 2x2-block constant, 16x16
    torch.testing.assert_close(get_baseline("down2")(blocky), blocky)
    # but not of a 2x2-block-constant video seen by down4: blocks of 4 are averaged
    down4 = get_baseline("down4")(blocky)
    assert not torch.allclose(down4, blocky)
    expected = blocky[..., 0:4, 0:4].mean(dim=(-1, -2))
    torch.testing.assert_close(down4[..., 1, 2], expected)


def test_downsample_area_average_and_bilinear_option():
    video = _video(2, (1, 2, 3, 16, 16))
    nearest = downsample(video, 4)
    torch.testing.assert_close(nearest[..., 0, 0], video[..., 0:4, 0:4].mean(dim=(-1, -2)))
    bilinear = get_baseline("down4", upsample_mode="bilinear")(video)
    assert _high_frequency_energy(bilinear) < _high_frequency_energy(nearest) < _high_frequency_energy(video)
    with pytest.raises(ValueError, match="upsample_mode"):
        downsample(video, 2, upsample_mode="cubic")


def test_blackening_zeroes_exactly_the_region():
    video = _video(3) * 0.5 + 0.25  # no pixel is 0 before blackening
    regions = torch.zeros(2, 4, 32, 32, dtype=torch.bool)
    regions[0, 1, 5:12, 20:30] = True
    regions[1, :, 0:3, 0:3] = True
    out = get_baseline("blackening")(video, regions=regions)
    inside = regions[:, :, None].expand_as(video)
    assert torch.all(out[inside] == 0)
    torch.testing.assert_close(out[~inside], video[~inside])
    with pytest.raises(ValueError, match="regions"):
        get_baseline("blackening")(video)
    with pytest.raises(ValueError, match=r"\(B, T, H, W\)"):
        get_baseline("blackening")(video, regions=regions[:, :2])


def test_boxes_to_masks_known_box_and_json_keys():
    masks = boxes_to_masks({"1": [[2, 3, 5, 7]], 3: [[0.5, 0.5, 1.2, 1.0]]}, num_frames=4, height=8, width=10)
    assert masks.shape == (4, 8, 10) and masks.dtype == torch.bool
    expected = torch.zeros(8, 10, dtype=torch.bool)
    expected[3:7, 2:5] = True  # rows y0..y1-1, columns x0..x1-1
    assert torch.equal(masks[1], expected)
    assert not masks[0].any() and not masks[2].any()  # frames without an entry have no region
    assert (
        masks[3].sum() == 2 and masks[3, 0, 0] and masks[3, 0, 1]
    )  # fractional box covers the pixels it touches
    # clip frames sampled from a longer, larger video: frame indices and rescaling
    clip = boxes_to_masks({"10": [[4, 6, 10, 14]]}, 2, 8, 10, frame_indices=[0, 10], source_size=(16, 20))
    assert not clip[0].any()
    expected = torch.zeros(8, 10, dtype=torch.bool)
    expected[3:7, 2:5] = True
    assert torch.equal(clip[1], expected)
    with pytest.raises(ValueError, match="x0"):
        boxes_to_masks({0: [[1, 2, 3]]}, 1, 4, 4)


def test_regions_for_videos_names_the_missing_video(tmp_path):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"a/v1.mp4": {"0": [[0, 0, 2, 2]]}, "a/v2.mp4": {}}))
    boxes = load_boxes(path)
    regions = regions_for_videos(boxes, ["a/v1.mp4", "a/v2.mp4"], num_frames=2, height=4, width=4)
    assert regions.shape == (2, 2, 4, 4)
    assert int(regions[0, 0].sum()) == 4 and not regions[0, 1].any() and not regions[1].any()
    with pytest.raises(ValueError, match="b/missing.mp4"):
        regions_for_videos(boxes, ["a/v1.mp4", "b/missing.mp4"], 2, 4, 4)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_boxes(tmp_path / "nope.json")


def test_strongblur_removes_high_frequencies_and_keeps_the_mean():
    video = _video(4, (1, 2, 3, 48, 48))
    blurred = get_baseline("strongblur")(video)
    assert _high_frequency_energy(blurred) < 0.01 * _high_frequency_energy(video)
    torch.testing.assert_close(blurred.mean(dim=(-1, -2)), video.mean(dim=(-1, -2)), atol=0.01, rtol=0)
    constant = torch.full((1, 1, 3, 20, 20), 0.3)
    torch.testing.assert_close(strong_blur(constant), constant)
    # the default width scales with the frame and the kernel spans +-3 sigma
    assert strongblur_sigma(112, 112) == pytest.approx(112 / 12)
    assert strongblur_sigma(224, 320) == pytest.approx(224 / 12)
    kernel = gaussian_kernel1d(strongblur_sigma(112, 112))
    assert kernel.numel() == 57 and float(kernel.sum()) == pytest.approx(1.0)
    # a stronger sigma blurs more
    weak = strong_blur(video, sigma=1.0)
    assert _high_frequency_energy(blurred) < _high_frequency_energy(weak) < _high_frequency_energy(video)


def test_random_pruning_keeps_exactly_the_requested_count():
    video = _video(5, (3, 8, 3, 32, 32)) * 0.5 + 0.25
    out = random_pruning(
        video, num_keep=11, tubelet_size=2, patch_size=8, generator=torch.Generator().manual_seed(0)
    )
    assert out.keep_mask.shape == (3, 4, 4, 4)
    assert out.keep_mask.flatten(1).sum(1).tolist() == [11, 11, 11]
    # pixels of kept tubelets are untouched, the others are zero
    pixel_mask = out.keep_mask.repeat_interleave(2, 1).repeat_interleave(8, 2).repeat_interleave(8, 3)
    pixel_mask = pixel_mask[:, :, None].expand_as(video).bool()
    torch.testing.assert_close(out.anonymized_pixel_values[pixel_mask], video[pixel_mask])
    assert torch.all(out.anonymized_pixel_values[~pixel_mask] == 0)
    # one count per video (e.g. VidAnon's own counts), a keep fraction, and VidAnon's schedule
    per_video = random_pruning(video, num_keep=torch.tensor([5, 64, 0]), patch_size=8)
    assert per_video.keep_mask.flatten(1).sum(1).tolist() == [5, 64, 0]
    fraction = random_pruning(video, keep_fraction=0.73, patch_size=8)
    assert fraction.keep_mask.flatten(1).sum(1).tolist() == [num_tubelets_to_keep(64, 0.73)] * 3


def test_random_pruning_schedule_matches_the_reference_counts_and_is_reproducible():
    video = torch.zeros(1, 16, 1, 224, 224)
    out = random_pruning(
        video, keep_rate_schedule=[0.9, 0.9, 0.9], generator=torch.Generator().manual_seed(1)
    )
    assert out.keep_mask.shape == (1, 8, 14, 14)
    assert int(out.keep_mask.sum()) == 1146  # 1568 -> 1412 -> 1272 -> 1146, as VidAnon keeps
    again = random_pruning(
        video, keep_rate_schedule=[0.9, 0.9, 0.9], generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(out.keep_mask, again.keep_mask)
    other = random_pruning(
        video, keep_rate_schedule=[0.9, 0.9, 0.9], generator=torch.Generator().manual_seed(2)
    )
    assert not torch.equal(out.keep_mask, other.keep_mask)
    with pytest.raises(ValueError, match="exactly one"):
        random_pruning(video, num_keep=3, keep_fraction=0.5)
    with pytest.raises(ValueError, match="tubelets"):
        random_pruning(torch.zeros(1, 3, 1, 32, 32), num_keep=1)


@pytest.mark.parametrize("fuse", [True, False])
def test_random_pruning_schedule_keeps_as_many_tubelets_as_the_model(fuse):
    from transformers_vidanon.configuration_vidanon import VidAnonConfig
    from transformers_vidanon.modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition

    torch.manual_seed(0)
    config = VidAnonConfig(
        image_size=32,
        patch_size=8,
        num_frames=8,
        tubelet_size=2,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        pruning_layers=[0, 1, 2],
        keep_rate=[0.7, 0.8, 0.6],
        fuse_pruned_tokens=fuse,
        num_labels=3,
    )
    model = VidAnonForPrivacyPreservingActionRecognition(config).eval()
    video = _video(6, (2, 8, 3, 32, 32))
    model_kept = model.anonymize(video).keep_mask.flatten(1).sum(1)
    control = random_pruning(
        video, keep_rate_schedule=config.keep_rates(), fuse_pruned_tokens=fuse, tubelet_size=2, patch_size=8
    )
    assert control.keep_mask.shape == (2, *config.tubelet_grid)
    torch.testing.assert_close(control.keep_mask.flatten(1).sum(1), model_kept)


# --------------------------------------------------------------------------------------------------
# Oracle pruning
# --------------------------------------------------------------------------------------------------


def test_oracle_prunes_exactly_the_tubelets_touching_a_privacy_pixel():
    from transformers_vidanon.evaluation.baselines import oracle_keep_mask, oracle_pruning

    regions = torch.zeros(1, 4, 8, 8, dtype=torch.bool)  # 4 frames, 8 x 8 pixels; grid 4 x 4 of 2 x 2 pixels
    regions[0, 0, 0, 0] = True  # one pixel of tubelet (t=0, y=0, x=0), frame 0
    regions[0, 3, 5, 7] = True  # one pixel of tubelet (t=1, y=2, x=3), frame 3
    keep = oracle_keep_mask(regions, tubelet_size=2, grid_size=4)
    assert keep.shape == (1, 2, 4, 4)
    expected = torch.ones(1, 2, 4, 4)
    expected[0, 0, 0, 0] = 0
    expected[0, 1, 2, 3] = 0
    torch.testing.assert_close(keep, expected)

    # tube: the union over time, one spatial mask for every time slot
    tube = oracle_keep_mask(regions, tubelet_size=2, grid_size=4, tube=True)
    expected_tube = torch.ones(1, 2, 4, 4)
    expected_tube[0, :, 0, 0] = 0
    expected_tube[0, :, 2, 3] = 0
    torch.testing.assert_close(tube, expected_tube)

    video = torch.rand(1, 4, 3, 8, 8) * 0.9 + 0.1
    out = oracle_pruning(video, regions, tubelet_size=2, grid_size=4)
    assert bool((out.anonymized_pixel_values[0, 0:2, :, 0:2, 0:2] == 0).all())
    assert bool((out.anonymized_pixel_values[0, 2:4, :, 4:6, 6:8] == 0).all())
    # everything else untouched: exactly the video times the upsampled mask
    pixel_mask = out.keep_mask.repeat_interleave(2, 1).repeat_interleave(2, 2).repeat_interleave(2, 3)
    assert int((pixel_mask == 0).sum()) == 2 * 2 * 2 * 2
    torch.testing.assert_close(out.anonymized_pixel_values, video * pixel_mask[:, :, None])


def test_oracle_refuses_missing_or_misshapen_regions():
    from transformers_vidanon.evaluation.baselines import oracle_keep_mask, oracle_pruning

    with pytest.raises(ValueError, match="privacy regions"):
        oracle_pruning(torch.rand(1, 4, 3, 8, 8), None)
    with pytest.raises(ValueError, match="do not divide"):
        oracle_keep_mask(torch.zeros(1, 4, 8, 8, dtype=torch.bool), tubelet_size=3, grid_size=4)
    with pytest.raises(ValueError, match=r"\(B, T, H, W\)"):
        oracle_pruning(torch.rand(1, 4, 3, 8, 8), torch.zeros(1, 4, 8, 9, dtype=torch.bool))
