"""Decoding a loader's rows into model inputs, lazily: [`ClipTransform`], set with `dataset.with_transform(...)`
(or [`apply_clip_transform`], which also handles streaming datasets).

Each example then is `{"pixel_values": FloatTensor (T, C, H, W) in [0, 1] (evaluation: (num_clips, T, C, H, W)),
"labels": int, "privacy_labels": FloatTensor (5,), "video_id": str, "bad_video": None}`.

Bad files: with `on_bad_video="raise"` (default) a file that cannot be decoded raises `VideoDecodeError` naming it.
With `"skip"`, the example comes back with `pixel_values=None` and `bad_video=<path>` (and a logged warning);
[`collate.collate_clips`] drops it and lists it under `skipped_videos`, so a DataLoader worker never dies from one
bad file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, IterableDataset

from ..processing_vidanon import ClipAugmentation, clip_eval_transform, frames_to_clip
from ..video import (
    DEFAULT_MAX_PIXELS,
    SHORT_VIDEO_POLICIES,
    VideoDecodeError,
    VideoFile,
    is_image_path,
    read_image,
    resolve_backend,
    training_indices,
    uniform_clip_indices,
)
from .schema import UNKNOWN_PRIVACY

logger = logging.getLogger(__name__)

class ClipTransform:
    """Decode rows of a loader's dataset into model inputs: `dataset.with_transform(ClipTransform(...))`.

    Train mode: one random window (`video.training_indices`) and `augmentation`; eval mode: `num_clips`
    evenly spread windows (`video.uniform_clip_indices`), shorter-side resize and centre crop. Images (VISPR)
    become static clips. Training randomness is drawn from torch's global generator, which DataLoader seeds
    differently in every worker and epoch: `torch.manual_seed` makes a run reproducible.

    Args:
        mode (`str`, *optional*, defaults to `"train"`): `"train"` or `"eval"`.
        num_frames (`int`, *optional*, defaults to 16): frames per clip.
        frame_stride (`int`, *optional*, defaults to 2): distance between sampled frames.
        image_size (`int` or `tuple[int, int]`, *optional*, defaults to 224): output frame size.
        num_clips (`int`, *optional*, defaults to 5): clips per video in eval mode.
        backend (`str`, *optional*, defaults to `"auto"`): video decoder, `"decord"`, `"pyav"` or `"auto"`.
        augmentation ([`ClipAugmentation`], `"default"` or `None`, *optional*, defaults to `"default"`):
            train-mode augmentation; `"default"` is `ClipAugmentation(image_size)`, `None` uses the evaluation
            resize and crop (still with a random window). Must be `None`/`"default"` in eval mode.
        on_bad_video (`str`, *optional*, defaults to `"raise"`): `"raise"` or `"skip"` (see the module docstring).
        short_video_policy (`str`, *optional*, defaults to `"loop"`): `"loop"` or `"pad"`, see `video.sampling`.
        resize_to (`int`, *optional*): shorter side before the centre crop (default: the crop's shorter side).
        max_pixels (`int`, *optional*, defaults to `video.DEFAULT_MAX_PIXELS`): refuse larger frames.

    Calling it maps a batch of rows to `{"pixel_values", "labels", "privacy_labels", "video_id", "bad_video"}`
    lists; it pickles, so DataLoader workers can run it.
    """

    def __init__(
        self,
        mode: str = "train",
        num_frames: int = 16,
        frame_stride: int = 2,
        image_size: int | tuple[int, int] = 224,
        num_clips: int = 5,
        backend: str = "auto",
        augmentation: ClipAugmentation | str | None = "default",
        on_bad_video: str = "raise",
        short_video_policy: str = "loop",
        resize_to: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        if mode not in ("train", "eval"):
            raise ValueError(f"`mode` must be 'train' or 'eval', got {mode!r}.")
        if on_bad_video not in ("raise", "skip"):
            raise ValueError(f"`on_bad_video` must be 'raise' or 'skip', got {on_bad_video!r}.")
        if short_video_policy not in SHORT_VIDEO_POLICIES:
            raise ValueError(
                f"`short_video_policy` must be one of {SHORT_VIDEO_POLICIES}, got {short_video_policy!r}."
            )
        for name, value in {
            "num_frames": num_frames,
            "frame_stride": frame_stride,
            "num_clips": num_clips,
        }.items():
            if int(value) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {value}.")
        resolve_backend(backend)  # validates the name now rather than at the first example
        if augmentation == "default":
            augmentation = ClipAugmentation(image_size) if mode == "train" else None
        elif augmentation is not None and not isinstance(augmentation, ClipAugmentation):
            raise ValueError(
                f"`augmentation` must be 'default', None or a ClipAugmentation, got {augmentation!r}."
            )
        if mode == "eval" and augmentation is not None:
            raise ValueError(
                "`augmentation` must be None (or 'default') in 'eval' mode: evaluation is deterministic."
            )
        self.mode = mode
        self.num_frames = int(num_frames)
        self.frame_stride = int(frame_stride)
        self.image_size = image_size
        self.num_clips = int(num_clips)
        self.backend = backend
        self.augmentation = augmentation
        self.on_bad_video = on_bad_video
        self.short_video_policy = short_video_policy
        self.resize_to = resize_to
        self.max_pixels = max_pixels

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def _read(self, path: str, seed: int | None) -> np.ndarray:
        """Frames for one example: `(T, H, W, 3)` in train mode, `(num_clips * T, H, W, 3)` in eval mode."""
        if is_image_path(path):
            image = read_image(path, max_pixels=self.max_pixels)
            count = self.num_frames if self.mode == "train" else self.num_clips * self.num_frames
            return np.broadcast_to(image, (count, *image.shape))
        with VideoFile(path, backend=self.backend, max_pixels=self.max_pixels) as video:
            total = video.info.num_frames
            if self.mode == "train":
                indices = training_indices(
                    total,
                    self.num_frames,
                    self.frame_stride,
                    np.random.default_rng(seed),
                    self.short_video_policy,
                )
            else:
                indices = uniform_clip_indices(
                    total, self.num_frames, self.frame_stride, self.num_clips, self.short_video_policy
                ).reshape(-1)
            return video.get_frames(indices)

    def load(self, path: str, seed: int | None = None) -> torch.Tensor:
        """Decode and transform one file.

        Args:
            path (`str`): video or image file.
            seed (`int`, *optional*): seed of the training randomness (frame window and augmentation); `None`
                draws one from torch's global generator (seeded per DataLoader worker).

        Returns:
            `torch.FloatTensor` in [0, 1]: `(T, C, H, W)` in train mode, `(num_clips, T, C, H, W)` in eval mode.
        """
        if self.mode == "train" and seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        clip = frames_to_clip(np.ascontiguousarray(self._read(path, seed)))
        if self.mode == "eval":
            clip = clip_eval_transform(clip, self.image_size, self.resize_to)
            return clip.reshape(self.num_clips, self.num_frames, *clip.shape[1:])
        if self.augmentation is not None:
            return self.augmentation(clip, generator=torch.Generator().manual_seed(seed))
        return clip_eval_transform(clip, self.image_size, self.resize_to)

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {
            "pixel_values": [],
            "labels": [],
            "privacy_labels": [],
            "video_id": [],
            "bad_video": [],
        }
        for index, path in enumerate(batch["video"]):
            try:
                pixel_values, bad = self.load(path), None
            except (VideoDecodeError, OSError) as error:
                if self.on_bad_video == "raise":
                    raise
                logger.warning("skipping a bad video: %s", error)
                pixel_values, bad = None, str(path)
            out["pixel_values"].append(pixel_values)
            out["labels"].append(int(batch["label"][index]) if "label" in batch else -1)
            privacy = batch["privacy_labels"][index] if "privacy_labels" in batch else UNKNOWN_PRIVACY
            out["privacy_labels"].append(torch.as_tensor(privacy, dtype=torch.float32))
            out["video_id"].append(batch["video_id"][index] if "video_id" in batch else Path(path).stem)
            out["bad_video"].append(bad)
        return out


def apply_clip_transform(
    dataset: Dataset | IterableDataset,
    transform: ClipTransform,
) -> Dataset | IterableDataset:
    """Set `transform` on a dataset: `with_transform` for a `Dataset`, a lazy `map` for an `IterableDataset`."""
    if isinstance(dataset, IterableDataset):
        columns = list(dataset.features) if dataset.features is not None else None
        return dataset.map(transform, batched=True, batch_size=1, remove_columns=columns)
    return dataset.with_transform(transform)
