"""What each fresh model learns: the action model (cross-entropy on clips), the frame attacker (BCE on single frames)
and the video attacker (BCE on clips). A [`_Task`] gives a kind's inputs, batches, loss and validation score; every
kind trains through the one loop ([`loop.fit`])."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import torch
import torch.nn.functional as F
from transformers import AutoModelForImageClassification, AutoModelForVideoClassification, PretrainedConfig

from ...classifiers import FreshModel, ModelSpec
from ...metrics import average_precision
from .clips import as_pixels, augment, check_clips, draw_clips, pixels_last
from .config import FreshModelConfig
from .loop import MakeBatch, Validate, fit, seeded, threads, validation_split
from .models import default_resnet_config, default_video_config, new_fresh_model, start_from
from .prediction import predict_action, predict_frame_attacker, predict_video_attacker

if TYPE_CHECKING:
    from typing_extensions import Unpack


class FreshTrainingOptions(TypedDict, total=False):
    """The keyword options of `train_action_model`, `train_frame_attacker` and `train_video_attacker`.

    Keys:
        model_name_or_config (`str` or `PretrainedConfig`, *optional*): any `AutoModelForVideoClassification` (the
            frame attacker: `AutoModelForImageClassification`) name, path or config, built from its config (random
            weights; a multi-label head for the attackers) unless `pretrained`. Default: the architecture `config`
            names for that model (`action_architecture`, a small ResNet, `video_attacker_architecture`), sized by
            it.
        pretrained (`bool`, *optional*, defaults to `False`): load the named checkpoint's weights.
        epochs (`int`, *optional*): defaults to `config.action_epochs`, `config.frame_epochs` or
            `config.video_epochs` (`config.finetune_epochs` when fine-tuning).
        batch_size (`int`, *optional*): items per step; defaults to `config.batch_size` clips (frames: 4 times as
            many).
        lr (`float`, *optional*): defaults to `config.action_lr`, `config.frame_lr` or `config.video_lr`
            (`config.finetune_lr` when fine-tuning).
        seed (`int`, *optional*, defaults to 0): seeds the initialisation, order, draws and augmentation.
        config (`FreshModelConfig`, *optional*): sizes and settings (defaults: `FreshModelConfig()`).
    """

    model_name_or_config: ModelSpec
    pretrained: bool
    epochs: int | None
    batch_size: int | None
    lr: float | None
    seed: int
    config: FreshModelConfig | None


@dataclass
class _Examples:
    """The training examples of one fresh model: pixels (stored channels-last where the model runs so), targets,
    and the indices of the videos it is fitted on and of those held out for early stopping."""

    source: torch.Tensor
    targets: torch.Tensor
    train_index: torch.Tensor
    val_index: torch.Tensor
    cfg: FreshModelConfig
    channels_last: bool

    def held_out(self) -> torch.Tensor:
        """The pixels of the held-out videos (in the storage layout)."""
        return self.source[self.val_index]

    def clip_batches(self, flip: bool) -> MakeBatch:
        """Batches of whole clips (of a multi-clip video, one at random), shifted and (with `flip`) flipped."""

        def make_batch(index: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
            index = self.train_index[index]
            batch = augment(draw_clips(self.source, index, generator), generator, self.cfg.max_shift, flip=flip,
                            channels_last=self.channels_last)
            return as_pixels(batch, self.channels_last), self.targets[index]

        return make_batch


def attacker_score(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, ...]:
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


def _action_examples(examples: _Examples) -> tuple[int, MakeBatch, Validate]:
    # the action model is never flipped: a flip turns walking left into walking right
    def validate(fitted: FreshModel) -> tuple[float, float]:
        held_out = as_pixels(examples.held_out(), examples.channels_last)
        probs = predict_action(fitted, held_out, 4 * examples.cfg.batch_size)
        labels = examples.targets[examples.val_index]
        top1 = float((probs.argmax(dim=1) == labels).float().mean())
        # ties of top-1 (a few dozen videos) are broken by the validation loss
        return top1, -float(F.nll_loss(probs.clamp_min(1e-8).log(), labels))

    return len(examples.train_index), examples.clip_batches(flip=False), validate


def _video_attacker_examples(examples: _Examples) -> tuple[int, MakeBatch, Validate]:
    def validate(fitted: FreshModel) -> tuple[float, ...]:
        held_out = as_pixels(examples.held_out(), examples.channels_last)
        logits = predict_video_attacker(fitted, held_out, 4 * examples.cfg.batch_size)
        return attacker_score(logits, examples.targets[examples.val_index])

    return len(examples.train_index), examples.clip_batches(flip=examples.cfg.flip_privacy), validate


def _frame_attacker_examples(examples: _Examples) -> tuple[int, MakeBatch, Validate]:
    """Each epoch draws `cfg.frames_per_clip` random frames of every training clip; every frame carries its video's
    labels. Validation averages the logits of 4 evenly spaced frames of each held-out clip."""
    source, cfg, last = examples.source, examples.cfg, examples.channels_last
    num_frames, num_videos, multi_clip = source.shape[-4], len(examples.train_index), source.dim() == 6
    val_times = torch.linspace(0, num_frames - 1, min(4, num_frames)).round().long()

    def make_batch(index: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        videos = examples.train_index[index % num_videos]
        times = torch.randint(0, num_frames, (len(index),), generator=generator)
        if multi_clip:
            which = torch.randint(0, source.shape[1], (len(index),), generator=generator)
            frames = source[videos, which, times]
        else:
            frames = source[videos, times]
        frames = augment(frames, generator, cfg.max_shift, flip=cfg.flip_privacy, channels_last=last)
        return as_pixels(frames, last), examples.targets[videos]

    def validate(fitted: FreshModel) -> tuple[float, ...]:
        held_out = examples.held_out()
        held_out = as_pixels(held_out[:, :, val_times] if multi_clip else held_out[:, val_times], last)
        return attacker_score(predict_frame_attacker(fitted, held_out).logits, examples.targets[examples.val_index])

    return num_videos * cfg.frames_per_clip, make_batch, validate


@dataclass(frozen=True)
class _Task:
    """One kind of fresh model: what it reads (`input_kind` "video" clips or "frame"s), its default network, its
    loss, its recipe (the `FreshModelConfig` fields `<recipe>_epochs` / `<recipe>_lr`; items per step:
    `batch_factor` times `batch_size`), its examples, and whether its validation loss keeps it training."""

    name: str
    input_kind: str
    auto_class: type
    problem_type: str
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    default_config: Callable[[FreshModelConfig, torch.Tensor], Callable[[], PretrainedConfig]]
    recipe: str
    batch_factor: int
    examples: Callable[[_Examples], tuple[int, MakeBatch, Validate]]
    watch_loss: Callable[[FreshModelConfig], bool]


ACTION_MODEL = _Task(
    "action model", "video", AutoModelForVideoClassification, "single_label_classification", F.cross_entropy,
    lambda cfg, clips: default_video_config(cfg, clips, cfg.action_architecture), "action", 1, _action_examples,
    lambda cfg: cfg.action_watch_loss,
)
FRAME_ATTACKER = _Task(
    "frame attacker", "frame", AutoModelForImageClassification, "multi_label_classification",
    F.binary_cross_entropy_with_logits, default_resnet_config, "frame", 4, _frame_attacker_examples,
    lambda cfg: True,
)
VIDEO_ATTACKER = _Task(
    "video attacker", "video", AutoModelForVideoClassification, "multi_label_classification",
    F.binary_cross_entropy_with_logits, lambda cfg, clips: default_video_config(cfg, clips,
                                                                                 cfg.video_attacker_architecture),
    "video", 1, _video_attacker_examples, lambda cfg: True,
)


def _train(
    task: _Task,
    clips: torch.Tensor,
    targets: torch.Tensor,
    num_labels: int,
    *,
    init_model: FreshModel | None = None,
    model_name_or_config: ModelSpec = None,
    pretrained: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    config: FreshModelConfig | None = None,
) -> FreshModel:
    """Train (or, from `init_model`, fine-tune) one fresh model of `task` on checked clips and targets."""
    cfg = FreshModelConfig() if config is None else config
    train_index, val_index = validation_split(clips.shape[0], cfg, seed)
    with threads(cfg.num_threads), seeded(seed):
        if init_model is not None:
            model = start_from(init_model, task.input_kind, num_labels)
        else:
            model = new_fresh_model(model_name_or_config, task.default_config(cfg, clips), task.auto_class, num_labels,
                                    task.problem_type, pretrained, clips, cfg, task.input_kind)
        examples = _Examples(pixels_last(clips, model.channels_last), targets, train_index, val_index, cfg,
                             model.channels_last)
        num_items, make_batch, validate = task.examples(examples)
        recipe = task.recipe if init_model is None else "finetune"
        return fit(
            model, num_items, make_batch, task.loss, epochs=epochs or getattr(cfg, f"{recipe}_epochs"),
            batch_size=batch_size or task.batch_factor * cfg.batch_size, lr=lr or getattr(cfg, f"{recipe}_lr"),
            cfg=cfg, seed=seed, desc=task.name + ("" if init_model is None else " (fine-tuning)"), validate=validate,
            num_validation=len(val_index), watch_loss=task.watch_loss(cfg),
        )


def _privacy_targets(labels: torch.Tensor | Sequence[Sequence[float]], num_clips: int) -> torch.Tensor:
    targets = torch.as_tensor(labels, dtype=torch.float32)
    if targets.dim() != 2 or targets.shape[0] != num_clips:
        raise ValueError(
            f"`train_privacy_labels` must have shape ({num_clips}, num_attributes), got {tuple(targets.shape)}."
        )
    if not torch.all((targets == 0) | (targets == 1)):
        raise ValueError("`train_privacy_labels` must hold 0/1 values.")
    return targets


def train_action_model(
    train_clips: torch.Tensor,
    train_labels: torch.Tensor | Sequence[int],
    num_labels: int,
    **options: Unpack[FreshTrainingOptions],
) -> FreshModel:
    """Train a new action recogniser (cross-entropy) on clips.

    Args:
        train_clips (`torch.Tensor` of shape `(N, T, C, H, W)`): uint8 [0, 255] or float [0, 1] clips; or
            `(N, num_clips, T, C, H, W)`, of which every draw takes one clip at random.
        train_labels (`torch.Tensor` or `Sequence[int]` of shape `(N,)`): class indices in `[0, num_labels)`.
        num_labels (`int`): number of action classes.
        options ([`FreshTrainingOptions`]): the model, its recipe and seed.

    Returns:
        `FreshModel` (in eval mode): `model(clips (B, T, C, H, W)) -> logits (B, num_labels)`;
        `model.training_log` is a [`TrainingLog`].
    """
    clips = check_clips(train_clips, "train_clips", allow_multi_clip=True)
    labels = torch.as_tensor(train_labels, dtype=torch.long)
    if labels.shape != (clips.shape[0],):
        raise ValueError(f"`train_labels` must have shape ({clips.shape[0]},), got {tuple(labels.shape)}.")
    if int(num_labels) < 2:
        raise ValueError(f"`num_labels` must be >= 2, got {num_labels}.")
    if labels.min() < 0 or labels.max() >= num_labels:
        raise ValueError(f"`train_labels` must lie in [0, {num_labels}), got [{int(labels.min())}, {int(labels.max())}].")
    return _train(ACTION_MODEL, clips, labels, int(num_labels), **options)


def train_frame_attacker(
    train_clips: torch.Tensor,
    train_privacy_labels: torch.Tensor | Sequence[Sequence[float]],
    *,
    init_model: FreshModel | None = None,
    **options: Unpack[FreshTrainingOptions],
) -> FreshModel:
    """Train a new per-frame multi-label privacy attacker (BCE on single frames).

    Each epoch draws `config.frames_per_clip` random frames of every training clip; every frame carries its video's
    labels.

    Args:
        train_clips (`torch.Tensor` of shape `(N, T, C, H, W)` or `(N, num_clips, T, C, H, W)`): as for
            [`train_action_model`].
        train_privacy_labels (`torch.Tensor` of shape `(N, num_attributes)`): 0/1 labels.
        init_model (`FreshModel`, *optional*): fine-tune a copy of this attacker (e.g. one trained on raw video)
            instead of a new one: its architecture, weights and input normalisation are kept, and the epochs and
            learning rate default to `config.finetune_epochs` and `config.finetune_lr`.
        options ([`FreshTrainingOptions`]): the model, its recipe and seed.

    Returns:
        `FreshModel` (in eval mode): `model(frames (B, C, H, W)) -> logits (B, num_attributes)`;
        `model.training_log` is a [`TrainingLog`].
    """
    clips = check_clips(train_clips, "train_clips", allow_multi_clip=True)
    targets = _privacy_targets(train_privacy_labels, clips.shape[0])
    return _train(FRAME_ATTACKER, clips, targets, targets.shape[1], init_model=init_model, **options)


def train_video_attacker(
    train_clips: torch.Tensor,
    train_privacy_labels: torch.Tensor | Sequence[Sequence[float]],
    *,
    init_model: FreshModel | None = None,
    **options: Unpack[FreshTrainingOptions],
) -> FreshModel:
    """Train a new video-level multi-label privacy attacker (BCE on whole clips), which sees motion as well as
    appearance.

    Args:
        train_clips, train_privacy_labels, init_model, options: as for [`train_frame_attacker`].

    Returns:
        `FreshModel` (in eval mode): `model(clips (B, T, C, H, W)) -> logits (B, num_attributes)`;
        `model.training_log` is a [`TrainingLog`].
    """
    clips = check_clips(train_clips, "train_clips", allow_multi_clip=True)
    targets = _privacy_targets(train_privacy_labels, clips.shape[0])
    return _train(VIDEO_ATTACKER, clips, targets, targets.shape[1], init_model=init_model, **options)
