"""Applying trained fresh models: action probabilities and attacker logits, per video."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...classifiers import FreshModel
from .clips import check_clips
from .loop import threads


@dataclass
class FrameAttackerPrediction:
    """Output of `predict_frame_attacker`.

    Attributes:
        logits (`torch.Tensor` of shape `(N, num_labels)`): frame logits averaged over time and clips.
        frame_logits (`torch.Tensor` of shape `(N, num_clips, T, num_labels)`): every frame's logits.
    """

    logits: torch.Tensor
    frame_logits: torch.Tensor

    def flat_frame_logits(self) -> torch.Tensor:
        """Frame logits as `(N, num_clips * T, num_labels)` (frame positions of all clips, in clip order)."""
        n, k, t, a = self.frame_logits.shape
        return self.frame_logits.reshape(n, k * t, a)


def _batched_logits(model: FreshModel, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Float logits `(N, num_labels)` of `inputs` `(N, ...)`, `batch_size` at a time, in eval mode, on the CPU."""
    device = model.pixel_mean.device
    outputs = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], batch_size):
            outputs.append(model(inputs[start : start + batch_size].to(device)).float().cpu())
    return torch.cat(outputs)


def clip_logits(
    model: FreshModel, clips: torch.Tensor, batch_size: int = 32, num_threads: int | None = None
) -> torch.Tensor:
    """Logits of a video model for every clip of every video.

    Args:
        model (`FreshModel`): from `train_action_model` or `train_video_attacker`.
        clips (`torch.Tensor`): `(N, num_clips, T, C, H, W)` or `(N, T, C, H, W)` (one clip), uint8 or float.
        batch_size (`int`, *optional*, defaults to 32): clips per forward pass.
        num_threads (`int`, *optional*): torch threads while predicting.

    Returns:
        `torch.Tensor` of shape `(N, num_clips, num_labels)`.
    """
    check_clips(clips, "clips", allow_multi_clip=True)
    multi = clips if clips.dim() == 6 else clips.unsqueeze(1)
    n, k = multi.shape[:2]
    with threads(num_threads):
        return _batched_logits(model, multi.reshape(n * k, *multi.shape[2:]), batch_size).reshape(n, k, -1)


def predict_action(
    model: FreshModel, clips: torch.Tensor, batch_size: int = 32, num_threads: int | None = None
) -> torch.Tensor:
    """Action probabilities `(N, num_labels)` (rows sum to 1): the softmax of each clip, averaged over the clips of
    a video. Arguments as in [`clip_logits`]."""
    return clip_logits(model, clips, batch_size, num_threads).softmax(dim=-1).mean(dim=1)


def predict_video_attacker(
    model: FreshModel, clips: torch.Tensor, batch_size: int = 32, num_threads: int | None = None
) -> torch.Tensor:
    """Video attacker logits `(N, num_attributes)`, averaged over the clips of each video. Arguments as in
    [`clip_logits`]."""
    return clip_logits(model, clips, batch_size, num_threads).mean(dim=1)


def predict_frame_attacker(
    model: FreshModel, clips: torch.Tensor, batch_size: int = 256, num_threads: int | None = None
) -> FrameAttackerPrediction:
    """Per-frame attacker logits, and their average over time and clips.

    Args:
        model (`FreshModel`): from `train_frame_attacker`.
        clips (`torch.Tensor`): `(N, num_clips, T, C, H, W)` or `(N, T, C, H, W)`, uint8 or float.
        batch_size (`int`, *optional*, defaults to 256): frames per forward pass.
        num_threads (`int`, *optional*): torch threads while predicting.

    Returns:
        `FrameAttackerPrediction`: `logits` `(N, num_attributes)` and `frame_logits`
        `(N, num_clips, T, num_attributes)`.
    """
    check_clips(clips, "clips", allow_multi_clip=True)
    multi = clips if clips.dim() == 6 else clips.unsqueeze(1)
    n, k, t = multi.shape[:3]
    with threads(num_threads):
        frame_logits = _batched_logits(model, multi.reshape(n * k * t, *multi.shape[3:]), batch_size)
    frame_logits = frame_logits.reshape(n, k, t, -1)
    return FrameAttackerPrediction(logits=frame_logits.mean(dim=(1, 2)), frame_logits=frame_logits)
