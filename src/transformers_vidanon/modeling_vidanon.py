"""PyTorch VidAnon: a VideoMAE-style video transformer with action and privacy CLS tokens that prunes tubelets."""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput, logging

from .configuration_vidanon import VidAnonConfig, normalize_keep_rate
from .pixel_scorer import VidAnonPixelScorer, pixel_keep_scores
from .pruning import (
    apply_keep_mask,
    cls_attention,
    keep_mask_from_indices,
    prune_tokens,
    straight_through_keep_mask,
)

logger = logging.get_logger(__name__)

ACTION_CLS_POSITION = 0
PRIVACY_CLS_POSITION = 1
KEPT_POOL_POSITION = 2  # the row of a localization pool that pools the kept tubelets


# ----------------------------------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------------------------------
@dataclass
class VidAnonModelOutput(ModelOutput):
    """
    Outputs of [`VidAnonModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, 2 + num_kept (+1 fused), hidden_size)`):
            Final layer-normed tokens: action CLS, privacy CLS, the kept tubelets, then the fused token if any.
        action_cls_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`):
            The final action CLS token.
        privacy_cls_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`):
            The final privacy CLS token.
        kept_tubelet_indices (`torch.LongTensor` of shape `(batch_size, num_kept)`):
            Original tubelet index (time-major over the tubelet grid) of every kept tubelet, ascending.
        keep_mask (`torch.FloatTensor` of shape `(batch_size, frames // tubelet_size, height // patch, width // patch)`):
            1 where a tubelet survived every pruning layer, 0 elsewhere. In training it carries a straight-through
            gradient towards the pruning scores.
        pruning_scores (`tuple(torch.FloatTensor)`):
            One `(batch_size, num_tubelets_before_that_layer)` tensor of utility-privacy scores per pruning layer.
        localization_pools (`tuple(torch.FloatTensor)`, *optional*, with `config.localization_loss_weight > 0`):
            One `(batch_size, 2, hidden_size)` tensor per pruning layer: the tubelets pooled by the action and the
            privacy CLS attention rows (the localization heads read them). With `config.kept_privacy_loss_weight > 0`
            and the soft keep computed (training), `(batch_size, 3, hidden_size)`: the third row pools the detached
            tubelets by their soft keep probability after this layer's step (`KEPT_POOL_POSITION`).
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned when `output_hidden_states=True`):
            Embedding output and the output of every layer (lengths shrink after pruning layers).
        attentions (`tuple(torch.FloatTensor)`, *optional*, returned when `output_attentions=True`):
            Full attention maps `(batch_size, num_heads, seq_len, seq_len)` of every layer.
    """

    last_hidden_state: torch.FloatTensor | None = None
    action_cls_output: torch.FloatTensor | None = None
    privacy_cls_output: torch.FloatTensor | None = None
    kept_tubelet_indices: torch.LongTensor | None = None
    keep_mask: torch.FloatTensor | None = None
    pruning_scores: tuple[torch.FloatTensor, ...] | None = None
    localization_pools: tuple[torch.FloatTensor, ...] | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class VidAnonForPrivacyPreservingActionRecognitionOutput(ModelOutput):
    """
    Outputs of [`VidAnonForPrivacyPreservingActionRecognition`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            `action_loss_weight * action_loss + privacy_loss` over the terms whose labels were given.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
            Action logits (from the action CLS token).
        privacy_logits (`torch.FloatTensor` of shape `(batch_size, num_privacy_labels)`):
            Multi-label privacy logits (from the privacy CLS token, behind the gradient reversal layer).
        action_loss (`torch.FloatTensor` of shape `()`, *optional*): cross-entropy of the action head.
        privacy_loss (`torch.FloatTensor` of shape `()`, *optional*): BCE-with-logits of the privacy head.
        localization_loss (`torch.FloatTensor` of shape `()`, *optional*): with `config.localization_loss_weight > 0`,
            the mean over pruning layers of the attention-pooled heads' cross-entropy plus BCE (already weighted into
            `loss`).
        kept_privacy_loss (`torch.FloatTensor` of shape `()`, *optional*): with `config.kept_privacy_loss_weight > 0`
            in training, the mean over pruning layers of the frozen localization privacy head's BCE against "absent"
            on the pool of the kept tubelets (already weighted into `loss`).
        anonymized_pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            The input with every pruned tubelet set to `config.anonymization_fill_value`, every kept one untouched.
        keep_mask, kept_tubelet_indices, pruning_scores, hidden_states, attentions:
            As in [`VidAnonModelOutput`].
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    privacy_logits: torch.FloatTensor | None = None
    action_loss: torch.FloatTensor | None = None
    privacy_loss: torch.FloatTensor | None = None
    localization_loss: torch.FloatTensor | None = None
    kept_privacy_loss: torch.FloatTensor | None = None
    anonymized_pixel_values: torch.FloatTensor | None = None
    keep_mask: torch.FloatTensor | None = None
    kept_tubelet_indices: torch.LongTensor | None = None
    pruning_scores: tuple[torch.FloatTensor, ...] | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class VidAnonAnonymizationOutput(ModelOutput):
    """
    Outputs of [`VidAnonForPrivacyPreservingActionRecognition.anonymize`].

    Args:
        anonymized_pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            The anonymized video.
        keep_mask (`torch.FloatTensor` of shape `(batch_size, frames // tubelet_size, height // patch, width // patch)`):
            The tubelet keep mask (1 = kept).
    """

    anonymized_pixel_values: torch.FloatTensor | None = None
    keep_mask: torch.FloatTensor | None = None


@dataclass
class VidAnonPruningMapsOutput(ModelOutput):
    """
    Outputs of [`VidAnonForPrivacyPreservingActionRecognition.pruning_maps`]: what decided the keep mask.

    Args:
        keep_mask (`torch.FloatTensor` of shape `(batch_size, frames // tubelet_size, height // patch, width // patch)`):
            The tubelet keep mask (1 = kept), the one [`~VidAnonForPrivacyPreservingActionRecognition.anonymize`]
            gives.
        action_attention, privacy_attention (`tuple(torch.FloatTensor)`):
            One tensor of the keep mask's shape per pruning layer: the head-averaged attention of the action
            (privacy) CLS token to each tubelet present at that layer, `a_act` (`a_priv`), each row summing to 1
            over those tubelets; NaN where an earlier pruning layer removed the tubelet.
        scores (`tuple(torch.FloatTensor)`):
            Likewise, the score `s = a_act - lambda_priv * a_priv` the layer selected on (averaged over the
            neighbouring time slots with `temporal_consistency="window"`), as in `pruning_scores`.
    """

    keep_mask: torch.FloatTensor | None = None
    action_attention: tuple[torch.FloatTensor, ...] | None = None
    privacy_attention: tuple[torch.FloatTensor, ...] | None = None
    scores: tuple[torch.FloatTensor, ...] | None = None


# ----------------------------------------------------------------------------------------------------------------------
# Embeddings
# ----------------------------------------------------------------------------------------------------------------------
def sinusoidal_position_table(num_positions: int, dim: int) -> torch.Tensor:
    """The fixed sine/cosine table of VideoMAE, `(1, num_positions, dim)`."""
    positions = np.arange(num_positions, dtype=np.float64)[:, None]
    exponents = 2 * (np.arange(dim) // 2) / dim
    angles = positions / np.power(10000, exponents)[None, :]
    table = np.empty_like(angles)
    table[:, 0::2] = np.sin(angles[:, 0::2])
    table[:, 1::2] = np.cos(angles[:, 1::2])
    return torch.tensor(table, dtype=torch.float32)[None]


class VidAnonPatchEmbeddings(nn.Module):
    """Conv3d tubelet embedding: `(B, T, C, H, W)` -> `(B, N, D)` with N = T/t * H/p * W/p, time-major."""

    def __init__(self, config: VidAnonConfig):
        super().__init__()
        height, width = (config.image_size, config.image_size) if isinstance(config.image_size, int) else config.image_size
        self.image_size = (height, width)
        self.num_frames = config.num_frames
        self.num_channels = config.num_channels
        self.num_patches = config.num_tubelets
        self.stem = None
        in_channels, patch = config.num_channels, config.patch_size
        if config.conv_stem_channels:  # see `VidAnonConfig.conv_stem_channels`
            layers = []
            for index, width in enumerate(config.conv_stem_channels):
                stride = (1, 2, 2) if index == 0 else (1, 1, 1)
                layers += [nn.Conv3d(in_channels, width, 3, stride=stride, padding=1, bias=False),
                           nn.BatchNorm3d(width), nn.ReLU(inplace=True)]
                in_channels = width
            self.stem = nn.Sequential(*layers)
            patch = patch // 2
        kernel = (config.tubelet_size, patch, patch)
        self.projection = nn.Conv3d(in_channels, config.hidden_size, kernel_size=kernel, stride=kernel)

    def check_input(self, pixel_values: torch.Tensor) -> None:
        """Raise a `ValueError` naming `pixel_values` when its shape does not fit the model."""
        expected = (self.num_frames, self.num_channels, *self.image_size)
        if pixel_values.ndim != 5 or tuple(pixel_values.shape[1:]) != expected:
            raise ValueError(
                f"`pixel_values` must have shape (batch_size, {', '.join(map(str, expected))}) = (batch, frames, "
                f"channels, height, width) for this model, got {tuple(pixel_values.shape)}."
            )
        if pixel_values.shape[0] == 0:
            raise ValueError("`pixel_values` holds no video (batch size 0): pass at least one clip.")

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        self.check_input(pixel_values)
        # (B, T, C, H, W) -> (B, C, T, H, W)
        return self.embed_channels_first(pixel_values.permute(0, 2, 1, 3, 4))

    def embed_channels_first(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """`(B, C, T, H, W)` [-> stem `(B, C', T, H/2, W/2)`] -> `(B, D, T', H', W')` -> `(B, N, D)` (not checked)."""
        embeddings = pixel_values
        if self.stem is not None:
            embeddings = self.stem(embeddings)
        embeddings = self.projection(embeddings)
        return embeddings.flatten(2).transpose(1, 2)


class VidAnonEmbeddings(nn.Module):
    """Input normalisation, tubelet embeddings, the two CLS tokens (action, privacy) and position embeddings."""

    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.config = config
        self.patch_embeddings = VidAnonPatchEmbeddings(config)
        self.num_prefix_tokens = config.num_prefix_tokens
        num_patches, dim = self.patch_embeddings.num_patches, config.hidden_size
        self.cls_tokens = nn.Parameter(torch.zeros(1, self.num_prefix_tokens, dim))
        if config.position_embedding_type == "sinusoidal":
            self.register_buffer("position_embeddings", sinusoidal_position_table(num_patches, dim), persistent=False)
            self.cls_position_embeddings = nn.Parameter(torch.zeros(1, self.num_prefix_tokens, dim))
        elif config.position_embedding_type == "learnable":
            self.position_embeddings = nn.Parameter(torch.zeros(1, self.num_prefix_tokens + num_patches, dim))
            self.cls_position_embeddings = None
        else:  # "none": the tokens carry their content alone
            self.position_embeddings = self.cls_position_embeddings = None
        if config.image_mean is not None:
            self.register_buffer("image_mean", torch.tensor(config.image_mean).view(1, 1, -1, 1, 1), persistent=False)
            self.register_buffer("image_std", torch.tensor(config.image_std).view(1, 1, -1, 1, 1), persistent=False)
        else:
            self.image_mean = self.image_std = None

    def normalize_channels_first(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """`(B, T, C, H, W)` pixels -> `(B, C, T, H, W)`, `(x - image_mean) / image_std` in the weights' dtype.

        Without gradients to the pixels the normalised values are written once, straight into the contiguous
        channels-first layout the convolution reads (the same arithmetic as the general expression, one pass less).
        """
        dtype = self.patch_embeddings.projection.weight.dtype
        channels_first = pixel_values.permute(0, 2, 1, 3, 4)
        if self.image_mean is None:
            return channels_first.to(dtype)
        mean = self.image_mean.to(pixel_values.dtype).permute(0, 2, 1, 3, 4)
        std = self.image_std.to(pixel_values.dtype).permute(0, 2, 1, 3, 4)
        if pixel_values.dtype == dtype and not (torch.is_grad_enabled() and pixel_values.requires_grad):
            normalized = torch.empty(channels_first.shape, dtype=dtype, device=pixel_values.device)
            torch.sub(channels_first, mean, out=normalized)
            return normalized.div_(std)
        return ((channels_first - mean) / std).to(dtype)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """`(B, T, C, H, W)` pixels in [0, 1] -> `(B, 2 + N, D)` tokens."""
        self.patch_embeddings.check_input(pixel_values)
        tubelets = self.patch_embeddings.embed_channels_first(self.normalize_channels_first(pixel_values))
        cls_tokens = self.cls_tokens.expand(tubelets.shape[0], -1, -1)
        if self.position_embeddings is None:
            return torch.cat([cls_tokens, tubelets], dim=1)
        if self.cls_position_embeddings is not None:
            tubelets = tubelets + self.position_embeddings.to(tubelets.dtype)
            cls_tokens = cls_tokens + self.cls_position_embeddings
            return torch.cat([cls_tokens, tubelets], dim=1)
        return torch.cat([cls_tokens, tubelets], dim=1) + self.position_embeddings


# ----------------------------------------------------------------------------------------------------------------------
# Transformer layers
# ----------------------------------------------------------------------------------------------------------------------
class VidAnonDropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch of a sample with probability `drop_prob` in training."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return hidden_states
        keep_prob = 1.0 - self.drop_prob
        shape = (hidden_states.shape[0],) + (1,) * (hidden_states.ndim - 1)
        keep = hidden_states.new_empty(shape).bernoulli_(keep_prob)
        return hidden_states * keep / keep_prob

    def extra_repr(self) -> str:
        return f"p={self.drop_prob}"


@dataclass
class VidAnonAttentionOutput:
    """Result of one attention sub-block: the context, and the maps that were asked for."""

    context: torch.Tensor
    attention_probs: torch.Tensor | None = None
    cls_attention: torch.Tensor | None = None


class VidAnonSelfAttention(nn.Module):
    """Multi-head self-attention (VideoMAE names: query/value with bias, key without).

    The main product runs through SDPA by default; the CLS rows needed for pruning are computed separately from
    q and k, so no `L x L` map is materialised unless `output_attentions` (or the eager implementation) asks for it.
    Returning the maps never changes the computation: with SDPA they are computed beside it (before dropout), so
    the outputs, and the tubelets kept, are the same whether or not they are asked for.
    """

    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.config = config
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.scaling = self.attention_head_size**-0.5
        self.dropout_prob = config.attention_probs_dropout_prob
        self.query = nn.Linear(config.hidden_size, config.hidden_size, bias=config.qkv_bias)
        self.key = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.value = nn.Linear(config.hidden_size, config.hidden_size, bias=config.qkv_bias)

    def forward(
        self,
        hidden_states: torch.Tensor,
        output_attentions: bool = False,
        cls_positions: tuple[int, ...] | None = None,
        tubelet_slice: slice | None = None,
        num_global_tokens: int | None = None,
    ) -> VidAnonAttentionOutput:
        """`num_global_tokens`: when given, only the first `num_global_tokens` tokens (the CLS tokens) attend to the
        sequence; every later token attends to itself alone, so its context is its own value
        (`VidAnonConfig.isolate_tubelets`)."""
        batch, length, _ = hidden_states.shape
        # (B, L, D) -> (B, H, L, d)
        shape = (batch, length, self.num_attention_heads, self.attention_head_size)
        query = self.query(hidden_states).view(shape).transpose(1, 2)
        key = self.key(hidden_states).view(shape).transpose(1, 2)
        value = self.value(hidden_states).view(shape).transpose(1, 2)
        dropout = self.dropout_prob if self.training else 0.0

        probs = None
        rows = query if num_global_tokens is None else query[:, :, :num_global_tokens]
        if self.config._attn_implementation == "eager":
            probs = torch.matmul(rows, key.transpose(-1, -2)).mul(self.scaling).softmax(dim=-1)
            context = torch.matmul(F.dropout(probs, p=dropout, training=self.training), value)
        else:
            context = F.scaled_dot_product_attention(rows, key, value, dropout_p=dropout, scale=self.scaling)
            if output_attentions:  # returned only: the context above is the same with or without them
                probs = torch.matmul(rows, key.transpose(-1, -2)).mul(self.scaling).softmax(dim=-1)
        if num_global_tokens is not None:  # the other tokens attend to themselves: weight 1 on their own value
            context = torch.cat([context, value[:, :, num_global_tokens:]], dim=2)
            if probs is not None:
                own = torch.eye(length, dtype=probs.dtype, device=probs.device)[num_global_tokens:]
                probs = torch.cat([probs, own.expand(batch, probs.shape[1], -1, -1)], dim=2)
        cls_attn = None
        if cls_positions is not None:
            cls_attn = cls_attention(query, key, cls_positions, tubelet_slice,
                                     self.scaling / self.config.cls_attention_temperature)
        context = context.transpose(1, 2).reshape(batch, length, -1)  # (B, H, L, d) -> (B, L, D)
        return VidAnonAttentionOutput(context, probs if output_attentions else None, cls_attn)


class VidAnonSelfOutput(nn.Module):
    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.dense(hidden_states))


class VidAnonAttention(nn.Module):
    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.attention = VidAnonSelfAttention(config)
        self.output = VidAnonSelfOutput(config)

    def forward(self, hidden_states: torch.Tensor, **kwargs) -> VidAnonAttentionOutput:
        result = self.attention(hidden_states, **kwargs)
        result.context = self.output(result.context)
        return result


class VidAnonIntermediate(nn.Module):
    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act] if isinstance(config.hidden_act, str) else config.hidden_act

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class VidAnonOutput(nn.Module):
    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.dense(hidden_states))


@dataclass
class VidAnonTokenState:
    """The sequence between layers: tokens plus the bookkeeping that pruning needs.

    Attributes:
        hidden_states (`(B, L, D)`): prefix tokens, current tubelets, optional fused token.
        tubelet_indices (`(B, N)`): original index of every current tubelet.
        soft_keep (`(B, N_input)`): running soft keep probability per original tubelet.
        has_fused_token: whether the last token is the fused token.
    """

    hidden_states: torch.Tensor
    tubelet_indices: torch.Tensor
    soft_keep: torch.Tensor
    has_fused_token: bool = False


class VidAnonLayer(GradientCheckpointingLayer):
    """Pre-norm transformer block; a pruning layer prunes tubelets between its attention and MLP sub-blocks.

    A `GradientCheckpointingLayer`: `model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=...)`
    checkpoints it with the given arguments (`use_reentrant=True` or `False`). Every tensor goes in positionally
    and comes out in a tuple, as the reentrant variant needs.
    """

    def __init__(self, config: VidAnonConfig, layer_index: int, drop_path_rate: float = 0.0):
        super().__init__()
        self.config = config
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = VidAnonAttention(config)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.intermediate = VidAnonIntermediate(config)
        self.output = VidAnonOutput(config)
        self.drop_path = VidAnonDropPath(drop_path_rate)
        self.layer_index = layer_index

    @property
    def keep_rate(self) -> float | None:
        """This layer's keep rate, or None when it does not prune (read from the config, so it follows
        [`VidAnonPreTrainedModel.set_pruning`])."""
        return dict(zip(self.config.pruning_layers, self.config.keep_rates())).get(self.layer_index)

    @property
    def isolates_tubelets(self) -> bool:
        """Whether the tubelet tokens attend to themselves alone here: `config.isolate_tubelets` and this layer is
        not after the last pruning layer."""
        layers = self.config.pruning_layers
        return bool(self.config.isolate_tubelets and layers and self.layer_index <= max(layers))

    def forward(
        self,
        hidden_states: torch.Tensor,
        tubelet_indices: torch.Tensor,
        soft_keep: torch.Tensor,
        has_fused_token: bool,
        output_attentions: bool = False,
        tubelet_scores: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool, torch.Tensor | None, torch.Tensor | None,
               torch.Tensor | None]:
        """Returns the new token state (`hidden_states, tubelet_indices, soft_keep, has_fused_token`, see
        [`VidAnonTokenState`]), this layer's pruning scores (or None), its attention map (or None) and, with
        `config.localization_loss_weight > 0`, the tubelets pooled by the two CLS attention rows `(B, 2, D)` (or
        None)."""
        num_prefix = self.config.num_prefix_tokens
        keep_rate = self.keep_rate
        prune = keep_rate is not None
        attention = self.attention(
            self.layernorm_before(hidden_states),
            output_attentions=output_attentions,
            cls_positions=(ACTION_CLS_POSITION, PRIVACY_CLS_POSITION) if prune else None,
            tubelet_slice=slice(num_prefix, num_prefix + tubelet_indices.shape[1]),
            num_global_tokens=num_prefix if self.isolates_tubelets else None,
        )
        hidden_states = hidden_states + self.drop_path(attention.context)

        scores = pooled = None
        if prune:
            grid = self.config.tubelet_grid
            if self.config.localization_loss_weight > 0:
                tubelets = hidden_states[:, num_prefix : num_prefix + tubelet_indices.shape[1]]
                pooled = torch.einsum("bkn,bnd->bkd", attention.cls_attention.to(tubelets.dtype), tubelets)
            scored_indices = tubelet_indices
            # in training always: a reentrant checkpoint runs this forward without gradients, then again with them
            computes_soft_keep = self.training or torch.is_grad_enabled()
            result = prune_tokens(
                hidden_states,
                attention.cls_attention,
                tubelet_indices,
                soft_keep,
                num_prefix_tokens=num_prefix,
                has_fused_token=has_fused_token,
                keep_rate=keep_rate,
                lambda_priv=self.config.lambda_priv,
                fuse=self.config.fuse_pruned_tokens,
                temporal_consistency=self.config.temporal_consistency,
                num_time_slots=grid[0],
                temperature=self.config.straight_through_temperature,
                compute_soft_keep=computes_soft_keep,
                tubelet_scores=tubelet_scores,
            )
            hidden_states, tubelet_indices, soft_keep = result.hidden_states, result.tubelet_indices, result.soft_keep
            has_fused_token = result.has_fused_token
            scores = result.scores
            if pooled is not None and self.config.kept_privacy_loss_weight > 0 and computes_soft_keep:
                # the kept tubelets by their soft keep (this step and the earlier ones); tokens detached, so that
                # the kept-privacy term reaches the scores alone
                weights = soft_keep.gather(1, scored_indices).to(tubelets.dtype)
                weights = weights / weights.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(weights.dtype).tiny)
                kept_pool = torch.einsum("bn,bnd->bd", weights, tubelets.detach())[:, None]
                pooled = torch.cat([pooled, kept_pool], dim=1)

        mlp = self.output(self.intermediate(self.layernorm_after(hidden_states)))
        hidden_states = hidden_states + self.drop_path(mlp)
        return hidden_states, tubelet_indices, soft_keep, has_fused_token, scores, attention.attention_probs, pooled


@dataclass
class VidAnonEncoderOutput:
    state: VidAnonTokenState
    pruning_scores: tuple[torch.Tensor, ...]
    localization_pools: tuple[torch.Tensor, ...]
    hidden_states: tuple[torch.Tensor, ...] | None
    attentions: tuple[torch.Tensor, ...] | None


class VidAnonEncoder(nn.Module):
    def __init__(self, config: VidAnonConfig):
        super().__init__()
        self.config = config
        # plain numbers, computed on the CPU even while the model is built on the meta device
        rates = torch.linspace(0, config.drop_path_rate, config.num_hidden_layers, device="cpu").tolist()
        self.layer = nn.ModuleList([VidAnonLayer(config, i, rates[i]) for i in range(config.num_hidden_layers)])

    def forward(
        self,
        hidden_states: torch.Tensor,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        num_layers: int | None = None,
        tubelet_scores: torch.Tensor | None = None,
    ) -> VidAnonEncoderOutput:
        """Run the layers on the embedded tokens; `num_layers` runs only the first that many (`None`: all of them).
        `tubelet_scores` `(B, N)`: what the pruning layers rank by instead of the attention score (None: `s`)."""
        batch = hidden_states.shape[0]
        num_tubelets = self.config.num_tubelets
        device = hidden_states.device
        state = VidAnonTokenState(
            hidden_states=hidden_states,
            tubelet_indices=torch.arange(num_tubelets, device=device).expand(batch, -1),
            soft_keep=torch.ones(batch, num_tubelets, device=device),
        )
        all_hidden = [hidden_states] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        scores, pools = [], []
        for layer in self.layer[:num_layers]:
            # positional arguments, as `GradientCheckpointingLayer` needs for `use_reentrant=True`
            *new_state, layer_scores, attn, pooled = layer(
                state.hidden_states, state.tubelet_indices, state.soft_keep, state.has_fused_token, output_attentions,
                tubelet_scores,
            )
            state = VidAnonTokenState(*new_state)
            if layer_scores is not None:
                scores.append(layer_scores)
            if pooled is not None:
                pools.append(pooled)
            if output_hidden_states:
                all_hidden.append(state.hidden_states)
            if output_attentions:
                all_attentions.append(attn)
        return VidAnonEncoderOutput(
            state=state,
            pruning_scores=tuple(scores),
            localization_pools=tuple(pools),
            hidden_states=tuple(all_hidden) if output_hidden_states else None,
            attentions=tuple(all_attentions) if output_attentions else None,
        )


# ----------------------------------------------------------------------------------------------------------------------
# Pre-trained model base
# ----------------------------------------------------------------------------------------------------------------------
class VidAnonPreTrainedModel(PreTrainedModel):
    config_class = VidAnonConfig
    base_model_prefix = "vidanon"
    main_input_name = "pixel_values"
    input_modalities = "video"
    supports_gradient_checkpointing = True
    _no_split_modules = ["VidAnonEmbeddings", "VidAnonLayer"]
    _supports_sdpa = True

    # the classification heads (the model's output layers), initialised with `input_output_initializer_range`
    _output_layer_names = ("classifier", "privacy_classifier", "localization_action_classifier",
                           "localization_privacy_classifier")

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        edge_std = self.config.input_output_initializer_range or std
        if isinstance(module, (nn.Linear, nn.Conv3d)):
            is_head = any(module is getattr(self, name, None) for name in self._output_layer_names)
            init.trunc_normal_(module.weight, mean=0.0, std=edge_std if is_head else std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.BatchNorm3d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, VidAnonEmbeddings):
            # the input layers: the tubelet projection (children are initialised first, so this overrides their
            # std), the CLS tokens and their positions
            for layer in module.patch_embeddings.modules():
                if isinstance(layer, nn.Conv3d) and edge_std != std:
                    init.trunc_normal_(layer.weight, mean=0.0, std=edge_std)
            init.trunc_normal_(module.cls_tokens, mean=0.0, std=edge_std)
            if module.cls_position_embeddings is not None:
                init.trunc_normal_(module.cls_position_embeddings, mean=0.0, std=edge_std)
                table = sinusoidal_position_table(module.patch_embeddings.num_patches, self.config.hidden_size)
                init.copy_(module.position_embeddings, table)
            elif module.position_embeddings is not None:
                init.trunc_normal_(module.position_embeddings, mean=0.0, std=std)
            if module.image_mean is not None:
                init.copy_(module.image_mean, torch.tensor(self.config.image_mean).view(1, 1, -1, 1, 1))
                init.copy_(module.image_std, torch.tensor(self.config.image_std).view(1, 1, -1, 1, 1))

    def set_pruning(
        self,
        keep_rate: float | list[float] | None = None,
        lambda_priv: float | None = None,
        temporal_consistency: str | None = None,
        pruning_score: str | None = None,
    ) -> None:
        """Change how tubelets are pruned, e.g. at inference for a utility-privacy sweep (weights untouched).

        The score, the number kept and the selection mode are read from the config at every forward pass, so the
        change takes effect at once. Values are validated like the config's; on error nothing changes.
        """
        config = self.config
        previous = self._pruning_settings()
        if keep_rate is not None:
            config.keep_rate = normalize_keep_rate(keep_rate, len(config.pruning_layers))
        if lambda_priv is not None:
            config.lambda_priv = float(lambda_priv)
        if temporal_consistency is not None:
            config.temporal_consistency = temporal_consistency
        if pruning_score is not None:
            config.pruning_score = pruning_score
        try:
            config._validate_values()
        except ValueError:
            self._restore_pruning_settings(previous)
            raise

    def _pruning_settings(self) -> tuple:
        config = self.config
        return config.keep_rate, config.lambda_priv, config.temporal_consistency, config.pruning_score

    def _restore_pruning_settings(self, settings: tuple) -> None:
        config = self.config
        config.keep_rate, config.lambda_priv, config.temporal_consistency, config.pruning_score = settings

    @contextlib.contextmanager
    def pruning_overridden(
        self,
        keep_rate: float | list[float] | None = None,
        lambda_priv: float | None = None,
        temporal_consistency: str | None = None,
        pruning_score: str | None = None,
    ) -> Iterator[VidAnonPreTrainedModel]:
        """[`set_pruning`] for the duration of a `with` block: the previous settings come back after it, also when
        it raises. The one way to prune differently at inference without copying the model.

        Example:

        ```python
        >>> with model.pruning_overridden(keep_rate=0.5):
        ...     mask = model.anonymize(pixel_values).keep_mask
        ```
        """
        previous = self._pruning_settings()
        self.set_pruning(keep_rate, lambda_priv, temporal_consistency, pruning_score)
        try:
            yield self
        finally:
            self._restore_pruning_settings(previous)

    @classmethod
    def from_videomae(cls, pretrained_model_name_or_path, **config_overrides):
        """Build this model from a VideoMAE checkpoint (any VideoMAE class); see `transformers_vidanon.conversion`."""
        from .conversion import from_videomae

        return from_videomae(cls, pretrained_model_name_or_path, **config_overrides)

    @classmethod
    def from_vit_inflated(cls, pretrained_model_name_or_path, **config_overrides):
        """Build this model from an image ViT by 3D inflation (the paper's initialisation)."""
        from .conversion import from_vit_inflated

        return from_vit_inflated(cls, pretrained_model_name_or_path, **config_overrides)


# ----------------------------------------------------------------------------------------------------------------------
# Base model
# ----------------------------------------------------------------------------------------------------------------------
class VidAnonModel(VidAnonPreTrainedModel):
    """The VidAnon encoder: tubelet embeddings, two CLS tokens, transformer layers with pruning, final norm."""

    def __init__(self, config: VidAnonConfig):
        super().__init__(config)
        self.config = config
        self.embeddings = VidAnonEmbeddings(config)
        self.encoder = VidAnonEncoder(config)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pixel_scorer = None
        if config.pixel_scorer_hidden_size > 0:
            values = config.num_channels * config.tubelet_size * config.patch_size**2  # one tubelet's pixels
            self.pixel_scorer = VidAnonPixelScorer(values, config.pixel_scorer_hidden_size)
        self.post_init()

    def _tubelet_scores(self, pixel_values: torch.Tensor) -> torch.Tensor | None:
        """With `pruning_score = "pixels"`, the pixel scorer's keep scores `(B, N)` the pruning layers rank by; else
        None (the attention score `s`), and the scorer is not run."""
        if self.config.pruning_score != "pixels":
            return None
        return pixel_keep_scores(self.pixel_scorer(pixel_values, self.config.tubelet_grid))

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embeddings

    def forward(
        self,
        pixel_values: torch.Tensor,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> VidAnonModelOutput | tuple:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
                Video pixels in [0, 1] (the model normalises them with `config.image_mean` / `config.image_std`).
            output_attentions (`bool`, *optional*): return every layer's full attention map.
            output_hidden_states (`bool`, *optional*): return every layer's output.
            return_dict (`bool`, *optional*): return a [`VidAnonModelOutput`] instead of a tuple.
        """
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict

        embeddings = self.embeddings(pixel_values)
        encoded = self.encoder(embeddings, output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               tubelet_scores=self._tubelet_scores(pixel_values))
        state = encoded.state
        sequence_output = self.layernorm(state.hidden_states)
        hard_mask = keep_mask_from_indices(state.tubelet_indices, self.config.tubelet_grid).to(sequence_output.dtype)
        keep_mask = straight_through_keep_mask(hard_mask, state.soft_keep) if torch.is_grad_enabled() else hard_mask

        output = VidAnonModelOutput(
            last_hidden_state=sequence_output,
            action_cls_output=sequence_output[:, ACTION_CLS_POSITION],
            privacy_cls_output=sequence_output[:, PRIVACY_CLS_POSITION],
            kept_tubelet_indices=state.tubelet_indices,
            keep_mask=keep_mask,
            pruning_scores=encoded.pruning_scores,
            localization_pools=encoded.localization_pools or None,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )
        return output if return_dict else output.to_tuple()

    @torch.no_grad()
    def keep_mask(self, pixel_values: torch.Tensor) -> torch.Tensor:
        r"""The tubelet keep mask of `pixel_values`, computed by the layers that decide it only.

        Which tubelets are kept is settled in the last pruning layer: the layers after it and the final norm cannot
        change it, so this runs the embeddings and the encoder up to and including that layer (with the paper's
        pruning at layers 2, 5, 8 of 12, 3 of the 12 layers are skipped). The mask equals the `keep_mask` of a full
        forward pass with the same pruning settings (see [`~VidAnonPreTrainedModel.pruning_overridden`]); it is
        computed without gradients, in the model's current mode.

        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
                Video pixels in [0, 1].

        Returns:
            `torch.FloatTensor` of shape `(batch_size, frames // tubelet_size, height // patch, width // patch)`:
            1 where a tubelet is kept, 0 where it is pruned.
        """
        embeddings = self.embeddings(pixel_values)
        deciding_layers = max(self.config.pruning_layers, default=-1) + 1
        tubelet_scores = self._tubelet_scores(pixel_values)
        state = self.encoder(embeddings, num_layers=deciding_layers, tubelet_scores=tubelet_scores).state
        return keep_mask_from_indices(state.tubelet_indices, self.config.tubelet_grid).to(embeddings.dtype)


# ----------------------------------------------------------------------------------------------------------------------
# Task model
# ----------------------------------------------------------------------------------------------------------------------
class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs: torch.Tensor, coefficient: float) -> torch.Tensor:
        ctx.coefficient = coefficient
        return inputs.view_as(inputs)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return -ctx.coefficient * grad_output, None


def gradient_reversal(inputs: torch.Tensor, coefficient: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by `-coefficient` in the backward pass."""
    return _GradientReversal.apply(inputs, float(coefficient))


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the examples whose label is not negative (-100 or -1: unknown); 0 when there is none.

    Unknown labels let one batch mix videos with action labels and videos with privacy labels only (the
    cross-dataset protocol).
    """
    labels = labels.to(logits.device).long()
    known = labels >= 0
    if not torch.compiler.is_compiling() and bool((labels >= logits.shape[-1]).any()):
        raise ValueError(
            f"`labels` must be class indices below num_labels = {logits.shape[-1]} (or negative for unknown), got "
            f"{sorted(set(labels[labels >= logits.shape[-1]].tolist()))}."
        )
    # masked sums rather than `if`/boolean indexing: the same value, and torch.compile traces one graph
    losses = F.cross_entropy(logits.float(), labels.clamp_min(0), reduction="none")
    return (losses * known).sum() / known.sum().clamp_min(1)


def masked_binary_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits over the finite targets (NaN: unknown attribute); 0 when there is none."""
    targets = targets.to(logits.device).float()
    known = torch.isfinite(targets)
    losses = F.binary_cross_entropy_with_logits(logits.float(), torch.where(known, targets, 0.0), reduction="none")
    return (losses * known).sum() / known.sum().clamp_min(1)


class VidAnonForPrivacyPreservingActionRecognition(VidAnonPreTrainedModel):
    """VidAnon with an action head on the action CLS token and a multi-label privacy head on the privacy CLS token
    behind a gradient reversal layer. Its output carries the anonymized video.

    transformers' `Trainer` keeps only the action `logits` as predictions in `evaluate` / `predict`: the other
    outputs (the anonymized video above all, about 9.6 MB per 224 x 224 x 16 clip) are left out
    (`VidAnonConfig.keys_to_ignore_at_inference`; pass `ignore_keys` to keep some).
    """

    def __init__(self, config: VidAnonConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.vidanon = VidAnonModel(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.privacy_classifier = nn.Linear(config.hidden_size, config.num_privacy_labels)
        if config.localization_loss_weight > 0:
            # heads on the CLS-attention pools of every pruning layer (see `VidAnonConfig.localization_loss_weight`)
            self.localization_action_classifier = nn.Linear(config.hidden_size, max(config.num_labels, 1))
            self.localization_privacy_classifier = nn.Linear(config.hidden_size, config.num_privacy_labels)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.LongTensor | None = None,
        privacy_labels: torch.FloatTensor | None = None,
        grl_coefficient: float = 1.0,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> VidAnonForPrivacyPreservingActionRecognitionOutput | tuple:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
                Video pixels in [0, 1].
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*): action class indices.
            privacy_labels (`torch.FloatTensor` of shape `(batch_size, num_privacy_labels)`, *optional*):
                Multi-hot privacy attributes.
            grl_coefficient (`float`, *optional*, defaults to 1.0):
                Gradient reversal coefficient: the privacy head learns to predict privacy while the backbone receives
                `-grl_coefficient` times the privacy gradient (the trainer follows
                `optimization.grl_coefficient_schedule`). 0 stops the privacy gradient at the head; -1 passes it
                unreversed (the privacy CLS learns privacy, the `locate` objective).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.vidanon(
            pixel_values, output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True
        )
        logits = self.classifier(outputs.action_cls_output)
        privacy_logits = self.privacy_classifier(gradient_reversal(outputs.privacy_cls_output, grl_coefficient))

        action_loss = privacy_loss = loss = None
        if labels is not None:
            action_loss = masked_cross_entropy(logits, labels)
            loss = self.config.action_loss_weight * action_loss
        if privacy_labels is not None:
            if privacy_labels.shape != privacy_logits.shape:
                raise ValueError(
                    f"`privacy_labels` must have shape {tuple(privacy_logits.shape)} (batch, num_privacy_labels), got "
                    f"{tuple(privacy_labels.shape)}."
                )
            privacy_loss = masked_binary_cross_entropy(privacy_logits, privacy_labels)
            loss = privacy_loss if loss is None else loss + privacy_loss
        localization_loss = self._localization_loss(outputs.localization_pools, labels, privacy_labels)
        if localization_loss is not None:
            weighted = self.config.localization_loss_weight * localization_loss
            loss = weighted if loss is None else loss + weighted
        kept_privacy_loss = self._kept_privacy_loss(outputs.localization_pools, privacy_labels)
        if kept_privacy_loss is not None:
            weighted = self.config.kept_privacy_loss_weight * kept_privacy_loss
            loss = weighted if loss is None else loss + weighted

        anonymized = apply_keep_mask(pixel_values, outputs.keep_mask, self.config.anonymization_fill_value)
        output = VidAnonForPrivacyPreservingActionRecognitionOutput(
            loss=loss, logits=logits, privacy_logits=privacy_logits, action_loss=action_loss,
            privacy_loss=privacy_loss, localization_loss=localization_loss, kept_privacy_loss=kept_privacy_loss,
            anonymized_pixel_values=anonymized,
            # the backbone's own outputs, passed on
            keep_mask=outputs.keep_mask, kept_tubelet_indices=outputs.kept_tubelet_indices,
            pruning_scores=outputs.pruning_scores, hidden_states=outputs.hidden_states, attentions=outputs.attentions,
        )
        return output if return_dict else output.to_tuple()

    def _localization_loss(
        self, pools: tuple[torch.Tensor, ...] | None, labels: torch.Tensor | None, privacy_labels: torch.Tensor | None
    ) -> torch.Tensor | None:
        """Mean over pruning layers of CE(action | action-attention pool) + BCE(privacy | privacy-attention pool)."""
        if not pools or (labels is None and privacy_labels is None):
            return None
        terms = []
        for pool in pools:  # (B, 2 or 3, D): action pool, privacy pool (and the kept pool, read elsewhere)
            term = pool.new_zeros(())
            if labels is not None and self.config.num_labels > 0:
                term = term + masked_cross_entropy(self.localization_action_classifier(pool[:, ACTION_CLS_POSITION]), labels)
            if privacy_labels is not None:
                privacy = self.localization_privacy_classifier(pool[:, PRIVACY_CLS_POSITION])
                term = term + masked_binary_cross_entropy(privacy, privacy_labels)
            terms.append(term)
        return torch.stack(terms).mean()

    def _kept_privacy_loss(
        self, pools: tuple[torch.Tensor, ...] | None, privacy_labels: torch.Tensor | None
    ) -> torch.Tensor | None:
        """Mean over pruning layers of BCE(every attribute absent | kept pool), read by the localization privacy
        head with its weights detached (see `VidAnonConfig.kept_privacy_loss_weight`)."""
        kept_pools = [pool[:, KEPT_POOL_POSITION] for pool in pools or () if pool.shape[1] > KEPT_POOL_POSITION]
        if not kept_pools or privacy_labels is None:
            return None
        head = self.localization_privacy_classifier
        # the attributes whose label is known, each to be read as absent
        absent = torch.where(torch.isfinite(privacy_labels), 0.0, float("nan"))
        terms = [
            masked_binary_cross_entropy(F.linear(pool, head.weight.detach(), head.bias.detach()), absent)
            for pool in kept_pools
        ]
        return torch.stack(terms).mean()

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *args,
        processor: Any | None = None,
        model_card: bool = True,
        **kwargs,
    ):
        """`PreTrainedModel.save_pretrained`, writing a self-contained checkpoint.

        Besides the weights and `config.json` it writes, on the main process:
        - the modeling, processing and pipeline code named in `auto_map` / `custom_pipelines`, so that
          `AutoModel`, `AutoModelForVideoClassification`, `AutoVideoProcessor`, `AutoImageProcessor` and
          `pipeline("video-anonymization", ...)` work with `trust_remote_code=True` where this package is missing;
        - the video processor (`video_preprocessor_config.json`) and the image processor
          (`preprocessor_config.json`): `processor` when given, else the ones already in the folder, else the defaults
          for the model's input size;
        - a model card (`README.md`, "not evaluated") unless the folder has one or `model_card=False`, where the
          package is installed (`reporting.modelcard`: a remote-code copy saves without a card).

        Args:
            save_directory (`str` or `os.PathLike`): the folder.
            processor ([`VidAnonImageProcessor`] or [`VidAnonVideoProcessor`], *optional*): the processor to save
                (the other kind is derived from it).
            model_card (`bool`, *optional*, defaults to `True`): write a model card when the folder has none.
            kwargs: as in `PreTrainedModel.save_pretrained`; `push_to_hub=True` uploads everything above in one commit
                (with `repo_id`, `commit_message`, `commit_description`, `create_pr`, `private`, `revision` and
                `keep_hub_card`, see [`~VidAnonForPrivacyPreservingActionRecognition.push_to_hub`]).
        """
        if self._auto_class is not None:
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            auto_map.setdefault("AutoModel", f"{VidAnonModel.__module__.rsplit('.', 1)[-1]}.{VidAnonModel.__name__}")
            self.config.auto_map = auto_map
            from .pipelines import CUSTOM_PIPELINES

            self.config.custom_pipelines = copy.deepcopy(CUSTOM_PIPELINES)
        push_to_hub = kwargs.pop("push_to_hub", False)
        hub_kwargs = {key: kwargs.pop(key) for key in ("repo_id", "commit_message", "commit_description", "create_pr",
                                                       "private", "revision", "keep_hub_card") if key in kwargs}
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if not kwargs.get("is_main_process", True):
            return result
        self._save_processors(save_directory, processor)
        if model_card and not os.path.isfile(os.path.join(save_directory, "README.md")):
            self._save_model_card(save_directory)
        if push_to_hub:
            repo_id = hub_kwargs.pop("repo_id", Path(save_directory).resolve().name)
            self._push(repo_id, folder=save_directory, token=kwargs.get("token"), **hub_kwargs)
        return result

    def _save_processors(self, save_directory: str | os.PathLike, processor: Any | None) -> None:
        from .processing_vidanon import VidAnonImageProcessor
        from .video_processing_vidanon import VidAnonVideoProcessor

        folder = Path(save_directory)
        image_file, video_file = folder / "preprocessor_config.json", folder / "video_preprocessor_config.json"
        image_processor = processor if isinstance(processor, VidAnonImageProcessor) else None
        video_processor = processor if isinstance(processor, VidAnonVideoProcessor) else None
        if image_processor is None and video_processor is None:
            if image_file.is_file():
                image_processor = VidAnonImageProcessor.from_pretrained(folder)
            if video_file.is_file():
                video_processor = VidAnonVideoProcessor.from_pretrained(folder)
        settings = ("size", "crop_size", "do_resize", "do_center_crop", "do_rescale", "rescale_factor",
                    "do_normalize", "image_mean", "image_std", "resample")
        source = image_processor or video_processor
        shared = {key: getattr(source, key) for key in settings} if source is not None else {}
        for key in ("size", "crop_size"):
            if shared.get(key) is not None and not isinstance(shared[key], dict):
                shared[key] = {k: v for k, v in dict(shared[key]).items() if v is not None}
        if image_processor is None:
            image_processor = (VidAnonImageProcessor(**shared) if shared
                               else VidAnonImageProcessor.from_model_config(self.config))
        if video_processor is None:
            video_processor = (VidAnonVideoProcessor(num_frames=self.config.num_frames, **shared) if shared
                               else VidAnonVideoProcessor.from_model_config(self.config))
        image_processor.save_pretrained(folder)
        video_processor.save_pretrained(folder)

    def _save_model_card(self, save_directory: str | os.PathLike) -> None:
        try:  # the card needs the package (its template); remote-code copies save without one
            from transformers_vidanon.reporting.modelcard import save_model_card
        except ImportError:
            logger.info("transformers_vidanon is not installed: no model card written.")
            return
        save_model_card(save_directory, config=self.config)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: str | None = None,
        commit_description: str | None = None,
        private: bool | None = None,
        token: str | bool | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        max_shard_size: int | str | None = "50GB",
        tags: list[str] | None = None,
        processor: Any | None = None,
        keep_hub_card: bool = False,
    ):
        """Push what [`~VidAnonForPrivacyPreservingActionRecognition.save_pretrained`] writes (weights, code, both
        processors and a "not evaluated" card) in one commit, with the package's uploader
        (`transformers_vidanon.reporting.hub.push_model_to_hub`, which also puts results on the card).

        Card policy (`reporting.hub`): the pushed card replaces a card already on the Hub, unless `keep_hub_card=True`.
        A remote-code copy of this file, run where the package is not installed, pushes the same files with
        transformers' own `push_to_hub` and its card (the Hub's, else transformers' default one).

        Returns:
            `huggingface_hub.CommitInfo` of the commit.
        """
        return self._push(repo_id, processor=processor, commit_message=commit_message,
                          commit_description=commit_description, private=private, token=token, revision=revision,
                          create_pr=create_pr, max_shard_size=max_shard_size, tags=tags, keep_hub_card=keep_hub_card)

    def _push(self, repo_id: str, folder: str | os.PathLike | None = None, processor: Any | None = None,
              tags: list[str] | None = None, keep_hub_card: bool = False, **hub_kwargs):
        """Upload `folder` (a saved one), else what `save_pretrained` writes, through `reporting.hub`."""
        try:  # the package's uploader and card; remote-code copies run without the package
            from transformers_vidanon.reporting.hub import push_model_to_hub, upload_model_folder
        except ImportError:
            logger.info("transformers_vidanon is not installed: pushing with transformers' push_to_hub and its card.")
            return super().push_to_hub(repo_id, tags=tags or [], **hub_kwargs)
        if tags:
            logger.info("`tags` are not used: the card written by this package carries its own tags.")
        if folder is not None:
            hub_kwargs.pop("max_shard_size", None)
            return upload_model_folder(folder, repo_id, keep_hub_card=keep_hub_card, **hub_kwargs)
        return push_model_to_hub(self, repo_id, processor=processor, keep_hub_card=keep_hub_card, **hub_kwargs)

    def keep_mask(self, pixel_values: torch.Tensor) -> torch.Tensor:
        r"""The tubelet keep mask of `pixel_values` ([`VidAnonModel.keep_mask`]: the layers up to the last pruning
        layer only, no heads, no gradients): the one way the anonymizer, the pipeline and the protocol compute it.

        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
                Video pixels in [0, 1].

        Returns:
            `torch.FloatTensor` of shape `(batch_size, frames // tubelet_size, height // patch, width // patch)`,
            equal to the `keep_mask` of [`~VidAnonForPrivacyPreservingActionRecognition.forward`].
        """
        return self.vidanon.keep_mask(pixel_values)

    @torch.no_grad()
    def anonymize(self, pixel_values: torch.Tensor) -> VidAnonAnonymizationOutput:
        """The anonymized video and its tubelet keep mask ([`keep_mask`]), without gradients (the model's mode is
        respected).

        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
                Video pixels in [0, 1].
        """
        keep_mask = self.keep_mask(pixel_values)
        anonymized = apply_keep_mask(pixel_values, keep_mask, self.config.anonymization_fill_value)
        return VidAnonAnonymizationOutput(anonymized_pixel_values=anonymized, keep_mask=keep_mask)

    @torch.no_grad()
    def pruning_maps(self, pixel_values: torch.Tensor) -> VidAnonPruningMapsOutput:
        """The keep mask and, for every pruning layer, `a_act`, `a_priv` and `s` of each tubelet on the tubelet grid
        (see [`VidAnonPruningMapsOutput`]), from the one pass of [`keep_mask`] (observed with forward hooks on the
        pruning layers, removed afterwards), without gradients.

        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
                Video pixels in [0, 1].
        """
        config = self.config
        grid = config.tubelet_grid
        captured: dict[int, dict[str, torch.Tensor]] = {}

        def on_attention(index: int):
            def hook(module, args, output) -> None:
                captured.setdefault(index, {})["attention"] = output.cls_attention
            return hook

        def on_layer(index: int):
            def hook(module, args, output) -> None:  # args: hidden_states, tubelet_indices, ...; output[4]: scores
                captured.setdefault(index, {}).update(indices=args[1], scores=output[4])
            return hook

        layers = [layer for layer in self.vidanon.encoder.layer if layer.layer_index in config.pruning_layers]
        handles = [layer.attention.register_forward_hook(on_attention(layer.layer_index)) for layer in layers]
        handles += [layer.register_forward_hook(on_layer(layer.layer_index)) for layer in layers]
        try:
            keep_mask = self.keep_mask(pixel_values)
        finally:
            for handle in handles:
                handle.remove()

        def on_grid(values: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
            full = torch.full((values.shape[0], config.num_tubelets), float("nan"), device=values.device)
            return full.scatter(1, indices, values.float()).view(values.shape[0], *grid)

        maps = [captured[layer.layer_index] for layer in layers]
        return VidAnonPruningMapsOutput(
            keep_mask=keep_mask,
            action_attention=tuple(on_grid(m["attention"][:, 0], m["indices"]) for m in maps),
            privacy_attention=tuple(on_grid(m["attention"][:, 1], m["indices"]) for m in maps),
            scores=tuple(on_grid(m["scores"], m["indices"]) for m in maps),
        )


__all__ = [
    "VidAnonAnonymizationOutput",
    "VidAnonForPrivacyPreservingActionRecognition",
    "VidAnonForPrivacyPreservingActionRecognitionOutput",
    "VidAnonModel",
    "VidAnonModelOutput",
    "VidAnonPreTrainedModel",
    "VidAnonPruningMapsOutput",
    "gradient_reversal",
]
