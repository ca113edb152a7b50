"""Budget (privacy adversary) models and losses for the alternating objective (VITA / SPAct style).

A budget model sees the anonymized video itself, as an attacker would, and predicts the privacy attributes. The
anonymizer is trained against the strongest of an ensemble of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import VideoMAEForVideoClassification

from ..classifiers import FreshModel, small_videomae_config
from ..configuration_vidanon import IMAGENET_MEAN, IMAGENET_STD
from ..modeling_vidanon import masked_binary_cross_entropy


def build_budget_model(
    image_size: int, num_frames: int, patch_size: int, tubelet_size: int, num_labels: int,
    hidden_size: int = 64, num_layers: int = 2, num_heads: int = 4,
) -> FreshModel:
    """A small multi-label VideoMAE video classifier (mean pooling) behind its own ImageNet normalisation; it takes
    pixels in [0, 1] `(B, T, C, H, W)` and returns logits `(B, num_labels)`."""
    config = small_videomae_config(
        image_size, num_frames, patch_size, tubelet_size, hidden_size, num_layers, num_heads,
        num_labels=num_labels, problem_type="multi_label_classification",
    )
    return FreshModel(VideoMAEForVideoClassification(config), IMAGENET_MEAN, IMAGENET_STD, input_kind="video")


def reset_parameters(module: nn.Module, generator_seed: int) -> None:
    """Re-initialise every parameter of a budget model, identically on every process for the same seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(generator_seed)
        for sub in module.modules():
            if isinstance(sub, (nn.Linear, nn.Conv3d)):
                nn.init.trunc_normal_(sub.weight, std=0.02)
                if sub.bias is not None:
                    nn.init.zeros_(sub.bias)
            elif isinstance(sub, nn.LayerNorm):
                nn.init.ones_(sub.weight)
                nn.init.zeros_(sub.bias)


def budget_attack_loss(logits: torch.Tensor, privacy_labels: torch.Tensor) -> torch.Tensor:
    """What a budget model minimises: BCE-with-logits of its privacy prediction (unknown attributes left out)."""
    return masked_binary_cross_entropy(logits, privacy_labels)


def negative_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean over attributes of `p log p + (1-p) log(1-p)` (0 when certain, -log 2 when blind)."""
    logits = logits.float()
    p = torch.sigmoid(logits)
    return (p * F.logsigmoid(logits) + (1 - p) * F.logsigmoid(-logits)).mean()


def anonymizer_budget_term(
    ensemble_logits: list[torch.Tensor], privacy_labels: torch.Tensor, kind: str = "bce"
) -> torch.Tensor:
    """The budget term the anonymizer ADDS to its loss, against the strongest ensemble member.

    - `"bce"`: `-min_k BCE_k`: pushing the best attacker's BCE up.
    - `"entropy"`: `max_k NegEntropy_k`: pushing the most confident attacker towards a blind guess (VITA).
    """
    if kind == "bce":
        return -torch.stack([budget_attack_loss(logits, privacy_labels) for logits in ensemble_logits]).min()
    if kind == "entropy":
        return torch.stack([negative_entropy(logits) for logits in ensemble_logits]).max()
    raise ValueError(f"`budget_loss` must be 'bce' or 'entropy', got {kind!r}.")
