"""The leakage protocol: freeze an anonymizer, train NEW models from scratch on its output, measure them.

For every method (a baseline, VidAnon at some setting, the random-pruning control):

1. anonymize the training clips and the test clips (5 uniform clips per test video) once;
2. for every seed, train from scratch on the anonymized training clips: a target action model, a per-frame privacy
   attacker (logits averaged over time) and a video-level privacy attacker (per-frame features joined by
   spatio-temporal convolutions); and fine-tune an attacker trained on the RAW training clips on the anonymized
   ones (someone who has labelled raw footage of the same kind). Every fresh model trains until its score on a
   held-out part of the training videos stops improving (early stopping, with a cap);
3. report on the test split action top-1 (softmax averaged over the clips), privacy cMAP, per-attribute AP and F1
   at 0.5 of each attacker, the worst case over the attackers (the headline leakage), the best single-frame cMAP,
   and for pruning methods the mask flicker rate; chance levels beside them.

The fresh models are independent, so they can run in worker processes (`ProtocolConfig.num_workers`); the Raw
row, which does not depend on any anonymizer, can be cached (`ProtocolConfig.cache_dir`) under a key of the data and
the fresh-model settings. A row may run with seeds and attackers of its own ([`Method`]); every row records, per
fresh-model kind, the epochs its models ran of their caps, their best epochs and whether a cap bound
(`MethodResult.extra["convergence"]`).

Only this measures leakage: the anonymizer's own privacy head is trained against it and says nothing about an
attacker who trains on its output.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from .. import __version__
from ..configuration_vidanon import normalize_keep_rate
from ..fileutils import jsonable
from ..metrics import (
    action_top1,
    best_single_frame_cmap,
    chance_cmap,
    chance_f1,
    chance_top1,
    mask_flicker_rate,
    privacy_cmap,
    privacy_f1,
)
from ..processing_vidanon import resize
from ..pruning import apply_keep_mask
from ..reporting import BenchmarkResults, ChanceLevels, MethodResult
from ..reporting.provenance import collect_provenance, fingerprint
from . import fresh_training, parallel
from .baselines import get_baseline, oracle_pruning, random_pruning
from .protocol_data import ProtocolData, datasets_protocol_data, synth_protocol_data

__all__ = ["ATTACKERS", "AnonymizedBatch", "Method", "ProtocolConfig", "ProtocolData", "anonymize_clips",
           "as_method", "baseline_anonymizer", "chance_levels", "convergence_summary", "datasets_protocol_data",
           "evaluate_method", "oracle_anonymizer", "random_pruning_anonymizer", "run_protocol", "synth_protocol_data",
           "vidanon_anonymizer"]

logger = logging.getLogger(__name__)

ATTACKERS = ("frame", "video", "finetuned")
CACHE_VERSION = 2  # raise when a change of the fresh models' code changes what a cached Raw row would hold


class AnonymizedBatch(NamedTuple):
    """What an anonymizer returns for a batch `(B, T, C, H, W)`: the video, and its tubelet keep mask if any."""

    video: torch.Tensor
    keep_mask: torch.Tensor | None = None


Anonymizer = Callable[[torch.Tensor, "torch.Tensor | None"], AnonymizedBatch]
"""`(video (B, T, C, H, W) float in [0, 1], regions (B, T, H, W) bool or None) -> AnonymizedBatch`.

An anonymizer may carry two attributes the protocol reads: `needs_regions` (`"person"` or `"privacy"`: the regions
of that kind are passed as `regions`; default `None`) and `identity` (`True` for the raw-video row)."""


@dataclass
class ProtocolConfig:
    """How fresh models are trained and how many.

    Attributes:
        seeds: one fresh model of each kind per seed; every figure is a mean with its spread (a [`Method`] may name
            its own).
        attackers: which privacy attackers to run: `"frame"`, `"video"` (trained from scratch on the anonymized
            clips) and `"finetuned"` (the `finetune_from` attacker trained on raw clips, then fine-tuned on the
            anonymized ones).
        fresh: sizes and training settings of the fresh models ([`fresh_training.FreshModelConfig`]).
        action_model / frame_attacker_model / video_attacker_model: any transformers model name, path or config
            for the fresh models instead of the small defaults.
        batch_size: clips per anonymization batch.
        progress: tqdm bars (also the fresh models' own, unless `fresh.progress` is False).
        finetune_from: `"video"` or `"frame"`, the raw-trained attacker the fine-tuned attacker starts from.
        num_workers: fresh models trained at once, in worker processes (1: one after the other, in this process).
        worker_threads: torch threads of each worker (default: the CPU cores shared out).
        cache_dir: where the Raw row (a method whose anonymizer is the identity) is cached, keyed by a hash of the
            data and the fresh-model settings; None: no cache.
        max_pending_methods: anonymized methods held in memory while their fresh models train.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    attackers: tuple[str, ...] = ATTACKERS
    fresh: fresh_training.FreshModelConfig = field(default_factory=fresh_training.FreshModelConfig)
    action_model: object = None
    frame_attacker_model: object = None
    video_attacker_model: object = None
    batch_size: int = 32
    progress: bool = True
    finetune_from: str = "video"
    num_workers: int = 1
    worker_threads: int | None = None
    cache_dir: str | None = None
    max_pending_methods: int = 3

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("`seeds` must name at least one seed.")
        unknown = set(self.attackers) - set(ATTACKERS)
        if unknown:
            raise ValueError(f"`attackers` must be among {ATTACKERS}, got {sorted(unknown)}.")
        if self.finetune_from not in ("frame", "video"):
            raise ValueError(f"`finetune_from` must be 'frame' or 'video', got {self.finetune_from!r}.")
        if self.num_workers < 1 or self.max_pending_methods < 1:
            raise ValueError(
                f"`num_workers` and `max_pending_methods` must be >= 1, got {self.num_workers}, "
                f"{self.max_pending_methods}."
            )


# ------------------------------------------------------------------------------------------------------------------
# Anonymizers
# ------------------------------------------------------------------------------------------------------------------
def baseline_anonymizer(name: str, **options) -> Anonymizer:
    """A baseline by name (raw, down2, down4, blackening, strongblur) as an [`Anonymizer`]."""
    baseline = get_baseline(name, **options)

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        return AnonymizedBatch(baseline(video, regions=regions))

    anonymize.identity = name == "raw"  # the raw-video row: cacheable, and the fine-tuned attacker's base
    anonymize.needs_regions = baseline.needs_regions
    return anonymize


def vidanon_anonymizer(model, **pruning) -> Anonymizer:
    """A trained VidAnon model as an [`Anonymizer`] (frozen, eval mode).

    Clips of another size than the model's are resized for scoring, the keep mask is the model's own
    (`model.keep_mask`) and it is upsampled back (nearest), so the anonymized clip keeps its resolution. `pruning`
    (keep_rate, lambda_priv, temporal_consistency) is applied with `model.pruning_overridden` for this anonymizer's
    calls only.
    """
    model.eval()
    size = model.config.image_size

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        scored = resize(video.flatten(0, 1), size, size).clamp(0, 1).view(*video.shape[:3], size, size)
        with model.pruning_overridden(**pruning):
            keep_mask = model.keep_mask(scored.to(next(model.parameters()).dtype)).float()
        return AnonymizedBatch(apply_keep_mask(video, keep_mask, model.config.anonymization_fill_value), keep_mask)

    return anonymize


def oracle_anonymizer(tubelet_size: int, grid_size: int, tube: bool = False, fill_value: float = 0.0) -> Anonymizer:
    """The oracle: prune every tubelet touching a privacy region, on a `grid_size x grid_size` grid of
    `tubelet_size`-frame tubelets (`tube`: one spatial mask per clip); it is given the privacy regions."""

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        out = oracle_pruning(video, regions, tubelet_size=tubelet_size, grid_size=grid_size, tube=tube,
                             fill_value=fill_value)
        return AnonymizedBatch(out.anonymized_pixel_values, out.keep_mask)

    anonymize.needs_regions = "privacy"
    return anonymize


def random_pruning_anonymizer(model_config, seed: int = 0, keep_rate: float | list[float] | None = None) -> Anonymizer:
    """The control: drop as many tubelets as VidAnon does (its keep schedule, or the one `keep_rate` gives at its
    pruning layers), chosen uniformly at random."""
    generator = torch.Generator().manual_seed(seed)
    if keep_rate is not None:
        model_config = copy.copy(model_config)
        model_config.keep_rate = normalize_keep_rate(keep_rate, len(model_config.pruning_layers))
        model_config._validate_values()
    schedule = model_config.keep_rates()

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        out = random_pruning(
            video, keep_rate_schedule=schedule, fuse_pruned_tokens=model_config.fuse_pruned_tokens,
            tubelet_size=model_config.tubelet_size, patch_size=_patch_for(video, model_config), generator=generator,
            fill_value=model_config.anonymization_fill_value,
        )
        return AnonymizedBatch(out.anonymized_pixel_values, out.keep_mask)

    return anonymize


def _patch_for(video: torch.Tensor, model_config) -> int:
    """The pixel patch size giving the model's tubelet grid on this video's resolution."""
    grid = model_config.image_size // model_config.patch_size
    if video.shape[-1] % grid:
        raise ValueError(f"video width {video.shape[-1]} is not a multiple of the model's grid ({grid} tubelets).")
    return video.shape[-1] // grid


def anonymize_clips(
    clips: torch.Tensor,
    anonymizer: Anonymizer,
    regions: torch.Tensor | None = None,
    batch_size: int = 32,
    description: str = "anonymizing",
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run an anonymizer over uint8 clips `(N, [k,] T, C, H, W)`; returns uint8 clips of the same shape and the
    keep masks `(N * k, T', H', W')` (or None)."""
    lead = clips.shape[:-4]
    flat = clips.reshape(-1, *clips.shape[-4:])
    flat_regions = regions.reshape(-1, *regions.shape[-3:]) if regions is not None else None
    outputs, masks = [], []
    for start in tqdm(range(0, flat.shape[0], batch_size), desc=description, disable=not progress, leave=False):
        video = flat[start : start + batch_size].float() / 255.0
        region = flat_regions[start : start + batch_size] if flat_regions is not None else None
        result = anonymizer(video, region)
        outputs.append((result.video.clamp(0, 1) * 255.0).round().to(torch.uint8))
        if result.keep_mask is not None:
            masks.append(result.keep_mask.detach().cpu())
    anonymized = torch.cat(outputs).reshape(*lead, *clips.shape[-4:])
    return anonymized, torch.cat(masks) if masks else None


# ------------------------------------------------------------------------------------------------------------------
# The protocol
# ------------------------------------------------------------------------------------------------------------------
def chance_levels(data: ProtocolData) -> ChanceLevels:
    """What blind models score on the test set."""
    names = list(data.privacy_names)
    cmap = chance_cmap(data.test_privacy.numpy(), names)
    f1 = chance_f1(data.test_privacy.numpy(), names)
    return ChanceLevels(
        action_top1=chance_top1(data.test_labels.numpy()),
        cmap=float(cmap.cmap),
        f1=float(f1.f1),
        per_attribute={name: float(value) for name, value in cmap.per_attribute.items()},
        per_attribute_f1={name: float(value) for name, value in f1.per_attribute.items()},
    )


def _model_spec(config: ProtocolConfig, kind: str):
    return {"action": config.action_model, "frame": config.frame_attacker_model,
            "video": config.video_attacker_model}.get(kind)


def _is_identity(anonymizer: Anonymizer) -> bool:
    return bool(getattr(anonymizer, "identity", False))


@dataclass
class Method:
    """One row of an evaluation.

    Attributes:
        name (`str`): the row's name.
        anonymizer (`Anonymizer`, *optional*): what the row measures.
        extra (`dict`, *optional*): kept in the row's `MethodResult.extra`.
        seeds (`tuple[int, ...]`, *optional*): the row's fresh-model seeds (default: the protocol's `seeds`).
        attackers (`tuple[str, ...]`, *optional*): the row's attackers (default: the protocol's `attackers`).
        make_anonymizer (`Callable[[], Anonymizer]`, *optional*): instead of `anonymizer`, called when the row is
            started (e.g. once the model it anonymizes with has finished training); such rows are started after
            every row whose anonymizer is ready.
    """

    name: str
    anonymizer: Anonymizer | None = None
    extra: dict | None = None
    seeds: tuple[int, ...] | None = None
    attackers: tuple[str, ...] | None = None
    make_anonymizer: Callable[[], Anonymizer] | None = None

    def __post_init__(self) -> None:
        if (self.anonymizer is None) == (self.make_anonymizer is None):
            raise ValueError(f"method {self.name!r}: give an `anonymizer` or a `make_anonymizer`, one of the two.")
        if self.extra is not None and not isinstance(self.extra, dict):
            raise TypeError(f"method {self.name!r}: write (name, anonymizer[, extra dict]); an anonymizer says itself "
                            f"which regions it needs, got {self.extra!r} as the third item.")
        if self.seeds is not None:
            self.seeds = tuple(int(seed) for seed in self.seeds)
            if not self.seeds:
                raise ValueError(f"method {self.name!r}: `seeds` must name at least one seed.")
        if self.attackers is not None:
            self.attackers = tuple(self.attackers)
            unknown = set(self.attackers) - set(ATTACKERS)
            if unknown:
                raise ValueError(f"method {self.name!r}: `attackers` must be among {ATTACKERS}, got {sorted(unknown)}.")

    @property
    def ready(self) -> bool:
        return self.anonymizer is not None

    @property
    def identity(self) -> bool:
        return self.ready and _is_identity(self.anonymizer)


def as_method(method: Method | Sequence) -> Method:
    """A `Method` from a `Method` or a `(name, anonymizer[, extra])` tuple."""
    if isinstance(method, Method):
        return method
    name, anonymizer, *rest = method
    if len(rest) > 1:
        raise TypeError(f"method {name!r}: write (name, anonymizer[, extra dict]), got {len(rest) + 2} items.")
    return Method(name, anonymizer, rest[0] if rest else None)


@dataclass
class _PendingMethod:
    """A method whose fresh models are training: its anonymized clips and the futures of its jobs."""

    result: MethodResult
    identity: bool
    seeds: tuple[int, ...] = ()
    attackers: tuple[str, ...] = ()
    train: torch.Tensor | None = None
    test: torch.Tensor | None = None
    test_masks: torch.Tensor | None = None
    futures: dict[tuple[str, int], Future] = field(default_factory=dict)
    deferred: list[int] = field(default_factory=list)
    cache_key: str | None = None
    started: float = 0.0


def _log_job(future: Future) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    done = future.result()
    log = done["log"]
    logger.info("fresh %s model (seed %d): %s of %s epochs (best %s, %s), %.0f s, %.0f CPU s", done["kind"],
                done["seed"], log.get("epochs"), log.get("max_epochs"), log.get("best_epoch"),
                "cap bound" if log.get("cap_bound") else f"stopped by {log.get('stopped_by') or 'its epochs'}",
                log.get("total_seconds", 0.0), log.get("total_cpu_seconds", 0.0))


FRESH_LOG_KEYS = ("seconds", "cpu_seconds", "total_seconds", "total_cpu_seconds", "epochs", "max_epochs", "best_epoch",
                  "patience", "stopped_by", "cap_bound", "schedule", "threads", "started_at", "finished_at")
"""What a row keeps of each fresh model's training log (`MethodResult.extra["fresh_models"]`)."""


def convergence_summary(fresh_models: Sequence[dict]) -> dict[str, dict]:
    """Per model kind, how the fresh models of a row stopped: `{kind: {"epochs": [per seed], "max_epochs": cap,
    "best_epochs": [per seed], "patience", "stopped_by": [per seed], "cap_bound_seeds": [seeds where the cap bound]}}`
    (`fresh_training.TrainingLog.cap_bound`: the cap stopped the training, or the kept epoch lies within `patience`
    of it)."""
    summary: dict[str, dict] = {}
    for model in fresh_models:
        entry = summary.setdefault(model["kind"], {"seeds": [], "epochs": [], "max_epochs": model.get("max_epochs"),
                                                   "best_epochs": [], "patience": model.get("patience"),
                                                   "stopped_by": [], "cap_bound_seeds": []})
        entry["seeds"].append(model["seed"])
        entry["epochs"].append(model.get("epochs"))
        entry["best_epochs"].append(model.get("best_epoch"))
        entry["stopped_by"].append(model.get("stopped_by"))
        if model.get("cap_bound"):
            entry["cap_bound_seeds"].append(model["seed"])
    return summary


class _ProtocolRun:
    """The fresh-model jobs of one evaluation on one executor, and the raw-trained attackers (per seed) that the
    fine-tuned attacker starts from."""

    def __init__(self, data: ProtocolData, config: ProtocolConfig, executor: Executor) -> None:
        self.data, self.config, self.executor = data, config, executor
        self.fresh = config.fresh if config.progress else replace(config.fresh, progress=False)
        self.names = list(data.privacy_names)
        self.bases: dict[int, Future] = {}
        self._raw_keys: dict[tuple, str] = {}

    def submit(self, kind: str, seed: int, train: torch.Tensor, test: torch.Tensor, keep_model: bool = False,
               init_model=None) -> Future:
        targets = self.data.train_labels if kind == "action" else self.data.train_privacy
        job = parallel.FreshJob(
            kind=kind, seed=seed, train_clips=train, test_clips=test, train_targets=targets,
            num_labels=self.data.num_labels, fresh=self.fresh,
            model_spec=_model_spec(self.config, self.config.finetune_from if kind == "finetuned" else kind),
            init_model=init_model, finetune_from=self.config.finetune_from, keep_model=keep_model,
        )
        future = self.executor.submit(parallel.run_fresh_job, parallel.prepare_job(job, self.executor))
        future.add_done_callback(_log_job)
        return future

    def base(self, seed: int) -> Future:
        """The raw-trained attacker of a seed that the fine-tuned attacker starts from (submitted here when no Raw
        row trains it)."""
        if seed not in self.bases:
            self.bases[seed] = self.submit(self.config.finetune_from, seed, self.data.train_clips,
                                           self.data.test_clips[:1], keep_model=True)
        return self.bases[seed]

    def submit_bases(self, seeds: Sequence[int]) -> None:
        """Raw-trained attackers for the fine-tuned attacker, when no Raw row trains them."""
        for seed in seeds:
            self.base(seed)

    # -- the Raw row's cache -------------------------------------------------------------------------------------
    def raw_key(self, seeds: Sequence[int] | None = None, attackers: Sequence[str] | None = None) -> str:
        """Hash of the data, the fresh-model settings and the protocol settings a Raw row depends on."""
        seeds = tuple(self.config.seeds if seeds is None else seeds)
        attackers = tuple(self.config.attackers if attackers is None else attackers)
        if (seeds, attackers) not in self._raw_keys:
            data, config = self.data, self.config
            settings = {name: value for name, value in jsonable(config.fresh).items()
                        if name not in ("progress", "num_threads", "device")}
            self._raw_keys[seeds, attackers] = fingerprint(
                CACHE_VERSION, __version__, data.train_clips, data.train_labels, data.train_privacy, data.test_clips,
                data.test_labels, data.test_privacy, list(data.privacy_names), data.num_labels, settings,
                list(seeds), list(attackers), config.finetune_from,
                [str(_model_spec(config, kind)) for kind in ("action", "frame", "video")],
            )
        return self._raw_keys[seeds, attackers]

    def _cache_path(self, key: str) -> Path | None:
        return Path(self.config.cache_dir) / f"raw-{key[:24]}.pt" if self.config.cache_dir else None

    def load_cached(self, name: str, seeds: Sequence[int] | None = None,
                    attackers: Sequence[str] | None = None) -> MethodResult | None:
        seeds = tuple(self.config.seeds if seeds is None else seeds)
        attackers = tuple(self.config.attackers if attackers is None else attackers)
        key = self.raw_key(seeds, attackers)
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        stored = torch.load(path, map_location="cpu", weights_only=False)  # written by this class, below
        if stored.get("key") != key:
            return None
        result = MethodResult.from_dict({**stored["result"], "name": name})
        result.extra["cached"] = key
        # the time of the run that trained it; this run spent none on it
        result.extra["trained_seconds"] = result.extra.pop("seconds", None)
        result.extra["seconds"] = 0.0
        for seed, model in stored.get("bases", {}).items():
            future: Future = Future()
            future.set_result({"model": model})
            self.bases.setdefault(int(seed), future)
        if "finetuned" in attackers and any(seed not in self.bases for seed in seeds):
            return None
        logger.info("%s: reusing the cached row %s (same data and fresh-model settings)", name, path)
        return result

    def save_cached(self, pending: _PendingMethod) -> None:
        path = self._cache_path(pending.cache_key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        bases = {seed: self.bases[seed].result()["model"] for seed in pending.seeds if seed in self.bases}
        torch.save({"key": pending.cache_key, "result": pending.result.to_dict(), "bases": bases}, path)
        logger.info("cached the %s row in %s", pending.result.name, path)

    # -- one method ----------------------------------------------------------------------------------------------
    def start(self, name: str, anonymizer: Anonymizer, extra: dict | None = None, seeds: Sequence[int] | None = None,
              attackers: Sequence[str] | None = None) -> _PendingMethod:
        """Anonymize the clips and submit the method's fresh models (with its own `seeds` and `attackers`, or the
        protocol's)."""
        config, data = self.config, self.data
        seeds = tuple(config.seeds if seeds is None else seeds)
        attackers = tuple(config.attackers if attackers is None else attackers)
        identity = _is_identity(anonymizer)
        if identity and config.cache_dir:
            cached = self.load_cached(name, seeds, attackers)
            if cached is not None:
                cached.extra.update(extra or {})
                return _PendingMethod(result=cached, identity=True, seeds=seeds, attackers=attackers)
        regions = (None, None)
        kind = getattr(anonymizer, "needs_regions", None)
        if kind:
            regions = data.regions(kind)
            if regions[0] is None or regions[1] is None:
                raise ValueError(f"method {name!r} needs {kind} regions (boxes or masks) and the data has none.")
        pending = _PendingMethod(result=MethodResult(name=name, extra=dict(extra or {})), identity=identity,
                                 seeds=seeds, attackers=attackers, started=time.perf_counter())
        pending.result.extra["started_at"] = time.time()
        train, train_masks = anonymize_clips(data.train_clips, anonymizer, regions[0], config.batch_size,
                                             f"{name}: anonymizing train", config.progress)
        test, test_masks = anonymize_clips(data.test_clips, anonymizer, regions[1], config.batch_size,
                                           f"{name}: anonymizing test", config.progress)
        pending.result.extra["anonymize_seconds"] = time.perf_counter() - pending.started
        if test_masks is not None:
            pending.result.extra["keep_fraction"] = float(torch.cat([train_masks, test_masks]).float().mean())
        pending.train, pending.test, pending.test_masks = train, test, test_masks
        base_kind = config.finetune_from if identity and "finetuned" in attackers else None
        for seed in seeds:  # the longest first: the video attacker, the action model, the frame attacker
            for kind in ("video", "action", "frame"):
                if kind == "action" or kind in attackers or kind == base_kind:
                    future = self.submit(kind, seed, train, test, keep_model=kind == base_kind)
                    pending.futures[(kind, seed)] = future
                    if kind == base_kind:
                        self.bases.setdefault(seed, future)
        if "finetuned" in attackers and not identity:
            pending.deferred = list(seeds)
        if identity and config.cache_dir:
            pending.cache_key = self.raw_key(seeds, attackers)
        return pending

    def submit_deferred(self, pending: _PendingMethod, block: bool) -> None:
        """Submit the fine-tuned attackers whose raw-trained base is ready (all of them, waiting, with `block`)."""
        for seed in list(pending.deferred):
            base = self.base(seed)
            if not (block or base.done()):
                continue
            pending.futures[("finetuned", seed)] = self.submit(
                "finetuned", seed, pending.train, pending.test, init_model=base.result()["model"]
            )
            pending.deferred.remove(seed)

    def finish(self, pending: _PendingMethod) -> MethodResult:
        """Wait for the method's fresh models and measure them."""
        result = pending.result
        if not pending.futures:  # a cached row
            result.extra.setdefault("seeds", list(pending.seeds))
            return result
        self.submit_deferred(pending, block=True)
        labels, privacy = self.data.test_labels.numpy(), self.data.test_privacy.numpy()
        chance = float(chance_cmap(privacy, self.names).cmap)
        outputs = {key: future.result() for key, future in pending.futures.items()}
        timings = result.extra.setdefault("fresh_models", [])
        for seed in pending.seeds:
            result.chance_cmap.append(chance)
            action = outputs[("action", seed)]["outputs"]["probs"].numpy()
            result.action_top1.append(action_top1(action, labels))
            for attacker in ("frame", "video", "finetuned"):
                if attacker not in pending.attackers:
                    continue
                source = attacker
                if attacker == "finetuned" and pending.identity:
                    source = self.config.finetune_from  # on Raw, the raw-trained attacker itself
                self._record(result, attacker, outputs[(source, seed)]["outputs"], privacy)
            if pending.test_masks is not None:
                result.flicker_rate.append(mask_flicker_rate(pending.test_masks))
            for (kind, job_seed), output in outputs.items():
                if job_seed == seed:
                    timings.append({"kind": kind, "seed": seed,
                                    **{key: output["log"].get(key) for key in FRESH_LOG_KEYS}})
        if pending.identity and "finetuned" in pending.attackers:
            result.extra["finetuned"] = f"the raw-trained {self.config.finetune_from} attacker itself"
        result.set_worst_case()
        result.extra["seeds"] = list(pending.seeds)
        result.extra["attackers"] = list(pending.attackers)
        result.extra["convergence"] = convergence_summary(timings)
        result.extra["fresh_cpu_seconds"] = sum(model.get("total_cpu_seconds") or 0.0 for model in timings)
        result.extra["seconds"] = time.perf_counter() - pending.started
        result.extra["finished_at"] = time.time()
        if pending.cache_key is not None:
            self.save_cached(pending)
        pending.train = pending.test = None
        logger.info("%s: %s", result.name, {k: round(v["mean"], 4) for k, v in result.summary().items()})
        return result

    def _record(self, result: MethodResult, attacker: str, outputs: dict, privacy) -> None:
        cmap_field, f1_field = MethodResult.ATTACKER_FIELDS[attacker]
        logits = outputs["logits"].numpy()
        cmap = privacy_cmap(logits, privacy, self.names)
        f1 = privacy_f1(logits, privacy, attribute_names=self.names)
        getattr(result, cmap_field).append(float(cmap.cmap))
        getattr(result, f1_field).append(float(f1.f1))
        scores = result.per_attribute.setdefault(attacker, {"ap": {}, "f1": {}})
        for name, value in cmap.per_attribute.items():
            scores["ap"].setdefault(name, []).append(float(value))
        for name, value in f1.per_attribute.items():
            scores["f1"].setdefault(name, []).append(float(value))
        if attacker == "frame":
            frame_logits = outputs["frame_logits"]
            n, k, t, a = frame_logits.shape
            single = best_single_frame_cmap(frame_logits.reshape(n, k * t, a).numpy(), privacy, self.names)
            result.best_single_frame_cmap.append(float(single.cmap))


def evaluate_method(
    name: str,
    anonymizer: Anonymizer,
    data: ProtocolData,
    config: ProtocolConfig | None = None,
    extra: dict | None = None,
    executor: Executor | None = None,
) -> MethodResult:
    """Anonymize once, train fresh models with every seed, measure them.

    The regions the anonymizer's `needs_regions` names (person regions for blackening, privacy regions for the
    oracle) are passed to it. `executor` (see `parallel.make_executor`) runs the fresh models; by default one is made from
    `config.num_workers` for this call. With the `"finetuned"` attacker, the raw-trained attackers it starts from
    are trained first (or come from the Raw cache).

    Raises:
        ValueError: the method needs regions and the data has none.
    """
    config = config or ProtocolConfig()
    own = executor is None
    executor = executor or parallel.make_executor(config.num_workers, config.worker_threads)
    try:
        run = _ProtocolRun(data, config, executor)
        if "finetuned" in config.attackers and not _is_identity(anonymizer):
            if config.cache_dir:
                run.load_cached("Raw")
            run.submit_bases(config.seeds)
        return run.finish(run.start(name, anonymizer, extra))
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def run_protocol(
    methods: Sequence[Method | tuple],
    data: ProtocolData,
    config: ProtocolConfig | None = None,
    dataset: str = "",
    metadata: dict | None = None,
    executor: Executor | None = None,
) -> BenchmarkResults:
    """Evaluate several methods (`Method`s, or `(name, anonymizer[, extra])` tuples) on the same data.

    Each method runs with its own seeds and attackers when it names them (`Method.seeds`, `Method.attackers`), else
    with the protocol's. The fresh models of up to `config.max_pending_methods` methods are in flight at once (on
    `executor`, or one made from `config.num_workers`); the Raw row (an identity anonymizer) goes first, since the
    fine-tuned attackers of the other rows start from its raw-trained attackers (a seed it does not train gets its
    raw-trained attacker of its own), and comes from `config.cache_dir` when it holds a row of the same data and
    settings; rows whose anonymizer is not ready yet (`Method.make_anonymizer`) go last. The results keep the order
    of `methods`, name the test split, and carry the provenance of the run in their metadata.
    """
    config = config or ProtocolConfig()
    methods = [as_method(method) for method in methods]
    own = executor is None
    executor = executor or parallel.make_executor(config.num_workers, config.worker_threads)
    results: dict[int, MethodResult] = {}
    try:
        run = _ProtocolRun(data, config, executor)
        order = sorted(range(len(methods)), key=lambda index: (not methods[index].identity, not methods[index].ready))
        needs_bases = any("finetuned" in (method.attackers or config.attackers) for method in methods)
        if needs_bases and not any(method.identity for method in methods):
            if config.cache_dir:
                run.load_cached("Raw")
        pending: dict[int, _PendingMethod] = {}
        window: deque[int] = deque()
        bar = tqdm(total=len(methods), desc="methods", disable=not config.progress)
        for index in order:
            method = methods[index]
            while len(window) >= config.max_pending_methods:
                oldest = window.popleft()
                results[oldest] = run.finish(pending.pop(oldest))
                bar.update()
            anonymizer = method.anonymizer if method.ready else method.make_anonymizer()
            pending[index] = run.start(method.name, anonymizer, method.extra, method.seeds, method.attackers)
            window.append(index)
            for waiting in pending.values():
                run.submit_deferred(waiting, block=False)
        while window:
            oldest = window.popleft()
            results[oldest] = run.finish(pending.pop(oldest))
            bar.update()
        bar.close()
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    metadata = dict(metadata or {})
    metadata.setdefault("protocol", jsonable(config))
    metadata["split"] = data.test_split
    metadata.setdefault("provenance", collect_provenance(config={key: value for key, value in metadata.items()
                                                                 if key != "provenance"}))
    return BenchmarkResults(methods=[results[index] for index in range(len(methods))], chance=chance_levels(data),
                            dataset=dataset, metadata=metadata, split=data.test_split)
