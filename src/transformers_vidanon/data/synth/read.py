"""Reading the SynthPrivacy benchmark: its manifest, the region masks of its videos, and its clips decoded once
into memory ([`ClipSet`]) for the many fresh models of the evaluation protocol."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ...video import read_clip, uniform_clip_indices
from ..labels import PRIVACY_ATTRIBUTES, read_jsonl
from ..splits import SPLITS
from .render import SYNTH_ACTIONS, SYNTH_WORLDS, check_world, world_actions

MANIFEST_NAME = "manifest.jsonl"
CONFIG_NAME = "synth_config.json"


def _manifest_path(manifest: str | os.PathLike) -> Path:
    path = Path(manifest)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"SynthPrivacy manifest not found: {path}")
    return path


def read_synth_manifest(manifest: str | os.PathLike, split: str | None = None) -> list[dict[str, Any]]:
    """Read the rows of a SynthPrivacy manifest.

    Args:
        manifest (`str` or `os.PathLike`): `manifest.jsonl`, or the folder holding it.
        split (`str`, *optional*): keep only the rows of this split (`"train"`, `"val"` or `"test"`).

    Returns:
        `list[dict]`: one dict per video, in manifest order (keys listed in the module docstring).

    Raises:
        FileNotFoundError: no manifest at that path.
        ValueError: an unknown `split`, or a line that is not a valid manifest row (file and line named).
    """
    path = _manifest_path(manifest)
    if split is not None and split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS} or None, got {split!r}.")
    required = ("video_id", "path", "label", "split") + PRIVACY_ATTRIBUTES
    rows = []
    for number, row in read_jsonl(path, with_line_numbers=True):
        missing = [key for key in required if key not in row]
        if missing:
            raise ValueError(f"{path}, line {number}: missing the keys {missing}.")
        if split is None or row["split"] == split:
            rows.append(row)
    return rows


def read_synth_config(manifest: str | os.PathLike) -> dict[str, Any]:
    """The generator settings of a benchmark (`synth_config.json` beside its manifest); `{}` where there is none.

    Args:
        manifest (`str` or `os.PathLike`): `manifest.jsonl`, or the folder holding it.
    """
    path = Path(manifest)
    folder = path if path.is_dir() or not path.suffix else path.parent
    config = folder / CONFIG_NAME
    return json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}


def synth_world(manifest: str | os.PathLike) -> int:
    """The world of a benchmark: `world` of its settings, 1 where they predate worlds (or are missing)."""
    return int(read_synth_config(manifest).get("world", 1))


def check_synth_world(manifest: str | os.PathLike, world: int) -> None:
    """Refuse to reuse a benchmark of another world than `world`.

    Raises:
        ValueError: an unknown `world`, or a benchmark of another world (both named).
    """
    world = check_world(world)
    found = synth_world(manifest)
    if found != world:
        raise ValueError(
            f"{manifest} holds SynthPrivacy world {found}, not the `world` {world} asked for: choose another folder "
            "or remove this one (generating again with overwrite=True / --overwrite replaces it)."
        )


def synth_action_names(manifest: str | os.PathLike) -> tuple[str, ...]:
    """The class names of a benchmark, in label order: `actions` of its settings; without them, the actions of the
    world whose names the manifest's (label, action) pairs match (world 1 when it names no action), else those
    pairs."""
    names = read_synth_config(manifest).get("actions")
    if names:
        return tuple(str(name) for name in names)
    pairs = {int(row["label"]): str(row["action"]) for row in read_synth_manifest(manifest) if "action" in row}
    for world in SYNTH_WORLDS:
        actions = world_actions(world)
        if all(0 <= label < len(actions) and actions[label] == name for label, name in pairs.items()):
            return actions
    return tuple(pairs.get(label, str(label)) for label in range(max(pairs) + 1))


def synth_region_files(manifest: str | os.PathLike) -> dict[str, Path]:
    """The region file of every video of a manifest, keyed by video id (the manifest read once)."""
    path = _manifest_path(manifest)
    return {
        str(row["video_id"]): path.parent / row.get("regions", f"regions/{row['video_id']}.npz")
        for row in read_synth_manifest(path)
    }


def read_region_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The region masks of one `regions/<video_id>.npz` file: boolean `(T, H, W)` arrays keyed by `REGION_NAMES`
    (files of generator version 1 have no `action` key).

    Raises:
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SynthPrivacy region file not found: {path}")
    with np.load(path) as archive:
        return {name: archive[name].astype(bool) for name in archive.files}


def privacy_region(regions: Mapping[str, np.ndarray]) -> np.ndarray:
    """Where any privacy cue is shown: the union of the five attribute regions, boolean `(T, H, W)`."""
    return np.logical_or.reduce([np.asarray(regions[name], dtype=bool) for name in PRIVACY_ATTRIBUTES])


def action_region(regions: Mapping[str, np.ndarray]) -> np.ndarray:
    """Where the action is shown: the actor's moving parts (the package docstring's rule), boolean `(T, H, W)`.

    Raises:
        ValueError: regions without the `action` key (region files of generator version 1).
    """
    if "action" not in regions:
        raise ValueError(
            f"these regions have no 'action' key (they have {sorted(regions)}): region files written before "
            "generator version 2 lack it; generate the benchmark again to get it."
        )
    return np.asarray(regions["action"], dtype=bool)


def read_synth_regions(manifest: str | os.PathLike, video_id: str) -> dict[str, np.ndarray]:
    """Load the ground-truth region masks of one video (for many videos, read [`synth_region_files`] once and
    [`read_region_file`] each).

    Args:
        manifest (`str` or `os.PathLike`): `manifest.jsonl`, or the folder holding it.
        video_id (`str`): the video's id.

    Returns:
        `dict[str, np.ndarray]`: boolean arrays of shape `(T, H, W)`, keyed by `REGION_NAMES`.

    Raises:
        FileNotFoundError: no manifest, or no region file for that video.
        KeyError: `video_id` is not in the manifest.
    """
    files = synth_region_files(manifest)
    if video_id not in files:
        raise KeyError(f"video_id {video_id!r} is not in {_manifest_path(manifest)}")
    return read_region_file(files[video_id])


@dataclass
class ClipSet:
    """Decoded clips of one split, kept in memory as uint8 for repeated fresh-model training.

    Attributes:
        clips (`torch.Tensor`, uint8): `(N, T, C, H, W)` when one clip per video was sampled, else
            `(N, num_clips, T, C, H, W)`. Divide by 255 for the [0, 1] range of the contract.
        labels (`torch.Tensor` of shape `(N,)`, int64): action labels.
        privacy_labels (`torch.Tensor` of shape `(N, 5)`, float32): multi-hot privacy attributes.
        video_ids (`list[str]`): one id per video.
        frame_indices (`torch.Tensor` of shape `(N, num_clips, T)`, int64): the decoded frame indices
            (index the region masks of `read_synth_regions` with them).
        action_names (`tuple[str, ...]`): class names, indexed by label (the benchmark's own: its world's).
        privacy_names (`tuple[str, ...]`): attribute names, in the order of `privacy_labels`' columns.
    """

    clips: torch.Tensor
    labels: torch.Tensor
    privacy_labels: torch.Tensor
    video_ids: list[str]
    frame_indices: torch.Tensor
    action_names: tuple[str, ...] = SYNTH_ACTIONS
    privacy_names: tuple[str, ...] = PRIVACY_ATTRIBUTES

    def __len__(self) -> int:
        return len(self.video_ids)

    @property
    def num_clips(self) -> int:
        """Number of temporal clips per video."""
        return int(self.frame_indices.shape[1])

    def multi_clip(self) -> torch.Tensor:
        """The clips with an explicit clip axis: `(N, num_clips, T, C, H, W)` uint8 (a view)."""
        return self.clips if self.clips.dim() == 6 else self.clips.unsqueeze(1)

    def subset(self, indices: Sequence[int] | torch.Tensor) -> ClipSet:
        """The videos at `indices`, as a new `ClipSet` (tensors indexed, not copied where possible)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return ClipSet(
            clips=self.clips[index],
            labels=self.labels[index],
            privacy_labels=self.privacy_labels[index],
            video_ids=[self.video_ids[i] for i in index.tolist()],
            frame_indices=self.frame_indices[index],
            action_names=self.action_names,
            privacy_names=self.privacy_names,
        )


def load_synth_clips(
    manifest: str | os.PathLike,
    split: str | None,
    num_frames: int = 16,
    frame_stride: int = 2,
    num_clips: int = 1,
    progress: bool = True,
) -> ClipSet:
    """Decode every video of a split once into uint8 clip tensors.

    Clips are placed by `video.uniform_clip_indices` (one clip: centred; several: spread evenly
    from the first to the last frame), and decoded with `video.read_clip` (decord when installed).

    Args:
        manifest (`str` or `os.PathLike`): `manifest.jsonl`, or the folder holding it.
        split (`str` or `None`): `"train"`, `"val"`, `"test"`, or `None` for every video.
        num_frames (`int`, *optional*, defaults to 16): frames per clip T.
        frame_stride (`int`, *optional*, defaults to 2): distance between sampled frames.
        num_clips (`int`, *optional*, defaults to 1): clips per video (5 for the multi-clip protocol).
        progress (`bool`, *optional*, defaults to `True`): show a tqdm bar.

    Returns:
        `ClipSet`: clips `(N, T, C, H, W)` for one clip, `(N, num_clips, T, C, H, W)` for more.

    Raises:
        FileNotFoundError: no manifest, or a missing video (named).
        ValueError: an unknown split, a split with no video, or bad sampling arguments.
    """
    path = _manifest_path(manifest)
    rows = read_synth_manifest(path, split)
    if not rows:
        raise ValueError(f"{path} has no video in split {split!r}.")
    if int(num_clips) < 1:
        raise ValueError(f"`num_clips` must be >= 1, got {num_clips}.")
    all_clips, all_indices = [], []
    for row in tqdm(rows, desc=f"decoding {split or 'all'}", unit="video", disable=not progress):
        video_path = path.parent / row["path"]
        if not video_path.is_file():
            raise FileNotFoundError(f"SynthPrivacy video not found: {video_path} (listed in {path})")
        indices = uniform_clip_indices(int(row["num_frames"]), num_frames, frame_stride, num_clips)
        wanted, inverse = np.unique(indices, return_inverse=True)
        frames = read_clip(video_path, wanted)  # (F, H, W, 3), each frame decoded once
        clips = frames[inverse.reshape(indices.shape)]  # (num_clips, T, H, W, 3)
        all_clips.append(torch.from_numpy(np.ascontiguousarray(clips.transpose(0, 1, 4, 2, 3))))
        all_indices.append(torch.from_numpy(indices))
    clips = torch.stack(all_clips)  # (N, num_clips, T, C, H, W)
    if num_clips == 1:
        clips = clips[:, 0]
    return ClipSet(
        clips=clips,
        labels=torch.tensor([int(row["label"]) for row in rows], dtype=torch.long),
        privacy_labels=torch.tensor([[float(row[name]) for name in PRIVACY_ATTRIBUTES] for row in rows]),
        video_ids=[str(row["video_id"]) for row in rows],
        frame_indices=torch.stack(all_indices).long(),
        action_names=synth_action_names(path),
    )
