"""Decoding clips for the leakage protocol, once: the training and test clips of two loader datasets with their
labels, and, where a dataset has them, the region masks that follow the same windows and geometry (person regions for
blackening, privacy regions for the oracle, action regions for the share of action pixels a mask keeps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data import ClipTransform, load_manifest
from ..data.labels import PRIVACY_ATTRIBUTES
from ..data.synth import action_region, privacy_region, read_region_file, synth_region_files
from ..processing_vidanon import eval_resize_size
from ..video import video_info
from .baselines import boxes_to_masks


@dataclass
class ProtocolData:
    """Clips of an evaluation, decoded once.

    Attributes:
        train_clips (`torch.Tensor` uint8): `(N, T, C, H, W)` or `(N, k, T, C, H, W)` training clips.
        train_labels (`torch.Tensor` `(N,)`): action labels.
        train_privacy (`torch.Tensor` `(N, A)`): privacy attributes.
        test_clips (`torch.Tensor` uint8): `(M, num_clips, T, C, H, W)`.
        test_labels, test_privacy: as for training.
        num_labels: number of action classes.
        privacy_names: attribute names.
        train_regions / test_regions (`torch.Tensor` bool, *optional*): person regions shaped like the clips without
            the channel axis (`(N, [k,] T, H, W)`), for the blackening baseline.
        train_privacy_regions / test_privacy_regions (`torch.Tensor` bool, *optional*): privacy regions (the union of
            the attribute regions), shaped likewise, for the oracle baselines.
        test_action_regions (`torch.Tensor` bool, *optional*): where the action is shown on the test clips (the
            actor's moving parts, SynthPrivacy's `action` region), for the share of action pixels a mask keeps.
        test_split: the name of the split the test clips come from (reported with the results).
    """

    train_clips: torch.Tensor
    train_labels: torch.Tensor
    train_privacy: torch.Tensor
    test_clips: torch.Tensor
    test_labels: torch.Tensor
    test_privacy: torch.Tensor
    num_labels: int
    privacy_names: tuple[str, ...]
    train_regions: torch.Tensor | None = None
    test_regions: torch.Tensor | None = None
    train_privacy_regions: torch.Tensor | None = None
    test_privacy_regions: torch.Tensor | None = None
    test_action_regions: torch.Tensor | None = None
    test_split: str = "test"

    def regions(self, kind: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """`(train, test)` regions of a kind: `"person"` (blackening) or `"privacy"` (the oracle)."""
        if kind == "person":
            return self.train_regions, self.test_regions
        if kind == "privacy":
            return self.train_privacy_regions, self.test_privacy_regions
        raise ValueError(f"region kind must be 'person' or 'privacy', got {kind!r}.")


def synth_protocol_data(
    manifest,
    num_frames: int = 16,
    frame_stride: int = 2,
    test_clips_per_video: int = 5,
    test_split: str = "test",
    progress: bool = True,
) -> ProtocolData:
    """SynthPrivacy clips for the protocol, at the videos' own size: the train split for the fresh models,
    `test_split` to measure them; the actor masks serve the blackening baseline and the union of the privacy
    regions the oracle. Decoded by [`datasets_protocol_data`], as any dataset is."""
    files = synth_region_files(manifest)

    def regions_of(row, windows: np.ndarray, info) -> dict[str, torch.Tensor]:
        regions = read_region_file(files[str(row["video_id"])])
        index = torch.from_numpy(windows)
        kinds = {"person": torch.from_numpy(regions["actor"])[index],
                 "privacy": torch.from_numpy(privacy_region(regions))[index]}
        if "action" in regions:  # region files of generator version 1 have none
            kinds["action"] = torch.from_numpy(action_region(regions))[index]
        return kinds

    train, test = load_manifest(manifest, split="train"), load_manifest(manifest, split=test_split)
    image_size = _video_size(train[0]["video"])
    data = datasets_protocol_data(train, test, num_frames, frame_stride, image_size, test_clips_per_video,
                                  regions_of=regions_of, progress=progress)
    data.test_split = test_split
    return data


def _video_size(path: str) -> int:
    info = video_info(path)
    if info.height != info.width:
        raise ValueError(f"SynthPrivacy videos are square; {path} is {info.width}x{info.height}.")
    return info.height


def datasets_protocol_data(
    train_dataset,
    test_dataset,
    num_frames: int = 16,
    frame_stride: int = 2,
    image_size: int = 112,
    test_clips_per_video: int = 5,
    boxes: dict | None = None,
    backend: str = "auto",
    progress: bool = True,
    regions_of: Callable | None = None,
) -> ProtocolData:
    """Decode two loader datasets (rows with `video`, `label`, `privacy_labels`) into protocol clips: the one
    decode path of the protocol.

    Clips are deterministic (evaluation sampling: uniform windows, shorter-side resize, centre crop, by
    `data.ClipTransform`): one per training video, `test_clips_per_video` per test video. Regions follow the same
    windows and geometry: with `boxes` (`{video_id: {frame: [[x0, y0, x1, y1]]}}`, in source-frame pixels) person
    regions are rasterised at the decoded frames (the blackening baseline); `regions_of(row, windows, info)` may
    instead give `{"person": ..., "privacy": ...}` boolean masks `(k, T, H, W)` at the source size, `windows` being
    the frame indices `(k, T)` the clips were decoded from.

    Raises:
        ValueError: both `boxes` and `regions_of`; regions asked for an image row; a video with no boxes entry; a
            row without privacy labels.
    """
    if boxes is not None and regions_of is not None:
        raise ValueError("give `boxes` or `regions_of`, not both: each says where the regions come from.")
    if boxes is not None:
        def regions_of(row, windows: np.ndarray, info) -> dict[str, torch.Tensor]:
            video_id = row.get("video_id") or str(row["video"])
            if video_id not in boxes:
                raise ValueError(f"the boxes file has no entry for video {video_id!r} ({row['video']}).")
            return {"person": torch.stack([
                boxes_to_masks(boxes[video_id], len(window), info.height, info.width,
                               frame_indices=[int(i) for i in window]) for window in windows])}

    def decode(dataset, clips: int, what: str):
        transform = ClipTransform("eval", num_frames=num_frames, frame_stride=frame_stride,
                                  image_size=image_size, num_clips=clips, backend=backend)
        pixels, labels, privacy, regions = [], [], [], {}
        for row in tqdm(dataset, desc=f"decoding {what}", disable=not progress):
            clip, windows, info = transform.load_with_indices(row["video"])  # (clips, T, C, H, W) in [0, 1]
            pixels.append((clip * 255).round().to(torch.uint8))
            labels.append(int(row["label"]))
            privacy.append(torch.as_tensor(row["privacy_labels"], dtype=torch.float32))
            if regions_of is not None:
                if info is None:
                    raise ValueError(f"{row['video']} is an image: regions are drawn on video frames only.")
                for kind, masks in regions_of(row, windows, info).items():
                    regions.setdefault(kind, []).append(_clip_geometry(masks, info, image_size))
        stacked = {kind: torch.stack(masks) for kind, masks in regions.items()}
        return torch.stack(pixels), torch.tensor(labels), torch.stack(privacy), stacked

    train_clips, train_labels, train_privacy, train_regions = decode(train_dataset, 1, "train")
    test_clips, test_labels, test_privacy, test_regions = decode(test_dataset, test_clips_per_video, "test")
    if not torch.isfinite(test_privacy).all() or not torch.isfinite(train_privacy).all():
        raise ValueError("every video needs its privacy labels for the leakage protocol; some are unknown (NaN).")
    names = train_dataset.features["label"].names if hasattr(train_dataset, "features") else None

    def first_clip(regions: dict, kind: str) -> torch.Tensor | None:
        return regions[kind][:, 0] if kind in regions else None

    return ProtocolData(
        train_clips=train_clips[:, 0], train_labels=train_labels, train_privacy=train_privacy,
        test_clips=test_clips, test_labels=test_labels, test_privacy=test_privacy,
        num_labels=len(names) if names else int(max(train_labels.max(), test_labels.max())) + 1,
        privacy_names=tuple(PRIVACY_ATTRIBUTES),
        train_regions=first_clip(train_regions, "person"), test_regions=test_regions.get("person"),
        train_privacy_regions=first_clip(train_regions, "privacy"), test_privacy_regions=test_regions.get("privacy"),
        test_action_regions=test_regions.get("action"),
    )


def _clip_geometry(masks: torch.Tensor, info, image_size: int) -> torch.Tensor:
    """Boolean masks `(k, T, H, W)` at the source size resized and centre-cropped as the frames were
    (`processing_vidanon.clip_eval_transform`: shorter side to `image_size`, then the central square)."""
    if (info.height, info.width) == (image_size, image_size):
        return masks.bool()
    height, width = eval_resize_size(info.height, info.width, image_size)
    flat = masks.flatten(0, 1)[:, None].float()
    resized = F.interpolate(flat, size=(height, width), mode="nearest")[:, 0] > 0.5
    top, left = (height - image_size) // 2, (width - image_size) // 2
    cropped = resized[:, top : top + image_size, left : left + image_size]
    return cropped.reshape(*masks.shape[:2], image_size, image_size)
