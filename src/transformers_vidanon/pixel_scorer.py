"""The pixel scorer: a per-tubelet classifier on the tubelet's own pixels, distilled from the attention's choices.

Beyond the paper. The CLS-attention score `s = a_act - lambda_priv * a_priv` ranks tubelets by tokens that have
already mixed with their neighbours and carry their position, so its choices are right in the large and blurred at
the edges: on SynthPrivacy most of the tubelets it prunes without need lie next to a privacy cue, and the cue
tubelets it keeps are those a cue covers in part. The pixel scorer sees one tubelet's pixels and nothing else, and
learns, after the anonymizer's training, to predict which tubelets the frozen model's attention prunes on the
training clips (`training.pixel_scorer.fit_pixel_scorer`; nothing else of the model changes). What the
attention's choices share in content it can learn; where they follow the position or the surroundings it cannot, so
it averages those out. Ranked by it at the same budget (`VidAnonConfig.pruning_score = "pixels"`) the mask keeps
the attention's picture with sharper edges (benchmarks/results/synth_ablation.md).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def tubelet_pixels(pixel_values: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """The pixels of every tubelet, one row per tubelet in the model's token order (time-major, then rows, then
    columns).

    Args:
        pixel_values (`torch.Tensor` of shape `(B, T, C, H, W)`): the clip in [0, 1].
        grid: `(T', H', W')`, the tubelet grid; `T, H, W` must be multiples of it.

    Returns:
        `torch.Tensor` of shape `(B, T' * H' * W', (T / T') * C * (H / H') * (W / W'))`.
    """
    batch, frames, channels, height, width = pixel_values.shape
    slots, rows, cols = grid
    if frames % slots or height % rows or width % cols:
        raise ValueError(f"`pixel_values` of shape {tuple(pixel_values.shape)} does not split into a {grid} tubelet "
                         "grid.")
    t, p, q = frames // slots, height // rows, width // cols
    blocks = pixel_values.reshape(batch, slots, t, channels, rows, p, cols, q)
    return blocks.permute(0, 1, 4, 6, 2, 3, 5, 7).reshape(batch, slots * rows * cols, t * channels * p * q)


class VidAnonPixelScorer(nn.Module):
    """A two-layer MLP from a tubelet's pixels to the logit that the attention score prunes it."""

    def __init__(self, tubelet_values: int, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(tubelet_values, hidden_size)
        self.activation = nn.GELU()
        self.classifier = nn.Linear(hidden_size, 1)

    def forward(self, pixel_values: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """`(B, T, C, H, W)` pixels in [0, 1] -> `(B, N)` prune logits (positive: the attention would prune it)."""
        values = tubelet_pixels(pixel_values.detach(), grid).to(self.dense.weight.dtype) * 2.0 - 1.0
        return self.classifier(self.activation(self.dense(values))).squeeze(-1)


def pixel_keep_scores(prune_logits: torch.Tensor) -> torch.Tensor:
    """The score the pruning layers rank by with `pruning_score = "pixels"`: the log-odds of being kept."""
    return -prune_logits


def pixel_scorer_loss(prune_logits: torch.Tensor, hard_keep_mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the prune logits `(B, N)` against the attention's hard decisions (the keep mask,
    `(B, T', H', W')`, detached; pruned = 1)."""
    target = 1.0 - hard_keep_mask.detach().flatten(1).to(prune_logits.dtype)
    return F.binary_cross_entropy_with_logits(prune_logits, target)
