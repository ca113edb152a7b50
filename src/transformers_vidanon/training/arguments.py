"""Arguments of adversarial training, as dataclasses read from a YAML file and/or the command line.

`accelerate launch training/train.py --config training/configs/synthetic.yaml --learning_rate 3e-4` reads the YAML
file onto these dataclasses, then applies the command-line overrides (command line wins).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from ..data.sources import DATASETS, DataSource

MODEL_INITS = ("scratch", "vidanon", "videomae", "vit")
OBJECTIVES = ("grl", "alternating", "locate")
BUDGET_LOSSES = ("bce", "entropy")
BUDGET_ARCHITECTURES = ("videomae", "c3d")
GRL_SCHEDULES = ("epoch", "step", "constant")


@dataclass
class ModelArguments:
    """Which model to train and how it is built."""

    init: str = field(
        default="scratch",
        metadata={"help": f"How to initialise: one of {MODEL_INITS}. 'vidanon' continues a VidAnon checkpoint, "
                  "'videomae' maps a VideoMAE checkpoint, 'vit' inflates an image ViT (the paper)."},
    )
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Checkpoint (folder or Hub id) for init 'vidanon', 'videomae' or 'vit'."}
    )
    # The fields below mirror `VidAnonConfig`; unset (None), they keep the config's default (scratch) or the
    # checkpoint's value (init vidanon / videomae / vit): the defaults live in one place, the config.
    image_size: int | None = field(default=None, metadata={"help": "Frame size seen by the model."})
    patch_size: int | None = field(default=None, metadata={"help": "Spatial tubelet size."})
    num_frames: int | None = field(default=None, metadata={"help": "Frames per clip."})
    tubelet_size: int | None = field(default=None, metadata={"help": "Frames per tubelet."})
    hidden_size: int | None = field(default=None, metadata={"help": "Encoder width (scratch init)."})
    num_hidden_layers: int | None = field(default=None, metadata={"help": "Encoder depth (scratch init)."})
    num_attention_heads: int | None = field(default=None, metadata={"help": "Attention heads (scratch init)."})
    intermediate_size: int | None = field(default=None, metadata={"help": "MLP width (scratch init)."})
    hidden_dropout_prob: float | None = field(default=None, metadata={"help": "Dropout on attention/MLP outputs."})
    attention_probs_dropout_prob: float | None = field(default=None, metadata={"help": "Attention dropout."})
    drop_path_rate: float | None = field(default=None, metadata={"help": "Stochastic depth rate."})
    pruning_layers: list[int] | None = field(default=None, metadata={"help": "0-based pruning layers."})
    keep_rate: list[float] | None = field(
        default=None, metadata={"help": "Keep rate: one value, or one per pruning layer."}
    )
    lambda_priv: float | None = field(
        default=None, metadata={"help": "Privacy weight in s = a_act - lambda_priv * a_priv."}
    )
    temporal_consistency: str | None = field(
        default=None, metadata={"help": "'tubelet' (the paper), 'tube' or 'window' (scores smoothed over time)."}
    )
    fuse_pruned_tokens: bool | None = field(default=None, metadata={"help": "Fuse pruned tubelets into one token."})
    conv_stem_channels: list[int] | None = field(
        default=None,
        metadata={"help": "Widths of a convolutional stem before the tubelet projection (beyond the paper; scratch "
                  "init; empty: VideoMAE's linear projection)."},
    )
    localization_loss_weight: float | None = field(
        default=None,
        metadata={"help": "Weight of the attention-pooled localization losses (beyond the paper; 0: off): the CLS "
                  "attention rows of every pruning layer pool the tubelets and small heads predict the action and the "
                  "privacy attributes from the pools, which teaches each CLS to attend to its cues."},
    )
    kept_privacy_loss_weight: float | None = field(
        default=None,
        metadata={"help": "Weight of the kept-privacy term (beyond the paper; needs localization_loss_weight > 0; 0: "
                  "off): the frozen localization privacy head must read every attribute as absent from the pool of the "
                  "tubelets each pruning step keeps, which moves the pruning scores alone."},
    )
    position_embedding_type: str | None = field(
        default=None, metadata={"help": "'sinusoidal', 'learnable' or 'none' (scratch init)."}
    )
    initializer_range: float | None = field(
        default=None,
        metadata={"help": "Standard deviation of the initial weights (scratch init; default: the config's 0.02). At "
                  "0.1 a narrow model learns the action from scratch far faster, but its tokens then mix beyond "
                  "their tubelet and the privacy localization falls (benchmarks/results/synth_ablation.md)."},
    )
    input_output_initializer_range: float | None = field(default=None, metadata={"help": (
        "Standard deviation of the tubelet projection, the CLS tokens and the heads alone (scratch init; default: "
        "initializer_range): at 0.1 the action CLS learns while attention and MLP weights start small.")})
    isolate_tubelets: bool | None = field(default=None, metadata={"help": (
        "Tubelet tokens attend to themselves alone up to the last pruning layer, the CLS tokens to all (scratch init; "
        "beyond the paper): each tubelet is scored on its own content.")})
    cls_attention_temperature: float | None = field(default=None, metadata={"help": (
        "Temperature of the two CLS attention rows the pruning score and the localization pools read (beyond the "
        "paper; default: the config's 1.0): above 1 they stay flatter.")})
    pixel_scorer_hidden_size: int | None = field(default=None, metadata={"help": (
        "Width of the pixel scorer (beyond the paper; 0: none): a per-tubelet MLP on the tubelet's own pixels, fitted "
        "after training to predict the attention score's pruning choices (see pixel_scorer_epochs, "
        "inference_pruning_score).")})
    attn_implementation: str = field(default="sdpa", metadata={"help": "'sdpa' or 'eager'."})

    def config_overrides(self) -> dict[str, Any]:
        """The `VidAnonConfig` arguments these fields set (only those given; which ones apply depends on `init`)."""
        names = ["pruning_layers", "keep_rate", "lambda_priv", "temporal_consistency", "fuse_pruned_tokens",
                 "localization_loss_weight", "kept_privacy_loss_weight", "cls_attention_temperature",
                 "pixel_scorer_hidden_size", "hidden_dropout_prob", "attention_probs_dropout_prob", "drop_path_rate"]
        if self.init in ("scratch", "vit"):
            names += ["image_size", "patch_size"]
        if self.init == "scratch":
            names += ["num_frames", "tubelet_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                      "intermediate_size", "position_embedding_type", "conv_stem_channels", "initializer_range",
                      "input_output_initializer_range", "isolate_tubelets"]
        overrides = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        if "keep_rate" in overrides:  # `--keep_rate 0.5` is [0.5]: one rate for every pruning layer
            from ..configuration_vidanon import normalize_keep_rate  # here: `train.py --help` imports no torch

            overrides["keep_rate"] = normalize_keep_rate(overrides["keep_rate"])
        return overrides


@dataclass
class DataArguments(DataSource):
    """Where the videos and labels come from (the fields of [`DataSource`], declared there) and how clips are
    sampled."""

    frame_stride: int = field(default=2, metadata={"help": "Distance between sampled frames."})
    num_eval_clips: int = field(default=1, metadata={"help": "Uniform clips per video for validation."})
    augment: bool = field(default=True, metadata={"help": "Training augmentation (crop, flip, colour, erasing)."})
    horizontal_flip: bool = field(
        default=True,
        metadata={"help": "Random horizontal flips in the augmentation; turn off where a flip changes the label "
                  "(SynthPrivacy's walk_left / walk_right)."},
    )
    video_backend: str = field(default="auto", metadata={"help": "'decord', 'pyav' or 'auto'."})
    decode_at_size: bool = field(
        default=False,
        metadata={"help": "Let the decoder scale frames down to the size the clip transform needs (1.2-2x faster "
                  "loading of large files, clips within about 1/60 of the full-size path; see "
                  "benchmarks/results/training.md). Off: every frame is decoded at its own size."},
    )
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes."})
    streaming: bool = field(
        default=False,
        metadata={"help": "Read the training set as a stream (IterableDataset, shuffled through a buffer); needs "
                  "max_steps. For collections too large to index or to hold on one disk."},
    )
    shuffle_buffer_size: int = field(default=1000, metadata={"help": "Shuffle buffer of a streamed training set."})
    on_bad_video: str = field(default="raise", metadata={"help": "'raise' or 'skip' (skips are logged and counted)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N training videos."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only the first N validation videos."})


@dataclass
class AdversarialTrainingArguments:
    """The optimisation recipe (defaults: a few CPU minutes on SynthPrivacy; the paper's recipe in vp_*.yaml)."""

    output_dir: str = field(default="outputs/vidanon", metadata={"help": "Checkpoints, logs and the final model."})
    objective: str = field(
        default="grl",
        metadata={"help": f"One of {OBJECTIVES}. 'grl': the paper (privacy head behind a gradient reversal); "
                  "'alternating': budget models attack the anonymized video (VITA / SPAct); 'locate': the privacy "
                  "CLS learns privacy unreversed so that its attention finds the cues, and budget models attack "
                  "the anonymized video through the straight-through mask (none when budget_loss_weight is 0)."},
    )
    num_train_epochs: int = field(default=10, metadata={"help": "Epochs."})
    max_steps: int | None = field(
        default=None,
        metadata={"help": "Total optimiser steps; when set it overrides num_train_epochs (the run takes as many epochs "
                  "as these steps need), as in transformers' TrainingArguments."},
    )
    per_device_train_batch_size: int = field(default=8, metadata={"help": "Clips per process and step."})
    per_device_eval_batch_size: int = field(default=16, metadata={"help": "Clips per process in evaluation."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches per optimiser step."})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate (anonymizer)."})
    weight_decay: float = field(default=0.05, metadata={"help": "AdamW weight decay (none on norms, biases, CLS, positions)."})
    warmup_epochs: float = field(default=1.0, metadata={"help": "Linear warm-up, then cosine decay per step."})
    max_grad_norm: float | None = field(default=1.0, metadata={"help": "Gradient clipping (None: off)."})
    action_loss_weight: float = field(default=1.0, metadata={"help": "lambda_act."})
    grl_schedule: str = field(
        default="epoch", metadata={"help": f"{GRL_SCHEDULES}: 'epoch' uses p = epoch / (epochs + 1) (the paper)."}
    )
    grl_max_coefficient: float = field(
        default=1.0, metadata={"help": "Scale of the reversal coefficient (its schedule goes from 0 to this value)."}
    )
    grl_warmup_epochs: float = field(
        default=0.0,
        metadata={"help": "Epochs of action (and privacy-head) learning with no reversal before the schedule starts; "
                  "a backbone trained from scratch needs action features before it is pushed to hide privacy."},
    )
    # alternating and locate objectives
    budget_loss: str = field(default="bce", metadata={"help": f"{BUDGET_LOSSES}: what the anonymizer maximises."})
    budget_loss_weight: float = field(default=1.0, metadata={"help": "Weight of the budget term."})
    num_budget_models: int = field(default=1, metadata={"help": "Ensemble size K; the anonymizer fights the strongest."})
    budget_restart_every: int | None = field(default=None, metadata={"help": "Re-initialise budget models every R steps."})
    budget_learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate of the budget models."})
    budget_architecture: str = field(
        default="videomae",
        metadata={"help": f"{BUDGET_ARCHITECTURES}: the budget models are small VideoMAE privacy classifiers (VITA / "
                  "SPAct's kind of adversary), or small 3D CNNs (the utility branch's kind of model, beyond the paper)."},
    )
    budget_hidden_size: int = field(default=64, metadata={"help": "Width of the VideoMAE budget models."})
    budget_num_layers: int = field(default=2, metadata={"help": "Depth of the VideoMAE budget models."})
    budget_c3d_hidden_sizes: list[int] = field(
        default_factory=lambda: [16, 32, 64, 128],
        metadata={"help": "Channels of the 3D CNN budget models' stem and stages (budget_architecture c3d)."},
    )
    # beyond the paper, any objective: the utility branch f_T and the own head on the anonymized video
    utility_loss_weight: float = field(
        default=0.0,
        metadata={"help": "Weight of the utility branch f_T: small 3D CNN action models trained on the anonymized video, "
                  "whose cross-entropy the anonymizer also minimises; it reaches the pruning scores through the "
                  "straight-through keep mask, as the budget term does (0: no utility model)."},
    )
    num_utility_models: int = field(default=1, metadata={"help": "Utility models in the f_T ensemble (mean loss)."})
    utility_learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate of the utility models."})
    utility_hidden_sizes: list[int] = field(
        default_factory=lambda: [16, 32, 64, 128],
        metadata={"help": "Channels of the utility models' stem and stages (the fresh action model's defaults)."},
    )
    own_output_loss_weight: float = field(
        default=0.0,
        metadata={"help": "Weight of the anonymizer's own action loss on its anonymized video: a second pass with every "
                  "tubelet kept, reaching the scores through the keep mask (0: off)."},
    )
    inference_lambda_priv: float | None = field(
        default=None,
        metadata={"help": "lambda_priv written into the saved model, the score it anonymizes with after training "
                  "(beyond the paper); training scores with the model's lambda_priv. None: the same value."},
    )
    pixel_scorer_epochs: int = field(default=20, metadata={"help": (
        "Epochs over the training clips that fit the pixel scorer after the anonymizer's training, the anonymizer "
        "frozen, on its keep masks at the saved model's lambda_priv (with a pixel scorer only).")})
    pixel_scorer_learning_rate: float = field(default=1e-3, metadata={"help": "AdamW learning rate of that fit."})
    inference_pruning_score: str | None = field(
        default=None,
        metadata={"help": "pruning_score written into the saved model (beyond the paper): 'pixels' anonymizes with the "
                  "pixel scorer's ranking (needs pixel_scorer_hidden_size > 0), 'attention' with s. Training always "
                  "ranks by the attention score. None: the model's own value."},
    )
    # infrastructure
    mixed_precision: str | None = field(
        default=None, metadata={"help": "'no', 'bf16' or 'fp16' (GPU); None: what `accelerate launch` set."}
    )
    seed: int = field(default=42, metadata={"help": "Seed of everything (data order, augmentation, init)."})
    checkpointing_steps: int | None = field(default=None, metadata={"help": "Save a resumable checkpoint every N steps."})
    checkpoints_total_limit: int | None = field(default=3, metadata={"help": "Keep at most this many checkpoints."})
    resume_from_checkpoint: str | None = field(
        default=None,
        metadata={"help": "'latest' (the newest complete checkpoint) or a checkpoint folder to resume from "
                  "(mid-epoch). The arguments must equal the checkpoint's, but for --allow_changed_arguments."},
    )
    allow_changed_arguments: list[str] = field(
        default_factory=list,
        metadata={"help": "On resume, the arguments allowed to differ from the checkpoint's (then used and recorded "
                  "under `changed_on_resume`); only names of RESUME_CHANGEABLE_ARGUMENTS."},
    )
    logging_steps: int = field(default=10, metadata={"help": "Log metrics every N steps."})
    eval_every_epochs: int = field(default=1, metadata={"help": "Validate every N epochs (0: only at the end)."})
    report_to: list[str] = field(
        default_factory=lambda: ["jsonl"],
        metadata={"help": "Trackers: any of Accelerate's (tensorboard, wandb, mlflow, comet_ml, aim, clearml, dvclive, "
                  "swanlab, trackio), 'all' (every one installed) or 'none'; metrics.jsonl is always written. A "
                  "tracker that is not installed is skipped with a warning; an unknown name is an error."},
    )
    max_consecutive_nonfinite: int = field(
        default=5, metadata={"help": "Stop after this many steps in a row with a non-finite loss (each is skipped)."}
    )
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Trade compute for memory."})
    gradient_checkpointing_kwargs: str | None = field(
        default=None,
        metadata={"help": "JSON object of torch.utils.checkpoint arguments for --gradient_checkpointing, as in "
                  "TrainingArguments, e.g. '{\"use_reentrant\": true}' (default: use_reentrant false)."},
    )
    cpu: bool = field(default=False, metadata={"help": "Force the CPU (also for multi-process CPU runs)."})
    disable_tqdm: bool = field(default=False, metadata={"help": "No progress bar."})
    save_final_model: bool = field(default=True, metadata={"help": "save_pretrained the model, processor and card."})
    push_to_hub: bool = field(
        default=False, metadata={"help": "Push the final model (weights, code, processors, card) to the Hub."}
    )
    hub_model_id: str | None = field(
        default=None, metadata={"help": "Hub repository of --push_to_hub, owner/name (default: the output folder's name)."}
    )
    hub_private_repo: bool | None = field(
        default=None, metadata={"help": "Create the --push_to_hub repository private (default: the Hub's default)."}
    )


ALL_ARGUMENT_CLASSES = (ModelArguments, DataArguments, AdversarialTrainingArguments)


# arguments that may differ on resume with --allow_changed_arguments NAME: they change no saved state's meaning
RESUME_CHANGEABLE_ARGUMENTS: tuple[str, ...] = (
    "learning_rate", "budget_learning_rate", "weight_decay", "max_grad_norm", "warmup_epochs", "num_train_epochs",
    "max_steps", "checkpointing_steps", "eval_every_epochs", "max_consecutive_nonfinite", "gradient_checkpointing",
    "gradient_checkpointing_kwargs",
    "per_device_eval_batch_size", "num_eval_clips", "max_eval_samples", "on_bad_video", "video_backend",
    "budget_restart_every", "utility_learning_rate", "inference_lambda_priv", "inference_pruning_score",
    "pixel_scorer_epochs", "pixel_scorer_learning_rate",
)
# arguments never compared on resume: where the run lives, what it prints, how data is read in parallel
RESUME_IGNORED_ARGUMENTS: tuple[str, ...] = (
    "output_dir", "resume_from_checkpoint", "allow_changed_arguments", "changed_on_resume", "disable_tqdm",
    "logging_steps", "report_to", "checkpoints_total_limit", "save_final_model", "num_workers",
    "push_to_hub", "hub_model_id", "hub_private_repo",
)


def compare_resumed_arguments(
    saved: dict[str, Any], current: dict[str, Any], allowed: list[str] | tuple[str, ...] = ()
) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """Compare the arguments of a resumed run with its checkpoint's (`run_config.json`).

    Args:
        saved (`dict`): the checkpoint's arguments.
        current (`dict`): this run's (JSON-normalised) arguments.
        allowed (`list[str]`, *optional*): names the user allows to change (`--allow_changed_arguments`).

    Returns:
        `(changes, refused)`: the allowed changes `{name: (checkpoint value, new value)}`, and one line per
        difference that is not allowed, saying whether `--allow_changed_arguments` could allow it. Names present on
        one side only (arguments added by another version) are not compared.
    """
    changes: dict[str, tuple[Any, Any]] = {}
    refused: list[str] = []
    for name in sorted(set(saved) & set(current) - set(RESUME_IGNORED_ARGUMENTS)):
        old, new = saved[name], current[name]
        if old == new:
            continue
        if name in allowed:
            changes[name] = (old, new)
        elif name in RESUME_CHANGEABLE_ARGUMENTS:
            refused.append(f"{name}: {old!r} in the checkpoint, {new!r} now (can change with "
                           f"--allow_changed_arguments {name})")
        else:
            refused.append(f"{name}: {old!r} in the checkpoint, {new!r} now (cannot change on resume)")
    return changes, refused


REPORT_TO_KEYWORDS: tuple[str, ...] = ("jsonl", "all", "none")


def supported_trackers() -> tuple[str, ...]:
    """The tracker names Accelerate supports (`log_with`), as `--report_to` takes them."""
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS

    return tuple(sorted(LOGGER_TYPE_TO_CLASS))


def check_report_to(report_to: list[str]) -> None:
    """Raise `ValueError` for a `report_to` name that is neither Accelerate's nor `jsonl` / `all` / `none`."""
    known = supported_trackers()
    unknown = [name for name in report_to if name not in known and name not in REPORT_TO_KEYWORDS]
    if unknown:
        raise ValueError(f"`report_to` has unknown tracker(s) {unknown}; choose from {list(REPORT_TO_KEYWORDS)} and "
                         f"Accelerate's {list(known)}.")
    if "none" in report_to and len(set(report_to) - {"none", "jsonl"}) > 0:
        raise ValueError(f"`report_to` cannot combine 'none' with trackers, got {report_to}.")


def trackers_for_accelerate(report_to: list[str]) -> list[str]:
    """What `Accelerator(log_with=...)` gets for `report_to`: the trackers asked for that are installed ("all" as
    is); each one asked for but not installed is named in a warning."""
    import logging

    from accelerate.tracking import get_available_trackers

    check_report_to(report_to)
    if "all" in report_to:
        return ["all"]
    available = {str(tracker) for tracker in get_available_trackers()}
    wanted = [name for name in dict.fromkeys(report_to) if name not in REPORT_TO_KEYWORDS]
    for name in wanted:
        if name not in available:
            logging.getLogger(__name__).warning("`report_to` asks for %r, which is not installed: not logging to it.",
                                                name)
    return [name for name in wanted if name in available]


def checkpoint_kwargs(training: AdversarialTrainingArguments) -> dict[str, Any]:
    """The arguments of activation checkpointing: `gradient_checkpointing_kwargs` read as JSON (default
    `{"use_reentrant": False}`). Raises `ValueError` when it is not a JSON object."""
    if training.gradient_checkpointing_kwargs in (None, ""):
        return {"use_reentrant": False}
    try:
        value = json.loads(training.gradient_checkpointing_kwargs)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(f"`gradient_checkpointing_kwargs` must be a JSON object such as '{{\"use_reentrant\": true}}', "
                         f"got {training.gradient_checkpointing_kwargs!r}.")
    return value


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}.")


def validate_arguments(model: ModelArguments, data: DataArguments, training: AdversarialTrainingArguments) -> None:
    """Raise `ValueError` naming the argument for every bad value that the config and loaders do not check."""
    _check_choice("init", model.init, MODEL_INITS)
    _check_choice("dataset", data.dataset, DATASETS)
    _check_choice("objective", training.objective, OBJECTIVES)
    _check_choice("budget_loss", training.budget_loss, BUDGET_LOSSES)
    _check_choice("budget_architecture", training.budget_architecture, BUDGET_ARCHITECTURES)
    _check_choice("grl_schedule", training.grl_schedule, GRL_SCHEDULES)
    _check_choice("on_bad_video", data.on_bad_video, ("raise", "skip"))
    if model.init != "scratch" and not model.model_name_or_path:
        raise ValueError(f"`model_name_or_path` is required with init={model.init!r}.")
    for name in ("num_train_epochs", "per_device_train_batch_size", "per_device_eval_batch_size",
                 "gradient_accumulation_steps", "logging_steps", "num_budget_models", "num_utility_models",
                 "max_consecutive_nonfinite"):
        if getattr(training, name) < 1:
            raise ValueError(f"`{name}` must be >= 1, got {getattr(training, name)}.")
    for name in ("max_steps", "checkpointing_steps", "budget_restart_every", "checkpoints_total_limit"):
        value = getattr(training, name)
        if value is not None and value < 1:
            raise ValueError(f"`{name}` must be >= 1 or unset, got {value}.")
    if training.pixel_scorer_epochs < 0:
        raise ValueError(f"`pixel_scorer_epochs` must be >= 0, got {training.pixel_scorer_epochs}.")
    for name in ("learning_rate", "budget_learning_rate", "utility_learning_rate", "pixel_scorer_learning_rate"):
        if getattr(training, name) <= 0:
            raise ValueError(f"`{name}` must be > 0, got {getattr(training, name)}.")
    for name in ("budget_loss_weight", "utility_loss_weight", "own_output_loss_weight"):
        if getattr(training, name) < 0:
            raise ValueError(f"`{name}` must be >= 0, got {getattr(training, name)}.")
    inference_lambda = training.inference_lambda_priv
    if inference_lambda is not None and (not math.isfinite(inference_lambda) or inference_lambda < 0):
        raise ValueError(f"`inference_lambda_priv` must be a finite number >= 0, got {inference_lambda}.")
    _check_choice("inference_pruning_score", training.inference_pruning_score, (None, "attention", "pixels"))
    if training.inference_pruning_score == "pixels" and not model.pixel_scorer_hidden_size:
        raise ValueError("`inference_pruning_score` 'pixels' ranks by the pixel scorer, so it needs "
                         f"`pixel_scorer_hidden_size` > 0, got {model.pixel_scorer_hidden_size!r}.")
    for name in ("utility_hidden_sizes", "budget_c3d_hidden_sizes"):
        sizes = getattr(training, name)
        if not sizes or min(sizes) < 1:
            raise ValueError(f"`{name}` must be positive channel counts, got {sizes}.")
    if training.grl_max_coefficient < 0 or training.grl_warmup_epochs < 0:
        raise ValueError("`grl_max_coefficient` and `grl_warmup_epochs` must be >= 0.")
    if training.warmup_epochs < 0:
        raise ValueError(f"`warmup_epochs` must be >= 0, got {training.warmup_epochs}.")
    if training.mixed_precision not in (None, "no", "bf16", "fp16"):
        raise ValueError(f"`mixed_precision` must be 'no', 'bf16' or 'fp16', got {training.mixed_precision!r}.")
    if data.num_workers < 0:
        raise ValueError(f"`num_workers` must be >= 0, got {data.num_workers}.")
    check_report_to(training.report_to)
    checkpoint_kwargs(training)
    if training.push_to_hub and not training.save_final_model:
        raise ValueError("`push_to_hub` pushes the final model: it needs `save_final_model`.")
    if training.hub_model_id is not None and not training.push_to_hub:
        raise ValueError("`hub_model_id` is given but `push_to_hub` is not set.")
    unchangeable = [name for name in training.allow_changed_arguments if name not in RESUME_CHANGEABLE_ARGUMENTS]
    if unchangeable:
        raise ValueError(f"`allow_changed_arguments` names {unchangeable}, which cannot change on resume; the "
                         f"arguments that can are {list(RESUME_CHANGEABLE_ARGUMENTS)}.")
    if data.dataset == "manifest" and not data.manifest:
        raise ValueError("`manifest` is required with dataset='manifest'.")
    if data.dataset not in ("synth", "manifest") and not data.data_dir:
        raise ValueError(f"`data_dir` is required with dataset={data.dataset!r}.")


def parse_arguments(
    argv: list[str] | None = None,
) -> tuple[ModelArguments, DataArguments, AdversarialTrainingArguments]:
    """`--config FILE.yaml` (or the YAML path alone as the first argument, as HfArgumentParser scripts take it)
    mapped onto the dataclasses, then `--key value` overrides.

    Unknown YAML keys are an error naming the key and the file.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    defaults: dict[str, Any] = {}
    if argv and not argv[0].startswith("-") and argv[0].lower().endswith((".yaml", ".yml")):
        if "--config" in argv:
            raise ValueError(f"give the YAML file once: {argv[0]!r} and `--config` were both given.")
        argv = ["--config", *argv]
    if "--config" in argv:
        position = argv.index("--config")
        if position + 1 >= len(argv):
            raise ValueError("`--config` needs a YAML file path.")
        config_path = Path(argv[position + 1])
        del argv[position : position + 2]
        defaults = load_yaml_config(config_path)
    parser = HfArgumentParser(ALL_ARGUMENT_CLASSES)
    parser.set_defaults(**defaults)
    parser.add_argument("--config", help="YAML file with any of the arguments below (the command line wins).")
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)[:3]
    validate_arguments(model_args, data_args, training_args)
    return model_args, data_args, training_args


def load_yaml_config(path: str | Path) -> dict[str, Any]:
    """A flat mapping of argument names to values; nested sections (`model:`, `data:`, `training:`) are flattened.

    Values are checked against the arguments' types, and a single value is accepted wherever a list is
    (`keep_rate: 0.5` is `keep_rate: [0.5]`), as on the command line. Errors name the key and the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {str(path)!r}")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{str(path)!r} is not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise ValueError(f"{str(path)!r} must hold a mapping of argument names to values.")
    flat: dict[str, Any] = {}
    for key, value in content.items():
        if key in ("model", "data", "training") and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return typed_argument_values(flat, str(path))


def typed_argument_values(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`values` (argument name -> value) checked against the arguments' names and types, as `load_yaml_config`
    does for a file; errors name the key and `source`."""
    known = {f.name for cls in ALL_ARGUMENT_CLASSES for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} in {source!r}.")
    types = {name: hint for cls in ALL_ARGUMENT_CLASSES for name, hint in typing.get_type_hints(cls).items()}
    return {key: _yaml_value(value, types[key], key, Path(source)) for key, value in values.items()}


def build_arguments(
    config: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[ModelArguments, DataArguments, AdversarialTrainingArguments]:
    """The three argument dataclasses from a YAML config and a mapping of overrides (the way a program sets up a
    training run; `parse_arguments` is the command line's way), checked as the command line checks them."""
    values = load_yaml_config(config) if config is not None else {}
    values.update(typed_argument_values(dict(overrides or {}), "overrides"))
    model_args, data_args, training_args = HfArgumentParser(ALL_ARGUMENT_CLASSES).parse_dict(values)[:3]
    validate_arguments(model_args, data_args, training_args)
    return model_args, data_args, training_args


def _yaml_value(value: Any, hint: Any, key: str, path: Path) -> Any:
    """`value` as the type of argument `key` (a scalar where a list is allowed becomes a one-item list).

    Raises:
        ValueError: naming the key and the file when the value cannot be of that type.
    """
    args = typing.get_args(hint)
    if value is None:
        if type(None) in args:
            return None
        raise ValueError(f"{str(path)!r}: `{key}` needs a value (got null).")
    if type(None) in args:  # X | None
        hint = next(a for a in args if a is not type(None))
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        items = value if isinstance(value, (list, tuple)) else [value]
        return [_yaml_scalar(v, item, f"{key}[{i}]" if isinstance(value, (list, tuple)) else key, path)
                for i, v in enumerate(items)]
    return _yaml_scalar(value, hint, key, path)


def _yaml_scalar(value: Any, kind: Any, key: str, path: Path) -> Any:
    expected = getattr(kind, "__name__", str(kind))
    if isinstance(value, (dict, list, tuple)):
        raise ValueError(f"{str(path)!r}: `{key}` must be one {expected}, got {value!r}.")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"{str(path)!r}: `{key}` must be true or false, got {value!r}.")
    if kind is str:
        if isinstance(value, bool):
            raise ValueError(f"{str(path)!r}: `{key}` must be a string, got {value!r}.")
        return str(value)
    if kind in (int, float):
        if isinstance(value, bool):
            raise ValueError(f"{str(path)!r}: `{key}` must be a number ({expected}), got {value!r}.")
        try:
            number = float(value)  # also YAML's strings such as "3e-4" (a float only when written 3.0e-4)
        except (TypeError, ValueError):
            raise ValueError(f"{str(path)!r}: `{key}` must be a number ({expected}), got {value!r}.") from None
        if kind is int:
            if not number.is_integer():
                raise ValueError(f"{str(path)!r}: `{key}` must be an integer, got {value!r}.")
            return int(number)
        return number
    return value


def arguments_to_dict(*arguments) -> dict[str, Any]:
    """All fields of the given dataclasses in one flat dict (for logs, checkpoints and model cards)."""
    merged: dict[str, Any] = {}
    for argument in arguments:
        merged.update(dataclasses.asdict(argument))
    return merged
