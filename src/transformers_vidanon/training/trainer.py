"""The adversarial trainer, built on Accelerate.

What the anonymizer minimises, and the extra models it is trained against or with (budget models, utility models),
belong to the objective (`training.objectives`: `grl`, the paper; `alternating`; `locate`): the trainer asks the
objective for the anonymizer's loss of a batch, steps the anonymizer, and lets the objective step its extra models.

Everything Accelerate offers is used: mixed precision, gradient accumulation over every trained model,
multi-process DDP, resumable checkpoints (`save_state` / `load_state` + `skip_first_batches`), trackers, one
progress bar on the main process. Data order and augmentation depend only on (seed, epoch, index), so a resumed run
repeats the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs
from accelerate.logging import get_logger
from accelerate.utils import ProjectConfiguration, set_seed
from torch.utils.data import DataLoader, Dataset, IterableDataset
from tqdm.auto import tqdm
from transformers import AutoConfig

from ..configuration_vidanon import VidAnonConfig
from ..data import collate_clips
from ..data.builders import build_training_data
from ..fileutils import jsonable, write_json_atomically
from ..metrics import privacy_cmap
from ..modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition
from ..optimization import grl_coefficient_schedule, parameter_groups, warmup_cosine_scheduler
from ..processing_vidanon import VidAnonImageProcessor
from ..reporting.hub import upload_model_folder
from ..reporting.modelcard import save_model_card
from .arguments import (
    AdversarialTrainingArguments,
    arguments_to_dict,
    checkpoint_kwargs,
    compare_resumed_arguments,
    trackers_for_accelerate,
)
from .checkpoints import CHECKPOINT_DIR, checkpoint_path, resolve_checkpoint, save_checkpoint
from .objectives import build_objective

logger = get_logger(__name__)

NO_DECAY_NAMES = ("cls_tokens", "position_embeddings", "cls_position_embeddings")


class NonFiniteLossError(RuntimeError):
    """Training met more consecutive non-finite losses than allowed."""


class EpochSeededDataset(Dataset):
    """Wraps a map-style dataset so that the randomness of item `i` in epoch `e` depends on `(seed, e, i)` only.

    The wrapped dataset's transform draws its randomness from torch's global generator; here that generator is
    forked and seeded per item, so the training process's own random state is left alone and a resumed run sees the
    same clips as an uninterrupted one, whatever the number of DataLoader workers.
    """

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset = dataset
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        item_seed = (self.seed * 1_000_003 + self.epoch * 10_000_019 + int(index)) % (2**63 - 1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(item_seed)
            return self.dataset[int(index)]


@dataclass
class TrainerState:
    """Progress counters saved in every checkpoint (registered with `accelerator.register_for_checkpointing`)."""

    global_step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    nonfinite_steps: int = 0
    consecutive_nonfinite: int = 0
    skipped_videos: list[str] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@dataclass
class TrainResult:
    """What `AdversarialTrainer.train` returns."""

    global_step: int
    epochs_completed: float
    stopped_by_signal: bool
    nonfinite_steps: int
    skipped_videos: list[str]
    final_metrics: dict[str, float]
    output_dir: str
    model_dir: str | None
    stop_signal: int | None = None


def _launched_by_accelerate() -> bool:
    """Whether the parent process is `accelerate launch` / `torchrun` (its command line, on Linux)."""
    try:
        parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")[:3]
    except OSError:
        return False
    launchers = {b"accelerate", b"accelerate-launch", b"torchrun", b"accelerate.commands.launch",
                 b"accelerate.commands.accelerate_cli", b"torch.distributed.run", b"torch.distributed.launch"}
    return any(os.path.basename(arg) in launchers for arg in parent)


def stop_when_launcher_stops(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `signum` to this process when its launcher (`accelerate launch`, `torchrun`) exits.

    `accelerate launch` for one process exits on SIGTERM at once and leaves its training process running to the
    end; with this, the training process gets the signal too, saves a checkpoint and stops (Linux only; anywhere
    else, and when not started by a launcher, nothing changes).

    Returns:
        `bool`: whether the request was made.
    """
    if not sys.platform.startswith("linux") or not _launched_by_accelerate():
        return False
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signum), 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the launcher went away before the request was made
        os.kill(os.getpid(), signum)
    return True


class JsonlTracker:
    """Appends one JSON object per logging step to `metrics.jsonl` (main process only)."""

    def __init__(self, path: Path, enabled: bool):
        self.path = path
        self.enabled = enabled
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, values: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as handle:
                handle.write(json.dumps(jsonable(values), sort_keys=True, allow_nan=False) + "\n")



class _LogWindow:
    """The step values since the last log line, and the clips they saw (for the clips/s figure)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.values: dict[str, list[torch.Tensor]] = {}
        self.clips = 0
        self.start = time.perf_counter()

    def add(self, values: dict[str, float], clips: int) -> None:
        for key, value in values.items():
            self.values.setdefault(key, []).append(torch.as_tensor(value, dtype=torch.float32))
        self.clips += clips

    def take(self) -> tuple[dict[str, list[torch.Tensor]], float]:
        """The values and clips/s of the window, which starts over."""
        values, rate = self.values, self.clips / max(time.perf_counter() - self.start, 1e-9)
        self.reset()
        return values, rate


class AdversarialTrainer:
    """Train a [`VidAnonForPrivacyPreservingActionRecognition`] adversarially.

    Args:
        model: the anonymizer with its action and privacy heads.
        args: the recipe ([`AdversarialTrainingArguments`]).
        train_dataset: map-style dataset of examples `{"pixel_values" (T, C, H, W) in [0, 1], "labels",
            "privacy_labels", "video_id"}`, collated by `collate_fn`.
        eval_dataset: optional validation set of the same form (`pixel_values` may hold several clips).
        collate_fn: batch builder (default: `transformers_vidanon.data.collate_clips`).
        processor: saved beside the final model when given.
        run_config: a flat dict of every argument, written into checkpoints, logs and the model card.
        num_workers: DataLoader workers.
    """

    def __init__(
        self,
        model: VidAnonForPrivacyPreservingActionRecognition,
        args: AdversarialTrainingArguments,
        train_dataset: Dataset,
        eval_dataset: Dataset | None = None,
        collate_fn=None,
        processor=None,
        run_config: dict[str, Any] | None = None,
        num_workers: int = 0,
    ):
        if collate_fn is None:
            collate_fn = collate_clips
        self.args = args
        self.output_dir = Path(args.output_dir)
        self.processor = processor
        self.run_config = dict(run_config) if run_config else dataclasses.asdict(args)
        self.state = TrainerState()
        self._stop_requested = False
        self._stop_signal: int | None = None
        self._saved_checkpoint: Path | None = None
        self._pixels_checked = False

        log_with = trackers_for_accelerate(args.report_to)  # every Accelerate tracker asked for and installed
        self.accelerator = Accelerator(
            mixed_precision=args.mixed_precision,
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            cpu=args.cpu,
            log_with=log_with or None,
            project_config=ProjectConfiguration(project_dir=str(self.output_dir), logging_dir=str(self.output_dir / "logs")),
            # batches hold strings (video ids) too: every process reads its own shard rather than receiving batches
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, dispatch_batches=False),
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        )
        accelerator = self.accelerator
        set_seed(args.seed)
        if args.gradient_checkpointing:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=checkpoint_kwargs(args))
        model.config.action_loss_weight = args.action_loss_weight

        train_loader, eval_loader = self._make_loaders(train_dataset, eval_dataset, collate_fn, num_workers)
        optimizer = torch.optim.AdamW(parameter_groups(model, args.weight_decay, NO_DECAY_NAMES), lr=args.learning_rate)
        self.objective = build_objective(args, model.config)
        extra_models, extra_optimizers = self.objective.models, self.objective.optimizers
        prepared = accelerator.prepare(model, optimizer, train_loader, *extra_models, *extra_optimizers)
        self.model, self.optimizer, self.train_loader = prepared[:3]
        count = len(extra_models)
        self.objective.bind(prepared[3 : 3 + count], prepared[3 + count :])
        self.eval_loader = accelerator.prepare(eval_loader) if eval_loader is not None else None

        self.scheduler = self._make_schedule()
        accelerator.register_for_checkpointing(self.scheduler)
        accelerator.register_for_checkpointing(self.state)
        self.tracker = JsonlTracker(self.output_dir / "metrics.jsonl", accelerator.is_main_process)
        if log_with:
            accelerator.init_trackers("vidanon", config={k: str(v) for k, v in self.run_config.items()})


    def _make_loaders(self, train_dataset, eval_dataset, collate_fn, num_workers: int):
        """The training loader (epoch-seeded shuffling, or a stream's own order) and the evaluation loader."""
        args = self.args
        self.streaming = isinstance(train_dataset, IterableDataset)
        if self.streaming:
            # a stream has no length: shuffling is the stream's own (buffer), the run's length is max_steps
            if not args.max_steps:
                raise ValueError("the training set is a stream (IterableDataset) with no length: set `max_steps`.")
            self.train_dataset = train_dataset
            train_loader = DataLoader(train_dataset, batch_size=args.per_device_train_batch_size, drop_last=True,
                                      collate_fn=collate_fn, num_workers=num_workers)
        else:
            self.train_dataset = EpochSeededDataset(train_dataset, args.seed)
            train_loader = DataLoader(
                self.train_dataset, batch_size=args.per_device_train_batch_size, shuffle=True, drop_last=True,
                collate_fn=collate_fn, num_workers=num_workers, generator=torch.Generator().manual_seed(args.seed),
            )
        if not self.streaming and len(train_loader) == 0:
            raise ValueError(
                f"the training set has {len(train_dataset)} examples, fewer than one batch of "
                f"{args.per_device_train_batch_size}: lower `per_device_train_batch_size`."
            )
        eval_loader = None
        if eval_dataset is not None:
            eval_loader = DataLoader(eval_dataset, batch_size=args.per_device_eval_batch_size, shuffle=False,
                                     collate_fn=collate_fn, num_workers=num_workers)
        return train_loader, eval_loader

    def _make_schedule(self):
        """Steps per epoch, total steps and epochs (`max_steps` overrides the epochs, as in transformers'
        TrainingArguments; a stream is read again and again until `max_steps`), and the warm-up + cosine schedule,
        stepped by hand once per optimiser step on every process (not prepared: no per-process multiplication)."""
        args = self.args
        if self.streaming:
            self.steps_per_epoch = args.max_steps  # unknown; warm-up epochs are counted in max_steps units
            self.total_steps = args.max_steps
        else:
            self.steps_per_epoch = math.ceil(len(self.train_loader) / args.gradient_accumulation_steps)
            # `max_steps` overrides the epochs, as in transformers' TrainingArguments
            self.total_steps = args.max_steps or self.steps_per_epoch * args.num_train_epochs
        if self.streaming:  # a stream is read again and again until max_steps
            self.num_epochs = math.inf
        elif args.max_steps:
            self.num_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        else:
            self.num_epochs = args.num_train_epochs
        warmup = int(round(args.warmup_epochs * self.steps_per_epoch))
        return warmup_cosine_scheduler(self.optimizer.optimizer, warmup, self.total_steps)

    # ------------------------------------------------------------------------------------------------------------
    # coefficients
    # ------------------------------------------------------------------------------------------------------------
    def grl_coefficient(self) -> float:
        """The gradient reversal coefficient at the current step.

        Zero during `grl_warmup_epochs`; then `grl_max_coefficient` times the schedule, whose progress p runs over
        the remaining epochs (`"epoch"`: p = epoch / (epochs + 1) per whole epoch, the paper; `"step"`: per step).
        """
        args = self.args
        warmup_steps = args.grl_warmup_epochs * self.steps_per_epoch
        if self.state.global_step < warmup_steps:
            return 0.0
        if args.grl_schedule == "constant":
            return args.grl_max_coefficient
        if args.grl_schedule == "epoch":
            scheduled = args.num_train_epochs if self.streaming else self.num_epochs  # a stream has no epoch count
            epochs = scheduled - math.floor(args.grl_warmup_epochs)
            epoch = self.state.epoch - math.floor(args.grl_warmup_epochs)
            return args.grl_max_coefficient * grl_coefficient_schedule(epoch / (epochs + 1))
        progress = (self.state.global_step - warmup_steps) / max(1.0, self.total_steps - warmup_steps)
        return args.grl_max_coefficient * grl_coefficient_schedule(progress)

    # ------------------------------------------------------------------------------------------------------------
    # one micro-batch
    # ------------------------------------------------------------------------------------------------------------
    def _all_finite(self, loss: torch.Tensor) -> bool:
        flag = torch.tensor([0.0 if torch.isfinite(loss.detach()).all() else 1.0], device=loss.device)
        return bool(self.accelerator.reduce(flag, "sum").item() == 0)

    def _backward(self, loss: torch.Tensor, model: torch.nn.Module, optimizer) -> None:
        accelerator = self.accelerator
        accelerator.backward(loss)
        if accelerator.sync_gradients and self.args.max_grad_norm:
            accelerator.clip_grad_norm_(model.parameters(), self.args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()

    def training_step(self, batch: dict[str, Any]) -> dict[str, float] | None:
        """One micro-batch; returns the logged values, or None when the loss was non-finite and the step skipped."""
        objective, unwrap = self.objective, self.accelerator.unwrap_model
        coefficient = objective.privacy_coefficient(self.grl_coefficient)
        outputs, loss, values = objective.anonymizer_loss(self.model, batch, coefficient, unwrap)
        values["loss"] = loss.detach()
        if not self._all_finite(loss):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self._backward(loss, self.model, self.optimizer)
        # the extra models learn on the anonymized video, the anonymizer frozen
        values.update(objective.update_branches(outputs.anonymized_pixel_values, batch, self._backward))
        return values

    def _restart_branches(self) -> None:
        restarted = self.objective.restart_branches(self.args.seed + 7919 * self.state.global_step, self.accelerator.unwrap_model)
        if restarted:
            logger.info(f"{' and '.join(restarted)} models restarted at step {self.state.global_step}")

    # ------------------------------------------------------------------------------------------------------------
    # evaluation (training-time figures; NOT the leakage measure)
    # ------------------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Validation action top-1 and the training-time privacy-head cMAP.

        The privacy head here is the anonymizer's own; leakage is measured by freshly trained attackers
        (`vidanon evaluate`), never by this number.
        """
        if self.eval_loader is None:
            return {}
        model = self.model
        was_training = model.training
        model.eval()
        probs, labels, privacy_scores, privacy_labels, keep = [], [], [], [], []
        for batch in self.eval_loader:
            pixel_values = batch["pixel_values"]
            if pixel_values.numel() == 0:
                continue
            if pixel_values.ndim == 6:  # (B, clips, T, C, H, W): average over clips
                b, c = pixel_values.shape[:2]
                out = model(pixel_values.flatten(0, 1))
                action = out.logits.float().softmax(-1).view(b, c, -1).mean(1)
                priv = torch.sigmoid(out.privacy_logits.float()).view(b, c, -1).mean(1)
                kept = out.keep_mask.float().view(b, c, -1).mean((1, 2))
            else:
                out = model(pixel_values)
                action = out.logits.float().softmax(-1)
                priv = torch.sigmoid(out.privacy_logits.float())
                kept = out.keep_mask.float().flatten(1).mean(1)
            gathered = self.accelerator.gather_for_metrics((action, batch["labels"], priv, batch["privacy_labels"], kept))
            for store, value in zip((probs, labels, privacy_scores, privacy_labels, keep), gathered):
                store.append(value.cpu())
        if was_training:
            model.train()
        if not probs:
            return {}
        probs, labels = torch.cat(probs), torch.cat(labels)
        metrics = {
            "eval_action_top1": float((probs.argmax(-1) == labels).float().mean()),
            "eval_keep_fraction": float(torch.cat(keep).mean()),
        }
        privacy_labels = torch.cat(privacy_labels)
        if torch.isfinite(privacy_labels).all():
            result = privacy_cmap(torch.cat(privacy_scores).numpy(), privacy_labels.numpy())
            metrics["eval_train_time_privacy_head_cmap"] = float(result.cmap)
        return metrics

    # ------------------------------------------------------------------------------------------------------------
    # checkpoints and signals
    # ------------------------------------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Save a resumable checkpoint atomically (`training.checkpoints.save_checkpoint`): into `.step_N.tmp`,
        renamed to `step_N` once complete. A kill during the save leaves only the temporary folder (removed by the
        next save, never resumed from)."""
        state = self.state
        path = checkpoint_path(self.output_dir, state.global_step)
        if self._saved_checkpoint == path:  # e.g. a signal right after a scheduled save: nothing new to save
            return path
        progress = {"global_step": state.global_step, "epoch": state.epoch, "batches_in_epoch": state.batches_in_epoch}
        save_checkpoint(self.accelerator, path, self.run_config, progress, self.args.checkpoints_total_limit)
        self._saved_checkpoint = path
        return path

    def _check_resumed_arguments(self, path: Path) -> dict[str, tuple[Any, Any]]:
        """Compare this run's arguments with the checkpoint's; return the allowed changes `{name: (old, new)}`.

        Raises:
            ValueError: listing every difference that `--allow_changed_arguments` does not allow.
        """
        saved_file = path / "run_config.json"
        try:
            saved = json.loads(saved_file.read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot compare the arguments with the checkpoint's: {saved_file}: {error}") from None
        current = jsonable(self.run_config)
        changes, refused = compare_resumed_arguments(saved, current, self.args.allow_changed_arguments)
        if saved.get("changed_on_resume"):
            self.run_config["changed_on_resume"] = list(saved["changed_on_resume"])
        if refused:
            raise ValueError(
                f"cannot resume from {path}: the arguments differ from the checkpoint's:\n  " + "\n  ".join(refused)
                + "\nResume with the checkpoint's values, allow the changes that are listed as allowed with "
                "`--allow_changed_arguments NAME ...`, or start a new run (another `--output_dir`)."
            )
        return changes

    def _apply_changed_arguments(self, changes: dict[str, tuple[Any, Any]]) -> None:
        """Make the optimiser state restored from a checkpoint follow the (allowed) changed arguments."""
        args = self.args
        if "learning_rate" in changes:
            self.scheduler.base_lrs = [args.learning_rate for _ in self.scheduler.base_lrs]
            factors = [factor(self.scheduler.last_epoch) for factor in self.scheduler.lr_lambdas]
            for group, factor in zip(self.optimizer.param_groups, factors):
                group["initial_lr"] = args.learning_rate
                group["lr"] = args.learning_rate * factor
            self.scheduler._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        if "weight_decay" in changes:
            self.optimizer.param_groups[0]["weight_decay"] = args.weight_decay
        for name, rate in (("budget", "budget_learning_rate"), ("utility", "utility_learning_rate")):
            branch = self.objective.branch(name)
            if rate in changes and branch is not None:
                branch.set_learning_rate(getattr(args, rate))
        history = list(self.run_config.get("changed_on_resume") or [])
        history += [{"step": self.state.global_step, "argument": name, "checkpoint": old, "now": new}
                    for name, (old, new) in changes.items()]
        self.run_config["changed_on_resume"] = history
        for name, (old, new) in changes.items():
            logger.warning(f"resumed with {name} changed from {old!r} to {new!r} (allowed by --allow_changed_arguments)")

    @contextlib.contextmanager
    def _signal_guard(self):
        """SIGTERM / SIGINT ask for a clean stop: finish the step, save a checkpoint, return."""

        def request_stop(signum, frame):
            self._stop_requested = True
            self._stop_signal = self._stop_signal or signum
            logger.warning(f"received signal {signum}: stopping after this step with a checkpoint", main_process_only=False)

        previous = {}
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, request_stop)
        except ValueError:  # not the main thread: signals stay as they are
            previous = {}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop_everywhere(self) -> bool:
        flag = torch.tensor([1.0 if self._stop_requested else 0.0], device=self.accelerator.device)
        return bool(self.accelerator.reduce(flag, "sum").item() > 0)

    # ------------------------------------------------------------------------------------------------------------
    # the loop
    # ------------------------------------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        args, accelerator, state = self.args, self.accelerator, self.state
        self._resume()
        progress = tqdm(total=self.total_steps, initial=state.global_step, desc="training",
                        disable=args.disable_tqdm or not accelerator.is_local_main_process)
        stopped_by_signal = False
        window = _LogWindow()
        metrics: dict[str, float] = {}
        with self._signal_guard():
            while state.epoch < self.num_epochs and state.global_step < self.total_steps:
                self.train_dataset.set_epoch(state.epoch)
                self.train_loader.set_epoch(state.epoch)
                loader = self.train_loader
                if state.batches_in_epoch:
                    loader = accelerator.skip_first_batches(self.train_loader, state.batches_in_epoch)
                self.model.train()
                exhausted = True
                for batch in loader:
                    state.batches_in_epoch += 1
                    if batch.get("skipped_videos"):
                        state.skipped_videos.extend(batch["skipped_videos"])
                    if batch["pixel_values"].numel() == 0:
                        continue
                    self._check_batch(batch)
                    with accelerator.accumulate(self.model, *self.objective.models):
                        values = self.training_step(batch)
                    if values is None:
                        self._skip_nonfinite_step()
                        continue
                    state.consecutive_nonfinite = 0
                    window.add(values, batch["pixel_values"].shape[0] * accelerator.num_processes)
                    if not accelerator.sync_gradients:
                        continue

                    self.scheduler.step()
                    state.global_step += 1
                    progress.update(1)
                    if args.budget_restart_every and state.global_step % args.budget_restart_every == 0:
                        self._restart_branches()
                    if state.global_step % args.logging_steps == 0 or state.global_step == self.total_steps:
                        values, clips_per_s = window.take()
                        logged = self._log(values, extra={"clips_per_s": clips_per_s})
                        progress.set_postfix(loss=f"{logged['loss']:.3f}", acc=f"{logged['train_action_accuracy']:.2f}")
                    if args.checkpointing_steps and state.global_step % args.checkpointing_steps == 0:
                        self.save_checkpoint()
                    if self._stop_everywhere():
                        stopped_by_signal = True
                        exhausted = False
                        break
                    if state.global_step >= self.total_steps:
                        exhausted = self.streaming or state.batches_in_epoch >= len(self.train_loader)
                        break
                if stopped_by_signal:
                    path = self.save_checkpoint()
                    logger.warning(f"stopped by signal {self._stop_signal}; resumable checkpoint at {path} (run "
                                   f"again with --resume_from_checkpoint latest and --output_dir {self.output_dir})")
                    break
                if exhausted:
                    state.epoch += 1
                    state.batches_in_epoch = 0
                    if args.eval_every_epochs and state.epoch % args.eval_every_epochs == 0:
                        metrics = self.evaluate()
                        self._log_values({**metrics, "epoch": state.epoch})
                elif state.global_step >= self.total_steps:
                    break
        progress.close()
        return self._finish(stopped_by_signal, metrics)

    def _resume(self) -> None:
        """Load the checkpoint `resume_from_checkpoint` names, if any, and apply the arguments allowed to change."""
        state = self.state
        resume_path = resolve_checkpoint(self.args.resume_from_checkpoint, self.output_dir)
        if resume_path is None:
            return
        changes = self._check_resumed_arguments(resume_path)
        self.accelerator.load_state(str(resume_path))
        self._saved_checkpoint = resume_path
        logger.info(f"resumed from {resume_path} at step {state.global_step}, epoch {state.epoch}, "
                    f"batch {state.batches_in_epoch}")
        if changes:
            self._apply_changed_arguments(changes)
            self._log_values({"changed_on_resume": {name: new for name, (_, new) in changes.items()}})

    def _skip_nonfinite_step(self) -> None:
        """Count a step whose loss was not finite; too many in a row stop the run."""
        state, limit = self.state, self.args.max_consecutive_nonfinite
        state.nonfinite_steps += 1
        state.consecutive_nonfinite += 1
        logger.warning(f"non-finite loss at step {state.global_step}: step skipped "
                       f"({state.consecutive_nonfinite} in a row)")
        if state.consecutive_nonfinite >= limit:
            raise NonFiniteLossError(
                f"{state.consecutive_nonfinite} consecutive non-finite losses (limit `max_consecutive_nonfinite`="
                f"{limit}); last checkpoint under {self.output_dir / CHECKPOINT_DIR}"
            )

    def _finish(self, stopped_by_signal: bool, metrics: dict[str, float]) -> TrainResult:
        """Final evaluation, model and push (unless stopped by a signal), warnings, and the run's summary."""
        args, accelerator, state = self.args, self.accelerator, self.state
        model_dir = None
        if not stopped_by_signal:
            self.fit_pixel_scorer()
            metrics = self.evaluate() or metrics
            if metrics:
                self._log_values({**metrics, "epoch": state.epoch, "final": True})
            if args.save_final_model:
                model_dir = self.save_model(metrics)
                if args.push_to_hub:
                    self.push_model(model_dir)
        if state.skipped_videos:
            logger.warning(f"{len(state.skipped_videos)} bad video(s) were skipped: {sorted(set(state.skipped_videos))}")
        if state.nonfinite_steps:
            logger.warning(f"{state.nonfinite_steps} step(s) had a non-finite loss and were skipped")
        accelerator.end_training()
        batches_per_epoch = None if self.streaming else len(self.train_loader)
        epochs_done = state.epoch + (state.batches_in_epoch / batches_per_epoch if batches_per_epoch else 0.0)
        return TrainResult(
            global_step=state.global_step, epochs_completed=epochs_done, stopped_by_signal=stopped_by_signal,
            nonfinite_steps=state.nonfinite_steps, skipped_videos=list(state.skipped_videos),
            final_metrics=metrics, output_dir=str(self.output_dir), model_dir=model_dir,
            stop_signal=self._stop_signal if stopped_by_signal else None,
        )

    def fit_pixel_scorer(self) -> list[float]:
        """With a pixel scorer, fit it on the trained model's own keep masks (`training.pixel_scorer`;
        `pixel_scorer_epochs` over the training clips, at the saved model's lambda_priv). Not checkpointed: an
        interrupted fit is redone from the last checkpoint."""
        from .pixel_scorer import fit_pixel_scorer

        args, accelerator = self.args, self.accelerator
        unwrapped = accelerator.unwrap_model(self.model)
        if unwrapped.vidanon.pixel_scorer is None or args.pixel_scorer_epochs == 0:
            return []
        steps = None if self.streaming else args.pixel_scorer_epochs * len(self.train_loader)
        progress = tqdm(total=steps, desc="pixel scorer", disable=args.disable_tqdm or not accelerator.is_local_main_process)

        def batches(epoch: int):
            self.train_dataset.set_epoch(self.num_epochs + epoch)
            self.train_loader.set_epoch(self.num_epochs + epoch)
            return self.train_loader

        def average(gradient: torch.Tensor) -> torch.Tensor:
            return accelerator.reduce(gradient, "mean")

        losses = fit_pixel_scorer(unwrapped, batches, args.pixel_scorer_epochs, args.pixel_scorer_learning_rate,
                                  lambda_priv=args.inference_lambda_priv,
                                  average_gradients=average if accelerator.num_processes > 1 else None,
                                  on_step=lambda loss: progress.update(1))
        progress.close()
        for epoch, loss in enumerate(losses):
            self._log_values({"pixel_scorer_loss": loss, "pixel_scorer_epoch": epoch + 1})
        return losses

    def _check_batch(self, batch: dict[str, Any]) -> None:
        """Refuse a batch that would train on garbage, naming the tensor and the videos.

        The pixels of the first batch are checked in full (floating point, finite, in [0, 1]: a pipeline that
        yields 0-255 values or uint8 does so in every batch); the labels of every batch are checked (action labels
        in `0..num_labels-1` or -1 = unknown, privacy labels 0, 1 or NaN = unknown).
        """
        config = self.accelerator.unwrap_model(self.model).config
        ids = list(batch.get("video_id") or [])

        def videos(rows: torch.Tensor) -> str:
            rows = rows.nonzero().flatten().tolist() if rows.dtype == torch.bool else rows
            named = [ids[i] for i in rows if i < len(ids)][:5]
            return f" (videos {named})" if named else ""

        if not self._pixels_checked:
            pixels = batch["pixel_values"]
            if not torch.is_floating_point(pixels):
                raise ValueError(f"`pixel_values` has dtype {pixels.dtype}: expected floats in [0, 1] (divide 8-bit "
                                 "video by 255; normalisation happens inside the model).")
            finite = torch.isfinite(pixels).flatten(1).all(1)
            if not finite.all():
                raise ValueError(f"`pixel_values` holds NaN or infinite values{videos(~finite)}.")
            low, high = pixels.flatten(1).amin(1), pixels.flatten(1).amax(1)
            outside = (low < -1e-3) | (high > 1 + 1e-3)
            if outside.any():
                raise ValueError(
                    f"`pixel_values` ranges over [{float(low.min()):.4g}, {float(high.max()):.4g}]{videos(outside)}: "
                    "expected [0, 1] (0-255 values must be divided by 255; mean/std normalisation happens inside "
                    "the model, not in the data)."
                )
            self._pixels_checked = True
        labels = batch["labels"]
        bad = (labels < -1) | (labels >= config.num_labels)
        if bad.any():
            raise ValueError(f"`labels` holds {sorted(set(labels[bad].tolist()))[:5]}{videos(bad)}: action labels "
                             f"are 0..{config.num_labels - 1} (the model's classes), or -1 for unknown.")
        privacy = batch["privacy_labels"]
        if privacy.ndim != 2 or privacy.shape[-1] != config.num_privacy_labels:
            raise ValueError(f"`privacy_labels` has shape {tuple(privacy.shape)}: expected (batch, "
                             f"{config.num_privacy_labels}).")
        bad = ~(torch.isnan(privacy) | (privacy == 0) | (privacy == 1))
        if bad.any():
            raise ValueError(f"`privacy_labels` holds {sorted(set(privacy[bad].tolist()))[:5]}{videos(bad.any(1))}: "
                             "expected 0, 1 or NaN (unknown).")

    def _log(self, window: dict[str, list[torch.Tensor]], extra: dict[str, float]) -> dict[str, float]:
        device = self.accelerator.device
        values = {}
        for key, items in window.items():
            mean = torch.stack(items).mean().to(device)
            values[key] = float(self.accelerator.reduce(mean, "mean").item())
        values.update(extra)
        values["learning_rate"] = self.scheduler.get_last_lr()[0]
        self._log_values(values)
        return values

    def _log_values(self, values: dict[str, Any]) -> None:
        record = {"step": self.state.global_step, "epoch": self.state.epoch, **values}
        self.tracker.log(record)
        numeric = {k: v for k, v in record.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self.accelerator.trackers:
            self.accelerator.log(numeric, step=self.state.global_step)

    # ------------------------------------------------------------------------------------------------------------
    # the final model
    # ------------------------------------------------------------------------------------------------------------
    def save_model(self, metrics: dict[str, float] | None = None) -> str:
        """`save_pretrained` the unwrapped model (safetensors), its processor and a first model card; with
        `inference_lambda_priv` / `inference_pruning_score`, the saved config scores with that lambda_priv / by that
        score (the training model is unchanged)."""
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        model_dir = self.output_dir / "model"
        unwrapped = accelerator.unwrap_model(self.model)
        with unwrapped.pruning_overridden(lambda_priv=self.args.inference_lambda_priv,
                                          pruning_score=self.args.inference_pruning_score):
            if accelerator.is_main_process:
                # weights, code, both processors (derived from this one); the card is written below
                unwrapped.save_pretrained(model_dir, safe_serialization=True, processor=self.processor,
                                          model_card=False)
                write_json_atomically(model_dir / "training_args.json", self.run_config)
                try:
                    save_model_card(model_dir, config=unwrapped.config, results=None, training_args=self.run_config,
                                    training_metrics=metrics)
                except (ImportError, TypeError) as error:  # the card is a convenience, never a reason to lose a model
                    logger.warning(f"model card not written: {error}")
        accelerator.wait_for_everyone()
        return str(model_dir)

    def push_model(self, model_dir: str | os.PathLike) -> None:
        """Push the saved final model folder (weights, code, processors, its card) to `hub_model_id` (default: the
        output folder's name), from the main process, in one commit (`reporting.hub.upload_model_folder`: its card
        replaces a card already on the Hub)."""
        accelerator = self.accelerator
        if accelerator.is_main_process:
            repo_id = self.args.hub_model_id or self.output_dir.resolve().name
            commit = upload_model_folder(model_dir, repo_id, private=self.args.hub_private_repo)
            logger.info(f"pushed the final model to {commit.commit_url}")
        accelerator.wait_for_everyone()


def model_input_size(model_args) -> tuple[int, int]:
    """`(image_size, num_frames)` of the model a run will build: the arguments' values where given, else the
    config's defaults (scratch) or the checkpoint's config (the other inits)."""
    if model_args.init == "scratch":
        base = VidAnonConfig(**{name: getattr(model_args, name) for name in ("image_size", "num_frames")
                                if getattr(model_args, name) is not None})
    else:
        base = AutoConfig.from_pretrained(model_args.model_name_or_path)
    image_size = model_args.image_size or base.image_size
    num_frames = model_args.num_frames or getattr(base, "num_frames", None) or VidAnonConfig().num_frames
    return int(image_size if isinstance(image_size, int) else image_size[0]), int(num_frames)


def build_model(model_args, num_labels: int, class_names: list[str]) -> VidAnonForPrivacyPreservingActionRecognition:
    """The model for a run, by `model_args.init` (scratch / vidanon / videomae / vit)."""
    labels = dict(num_labels=num_labels, id2label=dict(enumerate(class_names)),
                  label2id={name: i for i, name in enumerate(class_names)})
    overrides = {**model_args.config_overrides(), **labels}
    model_class = VidAnonForPrivacyPreservingActionRecognition
    if model_args.init == "scratch":
        model = model_class(VidAnonConfig(**overrides))
    elif model_args.init == "vidanon":
        model = model_class.from_pretrained(model_args.model_name_or_path, **overrides, ignore_mismatched_sizes=True)
    elif model_args.init == "videomae":
        model = model_class.from_videomae(model_args.model_name_or_path, **overrides)
    else:
        clip = {name: getattr(model_args, name) for name in ("num_frames", "tubelet_size")
                if getattr(model_args, name) is not None}
        model = model_class.from_vit_inflated(model_args.model_name_or_path, **clip, **overrides)
    model.config._attn_implementation = model_args.attn_implementation
    return model


def train_from_arguments(model_args, data_args, training_args) -> TrainResult:
    """Everything `training/train.py` does: data, model, processor, trainer, training, saving."""
    set_seed(training_args.seed)
    # every objective trains the privacy branch: data without any privacy label would switch it off silently
    image_size, num_frames = model_input_size(model_args)
    data = build_training_data(data_args, image_size, num_frames, require_privacy_labels=True)
    model = build_model(model_args, len(data.class_names), data.class_names)
    processor = VidAnonImageProcessor.from_model_config(model.config)
    trainer = AdversarialTrainer(
        model, training_args, data.train, data.eval, processor=processor,
        run_config=arguments_to_dict(model_args, data_args, training_args), num_workers=data_args.num_workers,
    )
    return trainer.train()
