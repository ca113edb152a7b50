"""The networks of the fresh models: the default architecture of each kind (sized by [`FreshModelConfig`]), built
from a model name or config, wrapped in a [`FreshModel`] with its input normalisation, or copied for fine-tuning."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from transformers import PretrainedConfig, ResNetConfig

from ...classifiers import (
    FreshC3DConfig,
    FreshFrameTemporalConfig,
    FreshModel,
    ModelSpec,
    build_classifier,
    frame_input_size,
    small_videomae_config,
    video_input_size,
)
from .clips import channel_stats
from .config import FreshModelConfig

CHANNELS_LAST_MODELS = ("FreshC3DForVideoClassification", "FreshFrameTemporalForVideoClassification",
                        "ResNetForImageClassification")
"""The fresh architectures run channels-last (`FreshModelConfig.channels_last`); any other model keeps the default
layout."""


def use_channels_last(net: torch.nn.Module, cfg: FreshModelConfig) -> bool:
    """Whether the network is one of the small CNNs that train faster on channels-last pixels (the 3D CNN, the
    frame-temporal attacker and the ResNet frame attacker), and `cfg.channels_last` asks for it."""
    return cfg.channels_last and type(net).__name__ in CHANNELS_LAST_MODELS


def default_video_config(
    cfg: FreshModelConfig, clips: torch.Tensor, architecture: str
) -> Callable[[], PretrainedConfig]:
    """The config of the default video model `architecture` (`"frame_temporal"`, `"c3d"` or `"videomae"`) for
    these clips, built when called.

    Raises:
        ValueError: clips the default VideoMAE cannot tile into tubelets.
    """
    num_frames, num_channels, height, width = clips.shape[-4:]
    if architecture == "frame_temporal":
        return lambda: FreshFrameTemporalConfig(
            num_channels=int(num_channels), embedding_size=cfg.frame_embedding_size, hidden_sizes=cfg.frame_hidden_sizes,
            depths=cfg.frame_depths, temporal_layers=cfg.temporal_layers,
            frame_stride=min(cfg.temporal_frame_stride, int(num_frames)), dropout=cfg.c3d_dropout,
        )
    if architecture == "c3d":
        return lambda: FreshC3DConfig(num_channels=int(num_channels), hidden_sizes=cfg.c3d_hidden_sizes,
                                      stem_kernel_size=cfg.c3d_stem_kernel_size, dropout=cfg.c3d_dropout)
    if height != width:
        raise ValueError(f"The default VideoMAE model needs square frames, got {height}x{width}.")
    if height % cfg.video_patch_size or num_frames % cfg.video_tubelet_size:
        raise ValueError(
            f"Clips of {num_frames} frames of {height}x{width} do not tile into tubelets of "
            f"{cfg.video_tubelet_size}x{cfg.video_patch_size}x{cfg.video_patch_size} (FreshModelConfig)."
        )
    return lambda: small_videomae_config(
        int(height), int(num_frames), cfg.video_patch_size, cfg.video_tubelet_size, cfg.video_hidden_size,
        cfg.video_num_layers, cfg.video_num_heads, cfg.video_intermediate_size, num_channels=int(num_channels),
    )


def default_resnet_config(cfg: FreshModelConfig, clips: torch.Tensor) -> Callable[[], PretrainedConfig]:
    """The config of the default frame attacker (a small ResNet) for these clips, built when called."""
    return lambda: ResNetConfig(num_channels=int(clips.shape[-3]), embedding_size=cfg.frame_embedding_size,
                                hidden_sizes=list(cfg.frame_hidden_sizes), depths=list(cfg.frame_depths),
                                layer_type="basic")


def new_fresh_model(
    spec: ModelSpec,
    default: Callable[[], PretrainedConfig],
    auto_class: type,
    num_labels: int,
    problem_type: str,
    pretrained: bool,
    clips: torch.Tensor,
    cfg: FreshModelConfig,
    input_kind: str,
) -> FreshModel:
    """A new fresh model: the classifier `spec` names (or the `default`), behind the normalisation of `clips`
    (`cfg.normalization`), taking `input_kind` (`"video"` clips or `"frame"`s)."""
    net = build_classifier(spec, default, auto_class, int(num_labels), problem_type, pretrained)
    mean, std = channel_stats(clips, cfg.normalization)
    input_size = video_input_size(net.config) if input_kind == "video" else frame_input_size(net.config)
    return FreshModel(net, mean, std, input_kind, input_size, channels_last=use_channels_last(net, cfg))


def start_from(init_model: FreshModel, input_kind: str, num_labels: int) -> FreshModel:
    """A trainable copy of `init_model` (fine-tuning), checked against the task."""
    if not isinstance(init_model, FreshModel):
        raise TypeError(f"`init_model` must be a FreshModel, got {type(init_model).__name__}.")
    if init_model.input_kind != input_kind or init_model.num_labels != num_labels:
        raise ValueError(
            f"`init_model` is a {init_model.input_kind} model with {init_model.num_labels} outputs; fine-tuning "
            f"here needs a {input_kind} model with {num_labels}."
        )
    model = copy.deepcopy(init_model)
    model.training_log = None
    return model
