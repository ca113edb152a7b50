"""Attention-guided tubelet pruning as pure functions.

Token layout everywhere in this module and in the model:

    [prefix tokens (action CLS, privacy CLS)] [current tubelet tokens] [fused token, once one exists]

The fused token exists from the first pruning step that removes at least one tubelet (with fusion on). A step
that keeps every tubelet leaves the sequence as it is: no gather, no concatenation and no empty fused token.

Shapes use B (batch), H (heads), L (sequence length), N (current tubelets), K (kept tubelets), D (width).
Nothing here holds state: every step takes what it needs and returns what the next step needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class PruningResult:
    """What one pruning step hands to the rest of the encoder.

    Attributes:
        hidden_states (`torch.Tensor` of shape `(B, num_prefix + K + 1 or 0, D)`):
            Prefix tokens, kept tubelets (ascending original index), then the fused token when fusion is on and
            one exists (some tubelet was pruned, now or at an earlier step). When every tubelet is kept, the input
            sequence itself.
        tubelet_indices (`torch.LongTensor` of shape `(B, K)`):
            Original (input-grid) index of every kept tubelet.
        scores (`torch.Tensor` of shape `(B, N)`):
            The utility-privacy score of every tubelet present before this step.
        soft_keep (`torch.Tensor` of shape `(B, N_input)`):
            Running product of soft keep probabilities per original tubelet (gradient carrier for the
            straight-through keep mask).
        has_fused_token (`bool`): whether the last token of `hidden_states` is the fused token.
    """

    hidden_states: torch.Tensor
    tubelet_indices: torch.Tensor
    scores: torch.Tensor
    soft_keep: torch.Tensor
    has_fused_token: bool = False


def num_tubelets_to_keep(num_tokens: int, keep_rate: float) -> int:
    """`ceil(keep_rate * num_tokens)`, at least 1 and at most `num_tokens`.

    A tiny tolerance absorbs float error, so that e.g. `0.5 * 10` keeps 5 and not 6.
    """
    return max(1, min(num_tokens, math.ceil(keep_rate * num_tokens - 1e-6)))


def num_tubelets_selected(
    num_current: int,
    keep_rate: float,
    temporal_consistency: str = "tubelet",
    num_time_slots: int = 1,
    num_extra_tokens: int = 0,
) -> int:
    """How many of `num_current` tubelets [`select_tubelets`] keeps: a plain number, known before any score.

    `"tube"`: `ceil(keep_rate * S)` spatial positions in each of the `num_time_slots` slots; otherwise
    `ceil(keep_rate * (num_current + num_extra_tokens))`, at most `num_current`.
    """
    if temporal_consistency == "tube":
        num_spatial = num_current // num_time_slots
        return num_time_slots * num_tubelets_to_keep(num_spatial, keep_rate)
    return min(num_current, num_tubelets_to_keep(num_current + num_extra_tokens, keep_rate))


def cls_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    cls_positions: tuple[int, ...],
    tubelet_slice: slice,
    scaling: float | None = None,
) -> torch.Tensor:
    """Head-averaged attention of each CLS query over the tubelet keys, renormalised over the tubelets.

    Only the CLS rows are computed (`(B, H, num_cls, L)` logits), so no `L x L` map is materialised.

    Args:
        query (`torch.Tensor` of shape `(B, H, L, d)`): queries of one layer.
        key (`torch.Tensor` of shape `(B, H, L, d)`): keys of the same layer.
        cls_positions: sequence positions of the CLS tokens whose rows are wanted (action first).
        tubelet_slice: the positions of the current tubelet tokens.
        scaling: softmax temperature, `d ** -0.5` by default.

    Returns:
        `torch.Tensor` of shape `(B, num_cls, N)`: each row sums to 1 over the tubelets.
    """
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    first = cls_positions[0]
    if tuple(cls_positions) == tuple(range(first, first + len(cls_positions))):
        cls_query = query[:, :, first : first + len(cls_positions)]  # (B, H, C, d), a view
    else:
        cls_query = query[:, :, list(cls_positions)]
    # in float32 (a no-op for float32 models): half-precision logits would round the small attention fractions
    logits = torch.matmul(cls_query.float(), key.float().transpose(-1, -2)) * scaling  # (B, H, C, L)
    probs = logits.softmax(dim=-1)[..., tubelet_slice].mean(dim=1)  # (B, C, N)
    return probs / probs.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(probs.dtype).tiny)


def utility_privacy_score(action_attention: torch.Tensor, privacy_attention: torch.Tensor, lambda_priv: float):
    """`s = a_act - lambda_priv * a_priv`, element-wise, shapes `(B, N)`."""
    return action_attention - lambda_priv * privacy_attention


def select_tubelets(
    scores: torch.Tensor,
    keep_rate: float,
    temporal_consistency: str = "tubelet",
    num_time_slots: int = 1,
    num_extra_tokens: int = 0,
) -> torch.Tensor:
    """Positions (within the current tubelets) of the tubelets to keep, ascending.

    Args:
        scores (`torch.Tensor` of shape `(B, N)`): utility-privacy scores of the current tubelets.
        keep_rate: fraction kept.
        temporal_consistency: `"tubelet"` keeps the top `ceil(keep_rate * (N + num_extra_tokens))` tubelets on
            their own; `"tube"` sums the scores over time (the current tubelets must form a `(T', S)` grid in
            time-major order) and keeps the top `ceil(keep_rate * S)` spatial positions in every time slot.
        num_time_slots: T', used by `"tube"`.
        num_extra_tokens: non-tubelet candidates counted in the keep budget (the fused token: the reference
            counts it, which gives 1568 -> 1412 -> 1272 -> 1146 for keep rate 0.9 at three layers).

    Returns:
        `torch.LongTensor` of shape `(B, K)`.
    """
    batch, num_current = scores.shape
    if temporal_consistency == "tube":
        if num_current % num_time_slots:
            raise ValueError(f"{num_current} tubelets do not form {num_time_slots} equal time slots.")
        num_spatial = num_current // num_time_slots
        tube_scores = scores.view(batch, num_time_slots, num_spatial).sum(dim=1)  # (B, S)
        keep_spatial = tube_scores.topk(num_tubelets_to_keep(num_spatial, keep_rate), dim=-1).indices
        offsets = torch.arange(num_time_slots, device=scores.device) * num_spatial  # (T',)
        positions = (offsets[None, :, None] + keep_spatial[:, None, :]).flatten(1)  # (B, T' * k)
    elif temporal_consistency == "tubelet":
        num_keep = num_tubelets_selected(num_current, keep_rate, num_extra_tokens=num_extra_tokens)
        positions = scores.topk(num_keep, dim=-1).indices
    else:
        raise ValueError(f"`temporal_consistency` must be 'tubelet' or 'tube', got {temporal_consistency!r}.")
    return positions.sort(dim=-1).values


def soft_keep_probability(
    scores: torch.Tensor, keep_positions: torch.Tensor, temperature: float = 1.0, num_time_slots: int = 1,
    temporal_consistency: str = "tubelet",
) -> torch.Tensor:
    """A differentiable stand-in for the hard keep decision, `(B, N)` in (0, 1).

    `sigmoid((s - t) * N / temperature)` with the threshold `t` half-way between the lowest kept and the
    highest pruned score (detached), so it is above 0.5 exactly where the tubelet is kept. Scores are attention
    fractions of size about `1 / N`, hence the factor N. In `"tube"` mode the summed tube scores decide.
    """
    batch, num_current = scores.shape
    if temporal_consistency == "tube":
        num_spatial = num_current // num_time_slots
        tube_scores = scores.view(batch, num_time_slots, num_spatial).sum(dim=1)
        kept_spatial = keep_positions[:, : keep_positions.shape[1] // num_time_slots]
        soft = soft_keep_probability(tube_scores, kept_spatial, temperature * num_time_slots)
        return soft.repeat(1, num_time_slots)
    kept = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, keep_positions, True)
    big = torch.finfo(scores.dtype).max
    lowest_kept = scores.masked_fill(~kept, big).amin(dim=-1, keepdim=True)
    highest_pruned = scores.masked_fill(kept, -big).amax(dim=-1, keepdim=True)
    threshold = ((lowest_kept + highest_pruned) / 2).detach()
    soft = torch.sigmoid((scores - threshold) * num_current / temperature)
    # everything kept: a constant near 1 (no threshold exists); chosen by a tensor, not a Python `if`, so that
    # torch.compile traces one graph
    return torch.where(kept.all(), torch.sigmoid(torch.full_like(scores, 10.0)) + 0 * scores, soft)


def fuse_pruned_tokens(
    tubelets: torch.Tensor, weights: torch.Tensor, keep_positions: torch.Tensor
) -> torch.Tensor:
    """The weighted sum of the pruned tubelets, `sum_j w_j x_j` over pruned j (weights not renormalised).

    Args:
        tubelets (`torch.Tensor` of shape `(B, N, D)`): the current tubelet tokens.
        weights (`torch.Tensor` of shape `(B, N)`): the action attention of every current tubelet.
        keep_positions (`torch.LongTensor` of shape `(B, K)`): the positions that are kept.

    Returns:
        `torch.Tensor` of shape `(B, 1, D)`.
    """
    pruned = torch.ones_like(weights).scatter(1, keep_positions, 0.0)
    return torch.einsum("bn,bnd->bd", (weights * pruned).to(tubelets.dtype), tubelets)[:, None]


def smooth_scores_over_time(scores: torch.Tensor, tubelet_indices: torch.Tensor, grid_size: int,
                            num_time_slots: int) -> torch.Tensor:
    """Each current tubelet's score averaged with the scores at the same spatial position in the neighbouring time
    slots (t - 1, t, t + 1) that are still present: the `"window"` mode's score.

    Args:
        scores (`torch.Tensor` of shape `(B, N)`): scores of the current tubelets.
        tubelet_indices (`torch.LongTensor` of shape `(B, N)`): their original (time-major) indices.
        grid_size: number of original tubelets, `T' * S`.
        num_time_slots: T'.

    Returns:
        `torch.Tensor` of shape `(B, N)`, differentiable in `scores`.
    """
    batch = scores.shape[0]
    spatial = grid_size // num_time_slots
    full = scores.new_zeros(batch, grid_size).scatter(1, tubelet_indices, scores)
    present = scores.new_zeros(batch, grid_size).scatter(1, tubelet_indices, torch.ones_like(scores))
    kernel = scores.new_ones(1, 1, 3)

    def over_time(values: torch.Tensor) -> torch.Tensor:  # (B, T' * S) -> sums over t-1..t+1, same shape
        series = values.view(batch, num_time_slots, spatial).transpose(1, 2).reshape(batch * spatial, 1, num_time_slots)
        summed = F.conv1d(series, kernel, padding=1)
        return summed.view(batch, spatial, num_time_slots).transpose(1, 2).reshape(batch, grid_size)

    smoothed = over_time(full) / over_time(present).clamp(min=1.0)
    return smoothed.gather(1, tubelet_indices)


def prune_tokens(
    hidden_states: torch.Tensor,
    cls_attn: torch.Tensor,
    tubelet_indices: torch.Tensor,
    soft_keep: torch.Tensor,
    *,
    num_prefix_tokens: int,
    has_fused_token: bool,
    keep_rate: float,
    lambda_priv: float,
    fuse: bool,
    temporal_consistency: str = "tubelet",
    num_time_slots: int = 1,
    temperature: float = 1.0,
    compute_soft_keep: bool | None = None,
    tubelet_scores: torch.Tensor | None = None,
) -> PruningResult:
    """One pruning step: score, select, fuse, and track indices.

    Args:
        hidden_states (`torch.Tensor` of shape `(B, L, D)`): the sequence after the attention sub-block.
        cls_attn (`torch.Tensor` of shape `(B, 2, N)`): from [`cls_attention`], action row then privacy row.
        tubelet_indices (`torch.LongTensor` of shape `(B, N)`): original index of every current tubelet.
        soft_keep (`torch.Tensor` of shape `(B, N_input)`): running soft keep probability per original tubelet.
        num_prefix_tokens: number of CLS tokens in front.
        has_fused_token: whether the last token is a fused token from an earlier step.
        keep_rate, lambda_priv, fuse, temporal_consistency, num_time_slots, temperature: see `VidAnonConfig`.
        compute_soft_keep: update `soft_keep` (the straight-through gradient carrier). `None`: when gradients are
            enabled. A layer in training sets it, because a checkpointed (`use_reentrant=True`) forward runs without
            gradients and the backward pass recomputes it with them.
        tubelet_scores (`torch.Tensor` of shape `(B, N_input)`, *optional*): a score for every original tubelet to
            rank by instead of `s` (`VidAnonConfig.pruning_score = "pixels"`); smoothed and selected as `s` is.

    Returns:
        [`PruningResult`]. The new fused token is the old one (if any) plus the weighted sum of the tubelets
        pruned now: there is never more than one fused token. A step that keeps every tubelet (known from the
        shapes and the keep rate alone) returns `hidden_states` and `tubelet_indices` themselves: no tubelet is
        gathered, and no fused token is created for an empty set of pruned tubelets (one from an earlier step
        stays as it is, since it would gain exactly 0). Scores, and in training the soft keep, are computed as
        on every step.
    """
    num_current = tubelet_indices.shape[1]
    action_attn, privacy_attn = cls_attn[:, 0], cls_attn[:, 1]
    if tubelet_scores is None:
        scores = utility_privacy_score(action_attn, privacy_attn, lambda_priv)
    else:
        scores = tubelet_scores.gather(1, tubelet_indices).to(action_attn.dtype)
    mode = temporal_consistency
    if temporal_consistency == "window":  # select per tubelet on scores smoothed over neighbouring time slots
        scores = smooth_scores_over_time(scores, tubelet_indices, soft_keep.shape[1], num_time_slots)
        mode = "tubelet"
    if compute_soft_keep is None:
        compute_soft_keep = torch.is_grad_enabled()
    num_extra = int(has_fused_token)

    if num_tubelets_selected(num_current, keep_rate, mode, num_time_slots, num_extra) == num_current:
        if compute_soft_keep:  # the soft keep of "everything kept", as below
            everything = torch.arange(num_current, device=scores.device).expand(scores.shape[0], -1)
            soft = soft_keep_probability(scores, everything, temperature, num_time_slots, mode)
            kept_soft = soft_keep.gather(1, tubelet_indices) * soft.to(soft_keep.dtype)
            soft_keep = soft_keep.scatter(1, tubelet_indices, kept_soft)
        return PruningResult(hidden_states=hidden_states, tubelet_indices=tubelet_indices, scores=scores,
                             soft_keep=soft_keep, has_fused_token=has_fused_token)

    keep_positions = select_tubelets(scores, keep_rate, mode, num_time_slots, num_extra_tokens=num_extra)
    batch, length, dim = hidden_states.shape
    # the prefix and the kept tubelets in one row copy: rows of the (B * L, D) sequence
    rows = torch.cat([
        torch.arange(num_prefix_tokens, device=keep_positions.device).expand(batch, -1),
        keep_positions + num_prefix_tokens,
    ], dim=1) + torch.arange(batch, device=keep_positions.device)[:, None] * length  # (B, P + K)
    kept = hidden_states.reshape(batch * length, dim).index_select(0, rows.flatten()).view(batch, -1, dim)
    if fuse:
        tubelets = hidden_states[:, num_prefix_tokens : num_prefix_tokens + num_current]
        fused = fuse_pruned_tokens(tubelets, action_attn, keep_positions)
        if has_fused_token:
            fused = fused + hidden_states[:, -1:]
        kept = torch.cat([kept, fused], dim=1)

    if compute_soft_keep:  # the soft keep only carries gradients; inference skips it
        soft = soft_keep_probability(scores, keep_positions, temperature, num_time_slots, mode)
        kept_soft = soft_keep.gather(1, tubelet_indices) * soft.to(soft_keep.dtype)
        soft_keep = soft_keep.scatter(1, tubelet_indices, kept_soft)
    return PruningResult(
        hidden_states=kept,
        tubelet_indices=tubelet_indices.gather(1, keep_positions),
        scores=scores,
        soft_keep=soft_keep,
        has_fused_token=has_fused_token or fuse,
    )


def keep_mask_from_indices(tubelet_indices: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """Binary keep mask `(B, T', H', W')` (float, 1 = kept) from the kept original tubelet indices `(B, K)`."""
    batch = tubelet_indices.shape[0]
    mask = torch.zeros(batch, math.prod(grid), device=tubelet_indices.device)
    return mask.scatter_(1, tubelet_indices, 1.0).view(batch, *grid)


def straight_through_keep_mask(hard_mask: torch.Tensor, soft_keep: torch.Tensor) -> torch.Tensor:
    """`hard + soft - soft.detach()`: the value of the hard 0/1 mask with the gradient of the soft one.

    Both `(B, T', H', W')`; `soft_keep` may be flat `(B, N)`.
    """
    soft = soft_keep.view_as(hard_mask).to(hard_mask.dtype)
    return hard_mask + (soft - soft.detach())


def upsample_keep_mask(keep_mask: torch.Tensor, video_size: tuple[int, int, int]) -> torch.Tensor:
    """Nearest-neighbour upsampling of a tubelet mask `(B, T', H', W')` to `(B, T, 1, H, W)`."""
    frames, height, width = video_size
    grid = keep_mask.shape[1:]
    if frames % grid[0] == 0 and height % grid[1] == 0 and width % grid[2] == 0:
        mask = (
            keep_mask.repeat_interleave(frames // grid[0], dim=1)
            .repeat_interleave(height // grid[1], dim=2)
            .repeat_interleave(width // grid[2], dim=3)
        )
    else:
        mask = F.interpolate(keep_mask[:, None].float(), size=(frames, height, width), mode="nearest")[:, 0]
        mask = mask.to(keep_mask.dtype)
    return mask[:, :, None]


def apply_keep_mask(video: torch.Tensor, keep_mask: torch.Tensor, fill_value: float = 0.0) -> torch.Tensor:
    """Anonymize a video: every pixel of a pruned tubelet becomes `fill_value`, kept pixels are untouched.

    Args:
        video (`torch.Tensor` of shape `(B, T, C, H, W)`): any resolution; the mask is upsampled to it by
            nearest neighbour.
        keep_mask (`torch.Tensor` of shape `(B, T', H', W')`): 1 = kept, 0 = pruned; a straight-through mask keeps
            its gradient.
        fill_value: the value written into pruned tubelets.
    """
    if video.ndim != 5:
        raise ValueError(f"`video` must be (batch, frames, channels, height, width), got shape {tuple(video.shape)}.")
    if keep_mask.ndim != 4 or keep_mask.shape[0] != video.shape[0]:
        raise ValueError(
            f"`keep_mask` must be (batch, T', H', W') with batch {video.shape[0]}, got shape {tuple(keep_mask.shape)}."
        )
    mask = upsample_keep_mask(keep_mask.to(video.dtype), (video.shape[1], video.shape[3], video.shape[4]))
    return video * mask + fill_value * (1 - mask)


def apply_mask_to_frames(
    clips: np.ndarray, keep_mask: torch.Tensor, fill_value: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """[`apply_keep_mask`] for uint8 clips at their own size: the anonymizer's and the pipeline's output frames.

    The mask is upsampled by nearest neighbour ([`upsample_keep_mask`], as the model does on its own input) and the
    frames stay uint8 (no full-resolution float copy is made), so every kept pixel is exactly the input's.

    Args:
        clips (`np.ndarray` of shape `(B, T, H, W, 3)`, uint8): the original clips.
        keep_mask (`torch.Tensor` of shape `(B, T', H', W')`): 1 = kept.
        fill_value (`float`, *optional*, defaults to 0.0): value in [0, 1] written into pruned tubelets (rounded to
            uint8; values outside [0, 1] are clipped).

    Returns:
        `(frames, pixel_mask)`: the anonymized clips `(B, T, H, W, 3)` uint8 and the kept pixels `(B, T, H, W)` bool.
    """
    batch, frames, height, width = clips.shape[:4]
    if keep_mask.ndim != 4 or keep_mask.shape[0] != batch:
        raise ValueError(f"`keep_mask` must be (batch={batch}, T', H', W'), got {tuple(keep_mask.shape)}.")
    pixel_mask = upsample_keep_mask(keep_mask.detach().float().cpu(), (frames, height, width))[:, :, 0].numpy() > 0.5
    fill = np.uint8(round(min(max(float(fill_value), 0.0), 1.0) * 255))
    return np.where(pixel_mask[..., None], clips, fill), pixel_mask


def surviving_tubelets(
    grid: tuple[int, int, int],
    keep_rates: list[float] | tuple[float, ...],
    fuse_pruned_tokens: bool = True,
    temporal_consistency: str = "tubelet",
) -> int:
    """How many tubelets survive a pruning schedule, by the model's own counting rule.

    `"tubelet"`: each step keeps `ceil(rate * (N + fused))`, the fused token (present, when fusion is on, after
    the first step that prunes a tubelet) counted in the budget (1568 -> 1412 -> 1272 -> 1146 at 0.9, 0.9, 0.9).
    `"tube"`: each step keeps `ceil(rate * S)` of the S spatial positions, in every one of the T' time slots.
    """
    time_slots, height, width = grid
    if any(not 0.0 < float(rate) <= 1.0 for rate in keep_rates):
        raise ValueError(f"keep rates must be in (0, 1], got {list(keep_rates)}.")
    if temporal_consistency == "tube":
        spatial = height * width
        for rate in keep_rates:
            spatial = num_tubelets_to_keep(spatial, float(rate))
        return time_slots * spatial
    count, has_fused = time_slots * height * width, False
    for rate in keep_rates:
        kept = num_tubelets_selected(count, float(rate), num_extra_tokens=int(has_fused))
        has_fused = has_fused or (fuse_pruned_tokens and kept < count)
        count = kept
    return count
