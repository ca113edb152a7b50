"""transformers pipelines for VidAnon models.

- `"video-anonymization"` ([`VideoAnonymizationPipeline`], registered by [`register_pipelines`]): a video path or
  a `(T, H, W, 3)` array in, the anonymized frames at the input's size and the tubelet keep masks out.
- `"video-classification"` (transformers' own pipeline): works with a saved VidAnon checkpoint once its image
  processor can be found by `AutoImageProcessor`, which [`register_pipelines`] also arranges. It reads the video
  with PyAV, takes the first `num_frames` frames, and returns action labels from the action head.

```python
>>> from transformers import pipeline
>>> from transformers_vidanon.pipelines import register_pipelines
>>> register_pipelines()
>>> anonymizer = pipeline("video-anonymization", model="path/to/checkpoint")  # doctest: +SKIP
>>> result = anonymizer("clip.mp4")  # doctest: +SKIP
>>> result["frames"].shape, result["kept_fraction"]  # doctest: +SKIP
((120, 240, 320, 3), 0.73)
>>> pipeline("video-classification", model="path/to/checkpoint")("clip.mp4")  # doctest: +SKIP
[{'score': 0.91, 'label': 'wave'}, ...]
```
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
from transformers import Pipeline

from .anonymize import (
    DEFAULT_BATCH_SIZE,
    apply_mask_to_frames,
    as_uint8_frames,
    override_pruning,
    predict_keep_mask,
    prepare_pixel_values,
    split_into_clips,
)
from .video_io import VideoFile

logger = logging.getLogger(__name__)

VIDEO_ANONYMIZATION_TASK = "video-anonymization"


class VideoAnonymizationPipeline(Pipeline):
    """Anonymize a video with a VidAnon model.

    The video is cut into consecutive clips of the model's `num_frames` frames (the last one padded with its last
    frame), every clip is resized to the model's size to score the tubelets, and the keep mask is applied at the
    input's own size (see `transformers_vidanon.anonymize`). The whole video is decoded into memory: for long
    files use `transformers_vidanon.anonymize.anonymize_video`, which streams.

    Call arguments:
        inputs (`str`, `os.PathLike`, `np.ndarray` or `torch.Tensor`): a video file, or frames `(T, H, W, 3)` as
            uint8 or floats in [0, 1]. A list of them gives a list of results.
        clip_batch_size (`int`, *optional*, defaults to 4): clips per forward pass.
        keep_rate (`float`, *optional*), lambda_priv (`float`, *optional*): pruning overrides for this call (a
            copy of the model is built each call; for many videos apply
            `transformers_vidanon.anonymize.override_pruning` once and build the pipeline from its result).

    Returns:
        `dict` with
        - `frames` (`np.ndarray` `(T, H, W, 3)`, uint8): the anonymized video, at the input's frame count and size;
        - `keep_mask` (`np.ndarray` `(num_clips, num_frames / tubelet_size, image_h / patch, image_w / patch)`,
          float 0/1): the tubelet mask of every clip on the model's grid;
        - `pixel_mask` (`np.ndarray` `(T, H, W)`, bool): the kept pixels;
        - `kept_fraction` (`float`): share of pixels kept.
    """

    _load_processor = False
    _load_image_processor = None  # optional: the checkpoint's VidAnonImageProcessor when it has one
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self.model.config, "model_type", None) != "vidanon":
            raise ValueError(
                f"the {VIDEO_ANONYMIZATION_TASK} pipeline needs a VidAnon model, got "
                f"{type(self.model).__name__} ({getattr(self.model.config, 'model_type', '?')})."
            )

    def _sanitize_parameters(
        self, clip_batch_size: int | None = None, keep_rate: float | None = None, lambda_priv: float | None = None
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
        return {}, forward_params, {}

    def preprocess(self, inputs: Any) -> dict[str, Any]:
        if isinstance(inputs, (str, os.PathLike)):
            with VideoFile(inputs) as video:
                frames = video.get_frames(np.arange(video.info.num_frames))
        else:
            frames = as_uint8_frames(inputs)
        clips = frames[split_into_clips(frames.shape[0], self.model.config.num_frames)]  # (num_clips, T, H, W, 3)
        return {
            "pixel_values": prepare_pixel_values(clips, self.model.config, self.image_processor),
            "clips": clips,
            "num_frames": frames.shape[0],
        }

    def _forward(
        self,
        model_inputs: dict[str, Any],
        clip_batch_size: int = DEFAULT_BATCH_SIZE,
        keep_rate: float | None = None,
        lambda_priv: float | None = None,
    ) -> dict[str, Any]:
        model = override_pruning(self.model, keep_rate, lambda_priv)
        keep_mask = predict_keep_mask(model, model_inputs["pixel_values"], clip_batch_size)
        return {
            "keep_mask": keep_mask,
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
        return {
            "frames": frames,
            "keep_mask": keep_mask.numpy(),
            "pixel_mask": pixel_mask,
            "kept_fraction": float(pixel_mask.mean()),
        }


def register_pipelines() -> None:
    """Register the `"video-anonymization"` task with transformers' pipeline registry (idempotent).

    Importing the package calls it; the package also registers VidAnon's image processor with
    `AutoImageProcessor`, which the `"video-classification"` pipeline needs.
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


__all__ = ["VIDEO_ANONYMIZATION_TASK", "VideoAnonymizationPipeline", "register_pipelines"]
