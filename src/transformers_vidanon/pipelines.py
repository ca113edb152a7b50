"""transformers pipelines for VidAnon models.

- `"video-anonymization"` ([`VideoAnonymizationPipeline`]): a video path or a `(T, H, W, 3)` array in, the
  anonymized frames at the input's size and the tubelet keep masks out. Importing the package registers it
  ([`register_pipelines`]); a saved checkpoint also names it in `config.json` (`custom_pipelines`) and carries this
  file, so that `pipeline("video-anonymization", model=..., trust_remote_code=True)` works with transformers alone.
- `"video-classification"` (transformers' own pipeline): action labels from the action head. It finds the
  checkpoint's [`VidAnonVideoProcessor`] through `AutoVideoProcessor`, which samples `num_frames` frames uniformly
  over the video.

```python
>>> from transformers import pipeline
>>> anonymizer = pipeline("video-anonymization", model="path/to/checkpoint")  # doctest: +SKIP
>>> result = anonymizer("clip.mp4")  # doctest: +SKIP
>>> result["frames"].shape, result["kept_fraction"]  # doctest: +SKIP
((120, 240, 320, 3), 0.73)
>>> pipeline("video-classification", model="path/to/checkpoint")("clip.mp4")  # doctest: +SKIP
[{'score': 0.91, 'label': 'wave'}, ...]
```

This module is saved beside every checkpoint, so it imports nothing from the package but its flat siblings
`pruning.py` and `processing_vidanon.py` (saved with it: remote code can import sibling files, not subpackages).
Those hold what it shares with `inference.anonymize`: the uint8 conversion (`processing_vidanon.as_uint8_frames`),
the PyAV decoder (`processing_vidanon.decode_video_file`; the package's own video reader is used when the package is
installed) and the mask application (`pruning.apply_mask_to_frames`); the keep mask is the model's own
(`model.keep_mask`). It keeps one small copy, of the consecutive clips of `video.split_into_clips`; the tests check
that both give the same frames.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

import numpy as np
import torch
from transformers import Pipeline

from .processing_vidanon import as_uint8_frames, clips_to_pixel_values, decode_video_file
from .pruning import apply_mask_to_frames

logger = logging.getLogger(__name__)

VIDEO_ANONYMIZATION_TASK = "video-anonymization"
DEFAULT_CLIP_BATCH_SIZE = 4
# what `config.json` records, so that transformers can build the pipeline from the checkpoint's own code
CUSTOM_PIPELINES: dict[str, dict[str, Any]] = {
    VIDEO_ANONYMIZATION_TASK: {
        "impl": "pipelines.VideoAnonymizationPipeline",
        "pt": ["AutoModelForVideoClassification"],
        "type": "video",
    }
}


def read_video_frames(path: str | os.PathLike) -> np.ndarray:
    """Every frame of a video file, `(T, H, W, 3)` uint8 RGB.

    With the package installed its reader is used (decord or PyAV, with its checks and errors); otherwise PyAV.
    """
    try:
        from transformers_vidanon.video import VideoFile
    except ImportError:
        VideoFile = None
    if VideoFile is None:
        return decode_video_file(path)
    with VideoFile(path) as video:
        return video.get_frames(np.arange(video.info.num_frames))


def clip_indices(num_video_frames: int, clip_length: int) -> np.ndarray:
    """`(num_clips, clip_length)` frame indices of consecutive clips covering every frame once (the last clip
    repeats the last frame)."""
    num_clips = math.ceil(num_video_frames / clip_length)
    indices = np.arange(num_clips * clip_length, dtype=np.int64).reshape(num_clips, clip_length)
    return np.minimum(indices, num_video_frames - 1)


class VideoAnonymizationPipeline(Pipeline):
    """Anonymize a video with a VidAnon model.

    The video is cut into consecutive clips of the model's `num_frames` frames (the last one padded with its last
    frame), every clip is resized to the model's size to score the tubelets, and the keep mask is applied at the
    input's own size (see `transformers_vidanon.inference.anonymize`). The whole video is decoded into memory: for long
    files use `transformers_vidanon.inference.anonymize.anonymize_video`, which streams.

    Call arguments:
        inputs (`str`, `os.PathLike`, `np.ndarray` or `torch.Tensor`): a video file, or frames `(T, H, W, 3)` as
            uint8 or floats in [0, 1]. A list of them gives a list of results.
        clip_batch_size (`int`, *optional*, defaults to 4): clips per forward pass.
        keep_rate (`float`, *optional*), lambda_priv (`float`, *optional*): pruning overrides for this call
            (`model.pruning_overridden`: the model's own settings come back after it).
        return_pruning_maps (`bool`, *optional*, defaults to `False`): also return what decided the mask
            (`model.pruning_maps`, the same forward pass).

    Returns:
        `dict` with
        - `frames` (`np.ndarray` `(T, H, W, 3)`, uint8): the anonymized video, at the input's frame count and size;
        - `keep_mask` (`np.ndarray` `(num_clips, num_frames / tubelet_size, image_h / patch, image_w / patch)`,
          float 0/1): the tubelet mask of every clip on the model's grid;
        - `pixel_mask` (`np.ndarray` `(T, H, W)`, bool): the kept pixels;
        - `kept_fraction` (`float`): share of pixels kept;
        - with `return_pruning_maps`, `pruning_maps`: one `dict` per pruning layer, `layer` (its index) and
          `action_attention`, `privacy_attention`, `scores` (`np.ndarray`s of `keep_mask`'s shape: `a_act`, `a_priv`
          and `s` of every tubelet, NaN where an earlier layer pruned it).
    """

    _load_processor = False
    _load_image_processor = None  # optional: the checkpoint's processors, the video processor preferred
    _load_video_processor = None
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self.model.config, "model_type", None) != "vidanon":
            raise ValueError(
                f"the {VIDEO_ANONYMIZATION_TASK} pipeline needs a VidAnon model, got "
                f"{type(self.model).__name__} ({getattr(self.model.config, 'model_type', '?')})."
            )

    @property
    def frame_processor(self) -> Any | None:
        """The processor that resizes the clips: the video processor when there is one, else the image processor."""
        return getattr(self, "video_processor", None) or self.image_processor

    def _sanitize_parameters(
        self, clip_batch_size: int | None = None, keep_rate: float | None = None, lambda_priv: float | None = None,
        return_pruning_maps: bool | None = None,
    ) -> tuple[dict, dict, dict]:
        forward_params: dict[str, Any] = {}
        if clip_batch_size is not None:
            if int(clip_batch_size) < 1:
                raise ValueError(f"`clip_batch_size` must be >= 1, got {clip_batch_size}.")
            forward_params["clip_batch_size"] = int(clip_batch_size)
        if keep_rate is not None:
            forward_params["keep_rate"] = keep_rate
        if lambda_priv is not None:
            forward_params["lambda_priv"] = lambda_priv
        if return_pruning_maps is not None:
            forward_params["return_pruning_maps"] = bool(return_pruning_maps)
        return {}, forward_params, {}

    def preprocess(self, inputs: Any) -> dict[str, Any]:
        frames = read_video_frames(inputs) if isinstance(inputs, (str, os.PathLike)) else as_uint8_frames(inputs)
        config = self.model.config
        clips = frames[clip_indices(frames.shape[0], config.num_frames)]  # (num_clips, T, H, W, 3)
        return {
            "pixel_values": clips_to_pixel_values(clips, config.image_size, self.frame_processor),
            "clips": clips,
            "num_frames": frames.shape[0],
        }

    def _forward(
        self,
        model_inputs: dict[str, Any],
        clip_batch_size: int = DEFAULT_CLIP_BATCH_SIZE,
        keep_rate: float | None = None,
        lambda_priv: float | None = None,
        return_pruning_maps: bool = False,
    ) -> dict[str, Any]:
        model = self.model
        pixel_values = model_inputs["pixel_values"]
        parameter = next(model.parameters())
        masks, maps = [], []
        with model.pruning_overridden(keep_rate=keep_rate, lambda_priv=lambda_priv):
            for start in range(0, pixel_values.shape[0], clip_batch_size):
                chunk = pixel_values[start : start + clip_batch_size].to(device=parameter.device, dtype=parameter.dtype)
                if return_pruning_maps:  # per chunk: per pruning layer, (a_act, a_priv, s)
                    outputs = model.pruning_maps(chunk)
                    maps.append(list(zip(outputs.action_attention, outputs.privacy_attention, outputs.scores)))
                    masks.append(outputs.keep_mask.float().cpu())
                else:
                    masks.append(model.keep_mask(chunk).float().cpu())
        extra = {}
        if return_pruning_maps:
            names = ("action_attention", "privacy_attention", "scores")
            extra["pruning_maps"] = [
                {"layer": layer, **{name: torch.cat([chunk[number][k] for chunk in maps]).cpu().numpy()
                                    for k, name in enumerate(names)}}
                for number, layer in enumerate(sorted(model.config.pruning_layers))
            ]
        return {
            **extra,
            "keep_mask": torch.cat(masks),
            "clips": model_inputs["clips"],
            "num_frames": model_inputs["num_frames"],
            "fill_value": model.config.anonymization_fill_value,
        }

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        keep_mask: torch.Tensor = model_outputs["keep_mask"]
        frames, pixel_mask = apply_mask_to_frames(model_outputs["clips"], keep_mask, model_outputs["fill_value"])
        num = model_outputs["num_frames"]
        frames = frames.reshape(-1, *frames.shape[2:])[:num]
        pixel_mask = pixel_mask.reshape(-1, *pixel_mask.shape[2:])[:num]
        result = {
            "frames": frames,
            "keep_mask": keep_mask.numpy(),
            "pixel_mask": pixel_mask,
            "kept_fraction": float(pixel_mask.mean()),
        }
        if "pruning_maps" in model_outputs:
            result["pruning_maps"] = model_outputs["pruning_maps"]
        return result


def register_pipelines() -> None:
    """Register the `"video-anonymization"` task with transformers' pipeline registry (idempotent).

    Importing the package calls it. Once registered, this implementation also serves checkpoints whose
    `config.json` names the task in `custom_pipelines` (the package's `VidAnonConfig` leaves that entry aside), so
    no `trust_remote_code` is needed where the package is installed.
    """
    from transformers import AutoModelForVideoClassification
    from transformers.pipelines import PIPELINE_REGISTRY

    current = PIPELINE_REGISTRY.supported_tasks.get(VIDEO_ANONYMIZATION_TASK)
    if current is None or current.get("impl") is not VideoAnonymizationPipeline:
        PIPELINE_REGISTRY.register_pipeline(
            VIDEO_ANONYMIZATION_TASK,
            pipeline_class=VideoAnonymizationPipeline,
            pt_model=AutoModelForVideoClassification,
            type="video",
        )


__all__ = [
    "CUSTOM_PIPELINES",
    "VIDEO_ANONYMIZATION_TASK",
    "VideoAnonymizationPipeline",
    "read_video_frames",
    "register_pipelines",
]
