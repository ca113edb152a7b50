"""The small classifiers trained from scratch on (anonymized) video: the fresh action models and privacy attackers
of the evaluation protocol, and the budget adversaries of the adversarial training, all built here.

- [`FreshC3DForVideoClassification`]: a small 3D CNN video classifier (the default fresh action model);
- [`FreshFrameTemporalForVideoClassification`]: per-frame 2D features joined by temporal convolutions (the default
  video-level privacy attacker);
- [`small_videomae_config`]: a small VideoMAE classifier's config (the budget adversaries; an optional fresh
  architecture);
- [`FreshModel`]: any of them (or any Transformers classifier) behind its own input normalisation, taking pixels
  in [0, 1] (or uint8);
- [`build_classifier`]: a classifier from a model name, a config or a default.

How they are trained is the business of `evaluation.fresh_training` (fresh models) and `training.budget` (budget
adversaries).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForVideoClassification,
    PretrainedConfig,
    PreTrainedModel,
    VideoMAEConfig,
)
from transformers import initialization as init
from transformers.modeling_outputs import ImageClassifierOutput

ModelSpec = str | os.PathLike | PretrainedConfig | None
"""A model name or path (`AutoConfig.from_pretrained`), a config object, or None for the default."""


# ----------------------------------------------------------------------------------------------
# A small 3D CNN video classifier (the default fresh action model).
# ----------------------------------------------------------------------------------------------


class _FreshConfig(PretrainedConfig):
    """What the configs of the small CNN classifiers share, checked: input channels, stage widths and the dropout
    before the classifier (documented on each config)."""

    def __init__(self, num_channels: int, hidden_sizes: Sequence[int], dropout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_channels = int(num_channels)
        self.hidden_sizes = [int(v) for v in hidden_sizes]
        self.dropout = float(dropout)
        if self.num_channels < 1 or not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError(f"`num_channels` and `hidden_sizes` must be positive, got {num_channels}, {hidden_sizes}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {dropout}.")


class FreshC3DConfig(_FreshConfig):
    r"""Configuration of `FreshC3DForVideoClassification`, a small 3D CNN video classifier.

    A 3D convolutional network is what the leakage protocol trains as its target action model (the
    field uses I3D); this one is sized to be trained from scratch on a CPU in a minute or two.

    Args:
        num_channels (`int`, *optional*, defaults to 3): input channels.
        hidden_sizes (`list[int]`, *optional*, defaults to `[16, 32, 64, 128]`): output channels of the
            stem and of each following stage (each stage: a 3x3x3 convolution of stride 2, batch norm, ReLU).
        stem_kernel_size (`list[int]`, *optional*, defaults to `[3, 5, 5]`): time, height and width
            of the stem kernel (stride 1 in time, 2 in space).
        dropout (`float`, *optional*, defaults to 0.1): dropout before the classifier.

    Example:

    ```python
    >>> from transformers_vidanon.classifiers import FreshC3DConfig, FreshC3DForVideoClassification
    >>> model = FreshC3DForVideoClassification(FreshC3DConfig(num_labels=6))
    >>> model(torch.rand(2, 16, 3, 64, 64)).logits.shape
    torch.Size([2, 6])
    ```
    """

    model_type = "vidanon_fresh_c3d"

    def __init__(self, num_channels: int = 3, hidden_sizes: Sequence[int] = (16, 32, 64, 128),
                 stem_kernel_size: Sequence[int] = (3, 5, 5), dropout: float = 0.1, **kwargs: Any) -> None:
        super().__init__(num_channels, hidden_sizes, dropout, **kwargs)
        self.stem_kernel_size = [int(v) for v in stem_kernel_size]
        if len(self.stem_kernel_size) != 3 or any(k < 1 or k % 2 == 0 for k in self.stem_kernel_size):
            raise ValueError(f"`stem_kernel_size` must be 3 odd positive sizes, got {stem_kernel_size}.")


class _FreshPreTrainedModel(PreTrainedModel):
    """What the small CNN classifiers share: pixel input, and He initialisation of the convolutions (batch norms at
    identity, linear layers as PyTorch initialises them)."""

    main_input_name = "pixel_values"

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Conv2d, nn.Conv3d)):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
        elif isinstance(module, nn.Linear):  # PyTorch's own Linear initialisation
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            init.uniform_(module.bias, -1.0 / math.sqrt(module.in_features), 1.0 / math.sqrt(module.in_features))


class _VideoClassificationHead:
    """A mixin for `...ForVideoClassification` models: the trunk `trunk_class` (clips `(B, T, C, H, W)` to pooled
    features `(B, hidden_sizes[-1])`, kept under `base_model_prefix`), dropout and a linear head; the loss by
    `config.problem_type` (cross-entropy, or BCE for `"multi_label_classification"`)."""

    trunk_class: type[nn.Module]

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        setattr(self, self.base_model_prefix, self.trunk_class(config))
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.hidden_sizes[-1], config.num_labels)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs: Any) -> ImageClassifierOutput:
        """Logits `(B, num_labels)` of clips `pixel_values` `(B, T, C, H, W)`."""
        logits = self.classifier(self.dropout(self.base_model(pixel_values)))
        loss = None
        if labels is not None:
            if self.config.problem_type == "multi_label_classification":
                loss = F.binary_cross_entropy_with_logits(logits, labels.float())
            else:
                loss = F.cross_entropy(logits, labels.long())
        return ImageClassifierOutput(loss=loss, logits=logits)


class FreshC3DPreTrainedModel(_FreshPreTrainedModel):
    config_class = FreshC3DConfig
    base_model_prefix = "c3d"


def _conv_block(in_channels: int, out_channels: int, kernel: Sequence[int], stride: Sequence[int]) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, tuple(kernel), tuple(stride), padding, bias=False),
        nn.BatchNorm3d(out_channels),
        nn.ReLU(inplace=True),
    )


class FreshC3DModel(FreshC3DPreTrainedModel):
    """The 3D CNN trunk: `(B, T, C, H, W)` clips to pooled features `(B, hidden_sizes[-1])`."""

    def __init__(self, config: FreshC3DConfig) -> None:
        super().__init__(config)
        sizes = config.hidden_sizes
        blocks = [_conv_block(config.num_channels, sizes[0], config.stem_kernel_size, (1, 2, 2))]
        blocks += [_conv_block(sizes[i], sizes[i + 1], (3, 3, 3), (2, 2, 2)) for i in range(len(sizes) - 1)]
        self.blocks = nn.Sequential(*blocks)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.blocks(pixel_values.transpose(1, 2))  # (B, T, C, H, W) -> (B, C, T, H, W)
        return x.mean(dim=(2, 3, 4))


class FreshC3DForVideoClassification(_VideoClassificationHead, FreshC3DPreTrainedModel):
    """`FreshC3DModel` (`self.c3d`) with a linear head; loss by `config.problem_type` (cross-entropy or BCE)."""

    trunk_class = FreshC3DModel


AutoConfig.register(FreshC3DConfig.model_type, FreshC3DConfig, exist_ok=True)
AutoModelForVideoClassification.register(FreshC3DConfig, FreshC3DForVideoClassification, exist_ok=True)


# ----------------------------------------------------------------------------------------------
# Per-frame 2D features joined by temporal convolutions (the default video attacker).
# ----------------------------------------------------------------------------------------------


class FreshFrameTemporalConfig(_FreshConfig):
    r"""Configuration of `FreshFrameTemporalForVideoClassification`: a per-frame 2D CNN whose feature maps are
    joined over time by 3D convolutions.

    A video attacker should be at least as strong as a per-frame one (it sees every frame) and also see
    motion. This model runs the per-frame attacker's kind of 2D residual network on every frame, stacks the
    frames' feature maps into a `(C, T, h, w)` volume and applies residual spatio-temporal convolutions on it
    (kernel `temporal_kernel_size x 3 x 3`, so a feature moving from one position to the next between frames
    is seen), then averages over time and space.

    Args:
        num_channels (`int`, *optional*, defaults to 3): input channels.
        embedding_size (`int`, *optional*, defaults to 16): stem width (5x5 convolution of stride 2, then a
            3x3 max-pool of stride 2).
        hidden_sizes (`list[int]`, *optional*, defaults to `[16, 32, 64]`): widths of the residual stages (the
            first of stride 1, the others of stride 2).
        depths (`list[int]`, *optional*, defaults to `[1, 1, 1]`): basic residual blocks per stage.
        temporal_layers (`int`, *optional*, defaults to 2): residual spatio-temporal blocks on the frame features.
        temporal_kernel_size (`int`, *optional*, defaults to 3): their extent in time (odd).
        frame_stride (`int`, *optional*, defaults to 1): use every `frame_stride`-th frame of the clip (in
            training from a random first frame among the first `frame_stride`).
        dropout (`float`, *optional*, defaults to 0.1): dropout before the classifier.

    Example:

    ```python
    >>> from transformers_vidanon.classifiers import (
    ...     FreshFrameTemporalConfig, FreshFrameTemporalForVideoClassification)
    >>> model = FreshFrameTemporalForVideoClassification(FreshFrameTemporalConfig(num_labels=5))
    >>> model(torch.rand(2, 16, 3, 64, 64)).logits.shape
    torch.Size([2, 5])
    ```
    """

    model_type = "vidanon_fresh_frame_temporal"

    def __init__(
        self,
        num_channels: int = 3,
        embedding_size: int = 16,
        hidden_sizes: Sequence[int] = (16, 32, 64),
        depths: Sequence[int] = (1, 1, 1),
        temporal_layers: int = 2,
        temporal_kernel_size: int = 3,
        frame_stride: int = 1,
        dropout: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_channels, hidden_sizes, dropout, **kwargs)
        self.embedding_size = int(embedding_size)
        self.depths = [int(v) for v in depths]
        self.temporal_layers = int(temporal_layers)
        self.temporal_kernel_size = int(temporal_kernel_size)
        self.frame_stride = int(frame_stride)
        if self.embedding_size < 1:
            raise ValueError(f"`embedding_size` must be positive, got {embedding_size}.")
        if len(self.depths) != len(self.hidden_sizes) or min(self.depths) < 1:
            raise ValueError(f"`depths` must give a positive depth per stage, got {depths} for {hidden_sizes}.")
        if self.temporal_layers < 0 or self.temporal_kernel_size < 1 or self.temporal_kernel_size % 2 == 0:
            raise ValueError(
                f"`temporal_layers` must be >= 0 and `temporal_kernel_size` odd and positive, got "
                f"{temporal_layers} and {temporal_kernel_size}."
            )
        if self.frame_stride < 1:
            raise ValueError(f"`frame_stride` must be >= 1, got {frame_stride}.")


class _BasicBlock2d(nn.Module):
    """Two 3x3 convolutions with batch norm and a (projected) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x)), inplace=True)
        return F.relu(self.norm2(self.conv2(out)) + self.shortcut(x), inplace=True)


class _TemporalBlock(nn.Module):
    """A residual `k x 3 x 3` convolution over stacked frame features `(B, C, T, h, w)`."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, (kernel_size, 3, 3), 1, (kernel_size // 2, 1, 1), bias=False)
        self.norm = nn.BatchNorm3d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.norm(self.conv(x)), inplace=True)


class FreshFrameTemporalPreTrainedModel(_FreshPreTrainedModel):
    config_class = FreshFrameTemporalConfig
    base_model_prefix = "frame_temporal"


class FreshFrameTemporalModel(FreshFrameTemporalPreTrainedModel):
    """The trunk: `(B, T, C, H, W)` clips to pooled features `(B, hidden_sizes[-1])`."""

    def __init__(self, config: FreshFrameTemporalConfig) -> None:
        super().__init__(config)
        self.stem = nn.Sequential(
            nn.Conv2d(config.num_channels, config.embedding_size, 5, 2, 2, bias=False),
            nn.BatchNorm2d(config.embedding_size),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        blocks, width = [], config.embedding_size
        for stage, (size, depth) in enumerate(zip(config.hidden_sizes, config.depths)):
            for index in range(depth):
                blocks.append(_BasicBlock2d(width, size, 2 if stage > 0 and index == 0 else 1))
                width = size
        self.stages = nn.Sequential(*blocks)
        self.temporal = nn.Sequential(
            *[_TemporalBlock(width, config.temporal_kernel_size) for _ in range(config.temporal_layers)]
        )
        self.post_init()

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        stride = self.config.frame_stride
        # in training, a random first frame: every frame of the clip is seen (an augmentation in time)
        offset = int(torch.randint(0, stride, ())) if self.training and stride > 1 else 0
        frames = pixel_values[:, offset::stride]
        batch, time = frames.shape[:2]
        features = self.stages(self.stem(frames.flatten(0, 1)))  # (B * T, C, h, w)
        volume = features.view(batch, time, *features.shape[1:]).transpose(1, 2)  # (B, C, T, h, w)
        return self.temporal(volume).mean(dim=(2, 3, 4))


class FreshFrameTemporalForVideoClassification(_VideoClassificationHead, FreshFrameTemporalPreTrainedModel):
    """`FreshFrameTemporalModel` (`self.frame_temporal`) with a linear head; loss by `config.problem_type`
    (cross-entropy or BCE)."""

    trunk_class = FreshFrameTemporalModel


AutoConfig.register(FreshFrameTemporalConfig.model_type, FreshFrameTemporalConfig, exist_ok=True)
AutoModelForVideoClassification.register(
    FreshFrameTemporalConfig, FreshFrameTemporalForVideoClassification, exist_ok=True
)


class FreshModel(nn.Module):
    """A Transformers classifier behind its own input normalisation.

    Args:
        model (`PreTrainedModel`): a video (`pixel_values` `(B, T, C, H, W)`) or image
            (`pixel_values` `(B, C, H, W)`) classification model.
        mean (`Sequence[float]`): per-channel mean of the [0, 1] input.
        std (`Sequence[float]`): per-channel standard deviation of the [0, 1] input.
        input_kind (`str`): `"video"` or `"frame"`.
        input_size (`tuple[int, ...]`, *optional*): the `(T, H, W)` (video) or `(H, W)` (frame) size
            the model was built for; other inputs are resized to it (trilinear / bilinear).
        channels_last (`bool`, *optional*, defaults to `False`): run the network on channels-last pixels, its
            convolution weights stored channels-last (see [`FreshModel.use_channels_last`]).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        mean: Sequence[float],
        std: Sequence[float],
        input_kind: Literal["video", "frame"],
        input_size: tuple[int, ...] | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if input_kind not in ("video", "frame"):
            raise ValueError(f"`input_kind` must be 'video' or 'frame', got {input_kind!r}.")
        self.model = model
        self.input_kind = input_kind
        self.input_size = None if input_size is None else tuple(int(v) for v in input_size)
        self.register_buffer("pixel_mean", torch.tensor([float(v) for v in mean]).view(-1, 1, 1))
        self.register_buffer("pixel_std", torch.tensor([max(float(v), 1e-6) for v in std]).view(-1, 1, 1))
        self.training_log = None  # what the training that produced it did (`evaluation.fresh_training.TrainingLog`)
        self.channels_last = False
        if channels_last:
            self.use_channels_last()

    @property
    def num_labels(self) -> int:
        return int(self.model.config.num_labels)

    def use_channels_last(self) -> FreshModel:
        """Store the network's 2D and 3D convolution weights channels-last and feed it channels-last pixels (a
        `(..., C, H, W)` view of `(..., H, W, C)` memory): on CPU the convolutions, batch norms and max-pools of the
        small CNNs run faster so (a 3x3 max-pool several times); the values are those of the default layout up to
        float rounding. Returns the model."""
        for module in self.model.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)
            elif isinstance(module, nn.Conv3d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last_3d)
        self.channels_last = True
        return self

    def normalize(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """uint8 [0, 255] or float [0, 1] pixels `(..., C, H, W)` -> normalised float32, in the memory layout of
        the input (uint8: the scaling by 1 / 255, the mean and the std in one pass)."""
        device = self.pixel_mean.device
        if pixel_values.dtype == torch.uint8:
            scale = 1.0 / (255.0 * self.pixel_std)
            return torch.addcmul(-self.pixel_mean / self.pixel_std, pixel_values.to(device=device, dtype=torch.float32),
                                 scale)
        pixel_values = pixel_values.to(device=device, dtype=torch.float32)
        return (pixel_values - self.pixel_mean) / self.pixel_std

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_size is None:
            return x
        if self.input_kind == "frame":
            if tuple(x.shape[-2:]) == self.input_size:
                return x
            return F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        if tuple(x.shape[1:2]) + tuple(x.shape[-2:]) == self.input_size:
            return x
        # (B, T, C, H, W) -> (B, C, T, H, W) for trilinear resizing, and back
        resized = F.interpolate(x.transpose(1, 2), size=self.input_size, mode="trilinear", align_corners=False)
        return resized.transpose(1, 2)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Logits `(B, num_labels)` of clips `(B, T, C, H, W)` or frames `(B, C, H, W)`."""
        expected = 5 if self.input_kind == "video" else 4
        if pixel_values.dim() != expected:
            raise ValueError(
                f"This {self.input_kind} model takes {expected}-d `pixel_values`, got shape {tuple(pixel_values.shape)}."
            )
        if getattr(self, "channels_last", False) and not is_channels_last(pixel_values):
            pixel_values = to_channels_last(pixel_values)
        x = self._resize(self.normalize(pixel_values))
        return self.model(pixel_values=x).logits


def is_channels_last(pixels: torch.Tensor) -> bool:
    """Whether `(..., C, H, W)` pixels lie in `(..., H, W, C)` order in memory."""
    return pixels.movedim(-3, -1).is_contiguous()


def to_channels_last(pixels: torch.Tensor) -> torch.Tensor:
    """`(..., C, H, W)` pixels as a view of `(..., H, W, C)` memory (one copy, in the input's dtype)."""
    return pixels.movedim(-3, -1).contiguous().movedim(-1, -3)


def build_classifier(
    model_name_or_config: ModelSpec,
    default_config: Callable[[], PretrainedConfig],
    auto_class: type,
    num_labels: int,
    problem_type: str,
    pretrained: bool,
) -> PreTrainedModel:
    """A classification model with `num_labels` outputs (random weights unless `pretrained`)."""
    if model_name_or_config is None:
        config = default_config()
    elif isinstance(model_name_or_config, PretrainedConfig):
        config = model_name_or_config.__class__.from_dict(model_name_or_config.to_dict())
    elif isinstance(model_name_or_config, (str, os.PathLike)):
        model_name_or_config = str(model_name_or_config)
        if pretrained:
            return auto_class.from_pretrained(
                model_name_or_config, num_labels=num_labels, problem_type=problem_type,
                ignore_mismatched_sizes=True,
            )
        config = AutoConfig.from_pretrained(model_name_or_config)
    else:
        raise TypeError(
            "`model_name_or_config` must be a model name or path, a PretrainedConfig, or None; "
            f"got {type(model_name_or_config).__name__}."
        )
    config.num_labels = num_labels
    config.problem_type = problem_type
    return auto_class.from_config(config)


def video_input_size(config: PretrainedConfig) -> tuple[int, int, int] | None:
    """The `(T, H, W)` a video classifier's config was built for, or `None` where it takes any size."""
    frames = getattr(config, "num_frames", None)
    size = getattr(config, "image_size", None)
    if frames is None or size is None:
        return None
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    return int(frames), int(height), int(width)


def frame_input_size(config: PretrainedConfig) -> tuple[int, int] | None:
    """The `(H, W)` a frame classifier's config was built for, or `None` where it takes any size (ResNets)."""
    size = getattr(config, "image_size", None)
    if size is None or getattr(config, "model_type", "") == "resnet":
        return None
    return (size, size) if isinstance(size, int) else tuple(size)


def small_videomae_config(
    image_size: int, num_frames: int, patch_size: int, tubelet_size: int, hidden_size: int, num_layers: int,
    num_heads: int, intermediate_size: int | None = None, num_channels: int = 3, **kwargs,
) -> VideoMAEConfig:
    """A small VideoMAE video classifier's config, mean-pooled (no CLS token); `kwargs` go to the config
    (`num_labels`, `problem_type`, ...)."""
    return VideoMAEConfig(
        image_size=int(image_size), patch_size=int(patch_size), num_channels=int(num_channels),
        num_frames=int(num_frames), tubelet_size=int(tubelet_size), hidden_size=int(hidden_size),
        num_hidden_layers=int(num_layers), num_attention_heads=int(num_heads),
        intermediate_size=int(intermediate_size or 2 * hidden_size), use_mean_pooling=True, **kwargs,
    )
