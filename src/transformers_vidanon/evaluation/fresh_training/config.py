"""The settings of the fresh models: sizes, training recipe, threads and devices ([`FreshModelConfig`])."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import torch


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
