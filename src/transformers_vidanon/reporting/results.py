"""The results of the leakage protocol, as one model used by every writer (tables, figures, model cards):

- [`MethodResult`]: one anonymizer (Raw, a baseline, VidAnon at one setting), every metric as a list with
  one value per seed (fresh models trained from scratch with that seed), with mean and std helpers;
- [`BenchmarkResults`]: the methods of one evaluation plus its chance levels ([`ChanceLevels`]) and, for a
  benchmark, the sweep of VidAnon's inference settings (the points of its trade-off curve);
- their JSON file ([`write_results_json`], [`load_results_json`]), and [`calibration`], the one rule that says
  whether a run can rank anonymizers at all.

All metric values are stored as fractions in [0, 1]. The JSON file has no NaN: a value that is not a number is
written `null` and read back as NaN.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..fileutils import write_json_atomically
from .provenance import collect_provenance

logger = logging.getLogger(__name__)


@dataclass
class MethodResult:
    """Results of one anonymization method, one value per seed for every metric.

    Higher action top-1 is better; lower privacy cMAP and F1 are better. A metric that was not measured
    (e.g. no video-level attacker, or no keep mask for a baseline) is an empty list.

    Args:
        name (`str`): method name as shown in the table ("Raw", "Down-2x", "VidAnon", ...).
        action_top1 (`list[float]`): top-1 accuracy of the fresh action model, per seed.
        frame_cmap (`list[float]`): cMAP of the per-frame privacy attacker (logits averaged over time).
        frame_f1 (`list[float]`): mean per-attribute F1 of the per-frame attacker.
        video_cmap (`list[float]`): cMAP of the video-level privacy attacker.
        video_f1 (`list[float]`): mean per-attribute F1 of the video-level attacker.
        finetuned_cmap (`list[float]`): cMAP of the fine-tuned attacker (trained on raw video, then fine-tuned on
            the method's anonymized training video).
        finetuned_f1 (`list[float]`): its mean per-attribute F1.
        worst_cmap (`list[float]`): per seed, the highest cMAP of the attackers run: the row's headline leakage.
        chance_cmap (`list[float]`): cMAP of a blind attacker on the same test labels.
        best_single_frame_cmap (`list[float]`): cMAP of the best single frame position.
        flicker_rate (`list[float]`): temporal flicker of the keep mask (pruning methods only).
        per_attribute (`dict`): `{attacker: {"ap": {attribute: [per seed]}, "f1": {attribute: [per seed]}}}` for
            every attacker run (`"frame"`, `"video"`, `"finetuned"`).
        extra (`dict[str, Any]`): anything else worth keeping (settings, timings, ...); must be
            JSON-serialisable. `extra["cached"]` (a key) marks a row reused from an earlier run.
    """

    name: str
    action_top1: list[float] = field(default_factory=list)
    frame_cmap: list[float] = field(default_factory=list)
    frame_f1: list[float] = field(default_factory=list)
    video_cmap: list[float] = field(default_factory=list)
    video_f1: list[float] = field(default_factory=list)
    chance_cmap: list[float] = field(default_factory=list)
    best_single_frame_cmap: list[float] = field(default_factory=list)
    flicker_rate: list[float] = field(default_factory=list)
    finetuned_cmap: list[float] = field(default_factory=list)
    finetuned_f1: list[float] = field(default_factory=list)
    worst_cmap: list[float] = field(default_factory=list)
    per_attribute: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    #: The per-seed metric fields, in table order.
    METRICS: ClassVar[tuple[str, ...]] = (
        "action_top1",
        "frame_cmap",
        "frame_f1",
        "video_cmap",
        "video_f1",
        "chance_cmap",
        "best_single_frame_cmap",
        "flicker_rate",
        "finetuned_cmap",
        "finetuned_f1",
        "worst_cmap",
    )

    #: The attackers and the fields of their cMAP and F1.
    ATTACKER_FIELDS: ClassVar[dict[str, tuple[str, str]]] = {
        "frame": ("frame_cmap", "frame_f1"),
        "video": ("video_cmap", "video_f1"),
        "finetuned": ("finetuned_cmap", "finetuned_f1"),
    }

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("A MethodResult needs a non-empty `name`.")
        for metric in self.METRICS:
            setattr(self, metric, [_number(value) for value in getattr(self, metric)])
        self.per_attribute = {
            str(attacker): {str(kind): {str(name): [_number(v) for v in values] for name, values in scores.items()}
                            for kind, scores in kinds.items()}
            for attacker, kinds in self.per_attribute.items()
        }

    def set_worst_case(self) -> None:
        """Fill `worst_cmap`: per seed, the highest cMAP over the attackers measured for every seed."""
        measured = [getattr(self, cmap) for cmap, _ in self.ATTACKER_FIELDS.values() if getattr(self, cmap)]
        counts = {len(values) for values in measured}
        if len(counts) > 1:
            raise ValueError(f"{self.name}: the attackers were measured for different numbers of seeds ({counts}).")
        self.worst_cmap = [max(values) for values in zip(*measured)] if measured else []

    def attribute_mean(self, attacker: str, attribute: str, kind: str = "ap") -> float:
        """Mean over seeds of one attacker's AP (or F1) of one attribute (`nan` when not measured)."""
        values = self.per_attribute.get(attacker, {}).get(kind, {}).get(attribute, [])
        return float(np.mean(values)) if values else float("nan")

    def _values(self, metric: str) -> list[float]:
        if metric not in self.METRICS:
            raise ValueError(f"Unknown metric {metric!r}; known: {', '.join(self.METRICS)}.")
        return getattr(self, metric)

    def has(self, metric: str) -> bool:
        """Whether ``metric`` has at least one value."""
        return len(self._values(metric)) > 0

    def num_seeds(self, metric: str) -> int:
        """How many values ``metric`` has."""
        return len(self._values(metric))

    def mean(self, metric: str) -> float:
        """Mean of ``metric`` over seeds (``nan`` when it was not measured)."""
        values = self._values(metric)
        return float(np.mean(values)) if values else float("nan")

    def std(self, metric: str) -> float:
        """Sample standard deviation (ddof = 1) of ``metric`` over seeds; 0 for one seed, ``nan`` for none."""
        values = self._values(metric)
        if not values:
            return float("nan")
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean": ..., "std": ..., "num_seeds": ...}}`` for every measured metric."""
        return {
            metric: {"mean": self.mean(metric), "std": self.std(metric), "num_seeds": self.num_seeds(metric)}
            for metric in self.METRICS
            if self.has(metric)
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field, plus the ``summary``."""
        data = asdict(self)
        data["summary"] = self.summary()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MethodResult:
        """Inverse of [`to_dict`] (the ``summary`` is recomputed, not read)."""
        names = {item.name for item in fields(cls)}
        unknown = set(data) - names - {"summary"}
        if unknown:
            raise ValueError(f"Unknown MethodResult field(s) {sorted(unknown)}.")
        return cls(**{key: value for key, value in data.items() if key in names})


def _number(value: Any) -> float:
    """A metric value as a float; `None` (how the JSON file writes NaN) is NaN."""
    return float("nan") if value is None else float(value)


@dataclass
class ChanceLevels:
    """What a blind model scores on the test set.

    Args:
        action_top1 (`float`): share of the most frequent action class in the test set (the best constant
            guess; 1 / num_classes on a balanced set; see `metrics.chance_top1`).
        cmap (`float`): the blind attacker's cMAP (the mean positive prevalence, see `metrics.chance_cmap`).
        f1 (`float`, *optional*): the blind attacker's F1 (always predicting "present", see
            `metrics.chance_f1`).
        per_attribute (`dict[str, float]`, *optional*): the blind attacker's AP of every attribute (its test
            prevalence).
        per_attribute_f1 (`dict[str, float]`, *optional*): its F1 of every attribute.
    """

    action_top1: float
    cmap: float
    f1: float | None = None
    per_attribute: dict[str, float] | None = None
    per_attribute_f1: dict[str, float] | None = None

    def __post_init__(self) -> None:
        self.action_top1, self.cmap = _number(self.action_top1), _number(self.cmap)
        for name in ("per_attribute", "per_attribute_f1"):
            values = getattr(self, name)
            if values is not None:
                setattr(self, name, {str(key): _number(value) for key, value in values.items()})


@dataclass
class BenchmarkResults:
    """All results of one evaluation.

    Args:
        methods (`list[MethodResult]`): in table order; the one named "Raw" (any case) calibrates the table.
        chance (`ChanceLevels`): chance levels of the test set.
        dataset (`str`, *optional*): name of the benchmark, shown in the table caption.
        metadata (`dict`, *optional*): settings of the run (JSON-serialisable); `metadata["provenance"]` (see
            `provenance.collect_provenance`) is added by [`write_results_json`] when missing.
        split (`str`, *optional*): the split the figures were measured on (`"test"`), named in the caption.
        sweep (`list[MethodResult]`, *optional*): VidAnon at other inference settings (keep rate, `lambda_priv`,
            temporal consistency, in `extra`) and their controls: the points of the trade-off curve
            (`plots.plot_tradeoff`), kept apart from the table's `methods`.
    """

    methods: list[MethodResult]
    chance: ChanceLevels
    dataset: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    split: str = ""
    sweep: list[MethodResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        for where, rows in (("Method", self.methods), ("Sweep point", self.sweep)):
            names = [row.name for row in rows]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"{where} names must be unique; repeated: {duplicates}.")

    def method(self, name: str) -> MethodResult:
        """The method called ``name`` (case-insensitive)."""
        for method in self.methods:
            if method.name.lower() == name.lower():
                return method
        raise KeyError(f"No method named {name!r}; have {[method.name for method in self.methods]}.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "split": self.split,
            "chance": asdict(self.chance),
            "methods": [method.to_dict() for method in self.methods],
            "sweep": [point.to_dict() for point in self.sweep],
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchmarkResults:
        try:
            return cls(
                methods=[MethodResult.from_dict(method) for method in data["methods"]],
                chance=ChanceLevels(**data["chance"]),
                dataset=data.get("dataset", ""),
                metadata=data.get("metadata", {}),
                split=data.get("split", ""),
                sweep=[MethodResult.from_dict(point) for point in data.get("sweep", [])],
            )
        except KeyError as error:
            raise ValueError(f"Results are missing the {error.args[0]!r} entry.") from error


def write_results_json(results: BenchmarkResults, path: str | Path) -> Path:
    """Writes ``results`` (per-seed values and mean/std summaries, the sweep) as indented JSON, atomically: the one
    writer of a results file.

    Non-finite numbers are written as ``null`` (`fileutils.jsonable`; [`load_results_json`] reads a metric's
    ``null`` back as NaN). Parent folders are created. A provenance record (commit, versions, machine; see
    `provenance.collect_provenance`) is added to ``results.metadata`` when it has none.

    Args:
        results (`BenchmarkResults`): what to write.
        path (`str` or `Path`): the output file.

    Returns:
        `Path`: the file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "provenance" not in results.metadata:
        results.metadata["provenance"] = collect_provenance()
    write_json_atomically(path, results.to_dict())
    logger.info("Wrote results of %d methods to %s", len(results.methods), path)
    return path


def load_results_json(path: str | Path) -> BenchmarkResults:
    """Reads a file written by [`write_results_json`]."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Results file {path} does not exist.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"Results file {path} is not valid JSON: {error}") from error
    return BenchmarkResults.from_dict(data)


@dataclass(frozen=True)
class Calibration:
    """Whether Raw video is clearly above chance, which is what makes the benchmark informative.

    Args:
        informative (`bool`): True when Raw's action top-1 and every reported attacker cMAP on Raw video
            exceed chance by more than the margin.
        message (`str`): one line for a person, with the numbers (and its warnings).
        warnings (`tuple[str, ...]`): what weakens the figures without making the benchmark uninformative: fresh
            models whose epoch cap bound ([`cap_bound_models`]).
    """

    informative: bool
    message: str
    warnings: tuple[str, ...] = ()


FRESH_MODEL_LABELS = {"action": "action model", "frame": "frame attacker", "video": "video attacker",
                      "finetuned": "fine-tuned attacker"}
"""The fresh-model kinds of a row (`MethodResult.extra["convergence"]`), as the results name them."""


def cap_bound_models(results: BenchmarkResults) -> list[tuple[str, str, list[int]]]:
    """`(row, kind, seeds)` for every row and fresh-model kind whose epoch cap bound for some seeds: the cap stopped
    the training, or the kept epoch lies within the early-stopping patience of it, so the model might have improved
    with more epochs (`extra["convergence"]`, written by the protocol)."""
    bound = []
    for method in results.methods:
        for kind, entry in method.extra.get("convergence", {}).items():
            if entry.get("cap_bound_seeds"):
                bound.append((method.name, kind, [int(seed) for seed in entry["cap_bound_seeds"]]))
    return bound


def cap_warning(results: BenchmarkResults) -> str | None:
    """One sentence naming the fresh models whose epoch cap bound ([`cap_bound_models`]), or None."""
    bound = cap_bound_models(results)
    if not bound:
        return None
    by_row: dict[str, list[str]] = {}
    for row, kind, seeds in bound:
        by_row.setdefault(row, []).append(f"{FRESH_MODEL_LABELS.get(kind, kind)} (seed{'s' if len(seeds) > 1 else ''} "
                                          f"{', '.join(map(str, seeds))})")
    parts = [f"{row}: {', '.join(kinds)}" for row, kinds in by_row.items()]
    count = sum(len(seeds) for _, _, seeds in bound)
    return (f"Warning: the epoch cap bound {count} fresh model{'s' if count > 1 else ''} ({'; '.join(parts)}): "
            "it stopped the training or the best epoch lies within the patience of it, so these models might have "
            "improved with more epochs; an attacker stopped so can understate the leakage of its row.")


CALIBRATED_METRICS: tuple[tuple[str, str], ...] = (
    ("action top-1", "action_top1"),
    ("frame-attacker cMAP", "frame_cmap"),
    ("video-attacker cMAP", "video_cmap"),
    ("fine-tuned-attacker cMAP", "finetuned_cmap"),
)
"""The measures calibration looks at on the Raw row: action top-1 against the action chance level, and every
attacker's cMAP that was measured against the blind attacker's."""


@dataclass(frozen=True)
class CalibrationCheck:
    """One measure of the Raw row against its chance level: `passed` when `mean - chance > needed`."""

    label: str
    mean: float | None
    chance: float | None
    needed: float

    @property
    def passed(self) -> bool:
        return self.mean is not None and self.chance is not None and self.mean - self.chance > self.needed


def calibration_checks(
    raw: Mapping[str, tuple[float, float | None]], chance_top1: float | None, chance_cmap: float | None,
    min_gap: float = 0.05,
) -> list[CalibrationCheck]:
    """The one calibration rule, on the Raw row's `(mean, std or None)` per metric: action top-1 and every measured
    attacker cMAP must beat chance by more than `min_gap` and than twice the std over seeds."""
    checks = []
    for label, metric in CALIBRATED_METRICS:
        if metric != "action_top1" and metric not in raw:
            continue
        mean, std = raw.get(metric, (None, None))
        chance = chance_top1 if metric == "action_top1" else chance_cmap
        checks.append(CalibrationCheck(label, mean, chance, max(min_gap, 2.0 * (std or 0.0))))
    return checks


def calibration(results: BenchmarkResults, min_gap: float = 0.05, raw_name: str = "Raw") -> Calibration:
    """Checks that the benchmark can tell anonymizers apart ([`calibration_checks`] on its Raw row).

    If a fresh action model on Raw video is not clearly above chance, no anonymizer can show a utility
    loss; if the attacker on Raw video is not clearly above the blind attacker, no anonymizer can show a
    privacy gain. "Clearly" means a gap larger than ``min_gap`` and than twice Raw's std over seeds.

    Args:
        results (`BenchmarkResults`): must contain a method named ``raw_name``.
        min_gap (`float`, *optional*, defaults to 0.05): the smallest gap (fraction, 0.05 = 5 points).
        raw_name (`str`, *optional*, defaults to `"Raw"`): name of the unanonymized method.

    Returns:
        [`Calibration`].
    """
    try:
        raw = results.method(raw_name)
    except KeyError:
        return Calibration(False, f"Calibration: no {raw_name!r} row, so the benchmark cannot be calibrated.")
    summary = {metric: (raw.mean(metric), raw.std(metric)) for _, metric in CALIBRATED_METRICS if raw.has(metric)}
    checks = calibration_checks(summary, results.chance.action_top1, results.chance.cmap, min_gap)
    parts, failed = [], []
    for check in checks:
        if check.mean is None:
            parts.append(f"{check.label} not measured")
            failed.append(check.label)
            continue
        gap = check.mean - check.chance
        verdict = "far from chance" if check.passed else "NOT far from chance"
        parts.append(
            f"Raw {check.label} {100 * check.mean:.1f} vs chance {100 * check.chance:.1f} "
            f"({100 * gap:+.1f} points, needs > {100 * check.needed:.1f}): {verdict}"
        )
        if not check.passed:
            failed.append(check.label)
    if len(checks) == 1:
        parts.append("no privacy attacker measured on Raw")
        failed.append("privacy attacker")
    if failed:
        conclusion = (
            "the benchmark is NOT informative for " + ", ".join(failed) + " (Raw is not clearly better than "
            "chance, so differences between methods there say nothing about anonymization)."
        )
    else:
        conclusion = "the benchmark is informative."
    message = "Calibration: " + "; ".join(parts) + ". So " + conclusion
    warning = cap_warning(results)
    if warning:
        message += " " + warning
    return Calibration(not failed, message, (warning,) if warning else ())
