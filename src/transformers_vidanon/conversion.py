"""Initialising VidAnon models from other checkpoints.

- [`from_videomae`]: any VideoMAE checkpoint (`VideoMAEModel`, `VideoMAEForVideoClassification`,
  `VideoMAEForPreTraining`). The backbone names match one to one; the CLS tokens, their positions and the heads are
  new. VideoMAE's sinusoidal tubelet positions are kept (`position_embedding_type="sinusoidal"`).
- [`from_vit_inflated`]: an image ViT inflated to 3D as in the paper: the 2D patch kernel repeated over the
  tubelet's time steps and divided by their number, the spatial position table tiled over the time slots, and the
  image CLS token (and its position) copied to both CLS tokens. The ViT key bias is dropped: it adds the same
  amount to every logit of a query's row, so softmax attention does not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import PreTrainedModel, VideoMAEConfig, ViTConfig, ViTModel
from transformers.utils import logging

from .configuration_vidanon import VidAnonConfig

logger = logging.get_logger(__name__)

_BACKBONE_FIELDS = (
    "image_size", "patch_size", "num_channels", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range",
    "layer_norm_eps",
)


@dataclass
class ConversionReport:
    """What a conversion did with every tensor.

    Attributes:
        mapped: `target key <- source key` for every copied (or transformed) tensor.
        newly_initialized: target keys with no source (CLS tokens, heads, ...), left at their initialisation.
        ignored: source keys with no target (decoders, pooler, key biases, ...).
    """

    mapped: dict[str, str] = field(default_factory=dict)
    newly_initialized: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.mapped)} tensors mapped; newly initialised: {', '.join(self.newly_initialized) or 'none'}; "
            f"ignored from the source: {', '.join(self.ignored) or 'none'}"
        )


def _load_source_state_dict(name_or_path: str, **hub_kwargs) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint (safetensors preferred, `pytorch_model.bin` loaded with `weights_only=True`)."""
    from transformers.utils import cached_file

    for filename in ("model.safetensors", "pytorch_model.bin"):
        resolved = cached_file(
            name_or_path, filename, _raise_exceptions_for_missing_entries=False, **hub_kwargs
        )
        if resolved is None:
            continue
        if filename.endswith(".safetensors"):
            from safetensors.torch import load_file

            return load_file(resolved)
        return torch.load(resolved, map_location="cpu", weights_only=True)
    raise FileNotFoundError(
        f"No model.safetensors or pytorch_model.bin found for {name_or_path!r} (sharded checkpoints: load the model "
        "with transformers and save it unsharded first)."
    )


def _assign(
    model: PreTrainedModel,
    tensors: dict[str, torch.Tensor],
    sources: dict[str, str],
    ignored: list[str],
    origin: str,
    output_loading_info: bool = False,
) -> PreTrainedModel | tuple[PreTrainedModel, ConversionReport]:
    """Copy `tensors` (keyed by base-model names) into `model`, checking shapes, and log the report; returns the
    model, and with `output_loading_info` its [`ConversionReport`] too."""
    prefix = "" if model.base_model_prefix not in dict(model.named_children()) else model.base_model_prefix + "."
    target = model.state_dict()
    report = ConversionReport(ignored=sorted(ignored))
    with torch.no_grad():
        for key, tensor in tensors.items():
            full_key = prefix + key
            if full_key not in target:
                report.ignored.append(sources[key])
                continue
            if tuple(target[full_key].shape) != tuple(tensor.shape):
                raise ValueError(
                    f"Shape mismatch converting {origin}: {sources[key]} has shape {tuple(tensor.shape)} but "
                    f"{full_key} needs {tuple(target[full_key].shape)}. Check the config overrides (image_size, "
                    "num_frames, tubelet_size, patch_size, hidden sizes)."
                )
            target[full_key].copy_(tensor.to(target[full_key].dtype))
            report.mapped[full_key] = sources[key]
    report.newly_initialized = sorted(k for k in target if k not in report.mapped)
    logger.info("from %s: %s", origin, report.summary())
    return (model, report) if output_loading_info else model


def from_videomae(
    model_class: type[PreTrainedModel],
    pretrained_model_name_or_path: str,
    output_loading_info: bool = False,
    **config_overrides,
):
    """A VidAnon model whose backbone is copied from a VideoMAE checkpoint.

    Args:
        model_class: `VidAnonModel` or `VidAnonForPrivacyPreservingActionRecognition`.
        pretrained_model_name_or_path: Hub id or folder of a VideoMAE checkpoint.
        output_loading_info: also return the [`ConversionReport`].
        **config_overrides: `VidAnonConfig` arguments (num_labels, pruning_layers, keep_rate, lambda_priv, ...).
            Backbone sizes default to the checkpoint's.

    Raises:
        ValueError: the checkpoint is not a VideoMAE one, or a tensor's shape does not fit the target.
    """
    source_config = VideoMAEConfig.from_pretrained(pretrained_model_name_or_path)
    if getattr(source_config, "model_type", None) != "videomae":
        raise ValueError(
            f"{pretrained_model_name_or_path!r} is a {source_config.model_type!r} checkpoint, not a VideoMAE one."
        )
    kwargs = {name: getattr(source_config, name) for name in _BACKBONE_FIELDS}
    kwargs.update(num_frames=source_config.num_frames, tubelet_size=source_config.tubelet_size,
                  qkv_bias=source_config.qv_bias, position_embedding_type="sinusoidal")
    kwargs.update(config_overrides)
    model = model_class(VidAnonConfig(**kwargs))

    source = _load_source_state_dict(pretrained_model_name_or_path)
    tensors, sources, ignored = {}, {}, []
    has_final_norm = any(k.removeprefix("videomae.").startswith("layernorm.") for k in source)
    for key, tensor in source.items():
        stripped = key.removeprefix("videomae.")
        # saved VideoMAE files name the query/value biases q_bias / v_bias
        stripped = stripped.replace("attention.attention.q_bias", "attention.attention.query.bias")
        stripped = stripped.replace("attention.attention.v_bias", "attention.attention.value.bias")
        if stripped.startswith(("embeddings.patch_embeddings.", "encoder.layer.", "layernorm.")):
            tensors[stripped], sources[stripped] = tensor, key
        elif stripped.startswith("fc_norm.") and not has_final_norm:
            # the mean-pooling head's norm is the last norm the backbone's features went through
            renamed = "layernorm." + stripped[len("fc_norm."):]
            tensors[renamed], sources[renamed] = tensor, key
        else:
            ignored.append(key)
    origin = f"VideoMAE {pretrained_model_name_or_path!r}"
    return _assign(model, tensors, sources, ignored, origin, output_loading_info)


_VIT_LAYER_NAMES = {
    "attention.q_proj": "attention.attention.query",
    "attention.k_proj": "attention.attention.key",
    "attention.v_proj": "attention.attention.value",
    "attention.o_proj": "attention.output.dense",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
    "layernorm_before": "layernorm_before",
    "layernorm_after": "layernorm_after",
}


def from_vit_inflated(
    model_class: type[PreTrainedModel],
    pretrained_model_name_or_path: str,
    num_frames: int = 16,
    tubelet_size: int = 2,
    output_loading_info: bool = False,
    **config_overrides,
):
    """A VidAnon model initialised from an image ViT by inflation (the paper's initialisation).

    The model uses a learnable position table of length `2 + num_tubelets`: the CLS position goes to both CLS
    tokens and the spatial table is repeated for every time slot. The image size must match the ViT's.
    """
    source_config = ViTConfig.from_pretrained(pretrained_model_name_or_path)
    kwargs = {name: getattr(source_config, name) for name in _BACKBONE_FIELDS}
    kwargs.update(num_frames=num_frames, tubelet_size=tubelet_size, qkv_bias=source_config.qkv_bias,
                  position_embedding_type="learnable")
    kwargs.update(config_overrides)
    config = VidAnonConfig(**kwargs)
    model = model_class(config)
    # ViTModel resolves every historical ViT key layout into the current one
    source = ViTModel.from_pretrained(pretrained_model_name_or_path, add_pooling_layer=False).state_dict()

    tensors, sources, ignored = {}, {}, []
    for key, tensor in source.items():
        if key == "embeddings.patch_embeddings.projection.weight":
            inflated = tensor[:, :, None].repeat(1, 1, tubelet_size, 1, 1) / tubelet_size
            tensors[key], sources[key] = inflated, key
        elif key == "embeddings.patch_embeddings.projection.bias" or key.startswith("layernorm."):
            tensors[key], sources[key] = tensor, key
        elif key == "embeddings.cls_token":
            tensors["embeddings.cls_tokens"], sources["embeddings.cls_tokens"] = tensor.repeat(1, 2, 1), key
        elif key == "embeddings.position_embeddings":
            cls_position, spatial = tensor[:, :1], tensor[:, 1:]
            time_slots = config.tubelet_grid[0]
            table = torch.cat([cls_position, cls_position, spatial.repeat(1, time_slots, 1)], dim=1)
            tensors["embeddings.position_embeddings"], sources["embeddings.position_embeddings"] = table, key
        elif key.startswith("layers."):
            _, index, rest = key.split(".", 2)
            module, param = rest.rsplit(".", 1)
            if module == "attention.k_proj" and param == "bias":
                ignored.append(key)  # softmax is invariant to it
                continue
            if module not in _VIT_LAYER_NAMES:
                ignored.append(key)
                continue
            target = f"encoder.layer.{index}.{_VIT_LAYER_NAMES[module]}.{param}"
            tensors[target], sources[target] = tensor, key
        else:
            ignored.append(key)
    origin = f"ViT {pretrained_model_name_or_path!r}"
    return _assign(model, tensors, sources, ignored, origin, output_loading_info)
