"""Preprocessing of VidAnon inputs: the image processor saved beside a model, and the clip transforms.

- [`VidAnonImageProcessor`]: what `AutoImageProcessor.from_pretrained(model_dir)` and the
  `video-classification` pipeline use. Frames are resized (shorter side), centre-cropped to the model size and
  rescaled to [0, 1]; they are **not** normalised, because VidAnon models normalise inside (the anonymizer reads
  and writes [0, 1] video, see `docs/CONTRACTS.md`).
- [`ClipAugmentation`]: training augmentation on a whole clip with the same random parameters for every frame
  (random resized crop, horizontal flip, colour jitter, random grayscale, random erasing), torch only.
- [`clip_eval_transform`]: shorter-side resize and centre crop, the evaluation counterpart.
- [`decode_video_file`] and [`as_uint8_frames`]: the frames of a video file or an array, as the processors and the
  `video-anonymization` pipeline take them.

Clips are float tensors of shape `(T, C, H, W)` with values in [0, 1] (frames first, as VideoMAE's
`pixel_values` per video); [`frames_to_clip`] and [`clip_to_frames`] convert from and to the `(T, H, W, 3)` uint8
arrays of [`transformers_vidanon.video`].

This module imports nothing from the rest of the package (only transformers, torch and numpy), so that it can be
saved beside a checkpoint and loaded with `trust_remote_code=True` where the package is not installed.
"""

from __future__ import annotations

import math
import os
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import VideoMAEImageProcessorPil
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; only read by type checkers

# ITU-R BT.601 luma weights, as used by PIL and torchvision for RGB -> grayscale
_LUMA_WEIGHTS = (0.299, 0.587, 0.114)


class VidAnonProcessorMixin:
    """How a VidAnon processor is built for a model's input size: shared by [`VidAnonImageProcessor`] and
    `video_processing_vidanon.VidAnonVideoProcessor`."""

    @classmethod
    def for_image_size(cls, image_size: int | tuple[int, int], **kwargs: Any) -> Self:
        """A processor producing `image_size` frames (shorter side resized to the crop's shorter side).

        Args:
            image_size (`int` or `tuple[int, int]`): model input size, e.g. `VidAnonConfig.image_size`.
            kwargs: other processor arguments.
        """
        height, width = _as_pair(image_size)
        kwargs.setdefault("size", {"shortest_edge": min(height, width)})
        kwargs.setdefault("crop_size", {"height": height, "width": width})
        return cls(**kwargs)

    @classmethod
    def from_model_config(cls, config: Any, **kwargs: Any) -> Self:
        """A processor for a model configuration (anything with an `image_size` attribute, e.g. `VidAnonConfig`)."""
        return cls.for_image_size(config.image_size, **kwargs)


class VidAnonImageProcessor(VidAnonProcessorMixin, VideoMAEImageProcessorPil):
    r"""
    Image processor of VidAnon models: resize the shorter side, centre-crop to the model size, rescale to [0, 1].

    It is VideoMAE's processor (PIL backend, which needs no torchvision) with `do_normalize=False`: VidAnon models
    normalise their input themselves (`VidAnonConfig.image_mean/image_std`) so that the anonymized video they
    output stays in pixel space. Turning `do_normalize` on would normalise twice.

    Args:
        do_resize (`bool`, *optional*, defaults to `True`): resize the shorter side to `size["shortest_edge"]`.
        size (`dict[str, int]`, *optional*, defaults to `{"shortest_edge": 224}`): target of the resize.
        do_center_crop (`bool`, *optional*, defaults to `True`): centre-crop to `crop_size`.
        crop_size (`dict[str, int]`, *optional*, defaults to `{"height": 224, "width": 224}`): the model input size.
        do_rescale (`bool`, *optional*, defaults to `True`): multiply uint8 values by `rescale_factor` (1/255).
        do_normalize (`bool`, *optional*, defaults to `False`): keep `False` for VidAnon models.

    Example:

    ```python
    >>> import numpy as np
    >>> processor = VidAnonImageProcessor.for_image_size(32)
    >>> frames = [np.zeros((48, 64, 3), dtype=np.uint8)] * 4
    >>> processor(frames, return_tensors="pt")["pixel_values"].shape
    torch.Size([1, 4, 3, 32, 32])

    ```
    """

    model_input_names = ["pixel_values"]  # noqa: RUF012 (class defaults, as in transformers' processors)
    size = {"shortest_edge": 224}  # noqa: RUF012
    crop_size = {"height": 224, "width": 224}  # noqa: RUF012
    do_normalize = False
    image_mean = IMAGENET_DEFAULT_MEAN
    image_std = IMAGENET_DEFAULT_STD


# ---------------------------------------------------------------------------------------------------------------
# Layout conversions
# ---------------------------------------------------------------------------------------------------------------


def _as_pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"a size must be an int or a (height, width) pair, got {size!r}.")
        height, width = int(size[0]), int(size[1])
    else:
        height = width = int(size)
    if height < 1 or width < 1:
        raise ValueError(f"a size must be positive, got {size!r}.")
    return height, width


def _check_clip(clip: torch.Tensor, name: str = "clip") -> None:
    if not isinstance(clip, torch.Tensor) or clip.ndim != 4:
        shape = tuple(clip.shape) if hasattr(clip, "shape") else type(clip).__name__
        raise ValueError(f"`{name}` must be a (T, C, H, W) tensor, got {shape}.")
    if not clip.is_floating_point():
        raise ValueError(f"`{name}` must be a float tensor in [0, 1], got dtype {clip.dtype}.")


def frames_to_clip(frames: np.ndarray) -> torch.Tensor:
    """Convert decoded frames to a clip tensor.

    Args:
        frames (`np.ndarray` of shape `(T, H, W, 3)`, uint8): RGB frames, as returned by `video_io.read_clip`.

    Returns:
        `torch.FloatTensor` of shape `(T, 3, H, W)` with values in [0, 1].
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"`frames` must have shape (T, H, W, 3), got {frames.shape}.")
    if frames.dtype != np.uint8:
        raise ValueError(f"`frames` must be uint8, got dtype {frames.dtype}.")
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)


def as_uint8_frames(frames: Any) -> np.ndarray:
    """Frames `(T, H, W, 3)` as uint8: uint8 passes through, floats in [0, 1] are scaled and rounded.

    Args:
        frames (`np.ndarray` or `torch.Tensor` of shape `(T, H, W, 3)`): uint8 RGB, or floats in [0, 1].

    Raises:
        ValueError: naming `frames`: another shape, dtype or value range.
    """
    array = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.shape[0] < 1:
        raise ValueError(f"`frames` must have shape (T, H, W, 3) with T >= 1, got {array.shape}.")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise ValueError(f"float `frames` must be in [0, 1], got values in [{array.min()}, {array.max()}].")
        return (array * 255.0).round().astype(np.uint8)
    raise ValueError(f"`frames` must be uint8 or float in [0, 1], got dtype {array.dtype}.")


def decode_video_file(path: str | os.PathLike) -> np.ndarray:
    """Every frame of a video file as `(T, H, W, 3)` uint8 RGB, decoded with PyAV (what transformers' video
    pipelines use too; the package's own reader, `transformers_vidanon.video`, adds decord and its checks).

    Raises:
        ImportError: PyAV is not installed.
        ValueError: naming the file, when it holds no decodable video frame.
    """
    try:
        import av
    except ImportError as error:
        raise ImportError("decoding video files needs PyAV: `pip install av`.") from error
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    if not frames:
        raise ValueError(f"no video frame could be decoded from {str(path)!r}.")
    return np.stack(frames)


def clip_to_frames(clip: torch.Tensor) -> np.ndarray:
    """Convert a clip tensor back to uint8 frames for writing (values clamped to [0, 1], then rounded).

    Args:
        clip (`torch.Tensor` of shape `(T, C, H, W)`): values in [0, 1]; C is 3 (RGB) or 1 (grayscale).

    Returns:
        `np.ndarray` of shape `(T, H, W, 3)`, uint8.
    """
    _check_clip(clip)
    if clip.shape[1] not in (1, 3):
        raise ValueError(f"`clip` must have 1 or 3 channels, got {clip.shape[1]}.")
    frames = clip.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu()
    if frames.shape[1] == 1:
        frames = frames.expand(-1, 3, -1, -1)
    return frames.permute(0, 2, 3, 1).contiguous().numpy()


# ---------------------------------------------------------------------------------------------------------------
# Deterministic geometry
# ---------------------------------------------------------------------------------------------------------------


def resize(clip: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize frames `(..., C, H, W)` to `height x width`: bilinear, antialiased when shrinking (the one resize of
    every frame path of the package: datasets, processors, the anonymizer's scoring input, the pipeline)."""
    if clip.shape[-2:] == (height, width):
        return clip
    antialias = height < clip.shape[-2] or width < clip.shape[-1]
    return F.interpolate(
        clip, size=(height, width), mode="bilinear", align_corners=False, antialias=antialias
    )


def shorter_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """The frame size whose shorter side is `size`, the aspect ratio kept (the longer side rounded down)."""
    if height <= width:
        return size, max(1, int(width * size / height))
    return max(1, int(height * size / width)), size


def covering_size(height: int, width: int, crop_height: int, crop_width: int) -> tuple[int, int]:
    """`height x width` scaled up just enough to hold a `crop_height x crop_width` crop (unchanged if it does)."""
    if height >= crop_height and width >= crop_width:
        return height, width
    scale = max(crop_height / height, crop_width / width)
    return math.ceil(height * scale - 1e-6), math.ceil(width * scale - 1e-6)


def resize_shorter_side(clip: torch.Tensor, size: int) -> torch.Tensor:
    """Resize every frame so that its shorter side is `size`, keeping the aspect ratio (bilinear, antialiased).

    Args:
        clip (`torch.Tensor` of shape `(T, C, H, W)`): float clip.
        size (`int`): target length of the shorter side.

    Returns:
        `torch.Tensor` of shape `(T, C, H', W')` with `min(H', W') == size` ([`shorter_side_size`]).
    """
    _check_clip(clip)
    return resize(clip, *shorter_side_size(*clip.shape[-2:], size))


def center_crop(clip: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop the centre `size` region of every frame (the clip must be at least that large).

    Args:
        clip (`torch.Tensor` of shape `(T, C, H, W)`): float clip.
        size (`int` or `tuple[int, int]`): crop height and width.

    Returns:
        `torch.Tensor` of shape `(T, C, size_h, size_w)`.
    """
    _check_clip(clip)
    crop_height, crop_width = _as_pair(size)
    height, width = clip.shape[-2:]
    if crop_height > height or crop_width > width:
        raise ValueError(f"cannot crop {crop_height}x{crop_width} out of frames of {height}x{width}.")
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    return clip[..., top : top + crop_height, left : left + crop_width]


def clip_eval_transform(
    clip: torch.Tensor,
    image_size: int | tuple[int, int],
    resize_to: int | None = None,
) -> torch.Tensor:
    """Evaluation transform: resize the shorter side, then centre-crop to `image_size`.

    With the default `resize_to` (the crop's shorter side) it matches [`VidAnonImageProcessor.for_image_size`]
    up to interpolation rounding (torch bilinear here, PIL bilinear there).

    Args:
        clip (`torch.Tensor` of shape `(T, C, H, W)`): float clip in [0, 1].
        image_size (`int` or `tuple[int, int]`): output height and width.
        resize_to (`int`, *optional*): shorter side before cropping (e.g. 128 for a 112 crop); defaults to
            `min(image_size)`.

    Returns:
        `torch.Tensor` of shape `(T, C, image_size_h, image_size_w)`.
    """
    crop_height, crop_width = _as_pair(image_size)
    shorter = resize_to if resize_to is not None else min(crop_height, crop_width)
    if shorter < min(crop_height, crop_width):
        raise ValueError(
            f"`resize_to` ({resize_to}) must be >= the crop's shorter side ({min(crop_height, crop_width)})."
        )
    resized = resize_shorter_side(clip, shorter)
    # a non-square crop can be taller/wider than the resized frame: cover it instead
    resized = resize(resized, *covering_size(*resized.shape[-2:], crop_height, crop_width))
    return center_crop(resized, (crop_height, crop_width))


def eval_resize_size(height: int, width: int, image_size: int | tuple[int, int], resize_to: int | None = None
                     ) -> tuple[int, int]:
    """The frame size [`clip_eval_transform`] crops from, for `height x width` input (to bring masks drawn at the
    source size to the clip's geometry)."""
    crop_height, crop_width = _as_pair(image_size)
    shorter = resize_to if resize_to is not None else min(crop_height, crop_width)
    return covering_size(*shorter_side_size(height, width, shorter), crop_height, crop_width)


def clips_to_pixel_values(clips: np.ndarray, image_size: int | tuple[int, int], processor: Any | None = None
                          ) -> torch.Tensor:
    """Whole frames (no crop, so every pixel is scored) resized to the model's size: `(B, T, 3, h, w)` in [0, 1].

    Args:
        clips (`np.ndarray` of shape `(B, T, H, W, 3)`, uint8): RGB clips at any size.
        image_size (`int` or `tuple[int, int]`): the model's `(height, width)` (an int: square frames), as
            `VidAnonConfig.image_size` gives it.
        processor (`VidAnonImageProcessor`, *optional*): when given, its resize (resample filter) and rescale are
            used, with centre cropping turned off; it must not normalise (VidAnon models normalise inside).
            `None`: [`resize`].
    """
    clips = np.asarray(clips)
    if clips.ndim != 5 or clips.shape[-1] != 3 or clips.dtype != np.uint8:
        raise ValueError(f"`clips` must be uint8 of shape (B, T, H, W, 3), got {clips.dtype} {clips.shape}.")
    height, width = _as_pair(image_size)
    if processor is not None:
        if getattr(processor, "do_normalize", False):
            raise ValueError(
                f"the processor ({type(processor).__name__}) normalises its output, but VidAnon models take pixels "
                "in [0, 1] and normalise themselves; save the model with a VidAnonImageProcessor (do_normalize=False)."
            )
        pixel_values = processor(
            [list(clip) for clip in clips], do_resize=True, size={"height": height, "width": width},
            do_center_crop=False, return_tensors="pt",
        )["pixel_values"]
        return pixel_values.float()
    batch, frames = clips.shape[:2]
    # (B, T, H, W, 3) -> (B*T, 3, H, W)
    tensor = torch.from_numpy(np.ascontiguousarray(clips)).flatten(0, 1).permute(0, 3, 1, 2).float().div_(255.0)
    return resize(tensor, height, width).clamp_(0.0, 1.0).view(batch, frames, 3, height, width)


# ---------------------------------------------------------------------------------------------------------------
# Training augmentation
# ---------------------------------------------------------------------------------------------------------------


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _grayscale(clip: torch.Tensor) -> torch.Tensor:
    weights = clip.new_tensor(_LUMA_WEIGHTS).view(1, 3, 1, 1)
    return (clip * weights).sum(dim=1, keepdim=True)


@dataclass(frozen=True)
class ClipAugmentationParams:
    """The random choices of one [`ClipAugmentation`] call, shared by every frame of the clip.

    Attributes:
        crop (`tuple[int, int, int, int]`): `(top, left, height, width)` of the crop in the input frames.
        flip (`bool`): horizontal flip.
        brightness, contrast, saturation (`float`): colour jitter factors (1.0 = unchanged).
        grayscale (`bool`): convert to grayscale (kept as 3 channels).
        erase (`tuple[int, int, int, int]` or `None`): `(top, left, height, width)` erased in the output frames.
    """

    crop: tuple[int, int, int, int]
    flip: bool
    brightness: float
    contrast: float
    saturation: float
    grayscale: bool
    erase: tuple[int, int, int, int] | None


@dataclass(eq=False)  # compared by identity, as before: an augmentation is a configured callable
class ClipAugmentation:
    """Training augmentation of a clip, with the same random parameters for every frame.

    Steps, in this order: random resized crop (area fraction in `scale`, aspect ratio log-uniform in `ratio`,
    resized to `output_size`), horizontal flip, colour jitter (brightness, then contrast around the clip's mean
    luma, then saturation), random grayscale, random erasing (one box through all frames, filled with noise or a
    constant). Sharing the parameters over time keeps the clip temporally consistent: the same object stays at
    the same place after the crop, which a tubelet model relies on.

    Args:
        output_size (`int` or `tuple[int, int]`): height and width of the output frames.
        scale (`tuple[float, float]`, *optional*, defaults to `(0.6, 1.0)`): crop area as a fraction of the frame.
        ratio (`tuple[float, float]`, *optional*, defaults to `(3/4, 4/3)`): crop aspect ratio (width / height).
        flip_prob (`float`, *optional*, defaults to 0.5): probability of a horizontal flip.
        brightness, contrast, saturation (`float`, *optional*, defaults to 0.4):
            jitter strength: the factor is drawn from `[max(0, 1 - s), 1 + s]` (0 disables it).
        grayscale_prob (`float`, *optional*, defaults to 0.2): probability of converting to grayscale.
        erasing_scale (`tuple[float, float]`, *optional*, defaults to `(0.02, 0.33)`): erased area fraction.
        erasing_ratio (`tuple[float, float]`, *optional*, defaults to `(0.3, 3.3)`): erased box aspect ratio.
        erasing_prob (`float`, *optional*, defaults to 0.25): probability of random erasing.
        erasing_value (`float` or `"random"`, *optional*, defaults to `"random"`):
            fill of the erased box: uniform noise in [0, 1] (the same noise in every frame) or a constant.

    Example:

    ```python
    >>> import torch
    >>> augment = ClipAugmentation(32)
    >>> clip = torch.rand(8, 3, 48, 64)
    >>> augment(clip, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([8, 3, 32, 32])

    ```
    """

    output_size: int | tuple[int, int]
    _: KW_ONLY  # the settings of each step, by name
    scale: tuple[float, float] = (0.6, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_prob: float = 0.5
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    grayscale_prob: float = 0.2
    erasing_scale: tuple[float, float] = (0.02, 0.33)
    erasing_ratio: tuple[float, float] = (0.3, 3.3)
    erasing_prob: float = 0.25
    erasing_value: float | str = "random"

    def __post_init__(self) -> None:
        self.output_size = _as_pair(self.output_size)
        self.scale, self.ratio = tuple(self.scale), tuple(self.ratio)
        self.erasing_scale, self.erasing_ratio = tuple(self.erasing_scale), tuple(self.erasing_ratio)
        for name in ("scale", "ratio", "erasing_scale", "erasing_ratio"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"`{name}` must be an increasing pair of positive numbers, got {(low, high)}.")
        if self.scale[1] > 1 or self.erasing_scale[1] > 1:
            raise ValueError(
                f"`scale` and `erasing_scale` must not exceed 1, got {self.scale} and {self.erasing_scale}."
            )
        for name in ("flip_prob", "grayscale_prob", "erasing_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1], got {getattr(self, name)}.")
        for name in ("brightness", "contrast", "saturation"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}.")
        if not (self.erasing_value == "random" or isinstance(self.erasing_value, (int, float))):
            raise ValueError(f"`erasing_value` must be a number or 'random', got {self.erasing_value!r}.")

    def _sample_box(
        self,
        height: int,
        width: int,
        scale: tuple[float, float],
        ratio: tuple[float, float],
        generator: torch.Generator,
    ) -> tuple[int, int, int, int] | None:
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(generator, *scale)
            aspect = math.exp(_uniform(generator, *log_ratio))
            box_width = round(math.sqrt(target_area * aspect))
            box_height = round(math.sqrt(target_area / aspect))
            if 0 < box_width <= width and 0 < box_height <= height:
                top = int(torch.randint(0, height - box_height + 1, (1,), generator=generator))
                left = int(torch.randint(0, width - box_width + 1, (1,), generator=generator))
                return top, left, box_height, box_width
        return None

    def _jitter_factor(self, strength: float, generator: torch.Generator) -> float:
        return _uniform(generator, max(0.0, 1.0 - strength), 1.0 + strength) if strength > 0 else 1.0

    def sample(
        self, height: int, width: int, generator: torch.Generator | None = None
    ) -> ClipAugmentationParams:
        """Draw the random parameters for a clip of `height x width` frames.

        Args:
            height (`int`), width (`int`): input frame size.
            generator (`torch.Generator`, *optional*): source of randomness (`None`: torch's global generator).

        Returns:
            [`ClipAugmentationParams`].
        """
        if generator is None:
            generator = torch.default_generator
        crop = self._sample_box(height, width, self.scale, self.ratio, generator)
        if crop is None:  # fallback: the largest centred crop with an allowed aspect ratio
            aspect = width / height
            if aspect < self.ratio[0]:
                crop_width, crop_height = width, round(width / self.ratio[0])
            elif aspect > self.ratio[1]:
                crop_height, crop_width = height, round(height * self.ratio[1])
            else:
                crop_height, crop_width = height, width
            crop = ((height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width)
        flip = bool(torch.rand((), generator=generator) < self.flip_prob)
        brightness = self._jitter_factor(self.brightness, generator)
        contrast = self._jitter_factor(self.contrast, generator)
        saturation = self._jitter_factor(self.saturation, generator)
        grayscale = bool(torch.rand((), generator=generator) < self.grayscale_prob)
        erase = None
        if torch.rand((), generator=generator) < self.erasing_prob:
            erase = self._sample_box(*self.output_size, self.erasing_scale, self.erasing_ratio, generator)
        return ClipAugmentationParams(crop, flip, brightness, contrast, saturation, grayscale, erase)

    def apply(
        self,
        clip: torch.Tensor,
        params: ClipAugmentationParams,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Apply given parameters to a clip.

        Args:
            clip (`torch.Tensor` of shape `(T, 3, H, W)`): float clip in [0, 1].
            params ([`ClipAugmentationParams`]): from [`~ClipAugmentation.sample`].
            generator (`torch.Generator`, *optional*): source of the erasing noise.

        Returns:
            `torch.Tensor` of shape `(T, 3, output_h, output_w)` in [0, 1].
        """
        _check_clip(clip)
        if clip.shape[1] != 3:
            raise ValueError(f"`clip` must have 3 (RGB) channels, got {clip.shape[1]}.")
        top, left, crop_height, crop_width = params.crop
        out = resize(clip[..., top : top + crop_height, left : left + crop_width], *self.output_size)
        if params.flip:
            out = out.flip(-1)
        if params.brightness != 1.0:
            out = out * params.brightness
        if params.contrast != 1.0:
            mean = _grayscale(out.clamp(0.0, 1.0)).mean()
            out = (out - mean) * params.contrast + mean
        if params.saturation != 1.0:
            gray = _grayscale(out)
            out = (out - gray) * params.saturation + gray
        out = out.clamp(0.0, 1.0)
        if params.grayscale:
            out = _grayscale(out).expand(-1, 3, -1, -1)
        if params.erase is not None:
            e_top, e_left, e_height, e_width = params.erase
            out = out.clone()
            if self.erasing_value == "random":
                fill = torch.rand((3, e_height, e_width), generator=generator, dtype=out.dtype)
            else:
                fill = torch.full((3, e_height, e_width), float(self.erasing_value), dtype=out.dtype)
            out[..., e_top : e_top + e_height, e_left : e_left + e_width] = fill
        return out.contiguous()

    def __call__(self, clip: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a clip: `apply(clip, sample(H, W, generator), generator)`.

        Args:
            clip (`torch.Tensor` of shape `(T, 3, H, W)`): float clip in [0, 1].
            generator (`torch.Generator`, *optional*): source of randomness (`None`: torch's global generator).

        Returns:
            `torch.Tensor` of shape `(T, 3, output_h, output_w)` in [0, 1].
        """
        _check_clip(clip)
        params = self.sample(clip.shape[-2], clip.shape[-1], generator)
        return self.apply(clip, params, generator)


__all__ = [
    "ClipAugmentation",
    "ClipAugmentationParams",
    "VidAnonImageProcessor",
    "VidAnonProcessorMixin",
    "as_uint8_frames",
    "center_crop",
    "clip_eval_transform",
    "clip_to_frames",
    "decode_video_file",
    "frames_to_clip",
    "resize_shorter_side",
]
