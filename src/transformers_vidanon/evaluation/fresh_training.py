"""Training the fresh models of the leakage protocol: action recognisers and privacy attackers trained from
scratch (their architectures are in `transformers_vidanon.classifiers`).

An anonymizer is judged by NEW models trained on its output, never by its own heads. This module
trains three kinds on in-memory clip tensors (see `transformers_vidanon.data.synth.ClipSet`):

- `train_action_model`: a video classifier, cross-entropy; `predict_action` averages the softmax
  over temporal clips. Default: `FreshC3DForVideoClassification`, a small 3D CNN (the field's target
  action model is a 3D CNN, I3D); any `AutoModelForVideoClassification` name, path or config is
  accepted instead, and `FreshModelConfig(action_architecture="videomae")` builds a small
  `VideoMAEForVideoClassification`.
- `train_frame_attacker`: a per-frame multi-label privacy attacker (by default a small
  `ResNetForImageClassification`, as the field's ResNet-50 per frame), BCE on single frames;
  `predict_frame_attacker` averages the logits over time and clips, and also returns every frame's
  logits (for the best single-frame leakage).
- `train_video_attacker`: a video-level multi-label attacker (BCE), which sees motion as well as
  appearance; default the same small 3D CNN, or VideoMAE; `predict_video_attacker` averages logits
  over clips.

Why a 3D CNN by default: on the default SynthPrivacy set (720 training clips of 16x64x64), the
3D CNN reaches 99% test top-1 in 16 epochs (about a minute on two CPU threads), where the best small
VideoMAE found (patch 16, tubelet 4, 3 layers of 128) reaches 85% after 60 epochs (about 3 minutes):
a ViT trained from scratch on a few hundred clips is data-starved
(see `benchmarks/results/synth_calibration.md`).

Clips are `(N, T, C, H, W)` or `(N, num_clips, T, C, H, W)`, uint8 in [0, 255] or float in [0, 1]
(training draws one clip of a multi-clip video at random each time). Every model normalises its own
input (`FreshModel` holds the per-channel mean and std, computed on its training clips by default):
small models trained from scratch learn next to nothing from unnormalised pixels. Training is seeded
(initialisation, order, augmentation, dropout) and deterministic for a seed on a given machine and
thread count; it runs on the threads `torch.get_num_threads()` allows unless
`FreshModelConfig.num_threads` says otherwise. The default sizes and epochs (`FreshModelConfig`)
keep one training on a few hundred 16x64x64 clips within seconds to a minute or two on two CPU cores.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import (
    AutoModelForImageClassification,
    AutoModelForVideoClassification,
    PretrainedConfig,
    ResNetConfig,
)

from ..classifiers import (
    FreshC3DConfig,
    FreshFrameTemporalConfig,
    FreshModel,
    ModelSpec,
    build_classifier,
    frame_input_size,
    small_videomae_config,
    video_input_size,
)
from ..configuration_vidanon import IMAGENET_MEAN, IMAGENET_STD
from ..metrics import average_precision
from ..optimization import parameter_groups, warmup_cosine, warmup_cosine_scheduler

logger = logging.getLogger(__name__)

CHANNELS_LAST_MODELS = ("FreshC3DForVideoClassification", "FreshFrameTemporalForVideoClassification",
                        "ResNetForImageClassification")
"""The fresh architectures run channels-last (`FreshModelConfig.channels_last`); any other model keeps the default
layout."""




@dataclass
class FreshModelConfig:
    """Sizes and training settings of the fresh models (defaults: the SynthPrivacy calibration).

    Architecture of the default models (used when no model name or config is given):

    Args:
        action_architecture (`str`, *optional*, defaults to `"c3d"`): `"c3d"` (`FreshC3DForVideoClassification`)
            or `"videomae"` (`VideoMAEForVideoClassification`) for the action model.
        video_attacker_architecture (`str`, *optional*, defaults to `"frame_temporal"`): the video-level privacy
            attacker: `"frame_temporal"` (`FreshFrameTemporalForVideoClassification`: the per-frame attacker's
            kind of 2D network on every frame, its feature maps joined over time by spatio-temporal
            convolutions, so it sees each frame as the frame attacker does and motion too), `"c3d"` or
            `"videomae"`.
        c3d_hidden_sizes (`tuple[int, ...]`, *optional*, defaults to `(16, 32, 64, 128)`): 3D CNN widths.
        c3d_stem_kernel_size (`tuple[int, int, int]`, *optional*, defaults to `(3, 5, 5)`): 3D CNN stem kernel.
        c3d_dropout (`float`, *optional*, defaults to 0.1): 3D CNN dropout before the classifier.
        video_hidden_size (`int`, *optional*, defaults to 128): VideoMAE hidden size (when an
            architecture is `"videomae"`).
        video_num_layers (`int`, *optional*, defaults to 3): VideoMAE transformer layers.
        video_num_heads (`int`, *optional*, defaults to 4): VideoMAE attention heads.
        video_intermediate_size (`int`, *optional*, defaults to 256): VideoMAE MLP size.
        video_patch_size (`int`, *optional*, defaults to 16): VideoMAE spatial patch size (64x64
            frames give a 4x4 grid).
        video_tubelet_size (`int`, *optional*, defaults to 4): VideoMAE temporal tubelet size.
        frame_embedding_size (`int`, *optional*, defaults to 16): ResNet stem width (frame attacker, and the
            per-frame network of the `"frame_temporal"` video attacker).
        frame_hidden_sizes (`tuple[int, ...]`, *optional*, defaults to `(16, 32, 64)`): ResNet stage widths (both).
        frame_depths (`tuple[int, ...]`, *optional*, defaults to `(1, 1, 1)`): ResNet blocks per stage (both).
        temporal_layers (`int`, *optional*, defaults to 2): spatio-temporal blocks of the `"frame_temporal"`
            video attacker.
        temporal_frame_stride (`int`, *optional*, defaults to 2): the `"frame_temporal"` video attacker sees
            every `temporal_frame_stride`-th frame of a clip (2: 8 of 16 frames, still 2 s of motion on
            SynthPrivacy).

    Training (AdamW, weight decay off for norms and biases). With `early_stopping`, a seeded `validation_fraction`
    of the training videos is held out; after every epoch the model is scored on it (action: top-1; attackers: mean
    AP; ties broken by the validation loss), the weights of the best-scoring epoch are kept, and patience decides
    when the training stops: once for `patience` epochs the score has not risen by more than `min_delta` and (for
    the attackers, and for the action model with `action_watch_loss`) the validation loss has not fallen by more
    than `min_delta_loss` of its best value. The learning rate (`schedule`): `"plateau"` (default) warms up over
    `warmup_epochs`, holds the peak rate and multiplies it by `lr_decay` after every `lr_patience` epochs without
    improvement; `"cosine"` warms up and decays over the `*_epochs` (to `min_lr_ratio` of the peak, held after).
    The cap of a training is `cap_factor` times its `*_epochs`, a safety bound: the training log records whether it
    bound (`TrainingLog.cap_bound`). Without early stopping, exactly `*_epochs` epochs run on the cosine schedule.
    The defaults come from `benchmarks/results/fresh_models.md`: the attackers reach more on Raw than with the
    earlier recipe (cosine over caps of 20 and 24 epochs that bound), and models that cannot learn stop early.

    Args:
        action_epochs (`int`, *optional*, defaults to 40): epochs (the cap, or the cosine schedule's length) of the
            action model.
        action_lr (`float`, *optional*, defaults to 2e-3): peak learning rate of the action model.
        frame_epochs (`int`, *optional*, defaults to 40): epochs of the frame attacker.
        frame_lr (`float`, *optional*, defaults to 4e-3): peak learning rate of the frame attacker.
        frames_per_clip (`int`, *optional*, defaults to 4): random frames drawn from each training
            clip per frame-attacker epoch (an epoch sees `N * frames_per_clip` frames).
        video_epochs (`int`, *optional*, defaults to 40): epochs of the video attacker.
        video_lr (`float`, *optional*, defaults to 4e-3): peak learning rate of the video attacker.
        finetune_epochs (`int`, *optional*, defaults to 30): epochs of fine-tuning a raw-trained attacker on
            anonymized clips (the fine-tuned threat model).
        finetune_lr (`float`, *optional*, defaults to 2e-3): its peak learning rate.
        early_stopping (`bool`, *optional*, defaults to `True`): stop on the validation plateau (see above).
        patience (`int`, *optional*, defaults to 4): epochs without improvement before stopping.
        min_delta (`float`, *optional*, defaults to 2e-3): the rise of the validation score (top-1 or mean AP, in
            [0, 1]) that counts as an improvement.
        min_delta_loss (`float`, *optional*, defaults to 0.03): the fall of the validation loss, as a share of its
            best value, that counts as an improvement.
        action_watch_loss (`bool`, *optional*, defaults to `False`): whether the action model's validation loss
            keeps it training too (its top-1 saturates on a few dozen held-out videos while the loss creeps down for
            many epochs without a measurable gain); the attackers always watch it.
        cap_factor (`float`, *optional*, defaults to 1.0): the cap is this many times the `*_epochs`.
        min_lr_ratio (`float`, *optional*, defaults to 0.0): the cosine schedule's last rate, as a share of the peak.
        schedule (`str`, *optional*, defaults to `"plateau"`): `"plateau"` or `"cosine"` (see above).
        lr_patience (`int`, *optional*, defaults to 2): stalled epochs before the plateau schedule lowers the rate.
        lr_decay (`float`, *optional*, defaults to 0.3): its factor.
        warmup_epochs (`float`, *optional*, defaults to 1.0): the plateau schedule's warm-up.
        validation_fraction (`float`, *optional*, defaults to 0.15): share of the training videos held out
            for early stopping (at least 2 videos; early stopping is skipped below 8 training videos).
        batch_size (`int`, *optional*, defaults to 16): clips (or frames x 4 for the frame attacker) per step.
        weight_decay (`float`, *optional*, defaults to 0.05): AdamW weight decay.
        warmup_fraction (`float`, *optional*, defaults to 0.1): share of the cosine schedule's steps spent warming
            up.
        max_shift (`int`, *optional*, defaults to 4): random translation augmentation, in pixels
            (edges replicated), 0 to disable.
        flip_privacy (`bool`, *optional*, defaults to `True`): random horizontal flips for the privacy
            attackers. The action model is never flipped: a flip turns walking left into walking right.
        normalization (`str`, *optional*, defaults to `"dataset"`): `"dataset"` (per-channel mean and
            std of the training clips) or `"imagenet"`.
        num_threads (`int`, *optional*): torch threads while training and predicting (restored after);
            None keeps `torch.get_num_threads()`.
        bf16 (`bool`, *optional*, defaults to `False`): run the training forward passes under bfloat16 autocast
            (weights, optimizer and predictions stay float32); on CPUs with AVX512-BF16 or AMX this trains the 3D
            CNN about 1.8 times faster.
        channels_last (`bool`, *optional*, defaults to `True`): train and apply the convolutional defaults (3D CNN,
            frame-temporal attacker, ResNet frame attacker) on channels-last pixels with channels-last weights
            (`FreshModel.use_channels_last`): the same model, faster on CPU
            (`benchmarks/results/fresh_models.md`); other architectures keep the default layout.
        device (`str`, *optional*, defaults to `"cpu"`): where to train.
        progress (`bool`, *optional*, defaults to `True`): tqdm bars over epochs.
    """

    action_architecture: Literal["c3d", "frame_temporal", "videomae"] = "c3d"
    video_attacker_architecture: Literal["frame_temporal", "c3d", "videomae"] = "frame_temporal"
    c3d_hidden_sizes: tuple[int, ...] = (16, 32, 64, 128)
    c3d_stem_kernel_size: tuple[int, int, int] = (3, 5, 5)
    c3d_dropout: float = 0.1
    video_hidden_size: int = 128
    video_num_layers: int = 3
    video_num_heads: int = 4
    video_intermediate_size: int = 256
    video_patch_size: int = 16
    video_tubelet_size: int = 4
    frame_embedding_size: int = 16
    frame_hidden_sizes: tuple[int, ...] = (16, 32, 64)
    frame_depths: tuple[int, ...] = (1, 1, 1)
    temporal_layers: int = 2
    temporal_frame_stride: int = 2
    action_epochs: int = 40
    action_lr: float = 2e-3
    frame_epochs: int = 40
    frame_lr: float = 4e-3
    frames_per_clip: int = 4
    video_epochs: int = 40
    video_lr: float = 4e-3
    finetune_epochs: int = 30
    finetune_lr: float = 2e-3
    early_stopping: bool = True
    patience: int = 4
    min_delta: float = 2e-3
    min_delta_loss: float = 0.03
    action_watch_loss: bool = False
    cap_factor: float = 1.0
    min_lr_ratio: float = 0.0
    schedule: Literal["plateau", "cosine"] = "plateau"
    lr_patience: int = 2
    lr_decay: float = 0.3
    warmup_epochs: float = 1.0
    validation_fraction: float = 0.15
    batch_size: int = 16
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1
    max_shift: int = 4
    flip_privacy: bool = True
    normalization: Literal["dataset", "imagenet"] = "dataset"
    num_threads: int | None = None
    bf16: bool = False
    channels_last: bool = True
    device: str = "cpu"
    progress: bool = True

    def with_epochs_scaled(self, factor: float) -> FreshModelConfig:
        """A copy whose action, frame and video epochs are multiplied by `factor` (at least 1 each)."""
        if factor <= 0:
            raise ValueError(f"the epochs scale must be > 0, got {factor}.")
        return replace(self, **{
            name: max(1, round(getattr(self, name) * factor))
            for name in ("action_epochs", "frame_epochs", "video_epochs", "finetune_epochs")
        })

    def __post_init__(self) -> None:
        for name in ("action_epochs", "frame_epochs", "video_epochs", "finetune_epochs", "batch_size",
                     "frames_per_clip", "video_hidden_size", "video_num_layers", "video_num_heads", "patience",
                     "temporal_frame_stride", "lr_patience"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"FreshModelConfig.{name} must be >= 1, got {getattr(self, name)}.")
        if self.video_hidden_size % self.video_num_heads:
            raise ValueError(
                f"FreshModelConfig.video_hidden_size ({self.video_hidden_size}) must be divisible by "
                f"video_num_heads ({self.video_num_heads})."
            )
        if len(self.frame_hidden_sizes) != len(self.frame_depths):
            raise ValueError("FreshModelConfig.frame_hidden_sizes and frame_depths must have the same length.")
        if self.action_architecture not in ("c3d", "frame_temporal", "videomae"):
            raise ValueError(
                "FreshModelConfig.action_architecture must be 'c3d', 'frame_temporal' or 'videomae', got "
                f"{self.action_architecture!r}."
            )
        if self.video_attacker_architecture not in ("frame_temporal", "c3d", "videomae"):
            raise ValueError(
                "FreshModelConfig.video_attacker_architecture must be 'frame_temporal', 'c3d' or 'videomae', got "
                f"{self.video_attacker_architecture!r}."
            )
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"FreshModelConfig.validation_fraction must be in (0, 1), got {self.validation_fraction}.")
        if self.temporal_layers < 0:
            raise ValueError(f"FreshModelConfig.temporal_layers must be >= 0, got {self.temporal_layers}.")
        if self.normalization not in ("dataset", "imagenet"):
            raise ValueError(f"FreshModelConfig.normalization must be 'dataset' or 'imagenet', got {self.normalization!r}.")
        if self.schedule not in ("plateau", "cosine"):
            raise ValueError(f"FreshModelConfig.schedule must be 'plateau' or 'cosine', got {self.schedule!r}.")
        if self.cap_factor < 1.0 or not 0.0 <= self.min_lr_ratio < 1.0:
            raise ValueError(
                f"FreshModelConfig.cap_factor must be >= 1 and min_lr_ratio in [0, 1), got {self.cap_factor}, "
                f"{self.min_lr_ratio}."
            )
        if self.min_delta < 0 or not 0.0 <= self.min_delta_loss < 1.0:
            raise ValueError(
                f"FreshModelConfig.min_delta must be >= 0 and min_delta_loss in [0, 1), got {self.min_delta}, "
                f"{self.min_delta_loss}."
            )
        if not 0.0 < self.lr_decay <= 1.0 or self.warmup_epochs < 0:
            raise ValueError(
                f"FreshModelConfig.lr_decay must be in (0, 1] and warmup_epochs >= 0, got {self.lr_decay}, "
                f"{self.warmup_epochs}."
            )
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"FreshModelConfig.warmup_fraction must be in [0, 1), got {self.warmup_fraction}.")
        if self.max_shift < 0:
            raise ValueError(f"FreshModelConfig.max_shift must be >= 0, got {self.max_shift}.")
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError(f"FreshModelConfig.num_threads must be >= 1 or None, got {self.num_threads}.")
        self.frame_hidden_sizes = tuple(int(v) for v in self.frame_hidden_sizes)
        self.c3d_hidden_sizes = tuple(int(v) for v in self.c3d_hidden_sizes)
        self.c3d_stem_kernel_size = tuple(int(v) for v in self.c3d_stem_kernel_size)
        self.frame_depths = tuple(int(v) for v in self.frame_depths)


def bf16_is_fast(device: str = "cpu") -> bool:
    """Whether bfloat16 autocast is native here (a CUDA GPU with bf16, or a CPU with AVX512-BF16 / AMX), so that
    `FreshModelConfig(bf16=True)` speeds training up instead of emulating bfloat16."""
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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


# ----------------------------------------------------------------------------------------------
# Helpers: thread settings, seeding, input checks, normalisation statistics, augmentation.
# ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator (initialisation, dropout) inside, and restore it after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_clips(clips: torch.Tensor, name: str, allow_multi_clip: bool) -> torch.Tensor:
    if not isinstance(clips, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(clips).__name__}.")
    dims = (5, 6) if allow_multi_clip else (5,)
    shape_text = "(N, T, C, H, W)" + (" or (N, num_clips, T, C, H, W)" if allow_multi_clip else "")
    if clips.dim() not in dims:
        raise ValueError(f"`{name}` must have shape {shape_text}, got {tuple(clips.shape)}.")
    if clips.shape[0] < 1:
        raise ValueError(f"`{name}` holds no clip.")
    if clips.dtype != torch.uint8 and not clips.is_floating_point():
        raise ValueError(f"`{name}` must be uint8 in [0, 255] or float in [0, 1], got dtype {clips.dtype}.")
    return clips


def _draw_clips(clips: torch.Tensor, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Clips `index` of `(N, T, C, H, W)`, or of `(N, num_clips, ...)` one random clip each: `(B, T, C, H, W)`."""
    if clips.dim() == 6:
        which = torch.randint(0, clips.shape[1], (len(index),), generator=generator)
        return clips[index, which]
    return clips[index]


def _as_float01(clips: torch.Tensor) -> torch.Tensor:
    return clips.float() / 255.0 if clips.dtype == torch.uint8 else clips.float()


def _channel_stats(clips: torch.Tensor, normalization: str) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of [0, 1] clips `(N, [num_clips,] T, C, H, W)` (chunked), or ImageNet's."""
    clips = clips.reshape(-1, *clips.shape[-4:])
    num_channels = clips.shape[2]
    if normalization == "imagenet":
        if num_channels != 3:
            raise ValueError(f"ImageNet normalisation needs 3 channels, got {num_channels}.")
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    if clips.dtype == torch.uint8:  # exact, from the histogram of each channel's 256 values
        values = torch.arange(256, dtype=torch.float64) / 255.0
        counts = torch.stack([torch.bincount(clips[:, :, channel].reshape(-1), minlength=256)
                              for channel in range(num_channels)]).double()
        mean = (counts * values).sum(dim=1) / counts.sum(dim=1)
        variance = (counts * values * values).sum(dim=1) / counts.sum(dim=1) - mean * mean
        return mean.tolist(), variance.clamp_min(1e-8).sqrt().tolist()
    total = torch.zeros(num_channels, dtype=torch.float64)
    total_sq = torch.zeros(num_channels, dtype=torch.float64)
    count = 0
    for start in range(0, clips.shape[0], 32):
        chunk = _as_float01(clips[start : start + 32]).double().transpose(0, 2).reshape(num_channels, -1)
        total += chunk.sum(dim=1)
        total_sq += (chunk * chunk).sum(dim=1)
        count += chunk.shape[1]
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(1e-8).sqrt()
    return mean.tolist(), std.tolist()


def _augment(x: torch.Tensor, generator: torch.Generator, max_shift: int, flip: bool,
             channels_last: bool = False) -> torch.Tensor:
    """Random translation (edges replicated) and optional horizontal flip, one draw per sample.

    `x` is `(B, ..., C, H, W)` of any dtype (uint8 clips stay uint8), or with `channels_last` `(B, ..., H, W, C)`;
    every frame of a sample gets the same transform. The flip is drawn first, then the shift; each output pixel is
    gathered from its source pixel in one indexing pass, which gives exactly what flipping, padding by `max_shift`
    with the edges replicated and cropping back would.
    """
    batch = x.shape[0]
    flips = torch.rand(batch, generator=generator) < 0.5 if flip else torch.zeros(batch, dtype=torch.bool)
    if max_shift <= 0 and not bool(flips.any()):
        return x
    height, width = (x.shape[-3], x.shape[-2]) if channels_last else (x.shape[-2], x.shape[-1])
    if max_shift > 0:
        offsets = torch.randint(0, 2 * max_shift + 1, (batch, 2), generator=generator) - max_shift
    else:
        offsets = torch.zeros(batch, 2, dtype=torch.long)
    rows = (torch.arange(height)[None] + offsets[:, :1]).clamp(0, height - 1)
    cols = (torch.arange(width)[None] + offsets[:, 1:]).clamp(0, width - 1)
    cols = torch.where(flips[:, None], width - 1 - cols, cols)
    source = (rows[:, :, None] * width + cols[:, None, :]).reshape(batch, 1, height * width)
    if channels_last:
        flat = x.reshape(batch, -1, height * width, x.shape[-1])
        index = source[..., None].expand(batch, flat.shape[1], height * width, flat.shape[-1])
    else:
        flat = x.reshape(batch, -1, height * width)
        index = source.expand(batch, flat.shape[1], height * width)
    return flat.gather(2, index).view(x.shape)


def _use_channels_last(net: torch.nn.Module, cfg: FreshModelConfig) -> bool:
    """Whether the network is one of the small CNNs that train faster on channels-last pixels (the 3D CNN, the
    frame-temporal attacker and the ResNet frame attacker), and `cfg.channels_last` asks for it."""
    return cfg.channels_last and type(net).__name__ in CHANNELS_LAST_MODELS


def _pixels_last(clips: torch.Tensor, enabled: bool) -> torch.Tensor:
    """`(..., C, H, W)` clips stored as `(..., H, W, C)` (one copy) when `enabled`, so that batches drawn from them
    are channels-last without a copy per step; else the clips themselves."""
    return clips.movedim(-3, -1).contiguous() if enabled else clips


def _as_pixels(batch: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A batch drawn from `_pixels_last` storage as `(..., C, H, W)` (a view)."""
    return batch.movedim(-1, -3) if channels_last else batch


def _default_video_config(
    cfg: FreshModelConfig, clips: torch.Tensor, architecture: str
) -> Callable[[], PretrainedConfig]:
    num_frames, num_channels, height, width = clips.shape[-4:]
    if architecture == "frame_temporal":
        return lambda: FreshFrameTemporalConfig(
            num_channels=int(num_channels),
            embedding_size=cfg.frame_embedding_size,
            hidden_sizes=cfg.frame_hidden_sizes,
            depths=cfg.frame_depths,
            temporal_layers=cfg.temporal_layers,
            frame_stride=min(cfg.temporal_frame_stride, int(num_frames)),
            dropout=cfg.c3d_dropout,
        )
    if architecture == "c3d":
        return lambda: FreshC3DConfig(
            num_channels=int(num_channels),
            hidden_sizes=cfg.c3d_hidden_sizes,
            stem_kernel_size=cfg.c3d_stem_kernel_size,
            dropout=cfg.c3d_dropout,
        )
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


def _default_resnet_config(cfg: FreshModelConfig, num_channels: int) -> Callable[[], PretrainedConfig]:
    return lambda: ResNetConfig(
        num_channels=int(num_channels),
        embedding_size=cfg.frame_embedding_size,
        hidden_sizes=list(cfg.frame_hidden_sizes),
        depths=list(cfg.frame_depths),
        layer_type="basic",
    )


@dataclass
class TrainingLog:
    """What one fresh-model training did (kept on the returned model as `model.training_log`).

    Attributes:
        epochs (`int`): epochs run.
        max_epochs (`int`): the cap.
        best_epoch (`int`): 1-based epoch whose weights were kept (the last one without early stopping).
        train_loss (`list[float]`): mean training loss of every epoch.
        validation (`list[float]`): validation score of every epoch (empty without early stopping).
        validation_loss (`list[float]`): validation loss of every epoch (empty without early stopping).
        num_train (`int`): training items (videos) the model was fitted on; `num_validation` were held out.
        num_validation (`int`): held-out videos for early stopping.
        seconds (`float`): wall-clock time of the training.
        cpu_seconds (`float`): CPU time of this process during the training (all its threads).
        learning_rates (`list[float]`): the learning rate at the end of every epoch.
        patience (`int`): the early-stopping patience (0 without early stopping).
        schedule (`str`): `"plateau"` or `"cosine"` (see `FreshModelConfig.schedule`).
        stopped_by (`str`): `"patience"` (early stopping ended it), `"cap"` (it ran to `max_epochs`) or `"epochs"`
            (no early stopping: a fixed number of epochs).
        cap_bound (`bool` or `None`): whether the epoch cap bound: it stopped the training, or the kept epoch lies
            within `patience` epochs of it (`best_epoch > max_epochs - patience`); None without early stopping.
    """

    epochs: int = 0
    max_epochs: int = 0
    best_epoch: int = 0
    train_loss: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    num_train: int = 0
    num_validation: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    learning_rates: list[float] = field(default_factory=list)
    patience: int = 0
    schedule: str = "cosine"
    stopped_by: str = ""
    cap_bound: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validation_split(num_videos: int, cfg: FreshModelConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices `(train, validation)` of the training videos; no validation part without early stopping or with
    fewer than 8 videos."""
    if not cfg.early_stopping or num_videos < 8:
        return torch.arange(num_videos), torch.arange(0)
    order = torch.randperm(num_videos, generator=torch.Generator().manual_seed(10_007 + int(seed)))
    count = max(2, round(cfg.validation_fraction * num_videos))
    return order[count:].sort().values, order[:count].sort().values


def _attacker_score(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, ...]:
    """Early-stopping score of an attacker: `(mean AP, -BCE)` over the held-out videos, the mean AP over the
    attributes with a positive and a negative example there; just `(-BCE,)` when there is none."""
    scores, labels = logits.float().numpy(), targets.numpy()
    values = [
        average_precision(scores[:, a], labels[:, a])
        for a in range(labels.shape[1])
        if 0 < labels[:, a].sum() < labels.shape[0]
    ]
    loss = -float(F.binary_cross_entropy_with_logits(logits.float(), targets.float()))
    return (float(sum(values) / len(values)), loss) if values else (loss,)


def _fit(
    model: FreshModel,
    num_items: int,
    make_batch: Callable[[torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    cfg: FreshModelConfig,
    generator: torch.Generator,
    desc: str,
    validate: Callable[[FreshModel], float | tuple[float, ...]] | None = None,
    num_validation: int = 0,
    watch_loss: bool = True,
) -> FreshModel:
    """The one training loop of the fresh models: AdamW, shuffled mini-batches; with `validate` (a score, higher is
    better, of the model in eval mode; a tuple is compared in order, its first item logged and its last the negative
    validation loss) early stopping after `cfg.patience` epochs in which neither the score nor the validation loss
    improved, keeping the weights of the best-scoring epoch; `epochs` is then a cap, and the log says whether it
    bound (`TrainingLog.cap_bound`).

    The learning rate: without `validate`, or with `cfg.schedule == "cosine"`, a linear warm-up then a cosine
    decay over the `epochs`; with `cfg.schedule == "plateau"` (and `validate`), a warm-up over `cfg.warmup_epochs`,
    then the peak rate, multiplied by `cfg.lr_decay` after every `cfg.lr_patience` epochs without improvement."""
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"epochs, batch_size and lr must be positive, got {epochs}, {batch_size}, {lr}.")
    started, started_cpu = time.perf_counter(), time.process_time()
    device = torch.device(cfg.device)
    model.to(device)
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=lr)
    steps_per_epoch = math.ceil(num_items / batch_size)
    total = epochs * steps_per_epoch
    # with early stopping, `epochs` is the schedule's length and patience ends the training, at most at the cap
    cap = max(epochs, math.ceil(cfg.cap_factor * epochs)) if validate is not None else epochs
    plateau = validate is not None and cfg.schedule == "plateau"
    decay = [1.0]  # the plateau schedule's factor, lowered on a stall
    if plateau:
        warmup = max(1, round(cfg.warmup_epochs * steps_per_epoch)) if cfg.warmup_epochs > 0 else 0
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: decay[0] * (min(1.0, (step + 1) / warmup) if warmup else 1.0))
    elif validate is None:
        scheduler = warmup_cosine_scheduler(optimizer, int(cfg.warmup_fraction * total), total)
    else:  # cosine over `epochs` down to min_lr_ratio of the peak, held there until patience stops the training
        warmup, floor = int(cfg.warmup_fraction * total), cfg.min_lr_ratio
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, warmup, total) if step < warmup else
            floor + (1.0 - floor) * warmup_cosine(step, warmup, total))
    log = TrainingLog(max_epochs=cap, num_train=num_items, num_validation=num_validation,
                      patience=cfg.patience if validate is not None else 0,
                      schedule="plateau" if plateau else "cosine")
    best_score, best_state, stale = (-math.inf,), None, 0
    reference_score, reference_loss = -math.inf, math.inf  # the figures an improvement is measured from
    bar = tqdm(range(cap), desc=desc, unit="epoch", disable=not cfg.progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(num_items, generator=generator)
        running, seen = 0.0, 0
        for start in range(0, num_items, batch_size):
            inputs, targets = make_batch(order[start : start + batch_size], generator)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                logits = model(inputs.to(device))
            loss = loss_fn(logits.float(), targets.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.detach().item() * len(targets)
            seen += len(targets)
        log.train_loss.append(running / seen)
        log.learning_rates.append(float(optimizer.param_groups[0]["lr"]))
        log.epochs = epoch + 1
        if validate is None:
            bar.set_postfix(loss=f"{running / seen:.3f}")
            continue
        model.eval()
        with torch.inference_mode():
            score = validate(model)
        score = tuple(float(v) for v in score) if isinstance(score, tuple) else (float(score),)
        log.validation.append(score[0])
        log.validation_loss.append(-score[-1])
        bar.set_postfix(loss=f"{running / seen:.3f}", val=f"{score[0]:.3f}")
        # the weights of the best score are kept (ties broken by the validation loss, the last item); the model is
        # still learning while the score rises by more than `min_delta` or the validation loss falls by more than
        # `min_delta_loss` of its best value
        improved = score > best_score or best_state is None
        loss = -score[-1]
        score_up = len(score) > 1 and score[0] > reference_score + cfg.min_delta
        loss_down = (watch_loss or best_state is None) and loss < reference_loss * (1.0 - cfg.min_delta_loss)
        if score_up:
            reference_score = score[0]
        if loss_down:
            reference_loss = loss
        learning = score_up or loss_down  # (both, at the first epoch)
        if improved:
            best_score, log.best_epoch = score, epoch + 1
            best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        stale = 0 if learning else stale + 1
        if stale >= cfg.patience:
            log.stopped_by = "patience"
            break
        if plateau and stale and stale % cfg.lr_patience == 0:
            decay[0] *= cfg.lr_decay
            for group, rate in zip(optimizer.param_groups, scheduler.get_last_lr()):
                group["lr"] = rate * cfg.lr_decay
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        log.best_epoch = log.epochs
    if validate is None:
        log.stopped_by, log.cap_bound = "epochs", None
    else:
        if log.stopped_by != "patience":
            log.stopped_by = "cap"
        # the cap bound when it stopped the training, or when the kept epoch lies within `patience` of it (a model
        # still improving there might have improved further)
        log.cap_bound = log.stopped_by == "cap" or log.best_epoch > cap - cfg.patience
    model.eval()
    log.seconds = time.perf_counter() - started
    log.cpu_seconds = time.process_time() - started_cpu
    model.training_log = log
    logger.debug("%s: %d of %d epochs, best %d (%s)", desc, log.epochs, cap, log.best_epoch, log.validation)
    return model


def _start_from(init_model: FreshModel, input_kind: str, num_labels: int) -> FreshModel:
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


def _resolve(cfg: FreshModelConfig | None, **overrides: Any) -> FreshModelConfig:
    cfg = FreshModelConfig() if cfg is None else cfg
    changes = {key: value for key, value in overrides.items() if value is not None}
    return replace(cfg, **changes) if changes else cfg


# ----------------------------------------------------------------------------------------------
# Action model.
# ----------------------------------------------------------------------------------------------


def train_action_model(
    train_clips: torch.Tensor,
    train_labels: torch.Tensor | Sequence[int],
    num_labels: int,
    *,
    model_name_or_config: ModelSpec = None,
    pretrained: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    config: FreshModelConfig | None = None,
) -> FreshModel:
    """Train a new action recogniser (cross-entropy) on clips.

    Args:
        train_clips (`torch.Tensor` of shape `(N, T, C, H, W)`): uint8 [0, 255] or float [0, 1] clips; or
            `(N, num_clips, T, C, H, W)`, of which every draw takes one clip at random.
        train_labels (`torch.Tensor` or `Sequence[int]` of shape `(N,)`): class indices in `[0, num_labels)`.
        num_labels (`int`): number of action classes.
        model_name_or_config (`str` or `PretrainedConfig`, *optional*): any
            `AutoModelForVideoClassification` name, path or config; built from its config (random
            weights) unless `pretrained`. Default: a small VideoMAE sized by `config`.
        pretrained (`bool`, *optional*, defaults to `False`): load the named checkpoint's weights.
        epochs (`int`, *optional*): defaults to `config.action_epochs`.
        batch_size (`int`, *optional*): defaults to `config.batch_size`.
        lr (`float`, *optional*): defaults to `config.action_lr`.
        seed (`int`, *optional*, defaults to 0): seeds the initialisation, order and augmentation.
        config (`FreshModelConfig`, *optional*): sizes and settings (defaults: `FreshModelConfig()`).

    Returns:
        `FreshModel` (in eval mode): `model(clips (B, T, C, H, W)) -> logits (B, num_labels)`;
        `model.training_log` is a [`TrainingLog`].
    """
    cfg = _resolve(config)
    clips = _check_clips(train_clips, "train_clips", allow_multi_clip=True)
    labels = torch.as_tensor(train_labels, dtype=torch.long)
    if labels.shape != (clips.shape[0],):
        raise ValueError(f"`train_labels` must have shape ({clips.shape[0]},), got {tuple(labels.shape)}.")
    if int(num_labels) < 2:
        raise ValueError(f"`num_labels` must be >= 2, got {num_labels}.")
    if labels.min() < 0 or labels.max() >= num_labels:
        raise ValueError(f"`train_labels` must lie in [0, {num_labels}), got [{int(labels.min())}, {int(labels.max())}].")
    train_index, val_index = _validation_split(clips.shape[0], cfg, seed)
    with _threads(cfg.num_threads), _seeded(seed):
        net = build_classifier(
            model_name_or_config, _default_video_config(cfg, clips, cfg.action_architecture),
            AutoModelForVideoClassification, int(num_labels), "single_label_classification", pretrained,
        )
        mean, std = _channel_stats(clips, cfg.normalization)
        model = FreshModel(net, mean, std, "video", video_input_size(net.config),
                           channels_last=_use_channels_last(net, cfg))
        generator = torch.Generator().manual_seed(seed)
        last = model.channels_last
        source = _pixels_last(clips, last)

        def make_batch(index: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            index = train_index[index]
            batch = _augment(_draw_clips(source, index, gen), gen, cfg.max_shift, flip=False, channels_last=last)
            return _as_pixels(batch, last), labels[index]

        def validate(fitted: FreshModel) -> tuple[float, float]:
            held_out = _as_pixels(source[val_index], last)
            probs = _batched_clip_logits(fitted, held_out, 4 * cfg.batch_size).softmax(dim=-1).mean(dim=1)
            top1 = float((probs.argmax(dim=1) == labels[val_index]).float().mean())
            # ties of top-1 (a few dozen videos) are broken by the validation loss
            return top1, -float(F.nll_loss(probs.clamp_min(1e-8).log(), labels[val_index]))

        return _fit(
            model, len(train_index), make_batch, F.cross_entropy,
            epochs=epochs or cfg.action_epochs, batch_size=batch_size or cfg.batch_size,
            lr=lr or cfg.action_lr, cfg=cfg, generator=generator, desc="action model",
            validate=validate if len(val_index) else None, num_validation=len(val_index),
            watch_loss=cfg.action_watch_loss,
        )


def _batched_clip_logits(model: FreshModel, clips: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits `(N, num_clips, num_labels)` of a video model over `(N, [num_clips,] T, C, H, W)` clips."""
    multi = clips if clips.dim() == 6 else clips.unsqueeze(1)
    n, k = multi.shape[:2]
    flat = multi.reshape(n * k, *multi.shape[2:])
    device = model.pixel_mean.device
    outputs = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, n * k, batch_size):
            outputs.append(model(flat[start : start + batch_size].to(device)).float().cpu())
    return torch.cat(outputs).reshape(n, k, -1)


def predict_action(
    model: FreshModel, clips: torch.Tensor, batch_size: int = 32, num_threads: int | None = None
) -> torch.Tensor:
    """Action probabilities: the softmax of each clip, averaged over the clips of a video.

    Args:
        model (`FreshModel`): from `train_action_model`.
        clips (`torch.Tensor`): `(N, num_clips, T, C, H, W)` or `(N, T, C, H, W)` (one clip), uint8 or float.
        batch_size (`int`, *optional*, defaults to 32): clips per forward pass.
        num_threads (`int`, *optional*): torch threads while predicting.

    Returns:
        `torch.Tensor` of shape `(N, num_labels)`: probabilities (rows sum to 1).
    """
    _check_clips(clips, "clips", allow_multi_clip=True)
    with _threads(num_threads):
        return _batched_clip_logits(model, clips, batch_size).softmax(dim=-1).mean(dim=1)


# ----------------------------------------------------------------------------------------------
# Privacy attackers.
# ----------------------------------------------------------------------------------------------


def _check_privacy_labels(labels: torch.Tensor | Sequence[Sequence[float]], num_clips: int) -> torch.Tensor:
    targets = torch.as_tensor(labels, dtype=torch.float32)
    if targets.dim() != 2 or targets.shape[0] != num_clips:
        raise ValueError(
            f"`train_privacy_labels` must have shape ({num_clips}, num_attributes), got {tuple(targets.shape)}."
        )
    if not torch.all((targets == 0) | (targets == 1)):
        raise ValueError("`train_privacy_labels` must hold 0/1 values.")
    return targets


def train_frame_attacker(
    train_clips: torch.Tensor,
    train_privacy_labels: torch.Tensor | Sequence[Sequence[float]],
    *,
    model_name_or_config: ModelSpec = None,
    pretrained: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    config: FreshModelConfig | None = None,
    init_model: FreshModel | None = None,
) -> FreshModel:
    """Train a new per-frame multi-label privacy attacker (BCE on single frames).

    Each epoch draws `config.frames_per_clip` random frames of every training clip; every frame
    carries its video's labels.

    Args:
        train_clips (`torch.Tensor` of shape `(N, T, C, H, W)`): uint8 [0, 255] or float [0, 1] clips; or
            `(N, num_clips, T, C, H, W)`, of which every draw takes one clip at random.
        train_privacy_labels (`torch.Tensor` of shape `(N, num_attributes)`): 0/1 labels.
        model_name_or_config (`str` or `PretrainedConfig`, *optional*): any
            `AutoModelForImageClassification` name, path or config (built with
            `problem_type="multi_label_classification"`). Default: a small ResNet sized by `config`.
        pretrained (`bool`, *optional*, defaults to `False`): load the named checkpoint's weights.
        epochs (`int`, *optional*): defaults to `config.frame_epochs`.
        batch_size (`int`, *optional*): frames per step; defaults to `4 * config.batch_size`.
        lr (`float`, *optional*): defaults to `config.frame_lr`.
        seed (`int`, *optional*, defaults to 0): seeds the initialisation, frame draws and augmentation.
        config (`FreshModelConfig`, *optional*): sizes and settings.
        init_model (`FreshModel`, *optional*): fine-tune a copy of this attacker (e.g. one trained on raw
            video) instead of a new one: its architecture, weights and input normalisation are kept, and the
            epochs and learning rate default to `config.finetune_epochs` and `config.finetune_lr`.

    Returns:
        `FreshModel` (in eval mode): `model(frames (B, C, H, W)) -> logits (B, num_attributes)`;
        `model.training_log` is a [`TrainingLog`].
    """
    cfg = _resolve(config)
    clips = _check_clips(train_clips, "train_clips", allow_multi_clip=True)
    targets = _check_privacy_labels(train_privacy_labels, clips.shape[0])
    num_frames = clips.shape[-4]
    train_index, val_index = _validation_split(clips.shape[0], cfg, seed)
    num_videos = len(train_index)
    with _threads(cfg.num_threads), _seeded(seed):
        if init_model is not None:
            model = _start_from(init_model, "frame", targets.shape[1])
        else:
            net = build_classifier(
                model_name_or_config, _default_resnet_config(cfg, clips.shape[-3]), AutoModelForImageClassification,
                targets.shape[1], "multi_label_classification", pretrained,
            )
            mean, std = _channel_stats(clips, cfg.normalization)
            model = FreshModel(net, mean, std, "frame", frame_input_size(net.config),
                               channels_last=_use_channels_last(net, cfg))
        generator = torch.Generator().manual_seed(seed)
        last = model.channels_last
        source = _pixels_last(clips, last)
        # validation frames: 4 evenly spaced frames of each held-out clip, logits averaged
        val_times = torch.linspace(0, num_frames - 1, min(4, num_frames)).round().long()

        def make_batch(index: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            videos = train_index[index % num_videos]
            times = torch.randint(0, num_frames, (len(index),), generator=gen)
            if clips.dim() == 6:
                which = torch.randint(0, clips.shape[1], (len(index),), generator=gen)
                frames = source[videos, which, times]
            else:
                frames = source[videos, times]
            frames = _augment(frames, gen, cfg.max_shift, flip=cfg.flip_privacy, channels_last=last)
            return _as_pixels(frames, last), targets[videos]

        def validate(fitted: FreshModel) -> tuple[float, ...]:
            held_out = source[val_index]
            held_out = _as_pixels(held_out[:, :, val_times] if clips.dim() == 6 else held_out[:, val_times], last)
            return _attacker_score(predict_frame_attacker(fitted, held_out).logits, targets[val_index])

        return _fit(
            model, num_videos * cfg.frames_per_clip, make_batch, F.binary_cross_entropy_with_logits,
            epochs=epochs or (cfg.finetune_epochs if init_model is not None else cfg.frame_epochs),
            batch_size=batch_size or 4 * cfg.batch_size,
            lr=lr or (cfg.finetune_lr if init_model is not None else cfg.frame_lr), cfg=cfg, generator=generator,
            desc="frame attacker" + (" (fine-tuning)" if init_model is not None else ""),
            validate=validate if len(val_index) else None, num_validation=len(val_index),
        )


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
    _check_clips(clips, "clips", allow_multi_clip=True)
    multi = clips if clips.dim() == 6 else clips.unsqueeze(1)
    n, k, t = multi.shape[:3]
    frames = multi.reshape(n * k * t, *multi.shape[3:])
    device = model.pixel_mean.device
    outputs = []
    model.eval()
    with _threads(num_threads), torch.inference_mode():
        for start in range(0, frames.shape[0], batch_size):
            outputs.append(model(frames[start : start + batch_size].to(device)).float().cpu())
    frame_logits = torch.cat(outputs).reshape(n, k, t, -1)
    return FrameAttackerPrediction(logits=frame_logits.mean(dim=(1, 2)), frame_logits=frame_logits)


def train_video_attacker(
    train_clips: torch.Tensor,
    train_privacy_labels: torch.Tensor | Sequence[Sequence[float]],
    *,
    model_name_or_config: ModelSpec = None,
    pretrained: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    config: FreshModelConfig | None = None,
    init_model: FreshModel | None = None,
) -> FreshModel:
    """Train a new video-level multi-label privacy attacker (BCE on whole clips).

    Args:
        train_clips (`torch.Tensor` of shape `(N, T, C, H, W)`): uint8 [0, 255] or float [0, 1] clips; or
            `(N, num_clips, T, C, H, W)`, of which every draw takes one clip at random.
        train_privacy_labels (`torch.Tensor` of shape `(N, num_attributes)`): 0/1 labels.
        model_name_or_config (`str` or `PretrainedConfig`, *optional*): any
            `AutoModelForVideoClassification` name, path or config. Default: a small VideoMAE sized
            by `config` (the action model's architecture with a multi-label head).
        pretrained (`bool`, *optional*, defaults to `False`): load the named checkpoint's weights.
        epochs (`int`, *optional*): defaults to `config.video_epochs`.
        batch_size (`int`, *optional*): defaults to `config.batch_size`.
        lr (`float`, *optional*): defaults to `config.video_lr`.
        seed (`int`, *optional*, defaults to 0): seeds the initialisation, order and augmentation.
        config (`FreshModelConfig`, *optional*): sizes and settings.
        init_model (`FreshModel`, *optional*): fine-tune a copy of this attacker (e.g. one trained on raw
            video) instead of a new one, as for `train_frame_attacker`.

    Returns:
        `FreshModel` (in eval mode): `model(clips (B, T, C, H, W)) -> logits (B, num_attributes)`;
        `model.training_log` is a [`TrainingLog`].
    """
    cfg = _resolve(config)
    clips = _check_clips(train_clips, "train_clips", allow_multi_clip=True)
    targets = _check_privacy_labels(train_privacy_labels, clips.shape[0])
    train_index, val_index = _validation_split(clips.shape[0], cfg, seed)
    with _threads(cfg.num_threads), _seeded(seed):
        if init_model is not None:
            model = _start_from(init_model, "video", targets.shape[1])
        else:
            net = build_classifier(
                model_name_or_config, _default_video_config(cfg, clips, cfg.video_attacker_architecture),
                AutoModelForVideoClassification, targets.shape[1], "multi_label_classification", pretrained,
            )
            mean, std = _channel_stats(clips, cfg.normalization)
            model = FreshModel(net, mean, std, "video", video_input_size(net.config),
                               channels_last=_use_channels_last(net, cfg))
        generator = torch.Generator().manual_seed(seed)
        last = model.channels_last
        source = _pixels_last(clips, last)

        def make_batch(index: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            index = train_index[index]
            batch = _augment(_draw_clips(source, index, gen), gen, cfg.max_shift, flip=cfg.flip_privacy,
                             channels_last=last)
            return _as_pixels(batch, last), targets[index]

        def validate(fitted: FreshModel) -> tuple[float, ...]:
            held_out = _as_pixels(source[val_index], last)
            logits = _batched_clip_logits(fitted, held_out, 4 * cfg.batch_size).mean(dim=1)
            return _attacker_score(logits, targets[val_index])

        return _fit(
            model, len(train_index), make_batch, F.binary_cross_entropy_with_logits,
            epochs=epochs or (cfg.finetune_epochs if init_model is not None else cfg.video_epochs),
            batch_size=batch_size or cfg.batch_size,
            lr=lr or (cfg.finetune_lr if init_model is not None else cfg.video_lr), cfg=cfg, generator=generator,
            desc="video attacker" + (" (fine-tuning)" if init_model is not None else ""),
            validate=validate if len(val_index) else None, num_validation=len(val_index),
        )


def predict_video_attacker(
    model: FreshModel, clips: torch.Tensor, batch_size: int = 32, num_threads: int | None = None
) -> torch.Tensor:
    """Video attacker logits averaged over the clips of each video.

    Args:
        model (`FreshModel`): from `train_video_attacker`.
        clips (`torch.Tensor`): `(N, num_clips, T, C, H, W)` or `(N, T, C, H, W)`, uint8 or float.
        batch_size (`int`, *optional*, defaults to 32): clips per forward pass.
        num_threads (`int`, *optional*): torch threads while predicting.

    Returns:
        `torch.Tensor` of shape `(N, num_attributes)`: logits.
    """
    _check_clips(clips, "clips", allow_multi_clip=True)
    with _threads(num_threads):
        return _batched_clip_logits(model, clips, batch_size).mean(dim=1)
