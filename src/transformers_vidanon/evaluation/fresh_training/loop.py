"""How one fresh model trains: seeded, on a given number of threads, in the one training loop ([`fit`]) with its
learning-rate schedule and early stopping, leaving a [`TrainingLog`]."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ...classifiers import FreshModel
from ...optimization import parameter_groups, warmup_cosine, warmup_cosine_scheduler
from .config import FreshModelConfig

logger = logging.getLogger(__name__)

MakeBatch = Callable[[torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
"""`(item indices, generator) -> (inputs, targets)`: one training batch."""

Validate = Callable[[FreshModel], float | tuple[float, ...]]
"""The validation score of a model in eval mode, higher is better; a tuple is compared in order, its first item
logged and its last the negative validation loss."""


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator (initialisation, dropout) inside, and restore it after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def threads(num_threads: int | None) -> Iterator[None]:
    """Run on `num_threads` torch threads inside (restored after); None keeps the current number."""
    if num_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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


def validation_split(num_videos: int, cfg: FreshModelConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices `(train, validation)` of the training videos; no validation part without early stopping or with
    fewer than 8 videos."""
    if not cfg.early_stopping or num_videos < 8:
        return torch.arange(num_videos), torch.arange(0)
    order = torch.randperm(num_videos, generator=torch.Generator().manual_seed(10_007 + int(seed)))
    count = max(2, round(cfg.validation_fraction * num_videos))
    return order[count:].sort().values, order[:count].sort().values


@dataclass
class _Patience:
    """The early-stopping rule: the model is still learning while its validation score rises by more than
    `min_delta` or (with `watch_loss`, and at the first epoch) its validation loss falls by more than
    `min_delta_loss` of its best value; `stale` counts the epochs since it last was."""

    min_delta: float
    min_delta_loss: float
    watch_loss: bool
    best_score: tuple[float, ...] = (-math.inf,)
    reference_score: float = -math.inf  # the figures an improvement is measured from
    reference_loss: float = math.inf
    stale: int = 0
    epochs: int = 0

    def step(self, score: tuple[float, ...]) -> bool:
        """Record an epoch's validation `score`; whether it is the best so far (ties broken by the validation loss,
        its last item), whose weights are kept."""
        first = self.epochs == 0
        self.epochs += 1
        improved = score > self.best_score or first
        loss = -score[-1]
        score_up = len(score) > 1 and score[0] > self.reference_score + self.min_delta
        loss_down = (self.watch_loss or first) and loss < self.reference_loss * (1.0 - self.min_delta_loss)
        if score_up:
            self.reference_score = score[0]
        if loss_down:
            self.reference_loss = loss
        if improved:
            self.best_score = score
        self.stale = 0 if score_up or loss_down else self.stale + 1  # (both, at the first epoch)
        return improved


def _scheduler(
    optimizer: torch.optim.Optimizer, cfg: FreshModelConfig, epochs: int, steps_per_epoch: int, early_stopping: bool
) -> tuple[torch.optim.lr_scheduler.LRScheduler, list[float] | None]:
    """The learning-rate schedule of a training, and for the plateau schedule its factor (`[1.0]`, lowered on a
    stall; None for the cosine schedules)."""
    total = epochs * steps_per_epoch
    if early_stopping and cfg.schedule == "plateau":
        decay = [1.0]
        warmup = max(1, round(cfg.warmup_epochs * steps_per_epoch)) if cfg.warmup_epochs > 0 else 0
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: decay[0] * (min(1.0, (step + 1) / warmup) if warmup else 1.0)), decay
    if not early_stopping:
        return warmup_cosine_scheduler(optimizer, int(cfg.warmup_fraction * total), total), None
    # cosine over `epochs` down to min_lr_ratio of the peak, held there until patience stops the training
    warmup, floor = int(cfg.warmup_fraction * total), cfg.min_lr_ratio
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, warmup, total) if step < warmup else
        floor + (1.0 - floor) * warmup_cosine(step, warmup, total)), None


def fit(
    model: FreshModel,
    num_items: int,
    make_batch: MakeBatch,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    cfg: FreshModelConfig,
    seed: int,
    desc: str,
    validate: Validate | None = None,
    num_validation: int = 0,
    watch_loss: bool = True,
) -> FreshModel:
    """The one training loop of the fresh models: AdamW, mini-batches shuffled by a generator seeded with `seed`;
    with `validate` and `num_validation` held-out items, early stopping after `cfg.patience` epochs in which neither
    the score nor the validation loss improved (see [`_Patience`]), keeping the weights of the best-scoring epoch;
    `epochs` is then a cap, and the log says whether it bound (`TrainingLog.cap_bound`).

    The learning rate: without validation, or with `cfg.schedule == "cosine"`, a linear warm-up then a cosine
    decay over the `epochs`; with `cfg.schedule == "plateau"` (and validation), a warm-up over `cfg.warmup_epochs`,
    then the peak rate, multiplied by `cfg.lr_decay` after every `cfg.lr_patience` epochs without improvement."""
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"epochs, batch_size and lr must be positive, got {epochs}, {batch_size}, {lr}.")
    validate = validate if num_validation else None
    started, started_cpu = time.perf_counter(), time.process_time()
    device = torch.device(cfg.device)
    model.to(device)
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg.weight_decay), lr=lr)
    steps_per_epoch = math.ceil(num_items / batch_size)
    scheduler, decay = _scheduler(optimizer, cfg, epochs, steps_per_epoch, validate is not None)
    # with early stopping, `epochs` is the schedule's length and patience ends the training, at most at the cap
    cap = max(epochs, math.ceil(cfg.cap_factor * epochs)) if validate is not None else epochs
    log = TrainingLog(max_epochs=cap, num_train=num_items, num_validation=num_validation,
                      patience=cfg.patience if validate is not None else 0,
                      schedule="plateau" if decay is not None else "cosine")
    patience = _Patience(cfg.min_delta, cfg.min_delta_loss, watch_loss)
    generator = torch.Generator().manual_seed(seed)
    best_state = None
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
        if patience.step(score):
            log.best_epoch = epoch + 1
            best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
        if patience.stale >= cfg.patience:
            log.stopped_by = "patience"
            break
        if decay is not None and patience.stale and patience.stale % cfg.lr_patience == 0:
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
