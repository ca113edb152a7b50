"""The clips a fresh model trains on: input checks, random draws, augmentation, normalisation statistics and the
channels-last layout.

Clips are `(N, T, C, H, W)` or `(N, num_clips, T, C, H, W)`, uint8 in [0, 255] or float in [0, 1].
"""

from __future__ import annotations

import torch

from ...configuration_vidanon import IMAGENET_MEAN, IMAGENET_STD


def check_clips(clips: torch.Tensor, name: str, allow_multi_clip: bool) -> torch.Tensor:
    """`clips` itself once checked: a tensor of one of the shapes above (`allow_multi_clip`: also 6-D), of a dtype
    read as pixels, holding a clip; errors name the argument `name`."""
    if not isinstance(clips, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(clips).__name__}.")
    dims = (5, 6) if allow_multi_clip else (5,)
    shape_text = "(N, T, C, H, W)" + (" or (N, num_clips, T, C, H, W)" if allow_multi_clip else "")
    if clips.dim() not in dims:
        raise ValueError(f"`{name}` must have shape {shape_text}, got {tuple(clips.shape)}.")
    if clips.shape[0] < 1:
        raise ValueError(f"`{name}` holds no clip.")
    if clips.dtype != torch.uint8 and not clips.is_floating_point():
        raise ValueError(f"`{name}` must be uint8 in [0, 255] or float in [0, 1], got dtype {clips.dtype}.")
    return clips


def draw_clips(clips: torch.Tensor, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Clips `index` of `(N, T, C, H, W)`, or of `(N, num_clips, ...)` one random clip each: `(B, T, C, H, W)`."""
    if clips.dim() == 6:
        which = torch.randint(0, clips.shape[1], (len(index),), generator=generator)
        return clips[index, which]
    return clips[index]


def as_float01(clips: torch.Tensor) -> torch.Tensor:
    """Clips as float in [0, 1]."""
    return clips.float() / 255.0 if clips.dtype == torch.uint8 else clips.float()


def channel_stats(clips: torch.Tensor, normalization: str) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of [0, 1] clips `(N, [num_clips,] T, C, H, W)` (chunked), or ImageNet's."""
    clips = clips.reshape(-1, *clips.shape[-4:])
    num_channels = clips.shape[2]
    if normalization == "imagenet":
        if num_channels != 3:
            raise ValueError(f"ImageNet normalisation needs 3 channels, got {num_channels}.")
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    if clips.dtype == torch.uint8:  # exact, from the histogram of each channel's 256 values
        values = torch.arange(256, dtype=torch.float64) / 255.0
        counts = torch.stack([torch.bincount(clips[:, :, channel].reshape(-1), minlength=256)
                              for channel in range(num_channels)]).double()
        mean = (counts * values).sum(dim=1) / counts.sum(dim=1)
        variance = (counts * values * values).sum(dim=1) / counts.sum(dim=1) - mean * mean
        return mean.tolist(), variance.clamp_min(1e-8).sqrt().tolist()
    total = torch.zeros(num_channels, dtype=torch.float64)
    total_sq = torch.zeros(num_channels, dtype=torch.float64)
    count = 0
    for start in range(0, clips.shape[0], 32):
        chunk = as_float01(clips[start : start + 32]).double().transpose(0, 2).reshape(num_channels, -1)
        total += chunk.sum(dim=1)
        total_sq += (chunk * chunk).sum(dim=1)
        count += chunk.shape[1]
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(1e-8).sqrt()
    return mean.tolist(), std.tolist()


def augment(x: torch.Tensor, generator: torch.Generator, max_shift: int, flip: bool,
             channels_last: bool = False) -> torch.Tensor:
    """Random translation (edges replicated) and optional horizontal flip, one draw per sample.

    `x` is `(B, ..., C, H, W)` of any dtype (uint8 clips stay uint8), or with `channels_last` `(B, ..., H, W, C)`;
    every frame of a sample gets the same transform. The flip is drawn first, then the shift; each output pixel is
    gathered from its source pixel in one indexing pass, which gives exactly what flipping, padding by `max_shift`
    with the edges replicated and cropping back would.
    """
    batch = x.shape[0]
    flips = torch.rand(batch, generator=generator) < 0.5 if flip else torch.zeros(batch, dtype=torch.bool)
    if max_shift <= 0 and not bool(flips.any()):
        return x
    height, width = (x.shape[-3], x.shape[-2]) if channels_last else (x.shape[-2], x.shape[-1])
    if max_shift > 0:
        offsets = torch.randint(0, 2 * max_shift + 1, (batch, 2), generator=generator) - max_shift
    else:
        offsets = torch.zeros(batch, 2, dtype=torch.long)
    rows = (torch.arange(height)[None] + offsets[:, :1]).clamp(0, height - 1)
    cols = (torch.arange(width)[None] + offsets[:, 1:]).clamp(0, width - 1)
    cols = torch.where(flips[:, None], width - 1 - cols, cols)
    source = (rows[:, :, None] * width + cols[:, None, :]).reshape(batch, 1, height * width)
    if channels_last:
        flat = x.reshape(batch, -1, height * width, x.shape[-1])
        index = source[..., None].expand(batch, flat.shape[1], height * width, flat.shape[-1])
    else:
        flat = x.reshape(batch, -1, height * width)
        index = source.expand(batch, flat.shape[1], height * width)
    return flat.gather(2, index).view(x.shape)


def pixels_last(clips: torch.Tensor, enabled: bool) -> torch.Tensor:
    """`(..., C, H, W)` clips stored as `(..., H, W, C)` (one copy) when `enabled`, so that batches drawn from them
    are channels-last without a copy per step; else the clips themselves."""
    return clips.movedim(-3, -1).contiguous() if enabled else clips


def as_pixels(batch: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A batch drawn from `pixels_last` storage as `(..., C, H, W)` (a view)."""
    return batch.movedim(-1, -3) if channels_last else batch
