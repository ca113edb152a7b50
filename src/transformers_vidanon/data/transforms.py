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

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, IterableDataset

from ..processing_vidanon import (
    ClipAugmentation,
    ClipAugmentationParams,
    clip_eval_transform,
    frames_to_clip,
    shorter_side_size,
)
from ..video import (
    DEFAULT_MAX_PIXELS,
    SHORT_VIDEO_POLICIES,
    VideoDecodeError,
    VideoFile,
    VideoInfo,
    is_image_path,
    read_image,
    resolve_backend,
    training_indices,
    uniform_clip_indices,
)
from ..video.reading import DECORD_UNSUPPORTED_WIDTHS
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
        decode_at_size (`bool`, *optional*, defaults to `False`): let the decoder scale each video frame down to
            what the transform needs (`VideoFile(size=...)`) instead of decoding at the file's size and resizing
            afterwards. Train mode with augmentation draws the augmentation first (the same draws as without
            the option), then decodes at the size at which the random crop comes out at the output size, and
            crops there; otherwise frames are decoded with the shorter side at the resize target. Clips have
            the same window, crop, flip, jitter and erasing, and differ from the full-size path only by the
            resampling filter (swscale bilinear against torch's antialiased bilinear). Frames are never scaled
            up; images are read as they are.

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
        decode_at_size: bool = False,
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
        if not isinstance(decode_at_size, bool):
            raise TypeError(f"`decode_at_size` must be True or False, got {decode_at_size!r}.")
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
        self.decode_at_size = decode_at_size

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def _resize_target(self, height: int, width: int) -> tuple[int, int]:
        """Frame size after the shorter-side resize of `clip_eval_transform` (the size itself if it is smaller)."""
        crop_height, crop_width = (
            (self.image_size, self.image_size) if isinstance(self.image_size, int) else self.image_size
        )
        shorter = self.resize_to if self.resize_to is not None else min(crop_height, crop_width)
        if shorter >= min(height, width):
            return height, width
        return shorter_side_size(height, width, shorter)

    def _load_at_size(self, path: str, seed: int | None) -> tuple[torch.Tensor, np.ndarray, VideoInfo]:
        """`load_with_indices` for a video with `decode_at_size`: the decoder scales the frames to what the transform
        needs."""
        augment = self.mode == "train" and self.augmentation is not None
        generator = torch.Generator().manual_seed(seed) if augment else None
        drawn: dict[str, ClipAugmentationParams] = {}

        def decode_size(info: VideoInfo) -> tuple[int, int]:
            if not augment:
                return self._resize_target(info.height, info.width)
            # the same draws, from the same generator, as `ClipAugmentation.__call__` on the full-size clip
            drawn["params"] = params = self.augmentation.sample(info.height, info.width, generator)
            _, _, crop_height, crop_width = params.crop
            output_height, output_width = self.augmentation.output_size
            height = min(info.height, round(info.height * output_height / crop_height))
            width = min(info.width, round(info.width * output_width / crop_width))
            if width in DECORD_UNSUPPORTED_WIDTHS and width < info.width:
                width += (
                    1  # a width decord can produce, with either backend; the crop's resize takes the pixel up
                )
            return height, width

        with VideoFile(path, backend=self.backend, max_pixels=self.max_pixels, size=decode_size) as video:
            indices = self._indices(video.info.num_frames, seed)
            frames = video.get_frames(indices)
            info = video.info
        clip = frames_to_clip(frames)
        if self.mode == "eval":
            clip = clip_eval_transform(clip, self.image_size, self.resize_to)
            return clip.reshape(self.num_clips, self.num_frames, *clip.shape[1:]), indices, info
        if not augment:
            return clip_eval_transform(clip, self.image_size, self.resize_to), indices, info
        params = _scale_crop(drawn["params"], (info.height, info.width), tuple(clip.shape[-2:]))
        return self.augmentation.apply(clip, params, generator), indices, info

    def _indices(self, total: int, seed: int | None) -> np.ndarray:
        if self.mode == "train":
            return training_indices(
                total,
                self.num_frames,
                self.frame_stride,
                np.random.default_rng(seed),
                self.short_video_policy,
            )
        return uniform_clip_indices(
            total, self.num_frames, self.frame_stride, self.num_clips, self.short_video_policy
        ).reshape(-1)

    def _read(self, path: str, seed: int | None) -> tuple[np.ndarray, np.ndarray | None, VideoInfo | None]:
        """Frames for one example (`(T, H, W, 3)` in train mode, `(num_clips * T, H, W, 3)` in eval mode), the frame
        indices decoded and the video's info (`None` for an image)."""
        if is_image_path(path):
            image = read_image(path, max_pixels=self.max_pixels)
            count = self.num_frames if self.mode == "train" else self.num_clips * self.num_frames
            return np.broadcast_to(image, (count, *image.shape)), None, None
        with VideoFile(path, backend=self.backend, max_pixels=self.max_pixels) as video:
            indices = self._indices(video.info.num_frames, seed)
            return video.get_frames(indices), indices, video.info

    def load(self, path: str, seed: int | None = None) -> torch.Tensor:
        """Decode and transform one file.

        Args:
            path (`str`): video or image file.
            seed (`int`, *optional*): seed of the training randomness (frame window and augmentation); `None`
                draws one from torch's global generator (seeded per DataLoader worker).

        Returns:
            `torch.FloatTensor` in [0, 1]: `(T, C, H, W)` in train mode, `(num_clips, T, C, H, W)` in eval mode.
        """
        return self.load_with_indices(path, seed)[0]

    def load_with_indices(
        self, path: str, seed: int | None = None
    ) -> tuple[torch.Tensor, np.ndarray | None, VideoInfo | None]:
        """[`load`], with the frame indices it decoded (`(T,)` in train mode, `(num_clips, T)` in eval mode) and the
        video's [`VideoInfo`] (both `None` for an image): what masks drawn on the source frames must follow."""
        if self.mode == "train" and seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        if self.decode_at_size and not is_image_path(path):
            clip, indices, info = self._load_at_size(path, seed)
        else:
            frames, indices, info = self._read(path, seed)
            clip = frames_to_clip(np.ascontiguousarray(frames))
            if self.mode == "eval":
                clip = clip_eval_transform(clip, self.image_size, self.resize_to)
                clip = clip.reshape(self.num_clips, self.num_frames, *clip.shape[1:])
            elif self.augmentation is not None:
                clip = self.augmentation(clip, generator=torch.Generator().manual_seed(seed))
            else:
                clip = clip_eval_transform(clip, self.image_size, self.resize_to)
        if indices is not None and self.mode == "eval":
            indices = indices.reshape(self.num_clips, self.num_frames)
        return clip, indices, info

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


def _scale_crop(
    params: ClipAugmentationParams, source: tuple[int, int], decoded: tuple[int, int]
) -> ClipAugmentationParams:
    """`params` with the crop box moved from `source`-sized frames to `decoded`-sized ones."""
    top, left, crop_height, crop_width = params.crop
    scale_y, scale_x = decoded[0] / source[0], decoded[1] / source[1]
    height = max(1, min(decoded[0], round(crop_height * scale_y)))
    width = max(1, min(decoded[1], round(crop_width * scale_x)))
    top = min(decoded[0] - height, round(top * scale_y))
    left = min(decoded[1] - width, round(left * scale_x))
    return dataclasses.replace(params, crop=(top, left, height, width))


def apply_clip_transform(
    dataset: Dataset | IterableDataset,
    transform: ClipTransform,
) -> Dataset | IterableDataset:
    """Set `transform` on a dataset: `with_transform` for a `Dataset`, a lazy `map` for an `IterableDataset`."""
    if isinstance(dataset, IterableDataset):
        columns = list(dataset.features) if dataset.features is not None else None
        return dataset.map(transform, batched=True, batch_size=1, remove_columns=columns)
    return dataset.with_transform(transform)
