"""The field's baseline anonymizers, and the random-pruning control.

Every baseline maps a video batch ``(B, T, C, H, W)`` float in [0, 1] to an anonymized batch of the same
shape, dtype and device, in [0, 1]. They are what VidAnon is compared against in the leakage protocol:

- ``raw``: no anonymization (the input itself).
- ``down2`` / ``down4`` (Down-2x / Down-4x): each frame is reduced by 2 (or 4) with area averaging, then
  brought back to the input size with **nearest-neighbour** upsampling by default (blocky, as the
  downstream models see a low-resolution video at their usual input size); ``upsample_mode="bilinear"``
  gives the smoother variant.
- ``blackening``: the person region of every frame is set to black (0). It needs per-frame region masks
  ``(B, T, H, W)``: the synthetic benchmark saves its actor masks; for real data, person boxes in a JSON
  file ``{video_id: {frame_index: [[x0, y0, x1, y1], ...]}}`` are rasterised by [`boxes_to_masks`] /
  [`regions_for_videos`].
- ``strongblur``: a strong Gaussian blur whose width scales with the frame, sigma = min(H, W) / 12 by
  default (9.3 px at 112 x 112, 18.7 px at 224 x 224) and a kernel of 2 * ceil(3 sigma) + 1 taps
  (57 at 112 x 112), applied as two 1-D convolutions with replicated borders.

[`random_pruning`] is a control rather than a baseline: it zeroes a *random* set of tubelets, keeping the
same number as VidAnon keeps, so that the value of VidAnon's learned utility-privacy score is visible.

[`oracle_pruning`] is the ceiling of every tubelet pruner: it knows where privacy sits (SynthPrivacy's
ground-truth regions, the union of the five attribute regions) and zeroes every tubelet that touches it, at a
given tubelet grid (``oracle``: per tubelet; ``oracle-tube``: one spatial mask for the whole clip).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import torch
import torch.nn.functional as F

from ..pruning import apply_keep_mask, num_tubelets_to_keep, surviving_tubelets

logger = logging.getLogger(__name__)

__all__ = [
    "BASELINES",
    "Baseline",
    "RandomPruningOutput",
    "blacken",
    "boxes_to_masks",
    "downsample",
    "gaussian_kernel1d",
    "get_baseline",
    "load_boxes",
    "oracle_keep_mask",
    "oracle_pruning",
    "random_pruning",
    "raw",
    "regions_for_videos",
    "strong_blur",
    "strongblur_sigma",
]

#: Default blur width relative to the shorter frame side (sigma = min(H, W) * STRONGBLUR_SIGMA_FRACTION).
STRONGBLUR_SIGMA_FRACTION = 1.0 / 12.0

Box = Sequence[float]
BoxesByFrame = Mapping[Any, Sequence[Box]]


class Baseline(Protocol):
    """A baseline anonymizer: ``(video (B, T, C, H, W), regions (B, T, H, W) or None) -> video``."""

    def __call__(self, video: torch.Tensor, regions: torch.Tensor | None = None) -> torch.Tensor: ...


def _check_video(video: torch.Tensor, name: str = "video") -> None:
    if not isinstance(video, torch.Tensor):
        raise TypeError(
            f"`{name}` must be a torch.Tensor of shape (B, T, C, H, W), got {type(video).__name__}."
        )
    if video.ndim != 5:
        raise ValueError(f"`{name}` must have shape (B, T, C, H, W), got {tuple(video.shape)}.")
    if not video.is_floating_point():
        raise ValueError(f"`{name}` must be a float tensor with values in [0, 1], got dtype {video.dtype}.")


# --------------------------------------------------------------------------------------------------
# Raw and down-sampling
# --------------------------------------------------------------------------------------------------


def raw(video: torch.Tensor, regions: torch.Tensor | None = None) -> torch.Tensor:
    """No anonymization: returns ``video`` itself (the same tensor object, not a copy).

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): float video in [0, 1].
        regions: ignored.
    """
    _check_video(video)
    return video


def downsample(
    video: torch.Tensor,
    factor: int,
    upsample_mode: str = "nearest",
    regions: torch.Tensor | None = None,
) -> torch.Tensor:
    """Down-Nx: reduce each frame by ``factor`` with area averaging, then resize back to the input size.

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): float video in [0, 1].
        factor (`int`): reduction factor (2 for Down-2x, 4 for Down-4x); the low-resolution frame is
            ``(H // factor, W // factor)`` (each output pixel the mean of the input area it covers).
        upsample_mode (`str`, *optional*, defaults to `"nearest"`): `"nearest"` (blocky; a video made of
            ``factor x factor`` constant blocks comes back unchanged) or `"bilinear"` (smooth,
            ``align_corners=False``).
        regions: ignored.

    Returns:
        `torch.Tensor` of shape `(B, T, C, H, W)`.
    """
    _check_video(video)
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"`factor` must be a positive integer, got {factor!r}.")
    if upsample_mode not in ("nearest", "bilinear"):
        raise ValueError(f"`upsample_mode` must be 'nearest' or 'bilinear', got {upsample_mode!r}.")
    batch, frames, channels, height, width = video.shape
    if height < factor or width < factor:
        raise ValueError(f"Frames of {height}x{width} are smaller than the down-sampling factor {factor}.")
    flat = video.reshape(batch * frames, channels, height, width)
    small = F.interpolate(flat, size=(height // factor, width // factor), mode="area")
    if upsample_mode == "nearest":
        restored = F.interpolate(small, size=(height, width), mode="nearest")
    else:
        restored = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)
    return restored.clamp(0.0, 1.0).reshape(video.shape)


# --------------------------------------------------------------------------------------------------
# Blackening and person regions
# --------------------------------------------------------------------------------------------------


def blacken(video: torch.Tensor, regions: torch.Tensor | None = None) -> torch.Tensor:
    """Blackening: every pixel inside the person region is set to 0 in all channels, the rest is unchanged.

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): float video in [0, 1].
        regions (`torch.BoolTensor` of shape `(B, T, H, W)`): True inside the person region of each frame
            (the synthetic benchmark's actor masks, or [`regions_for_videos`] from a boxes file).

    Returns:
        `torch.Tensor` of shape `(B, T, C, H, W)`.
    """
    _check_video(video)
    if regions is None:
        raise ValueError(
            "The 'blackening' baseline needs person regions: pass `regions` as a (B, T, H, W) boolean mask "
            "(the synthetic benchmark's actor masks, or masks built from a boxes file with "
            "regions_for_videos)."
        )
    expected = (video.shape[0], video.shape[1], video.shape[3], video.shape[4])
    if tuple(regions.shape) != expected:
        raise ValueError(f"`regions` must have shape (B, T, H, W) = {expected}, got {tuple(regions.shape)}.")
    inside = regions.to(device=video.device, dtype=torch.bool)[:, :, None]  # (B, T, 1, H, W)
    return video.masked_fill(inside, 0.0)


def boxes_to_masks(
    boxes: BoxesByFrame,
    num_frames: int,
    height: int,
    width: int,
    frame_indices: Sequence[int] | None = None,
    source_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Rasterises per-frame person boxes into boolean masks.

    A box ``[x0, y0, x1, y1]`` is in pixel coordinates with pixel ``(y, x)`` covering ``[x, x + 1) x
    [y, y + 1)``; the mask is True on every pixel the box overlaps, i.e. columns ``floor(x0)`` to
    ``ceil(x1) - 1`` and rows ``floor(y0)`` to ``ceil(y1) - 1``, clipped to the frame. A frame with no
    entry (or an empty list) has no person region.

    Args:
        boxes (`Mapping`): ``{frame_index: [[x0, y0, x1, y1], ...]}``; frame keys may be ints or strings
            (as in JSON).
        num_frames (`int`): T, the number of masks to produce.
        height (`int`), width (`int`): size of the masks (the size of the frames they will be applied to).
        frame_indices (`Sequence[int]`, *optional*): for a clip sampled from a longer video, the source frame
            index of each of the T clip frames (mask t uses the boxes of frame ``frame_indices[t]``);
            defaults to ``range(num_frames)``.
        source_size (`tuple[int, int]`, *optional*): ``(height, width)`` of the frames the boxes were drawn
            on, when the clip was resized; boxes are scaled to ``(height, width)``.

    Returns:
        `torch.BoolTensor` of shape `(T, height, width)`.
    """
    if num_frames < 1 or height < 1 or width < 1:
        raise ValueError(
            f"`num_frames`, `height` and `width` must be positive, got {num_frames}, {height}, {width}."
        )
    if frame_indices is None:
        frame_indices = range(num_frames)
    elif len(frame_indices) != num_frames:
        raise ValueError(
            f"`frame_indices` has {len(frame_indices)} entries, expected `num_frames` = {num_frames}."
        )
    scale_y, scale_x = 1.0, 1.0
    if source_size is not None:
        scale_y, scale_x = height / float(source_size[0]), width / float(source_size[1])
    by_frame: dict[int, Sequence[Box]] = {}
    for key, frame_boxes in boxes.items():
        try:
            by_frame[int(key)] = frame_boxes
        except (TypeError, ValueError) as error:
            raise ValueError(f"Frame key {key!r} in `boxes` is not an integer frame index.") from error
    masks = torch.zeros(num_frames, height, width, dtype=torch.bool)
    for t, source_frame in enumerate(frame_indices):
        for box in by_frame.get(int(source_frame), ()) or ():
            if len(box) != 4:
                raise ValueError(f"Box {box!r} of frame {source_frame} must be [x0, y0, x1, y1].")
            x0, y0, x1, y1 = (float(value) for value in box)
            if x1 < x0 or y1 < y0:
                raise ValueError(f"Box {box!r} of frame {source_frame} has x1 < x0 or y1 < y0.")
            col0 = max(0, math.floor(x0 * scale_x))
            col1 = min(width, math.ceil(x1 * scale_x))
            row0 = max(0, math.floor(y0 * scale_y))
            row1 = min(height, math.ceil(y1 * scale_y))
            if col1 > col0 and row1 > row0:
                masks[t, row0:row1, col0:col1] = True
    return masks


def load_boxes(path: str | Path) -> dict[str, dict[str, list[list[float]]]]:
    """Reads a person-boxes file ``{video_id: {frame_index: [[x0, y0, x1, y1], ...]}}`` (JSON).

    Args:
        path (`str` or `Path`): the JSON file.

    Returns:
        `dict`: the parsed mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Boxes file {path} does not exist.")
    try:
        with path.open(encoding="utf-8") as handle:
            content = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"Boxes file {path} is not valid JSON: {error}") from error
    if not isinstance(content, dict) or not all(isinstance(value, dict) for value in content.values()):
        raise ValueError(f"Boxes file {path} must map video ids to {{frame_index: [[x0, y0, x1, y1], ...]}}.")
    return content


def regions_for_videos(
    boxes_by_video: Mapping[str, BoxesByFrame],
    video_ids: Sequence[str],
    num_frames: int,
    height: int,
    width: int,
    frame_indices: Sequence[Sequence[int]] | None = None,
    source_sizes: Sequence[tuple[int, int] | None] | None = None,
) -> torch.Tensor:
    """Person-region masks for a batch of videos, from a boxes mapping (see [`load_boxes`]).

    Args:
        boxes_by_video (`Mapping`): ``{video_id: {frame_index: [[x0, y0, x1, y1], ...]}}``.
        video_ids (`Sequence[str]`): the B videos of the batch, in order.
        num_frames, height, width: the clip size (T, H, W).
        frame_indices (`Sequence[Sequence[int]]`, *optional*): per video, the source frame of each clip frame.
        source_sizes (`Sequence`, *optional*): per video, the ``(height, width)`` the boxes refer to.

    Returns:
        `torch.BoolTensor` of shape `(B, T, H, W)`.

    Raises:
        ValueError: if a video has no entry in ``boxes_by_video`` (the error names it): blackening a video
            whose person region is unknown would silently leave it raw.
    """
    masks = []
    for position, video_id in enumerate(video_ids):
        if video_id not in boxes_by_video:
            raise ValueError(
                f"No person boxes for video {video_id!r}: the boxes file must have an entry for every video "
                "to be blackened (use an empty mapping {} for a video with no person)."
            )
        masks.append(
            boxes_to_masks(
                boxes_by_video[video_id],
                num_frames,
                height,
                width,
                frame_indices=None if frame_indices is None else frame_indices[position],
                source_size=None if source_sizes is None else source_sizes[position],
            )
        )
    return torch.stack(masks)


# --------------------------------------------------------------------------------------------------
# Strong blur
# --------------------------------------------------------------------------------------------------


def strongblur_sigma(height: int, width: int, sigma_fraction: float = STRONGBLUR_SIGMA_FRACTION) -> float:
    """The default blur width for frames of ``height x width``: ``min(height, width) * sigma_fraction``."""
    return min(height, width) * sigma_fraction


def gaussian_kernel1d(sigma: float, kernel_size: int | None = None) -> torch.Tensor:
    """Normalised 1-D Gaussian kernel.

    Args:
        sigma (`float`): standard deviation in pixels (> 0).
        kernel_size (`int`, *optional*): odd number of taps; defaults to ``2 * ceil(3 * sigma) + 1``.

    Returns:
        `torch.Tensor` of shape `(kernel_size,)`, float32, summing to 1.
    """
    if sigma <= 0:
        raise ValueError(f"`sigma` must be positive, got {sigma}.")
    if kernel_size is None:
        kernel_size = 2 * math.ceil(3.0 * sigma) + 1
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"`kernel_size` must be a positive odd integer, got {kernel_size}.")
    positions = torch.arange(kernel_size, dtype=torch.float64) - (kernel_size - 1) / 2
    kernel = torch.exp(-0.5 * (positions / sigma) ** 2)
    return (kernel / kernel.sum()).float()


def strong_blur(
    video: torch.Tensor,
    sigma: float | None = None,
    kernel_size: int | None = None,
    sigma_fraction: float = STRONGBLUR_SIGMA_FRACTION,
    regions: torch.Tensor | None = None,
) -> torch.Tensor:
    """StrongBlur: a wide Gaussian blur of every frame (separable: a horizontal then a vertical 1-D pass).

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): float video in [0, 1].
        sigma (`float`, *optional*): blur width in pixels; defaults to ``min(H, W) * sigma_fraction``.
        kernel_size (`int`, *optional*): odd number of taps; defaults to ``2 * ceil(3 * sigma) + 1``.
        sigma_fraction (`float`, *optional*, defaults to 1/12): blur width relative to the shorter side,
            used when ``sigma`` is not given.
        regions: ignored (the whole frame is blurred).

    Returns:
        `torch.Tensor` of shape `(B, T, C, H, W)`. Borders are replicated, so a constant frame is unchanged.
    """
    _check_video(video)
    batch, frames, channels, height, width = video.shape
    if sigma is None:
        sigma = strongblur_sigma(height, width, sigma_fraction)
    kernel = gaussian_kernel1d(sigma, kernel_size).to(device=video.device, dtype=video.dtype)
    half = kernel.numel() // 2
    flat = video.reshape(batch * frames * channels, 1, height, width)
    flat = F.conv2d(F.pad(flat, (half, half, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, half, half), mode="replicate"), kernel.view(1, 1, -1, 1))
    return flat.clamp(0.0, 1.0).reshape(video.shape)


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------


def _down(factor: int) -> Callable[..., torch.Tensor]:
    def down(
        video: torch.Tensor, regions: torch.Tensor | None = None, upsample_mode: str = "nearest"
    ) -> torch.Tensor:
        return downsample(video, factor, upsample_mode=upsample_mode)

    down.__name__ = f"down{factor}"
    down.__doc__ = f"Down-{factor}x: see `downsample` (factor {factor})."
    return down


@dataclass(frozen=True)
class BaselineSpec:
    """A registered baseline: its function, the name of its results row, the options it accepts, and the regions it
    needs (`"person"` for blackening, `None` for the rest)."""

    function: Callable[..., torch.Tensor]
    label: str
    options: frozenset[str] = frozenset()
    needs_regions: str | None = None


BASELINES: dict[str, BaselineSpec] = {
    "raw": BaselineSpec(raw, "Raw"),
    "down2": BaselineSpec(_down(2), "Down-2x", frozenset({"upsample_mode"})),
    "down4": BaselineSpec(_down(4), "Down-4x", frozenset({"upsample_mode"})),
    "blackening": BaselineSpec(blacken, "Blackening", needs_regions="person"),
    "strongblur": BaselineSpec(strong_blur, "StrongBlur", frozenset({"sigma", "kernel_size", "sigma_fraction"})),
}
"""Every baseline by name; the benchmark table and `vidanon evaluate --method` take their names from here."""


def get_baseline(name: str, **kwargs: Any) -> Baseline:
    """A baseline anonymizer by name, with its options bound.

    Args:
        name (`str`): one of ``raw``, ``down2``, ``down4``, ``blackening``, ``strongblur`` (`BASELINES`).
        **kwargs: options of that baseline (``upsample_mode`` for ``down2``/``down4``; ``sigma``,
            ``kernel_size``, ``sigma_fraction`` for ``strongblur``).

    Returns:
        A callable ``(video (B, T, C, H, W), regions (B, T, H, W) or None) -> video``, with the spec's
        ``needs_regions`` as an attribute.

    Example:

    ```python
    >>> import torch
    >>> blur = get_baseline("strongblur", sigma=4.0)
    >>> blur(torch.rand(1, 4, 3, 32, 32)).shape
    torch.Size([1, 4, 3, 32, 32])
    ```
    """
    if name not in BASELINES:
        raise ValueError(f"Unknown baseline {name!r}; available: {', '.join(BASELINES)}.")
    spec = BASELINES[name]
    unknown = set(kwargs) - spec.options
    if unknown:
        raise ValueError(
            f"Baseline {name!r} got unknown option(s) {sorted(unknown)}; "
            f"it accepts {sorted(spec.options) or 'none'}."
        )

    def baseline(video: torch.Tensor, regions: torch.Tensor | None = None) -> torch.Tensor:
        return spec.function(video, regions=regions, **kwargs)

    baseline.__name__ = name
    baseline.__doc__ = spec.function.__doc__
    baseline.needs_regions = spec.needs_regions
    return baseline


# --------------------------------------------------------------------------------------------------
# Random pruning control
# --------------------------------------------------------------------------------------------------


class RandomPruningOutput(NamedTuple):
    """Output of [`random_pruning`].

    Args:
        anonymized_pixel_values (`torch.Tensor` of shape `(B, T, C, H, W)`): pruned tubelets set to the fill.
        keep_mask (`torch.Tensor` of shape `(B, T / tubelet_size, H / patch_size, W / patch_size)`):
            float 0/1, 1 = kept.
    """

    anonymized_pixel_values: torch.Tensor
    keep_mask: torch.Tensor


def random_pruning(
    video: torch.Tensor,
    *,
    num_keep: int | Sequence[int] | torch.Tensor | None = None,
    keep_fraction: float | None = None,
    keep_rate_schedule: Sequence[float] | None = None,
    fuse_pruned_tokens: bool = True,
    tubelet_size: int = 2,
    patch_size: int = 16,
    generator: torch.Generator | None = None,
    fill_value: float = 0.0,
) -> RandomPruningOutput:
    """The random-pruning control: zero a uniformly random set of tubelets, keeping as many as VidAnon.

    The number kept is given in exactly one way:

    - ``num_keep``: an int, or one count per video (e.g. ``vidanon_keep_mask.flatten(1).sum(1)``, which
      matches VidAnon video by video);
    - ``keep_fraction``: ``ceil(keep_fraction * N)`` of the N tubelets;
    - ``keep_rate_schedule``: VidAnon's per-layer keep rates (e.g. ``config.keep_rates()``), counted as
      VidAnon counts them (with ``fuse_pruned_tokens`` as in its config).

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): float video in [0, 1]; T must be a multiple of
            ``tubelet_size`` and H, W multiples of ``patch_size``.
        tubelet_size (`int`, *optional*, defaults to 2), patch_size (`int`, *optional*, defaults to 16):
            the tubelet grid, ``(T / tubelet_size, H / patch_size, W / patch_size)``.
        generator (`torch.Generator`, *optional*): source of randomness (on the CPU), for reproducibility.
        fill_value (`float`, *optional*, defaults to 0.0): the value written into pruned tubelets.

    Returns:
        [`RandomPruningOutput`] with the anonymized video and the tubelet keep mask.
    """
    _check_video(video)
    batch, frames, _, height, width = video.shape
    if tubelet_size < 1 or patch_size < 1:
        raise ValueError(
            f"`tubelet_size` and `patch_size` must be positive, got {tubelet_size}, {patch_size}."
        )
    if frames % tubelet_size or height % patch_size or width % patch_size:
        raise ValueError(
            f"Video of {frames} frames at {height}x{width} does not divide into tubelets of "
            f"{tubelet_size}x{patch_size}x{patch_size}."
        )
    grid = (frames // tubelet_size, height // patch_size, width // patch_size)
    num_tubelets = math.prod(grid)
    given = [option is not None for option in (num_keep, keep_fraction, keep_rate_schedule)]
    if sum(given) != 1:
        raise ValueError("Give exactly one of `num_keep`, `keep_fraction` or `keep_rate_schedule`.")
    if keep_fraction is not None:
        if not 0.0 < float(keep_fraction) <= 1.0:
            raise ValueError(f"`keep_fraction` must be in (0, 1], got {keep_fraction}.")
        counts = torch.full(
            (batch,), num_tubelets_to_keep(num_tubelets, float(keep_fraction)), dtype=torch.long
        )
    elif keep_rate_schedule is not None:
        kept = surviving_tubelets((num_tubelets, 1, 1), list(keep_rate_schedule), fuse_pruned_tokens)
        counts = torch.full((batch,), kept, dtype=torch.long)
    else:
        counts = torch.as_tensor(num_keep).round().long().flatten().cpu()
        if counts.numel() == 1:
            counts = counts.expand(batch).clone()
        if counts.numel() != batch:
            raise ValueError(
                f"`num_keep` must be one count or {batch} counts (one per video), got {counts.numel()}."
            )
        if bool((counts < 0).any()) or bool((counts > num_tubelets).any()):
            raise ValueError(f"`num_keep` must lie in [0, {num_tubelets}], got {counts.tolist()}.")

    # a random ranking of the tubelets of each video; the first `count` of it are kept
    ranking = torch.rand(batch, num_tubelets, generator=generator).argsort(dim=1)
    rank_of = torch.empty_like(ranking).scatter_(1, ranking, torch.arange(num_tubelets).expand(batch, -1))
    keep_mask = (rank_of < counts[:, None]).float().view(batch, *grid).to(video.device)
    logger.debug("Random pruning keeps %s of %d tubelets.", counts.tolist(), num_tubelets)
    return RandomPruningOutput(apply_keep_mask(video, keep_mask, fill_value=fill_value), keep_mask)


# --------------------------------------------------------------------------------------------------
# Oracle pruning: the frontier of a tubelet pruner at a given grid
# --------------------------------------------------------------------------------------------------


def oracle_keep_mask(
    regions: torch.Tensor, tubelet_size: int, grid_size: int, tube: bool = False
) -> torch.Tensor:
    """The keep mask of a pruner that knows the privacy regions: a tubelet touching one region pixel is pruned.

    Args:
        regions (`torch.BoolTensor` of shape `(B, T, H, W)`): True on privacy pixels.
        tubelet_size (`int`): frames per tubelet; T must be a multiple of it.
        grid_size (`int`): tubelets per side (the grid is `grid_size x grid_size`); H and W must be multiples of it.
        tube (`bool`, *optional*, defaults to `False`): one spatial mask for the whole clip (a position is pruned
            when it touches a region in any time slot).

    Returns:
        `torch.Tensor` of shape `(B, T / tubelet_size, grid_size, grid_size)`, float 0/1, 1 = kept.
    """
    if regions.ndim != 4:
        raise ValueError(f"`regions` must have shape (B, T, H, W), got {tuple(regions.shape)}.")
    batch, frames, height, width = regions.shape
    if tubelet_size < 1 or grid_size < 1:
        raise ValueError(f"`tubelet_size` and `grid_size` must be positive, got {tubelet_size}, {grid_size}.")
    if frames % tubelet_size or height % grid_size or width % grid_size:
        raise ValueError(
            f"regions of {frames} frames at {height}x{width} do not divide into {tubelet_size}-frame tubelets on a "
            f"{grid_size} x {grid_size} grid."
        )
    slots = frames // tubelet_size
    blocks = regions.to(torch.bool).view(
        batch, slots, tubelet_size, grid_size, height // grid_size, grid_size, width // grid_size
    )
    touched = blocks.any(dim=6).any(dim=4).any(dim=2)  # (B, T', grid, grid)
    if tube:
        touched = touched.any(dim=1, keepdim=True).expand(-1, slots, -1, -1)
    return (~touched).float()


def oracle_pruning(
    video: torch.Tensor,
    regions: torch.Tensor | None = None,
    tubelet_size: int = 2,
    grid_size: int = 8,
    tube: bool = False,
    fill_value: float = 0.0,
) -> RandomPruningOutput:
    """Zero every tubelet that touches a privacy region (see [`oracle_keep_mask`]).

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): float video in [0, 1].
        regions (`torch.BoolTensor` of shape `(B, T, H, W)`): privacy pixels (SynthPrivacy: the union of the five
            attribute regions).
        tubelet_size, grid_size, tube: the tubelet grid and mode, see [`oracle_keep_mask`].
        fill_value (`float`, *optional*, defaults to 0.0): the value written into pruned tubelets.

    Returns:
        [`RandomPruningOutput`] with the anonymized video and the keep mask.
    """
    _check_video(video)
    if regions is None:
        raise ValueError(
            "The oracle baseline needs privacy regions: pass `regions` as a (B, T, H, W) boolean mask "
            "(SynthPrivacy's ground truth)."
        )
    expected = (video.shape[0], video.shape[1], video.shape[3], video.shape[4])
    if tuple(regions.shape) != expected:
        raise ValueError(f"`regions` must have shape (B, T, H, W) = {expected}, got {tuple(regions.shape)}.")
    keep_mask = oracle_keep_mask(regions.to(video.device), tubelet_size, grid_size, tube=tube)
    return RandomPruningOutput(apply_keep_mask(video, keep_mask, fill_value=fill_value), keep_mask)
