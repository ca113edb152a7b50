"""The video processor of VidAnon models (transformers 5's `AutoVideoProcessor` route).

[`VidAnonVideoProcessor`] is what `AutoVideoProcessor.from_pretrained(model_dir)` and the `video-classification`
pipeline use for a VidAnon checkpoint (saved as `video_preprocessor_config.json`). It takes video files (decoded
with PyAV), arrays `(T, H, W, 3)` or tensors, optionally samples `num_frames` frames uniformly, resizes the shorter
side, centre-crops to the model size and rescales to [0, 1]. Like [`VidAnonImageProcessor`], it does **not**
normalise: VidAnon models normalise inside.

transformers' own `BaseVideoProcessor` needs torchvision; this processor resizes with torch alone (bilinear,
antialiased, the same transforms as `processing_vidanon.clip_eval_transform`), so it also works where torchvision
cannot be installed. The image processor stays as the fallback for code that asks for `AutoImageProcessor`.

Like `processing_vidanon.py`, this module imports nothing from the package but its sibling modules, so that it can be
saved beside a checkpoint and loaded with `trust_remote_code=True` where the package is not installed.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling
from transformers.video_processing_utils import VideoProcessorMixin

from .processing_vidanon import (
    VidAnonProcessorMixin,
    center_crop,
    covering_size,
    decode_video_file,
    resize,
    resize_shorter_side,
)


def uniform_frame_indices(num_video_frames: int, num_frames: int) -> np.ndarray:
    """`num_frames` frame indices spread uniformly over a video (frames repeat when the video is shorter).

    The same rule as transformers' default sampler: `arange(0, total, total / num_frames)`, truncated.
    """
    if num_video_frames < 1 or num_frames < 1:
        raise ValueError(f"cannot sample {num_frames} frames out of a video of {num_video_frames} frames.")
    return np.minimum(np.arange(num_frames) * (num_video_frames / num_frames), num_video_frames - 1).astype(np.int64)


class VidAnonVideoProcessor(VidAnonProcessorMixin, VideoProcessorMixin):
    r"""
    Video processor of VidAnon models: optional uniform frame sampling, shorter-side resize, centre crop to the
    model size, rescale to [0, 1]. No normalisation (the model normalises inside, see [`VidAnonImageProcessor`]).

    Args:
        do_resize (`bool`, *optional*, defaults to `True`): resize the frames.
        size (`dict[str, int]`, *optional*, defaults to `{"shortest_edge": 224}`): `{"shortest_edge": s}` resizes
            the shorter side to `s` keeping the aspect ratio; `{"height": h, "width": w}` resizes to exactly that.
        do_center_crop (`bool`, *optional*, defaults to `True`): centre-crop to `crop_size` after the resize.
        crop_size (`dict[str, int]`, *optional*, defaults to `{"height": 224, "width": 224}`): the model input size.
        do_rescale (`bool`, *optional*, defaults to `True`): multiply uint8 values by `rescale_factor` (1/255).
        do_normalize (`bool`, *optional*, defaults to `False`): keep `False` for VidAnon models.
        do_sample_frames (`bool`, *optional*, defaults to `False`): sample `num_frames` frames uniformly from each
            video (the `video-classification` pipeline turns it on with the model's `num_frames`).
        num_frames (`int`, *optional*): frames to sample when `do_sample_frames` is on.

    Example:

    ```python
    >>> import numpy as np
    >>> processor = VidAnonVideoProcessor.for_image_size(32)
    >>> video = np.zeros((4, 48, 64, 3), dtype=np.uint8)
    >>> processor(video, return_tensors="pt")["pixel_values"].shape
    torch.Size([1, 4, 3, 32, 32])

    ```
    """

    model_input_names = ["pixel_values"]  # noqa: RUF012 (class defaults, as in transformers' processors)
    resample = PILImageResampling.BILINEAR
    size = {"shortest_edge": 224}  # noqa: RUF012
    crop_size = {"height": 224, "width": 224}  # noqa: RUF012
    default_to_square = False
    do_resize = True
    do_center_crop = True
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = False
    image_mean = IMAGENET_DEFAULT_MEAN
    image_std = IMAGENET_DEFAULT_STD
    do_convert_rgb = True
    do_sample_frames = False
    num_frames = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_attributes(**kwargs)

    @classmethod
    def from_model_config(cls, config: Any, **kwargs: Any) -> VidAnonVideoProcessor:
        """A processor for a model configuration (anything with `image_size`, and `num_frames` to sample)."""
        if getattr(config, "num_frames", None) is not None:
            kwargs.setdefault("num_frames", int(config.num_frames))
        return super().from_model_config(config, **kwargs)

    # ---------------------------------------------------------------------------------------------------------
    # input handling
    # ---------------------------------------------------------------------------------------------------------
    @staticmethod
    def _is_single_video(videos: Any) -> bool:
        if isinstance(videos, (str, os.PathLike)):
            return True
        if isinstance(videos, (np.ndarray, torch.Tensor)):
            return videos.ndim == 4
        if isinstance(videos, (list, tuple)) and videos:
            first = videos[0]
            # a list of frames (arrays / tensors of 3 dimensions, or PIL images) is one video
            return (isinstance(first, (np.ndarray, torch.Tensor)) and first.ndim == 3) or hasattr(first, "getpixel")
        return False

    @staticmethod
    def _to_float_clip(video: Any) -> torch.Tensor:
        """One video as a `(T, C, H, W)` float tensor with the input's value range."""
        if isinstance(video, (str, os.PathLike)):
            video = decode_video_file(video)
        if isinstance(video, (list, tuple)):
            video = np.stack([np.asarray(frame) for frame in video])
        tensor = torch.from_numpy(np.ascontiguousarray(video)) if isinstance(video, np.ndarray) else video
        if not isinstance(tensor, torch.Tensor) or tensor.ndim != 4:
            raise ValueError(
                f"a video must be a file path, frames (T, H, W, 3) or a (T, C, H, W) tensor, got "
                f"{tuple(getattr(tensor, 'shape', ())) or type(video).__name__}."
            )
        if tensor.shape[-1] in (1, 3) and tensor.shape[1] not in (1, 3):  # channels last -> first
            tensor = tensor.permute(0, 3, 1, 2)
        if tensor.shape[1] == 1:
            tensor = tensor.expand(-1, 3, -1, -1)
        if tensor.shape[1] != 3:
            raise ValueError(f"a video must have 1 or 3 channels, got shape {tuple(tensor.shape)}.")
        return tensor.float()

    def preprocess(self, videos: Any, **kwargs: Any) -> BatchFeature:
        """Turn one video or a batch of videos into `pixel_values` `(batch, T, 3, H, W)`.

        Args:
            videos: a video file path, frames `(T, H, W, 3)` (uint8), a list of frames, a `(T, C, H, W)` tensor, or a
                list of these (a batch; every video must give the same number of frames).
            kwargs: any processor attribute for this call (`do_resize`, `size`, `do_center_crop`, `crop_size`,
                `do_rescale`, `rescale_factor`, `do_normalize`, `image_mean`, `image_std`, `do_sample_frames`,
                `num_frames`), and `return_tensors` (`"pt"` or `"np"`).

        Returns:
            [`~transformers.BatchFeature`] with `pixel_values`.
        """
        return_tensors = kwargs.pop("return_tensors", None)
        kwargs.pop("device", None)
        kwargs.pop("return_metadata", None)
        unknown = set(kwargs) - set(self.valid_kwargs.__annotations__)
        if unknown:
            raise ValueError(f"unknown argument(s) {sorted(unknown)} for {type(self).__name__}.")
        options = {key: kwargs.get(key, getattr(self, key, None)) for key in self.valid_kwargs.__annotations__}
        options = self._standardize_kwargs(**options)
        batch = [videos] if self._is_single_video(videos) else list(videos)
        if not batch:
            raise ValueError("no video given.")
        clips = []
        for video in batch:
            clip = self._to_float_clip(video)
            if options["do_sample_frames"]:
                if not options["num_frames"]:
                    raise ValueError("`do_sample_frames=True` needs `num_frames`.")
                clip = clip[torch.from_numpy(uniform_frame_indices(clip.shape[0], int(options["num_frames"])))]
            clips.append(self._transform(clip, options))
        if len({tuple(clip.shape) for clip in clips}) > 1:
            raise ValueError(f"the videos give clips of different shapes {[tuple(c.shape) for c in clips]}.")
        pixel_values = torch.stack(clips)
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type=return_tensors)

    def _transform(self, clip: torch.Tensor, options: dict[str, Any]) -> torch.Tensor:
        if options["do_rescale"]:
            clip = clip * options["rescale_factor"]
        if options["do_resize"]:
            size = options["size"]
            if size.shortest_edge is not None:
                clip = resize_shorter_side(clip, int(size.shortest_edge))
            elif size.height is not None and size.width is not None:
                clip = resize(clip, int(size.height), int(size.width))
            else:
                raise ValueError(f"`size` must have `shortest_edge` or `height` and `width`, got {size}.")
        if options["do_center_crop"]:
            crop_height, crop_width = int(options["crop_size"].height), int(options["crop_size"].width)
            # a non-square crop can be taller / wider than the resized frame: cover it (as clip_eval_transform)
            clip = resize(clip, *covering_size(*clip.shape[-2:], crop_height, crop_width))
            clip = center_crop(clip, (crop_height, crop_width))
        if options["do_rescale"]:
            clip = clip.clamp(0.0, 1.0)
        if options["do_normalize"]:
            mean = torch.tensor(options["image_mean"], dtype=clip.dtype).view(1, -1, 1, 1)
            std = torch.tensor(options["image_std"], dtype=clip.dtype).view(1, -1, 1, 1)
            clip = (clip - mean) / std
        return clip.contiguous()


__all__ = ["VidAnonVideoProcessor", "uniform_frame_indices"]
