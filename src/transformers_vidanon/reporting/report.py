"""Writers of the leakage protocol's results: a JSON file, a Markdown table like the paper's Table 1, the
utility-privacy trade-off plot, and the raw-versus-anonymized frame grid (the paper's Figure 2).

The results are held in two dataclasses:

- [`MethodResult`]: one anonymizer (Raw, a baseline, VidAnon at one setting), every metric as a list with
  one value per seed (fresh models trained from scratch with that seed), with mean and std helpers;
- [`BenchmarkResults`]: the methods of one evaluation plus its chance levels ([`ChanceLevels`]).

All metric values are stored as fractions in [0, 1]; the table and the plot show top-1 and cMAP in percent
(as the paper does) and F1 as a fraction.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "BenchmarkResults",
    "Calibration",
    "ChanceLevels",
    "MethodResult",
    "calibration",
    "load_results_json",
    "markdown_table",
    "pareto_front",
    "per_attribute_table",
    "plot_figure2",
    "plot_tradeoff",
    "write_results_json",
]


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
            values = [float(value) for value in getattr(self, metric)]
            setattr(self, metric, values)
        self.per_attribute = {
            str(attacker): {str(kind): {str(name): [float(v) for v in values] for name, values in scores.items()}
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
    """

    methods: list[MethodResult]
    chance: ChanceLevels
    dataset: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    split: str = ""

    def __post_init__(self) -> None:
        names = [method.name for method in self.methods]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"Method names must be unique; repeated: {duplicates}.")

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
            )
        except KeyError as error:
            raise ValueError(f"Results are missing the {error.args[0]!r} entry.") from error


# --------------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """Replaces non-finite floats by None (JSON has no NaN) and numpy scalars by Python numbers."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results_json(results: BenchmarkResults, path: str | Path) -> Path:
    """Writes ``results`` (per-seed values and mean/std summaries) as indented JSON.

    Non-finite numbers are written as ``null``. Parent folders are created. A provenance record (commit,
    versions, machine; see `provenance.collect_provenance`) is added to ``results.metadata`` when it has none.

    Args:
        results (`BenchmarkResults`): what to write.
        path (`str` or `Path`): the output file.

    Returns:
        `Path`: the file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "provenance" not in results.metadata:
        from .provenance import collect_provenance

        results.metadata["provenance"] = collect_provenance()
    with path.open("w", encoding="utf-8") as handle:
        json.dump(_json_safe(results.to_dict()), handle, indent=2, allow_nan=False)
        handle.write("\n")
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


# --------------------------------------------------------------------------------------------------
# Markdown table
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Whether Raw video is clearly above chance, which is what makes the benchmark informative.

    Args:
        informative (`bool`): True when Raw's action top-1 and every reported attacker cMAP on Raw video
            exceed chance by more than the margin.
        message (`str`): one line for a person, with the numbers.
    """

    informative: bool
    message: str


def calibration(results: BenchmarkResults, min_gap: float = 0.05, raw_name: str = "Raw") -> Calibration:
    """Checks that the benchmark can tell anonymizers apart.

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
    checks = [("action top-1", "action_top1", results.chance.action_top1)]
    checks += [
        (label, metric, results.chance.cmap)
        for label, metric in (("frame-attacker cMAP", "frame_cmap"), ("video-attacker cMAP", "video_cmap"),
                              ("fine-tuned-attacker cMAP", "finetuned_cmap"))
        if raw.has(metric)
    ]
    parts, failed = [], []
    for label, metric, chance in checks:
        if not raw.has(metric):
            parts.append(f"{label} not measured")
            failed.append(label)
            continue
        gap = raw.mean(metric) - chance
        needed = max(min_gap, 2.0 * raw.std(metric))
        verdict = "far from chance" if gap > needed else "NOT far from chance"
        parts.append(
            f"Raw {label} {100 * raw.mean(metric):.1f} vs chance {100 * chance:.1f} "
            f"({100 * gap:+.1f} points, needs > {100 * needed:.1f}): {verdict}"
        )
        if gap <= needed:
            failed.append(label)
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
    return Calibration(not failed, "Calibration: " + "; ".join(parts) + ". So " + conclusion)


def _cell(method: MethodResult, metric: str, percent: bool) -> str:
    if not method.has(metric):
        return "-"
    scale, digits = (100.0, 2) if percent else (1.0, 3)
    mean = scale * method.mean(metric)
    if method.num_seeds(metric) > 1:
        return f"{mean:.{digits}f} ± {scale * method.std(metric):.{digits}f}"
    return f"{mean:.{digits}f}"


def _chance_cell(value: float | None, percent: bool) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * value:.2f}" if percent else f"{value:.3f}"


ATTACKER_LABELS = {"frame": "frame", "video": "video", "finetuned": "fine-tuned"}


def markdown_table(results: BenchmarkResults, min_gap: float = 0.05, raw_name: str = "Raw") -> str:
    """A Markdown table laid out like the paper's Table 1, with a chance row, a calibration line, a per-attribute
    table and the provenance of the run.

    Columns: action top-1 (%); the worst-case cMAP (%) over the attackers run (the row's headline leakage: per
    seed the highest cMAP of any attacker); then each attacker's cMAP (%) and F1 (frame, video and, when run,
    fine-tuned); each "mean ± std" over seeds (just the mean for one seed, "-" when not measured). When any method
    has them, the best single-frame cMAP (%) and the keep-mask flicker rate follow. The last row is chance level;
    under the table a calibration line (see [`calibration`]) says whether Raw is far from chance. A row reused
    from an earlier run (`extra["cached"]`) is marked with a dagger. The per-attribute table gives, for every
    method and attribute, the AP (%) of the attacker that leaks that attribute most, and the chance AP.

    Args:
        results (`BenchmarkResults`): the methods and chance levels.
        min_gap (`float`, *optional*, defaults to 0.05): calibration margin.
        raw_name (`str`, *optional*, defaults to `"Raw"`): the unanonymized method.

    Returns:
        `str`: Markdown text (caption line, table, notes).
    """
    columns: list[tuple[str, str, bool]] = [("Action top-1 (%) ↑", "action_top1", True)]
    if any(method.has("worst_cmap") for method in results.methods):
        columns.append(("**Worst-case cMAP (%)** ↓", "worst_cmap", True))
    columns += [
        ("Frame attacker cMAP (%) ↓", "frame_cmap", True),
        ("Frame attacker F1 ↓", "frame_f1", False),
        ("Video attacker cMAP (%) ↓", "video_cmap", True),
        ("Video attacker F1 ↓", "video_f1", False),
    ]
    if any(method.has("finetuned_cmap") for method in results.methods):
        columns += [("Fine-tuned attacker cMAP (%) ↓", "finetuned_cmap", True),
                    ("Fine-tuned attacker F1 ↓", "finetuned_f1", False)]
    if any(method.has("best_single_frame_cmap") for method in results.methods):
        columns.append(("Best single-frame cMAP (%) ↓", "best_single_frame_cmap", True))
    if any(method.has("flicker_rate") for method in results.methods):
        columns.append(("Mask flicker (%)", "flicker_rate", True))

    chance_values = {
        "action_top1": results.chance.action_top1,
        "frame_f1": results.chance.f1,
        "video_f1": results.chance.f1,
        "finetuned_f1": results.chance.f1,
        "flicker_rate": None,
    }
    seeds = sorted({len(method.action_top1) for method in results.methods if method.action_top1})
    caption = f"Results on {results.dataset}" if results.dataset else "Results"
    if results.split:
        caption += f", {results.split} split"
    if seeds:
        count = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
        caption += f" (mean ± std over {count} seeds of fresh models)."
    else:
        caption += "."
    lines = [caption, ""]
    lines.append("| Method | " + " | ".join(title for title, _, _ in columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    cached = [method for method in results.methods if method.extra.get("cached")]
    for method in results.methods:
        cells = [_cell(method, metric, percent) for _, metric, percent in columns]
        name = method.name + (" †" if method.extra.get("cached") else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    chance_cells = [_chance_cell(chance_values.get(metric, results.chance.cmap), percent)
                    for _, metric, percent in columns]
    lines.append("| Chance | " + " | ".join(chance_cells) + " |")
    lines.append("")
    lines.append(
        "Higher top-1 is better; lower cMAP and F1 are better (less privacy leaks). "
        "Chance: the most frequent action class; a blind attacker "
        "(cMAP = mean attribute prevalence; F1 = always predicting present)."
    )
    if any(method.has("worst_cmap") for method in results.methods):
        lines.append("")
        lines.append(
            "Worst-case cMAP: per seed, the highest cMAP of the attackers run (the headline leakage of a row). "
            "Frame attacker: a 2D CNN per frame, logits averaged over time; video attacker: a 2D CNN per frame "
            "whose feature maps are joined over time by spatio-temporal convolutions (it sees motion); fine-tuned "
            "attacker: trained on raw training video, then fine-tuned on the method's anonymized training video "
            "(on Raw, the raw-trained attacker itself)."
        )
    if cached:
        lines.append("")
        lines.append(
            "† reused from an earlier run with the same data and fresh-model settings (key "
            + ", ".join(f"`{str(method.extra['cached'])[:12]}`" for method in cached)
            + "), not retrained."
        )
    lines.append("")
    lines.append(calibration(results, min_gap=min_gap, raw_name=raw_name).message)
    per_attribute = per_attribute_table(results)
    if per_attribute:
        lines += ["", per_attribute.rstrip("\n")]
    record = results.metadata.get("provenance")
    if record:
        from .provenance import provenance_line

        lines += ["", provenance_line(record)]
    return "\n".join(lines) + "\n"


def per_attribute_table(results: BenchmarkResults) -> str:
    """A Markdown table of the leakage of every attribute: for each method, the AP (%) of the attacker that
    leaks the attribute most (mean over seeds; which attacker in brackets), and the chance AP of each attribute.

    Returns:
        `str`: the table with its caption, or `""` when no method has per-attribute results.
    """
    names: list[str] = []
    for method in results.methods:
        for kinds in method.per_attribute.values():
            names += [name for name in kinds.get("ap", {}) if name not in names]
    if not names:
        return ""
    caption = (
        "Per-attribute leakage: AP (%) of the attacker that leaks each attribute most (mean over seeds; "
        "f = frame, v = video, ft = fine-tuned attacker). Every attacker's AP and F1 per attribute and seed are in "
        "the results JSON."
    )
    lines = [
        caption,
        "",
        "| Method | " + " | ".join(f"{name} ↓" for name in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    short = {"frame": "f", "video": "v", "finetuned": "ft"}
    for method in results.methods:
        cells = []
        for name in names:
            scores = {attacker: method.attribute_mean(attacker, name) for attacker in method.per_attribute}
            scores = {attacker: value for attacker, value in scores.items() if math.isfinite(value)}
            if not scores:
                cells.append("-")
                continue
            attacker = max(scores, key=scores.get)
            cells.append(f"{100 * scores[attacker]:.1f} ({short.get(attacker, attacker)})")
        lines.append(f"| {method.name} | " + " | ".join(cells) + " |")
    chance = results.chance.per_attribute or {}
    lines.append("| Chance | " + " | ".join(_chance_cell(chance.get(name), True) for name in names) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated in (low privacy cMAP, high action top-1), ordered by cMAP.

    A point is dominated when another has lower-or-equal cMAP and higher-or-equal top-1, one of them
    strictly.

    Args:
        points (`Sequence[tuple[float, float]]`): ``(cmap, top1)`` pairs.

    Returns:
        `list[int]`: indices into ``points``, by increasing cMAP.
    """
    order = sorted(range(len(points)), key=lambda index: (points[index][0], -points[index][1]))
    front: list[int] = []
    best_top1 = -math.inf
    for index in order:
        if points[index][1] > best_top1:
            front.append(index)
            best_top1 = points[index][1]
    return front


def _new_figure(width: float, height: float):
    # A bare Figure renders through the Agg backend on savefig without touching pyplot's global state.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_tradeoff(
    results: BenchmarkResults,
    sweep: Sequence[MethodResult],
    path: str | Path,
    attacker: str = "frame",
    title: str | None = None,
) -> Path:
    """The utility-privacy trade-off: action top-1 against privacy cMAP, as a PNG.

    Every method of ``results`` is a point with error bars (std over seeds); the blind attacker's cMAP is a
    vertical dashed line (and the action chance level a horizontal dotted one); the ``sweep`` of VidAnon
    settings (e.g. several ``lambda_priv`` or keep rates) is drawn as labelled points with its Pareto front
    (lower cMAP, higher top-1) joined by a line. Top-left is best.

    Args:
        results (`BenchmarkResults`): methods and chance levels.
        sweep (`Sequence[MethodResult]`): VidAnon at several settings; may be empty.
        path (`str` or `Path`): the PNG to write.
        attacker (`str`, *optional*, defaults to `"frame"`): `"frame"` or `"video"`, whose cMAP is the x axis.
        title (`str`, *optional*): figure title.

    Returns:
        `Path`: the file written.
    """
    if attacker not in ("frame", "video"):
        raise ValueError(f"`attacker` must be 'frame' or 'video', got {attacker!r}.")
    cmap_metric = f"{attacker}_cmap"
    figure = _new_figure(7.0, 5.0)
    axes = figure.add_subplot()
    plotted = 0
    for index, method in enumerate(results.methods):
        if not (method.has("action_top1") and method.has(cmap_metric)):
            logger.warning("Method %s lacks action top-1 or %s cMAP: not plotted.", method.name, attacker)
            continue
        x, y = 100 * method.mean(cmap_metric), 100 * method.mean("action_top1")
        axes.errorbar(
            x,
            y,
            xerr=100 * method.std(cmap_metric),
            yerr=100 * method.std("action_top1"),
            fmt="o",
            color=f"C{index % 10}",
            capsize=3,
            label=method.name,
        )
        axes.annotate(method.name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        plotted += 1
    sweep_points = [
        (100 * point.mean(cmap_metric), 100 * point.mean("action_top1"), point)
        for point in sweep
        if point.has(cmap_metric) and point.has("action_top1")
    ]
    if sweep_points:
        for x, y, point in sweep_points:
            axes.errorbar(
                x,
                y,
                xerr=100 * point.std(cmap_metric),
                yerr=100 * point.std("action_top1"),
                fmt="s",
                color="black",
                markersize=4,
                capsize=2,
                alpha=0.7,
            )
            axes.annotate(point.name, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        front = pareto_front([(x, y) for x, y, _ in sweep_points])
        axes.plot(
            [sweep_points[i][0] for i in front],
            [sweep_points[i][1] for i in front],
            "-",
            color="black",
            linewidth=1.5,
            label="VidAnon sweep (Pareto front)",
        )
        plotted += len(sweep_points)
    if plotted == 0:
        raise ValueError("Nothing to plot: no method or sweep point has both action top-1 and cMAP.")
    axes.axvline(
        100 * results.chance.cmap, color="grey", linestyle="--", label="chance cMAP (blind attacker)"
    )
    axes.axhline(100 * results.chance.action_top1, color="grey", linestyle=":", label="chance top-1")
    axes.set_xlabel(f"{attacker}-level privacy attacker cMAP (%)  ← more private")
    axes.set_ylabel("action top-1 (%)  ↑ more useful")
    axes.set_title(
        title
        or (
            f"Utility-privacy trade-off on {results.dataset}"
            if results.dataset
            else "Utility-privacy trade-off"
        )
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="best")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    logger.info("Wrote trade-off plot to %s", path)
    return path


def _as_video_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().float().cpu().numpy()
    array = np.asarray(value, dtype=np.float32)
    if array.ndim != 5:
        raise ValueError(f"`{name}` must have shape (N, T, C, H, W), got {array.shape}.")
    if array.shape[2] not in (1, 3):
        raise ValueError(f"`{name}` must have 1 or 3 channels, got {array.shape[2]} (shape {array.shape}).")
    return array


def plot_figure2(
    raw: Any,
    anonymized: Any,
    path: str | Path,
    frames: int = 4,
    clip_names: Sequence[str] | None = None,
) -> Path:
    """Raw frames above anonymized frames for a few clips (the paper's Figure 2), as a PNG.

    Each clip takes two rows: its raw frames, then the same frames anonymized. ``frames`` frame positions
    are spread evenly over the clip.

    Args:
        raw (`array-like` of shape `(N, T, C, H, W)`): clips in [0, 1] (numpy or torch), C = 1 or 3.
        anonymized (`array-like` of shape `(N, T, C, H, W)`): the same clips anonymized (same shape).
        path (`str` or `Path`): the PNG to write.
        frames (`int`, *optional*, defaults to 4): frame positions per clip (at most T).
        clip_names (`Sequence[str]`, *optional*): one label per clip.

    Returns:
        `Path`: the file written.
    """
    raw_array = _as_video_array(raw, "raw")
    anonymized_array = _as_video_array(anonymized, "anonymized")
    if raw_array.shape != anonymized_array.shape:
        raise ValueError(
            f"`raw` {raw_array.shape} and `anonymized` {anonymized_array.shape} must have the same shape."
        )
    num_clips, num_frames = raw_array.shape[:2]
    if num_clips == 0:
        raise ValueError("`raw` holds no clip.")
    if not 1 <= frames <= num_frames:
        raise ValueError(f"`frames` must be between 1 and T = {num_frames}, got {frames}.")
    if clip_names is not None and len(clip_names) != num_clips:
        raise ValueError(f"`clip_names` has {len(clip_names)} names for {num_clips} clips.")
    positions = np.linspace(0, num_frames - 1, frames).round().astype(int)
    height, width = raw_array.shape[3:]
    cell = 1.6
    figure = _new_figure(cell * frames * width / max(height, width) + 0.8, cell * 2 * num_clips + 0.3)
    grid = figure.subplots(2 * num_clips, frames, squeeze=False)
    for clip in range(num_clips):
        label = clip_names[clip] if clip_names is not None else f"clip {clip}"
        for row, (array, kind) in enumerate(((raw_array, "raw"), (anonymized_array, "anonymized"))):
            for column, position in enumerate(positions):
                axes = grid[2 * clip + row, column]
                image = np.clip(array[clip, position].transpose(1, 2, 0), 0.0, 1.0)
                if image.shape[2] == 1:
                    axes.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
                else:
                    axes.imshow(image)
                axes.set_xticks([])
                axes.set_yticks([])
                if column == 0:
                    axes.set_ylabel(f"{label}\n{kind}", fontsize=8)
                if clip == 0 and row == 0:
                    axes.set_title(f"frame {position}", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    logger.info("Wrote raw/anonymized frame grid of %d clips to %s", num_clips, path)
    return path
