"""The schedules and optimizer settings of the package's training loops: AdamW parameter groups and the linear
warm-up + cosine learning-rate schedule (used by the adversarial trainer, MAE pretraining and the fresh models of
the evaluation protocol), and the gradient reversal coefficient's schedule (the adversarial trainer)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch


def parameter_groups(
    model: torch.nn.Module, weight_decay: float, no_decay_names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """AdamW groups: weight decay on every trainable parameter but the 0/1-d ones (norms, biases) and those whose
    name contains one of `no_decay_names` (e.g. CLS tokens, position embeddings)."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            skip = parameter.ndim <= 1 or any(key in name for key in no_decay_names)
            (no_decay if skip else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warm-up reaching 1 at step `warmup_steps - 1`, then cosine decay to 0 at
    `total_steps` (and 0 after)."""
    if step < warmup_steps:
        return (step + 1) / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def warmup_cosine_scheduler(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A `LambdaLR` following [`warmup_cosine`], stepped once per optimizer step."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, warmup_steps, total_steps))


def grl_coefficient_schedule(progress: float) -> float:
    """The gradient reversal coefficient `2 / (1 + exp(-10 p)) - 1` for training progress `p` in [0, 1] (0 at the
    start, close to 1 from p = 0.5 on); the trainer scales it by `grl_max_coefficient` after its warm-up."""
    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0
