"""Frames to keep masks to anonymized frames, in memory: the steps that the file, folder and in-memory paths share.

A video is cut into consecutive clips of the model's `num_frames` frames (`video.split_into_clips`); each clip is
resized whole (no crop) to the model's `image_size` to score the tubelets ([`prepare_pixel_values`]); the model
gives the tubelet keep mask (`model.keep_mask`, in mini-batches: [`predict_keep_mask`]); the mask is upsampled by
nearest neighbour to the clip's own size and applied to the original uint8 frames
(`pruning.apply_mask_to_frames`). [`anonymize_frames`] runs the steps on a video held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..processing_vidanon import as_uint8_frames, clips_to_pixel_values
from ..pruning import apply_mask_to_frames
from ..video import split_into_clips
from .loading import check_model
from .options import DEFAULT_BATCH_SIZE


@dataclass
class FramesAnonymization:
    """Result of [`anonymize_frames`].

    Attributes:
        frames (`np.ndarray` of shape `(T, H, W, 3)`, uint8): the anonymized frames, at the input size.
        keep_mask (`np.ndarray` of shape `(num_clips, num_frames // tubelet_size, image_h // patch, image_w // patch)`):
            The tubelet keep mask of every clip (1 = kept), on the model's grid; clip `k` covers frames
            `k * num_frames` to `(k + 1) * num_frames - 1` (the last clip's padding frames included).
        pixel_mask (`np.ndarray` of shape `(T, H, W)`, bool): True where the input pixel was kept.
    """

    frames: np.ndarray
    keep_mask: np.ndarray
    pixel_mask: np.ndarray

    @property
    def kept_fraction(self) -> float:
        """Share of pixels kept."""
        return float(self.pixel_mask.mean()) if self.pixel_mask.size else 0.0


def prepare_pixel_values(clips: np.ndarray, config: Any, processor: Any | None = None) -> torch.Tensor:
    """Resize whole frames (no crop, so every pixel is scored) to the model's size, as pixels in [0, 1].

    Args:
        clips (`np.ndarray` of shape `(B, T, H, W, 3)`, uint8): RGB clips at any size.
        config (`VidAnonConfig`): gives `image_size`.
        processor (`VidAnonImageProcessor`, *optional*): when given, its resize (resample filter) and rescale are
            used, with centre cropping turned off; it must not normalise (VidAnon models normalise inside).
            `None`: bilinear, antialiased torch resize (`processing_vidanon.clips_to_pixel_values`).

    Returns:
        `torch.FloatTensor` of shape `(B, T, 3, image_h, image_w)` in [0, 1].
    """
    return clips_to_pixel_values(clips, config.image_size, processor)


def predict_keep_mask(model: Any, pixel_values: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE) -> torch.Tensor:
    """The tubelet keep mask of clips at the model's size, `model.keep_mask` in mini-batches, in eval mode.

    Args:
        model: a VidAnon model ([`VidAnonForPrivacyPreservingActionRecognition`] or a base `VidAnonModel`; the code of
            a checkpoint saved before `keep_mask` existed, loaded with `trust_remote_code`, goes through its
            `anonymize`).
        pixel_values (`torch.FloatTensor` of shape `(B, T, C, image_h, image_w)`): pixels in [0, 1].
        batch_size (`int`, *optional*, defaults to 4): clips per forward pass.

    Returns:
        `torch.FloatTensor` of shape `(B, T / tubelet_size, image_h / patch_size, image_w / patch_size)` on the CPU,
        1 = kept.

    Raises:
        ValueError: naming `batch_size` or `pixel_values`.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
    if pixel_values.ndim != 5 or pixel_values.shape[0] == 0:
        raise ValueError(
            f"`pixel_values` must hold at least one clip of shape (T, C, H, W), got shape {tuple(pixel_values.shape)}."
        )
    keep_mask = model.keep_mask if hasattr(model, "keep_mask") else (lambda chunk: model.anonymize(chunk).keep_mask)
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters())
        masks = []
        for start in range(0, pixel_values.shape[0], batch_size):
            chunk = pixel_values[start : start + batch_size].to(device=parameter.device, dtype=parameter.dtype)
            masks.append(keep_mask(chunk).detach().float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(masks)


def anonymize_frames(
    model: Any, frames: np.ndarray, processor: Any | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> FramesAnonymization:
    """Anonymize a video held in memory (see the module docstring for the clip layout).

    Args:
        model: a VidAnon model.
        frames (`np.ndarray` of shape `(T, H, W, 3)`): uint8 RGB, or floats in [0, 1] (converted to uint8).
        processor (`VidAnonImageProcessor`, *optional*): see [`prepare_pixel_values`].
        batch_size (`int`, *optional*, defaults to 4): clips per forward pass.

    Returns:
        [`FramesAnonymization`]: frames of the input's shape, the per-clip tubelet masks, the kept pixels.
    """
    check_model(model)
    frames = as_uint8_frames(frames)
    clips = frames[split_into_clips(frames.shape[0], model.config.num_frames)]  # (num_clips, T, H, W, 3)
    keep_mask = predict_keep_mask(model, prepare_pixel_values(clips, model.config, processor), batch_size)
    out, pixel_mask = apply_mask_to_frames(clips, keep_mask, model.config.anonymization_fill_value)
    num = frames.shape[0]
    return FramesAnonymization(
        frames=out.reshape(-1, *out.shape[2:])[:num],
        keep_mask=keep_mask.numpy(),
        pixel_mask=pixel_mask.reshape(-1, *pixel_mask.shape[2:])[:num],
    )


__all__ = ["FramesAnonymization", "anonymize_frames", "predict_keep_mask", "prepare_pixel_values"]
