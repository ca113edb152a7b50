"""Markdown tables of results: the one cell format ("mean ± std", percent or fraction) and table layout used by
the results table (like the paper's Table 1), the per-attribute table and the model cards."""

from __future__ import annotations

import math

from .provenance import provenance_line
from .results import FRESH_MODEL_LABELS, BenchmarkResults, MethodResult, calibration


def format_value(mean: float | None, std: float | None = None, percent: bool = True) -> str:
    """The one cell format of every results table: `"mean ± std"` (percent with 2 decimals, or a fraction with 3),
    just the mean without a std, `"-"` for a value that was not measured."""
    if mean is None or not math.isfinite(mean):
        return "-"
    scale, digits = (100.0, 2) if percent else (1.0, 3)
    text = f"{scale * mean:.{digits}f}"
    return text if std is None or not math.isfinite(std) else f"{text} ± {scale * std:.{digits}f}"


def markdown_rows(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table: the header, the separator, then one line per row."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(row) + " |" for row in rows]


def _cell(method: MethodResult, metric: str, percent: bool) -> str:
    if not method.has(metric):
        return "-"
    std = method.std(metric) if method.num_seeds(metric) > 1 else None
    return format_value(method.mean(metric), std, percent)


def _chance_cell(value: float | None, percent: bool) -> str:
    return format_value(value, None, percent)


ATTACKER_LABELS = {"frame": "frame", "video": "video", "finetuned": "fine-tuned"}


def markdown_table(results: BenchmarkResults, min_gap: float = 0.05, raw_name: str = "Raw") -> str:
    """A Markdown table laid out like the paper's Table 1, with a chance row, a calibration line, a per-attribute
    table and the provenance of the run.

    Columns: action top-1 (%); the worst-case cMAP (%) over the attackers run (the row's headline leakage: per
    seed the highest cMAP of any attacker); then each attacker's cMAP (%) and F1 (frame, video and, when run,
    fine-tuned); each "mean ± std" over seeds (just the mean for one seed, "-" when not measured). When any method
    has them, the best single-frame cMAP (%) and the keep-mask flicker rate follow; the last column is the row's
    number of seeds. The last row is chance level; under the table a calibration line (see [`calibration`]) says
    whether Raw is far from chance and warns when an epoch cap bound a fresh model. A row reused from an earlier run
    (`extra["cached"]`) is marked with a dagger. When the rows carry them (`extra["convergence"]`), a table gives
    the epochs every fresh model ran of its cap and its best epoch; `metadata["raw_reference"]` (figures of the
    Raw row measured earlier) adds a line comparing the Raw row with it. The per-attribute table gives, for every
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
    cached = [method for method in results.methods if method.extra.get("cached")]
    rows = [[method.name + (" †" if method.extra.get("cached") else ""),
             *[_cell(method, metric, percent) for _, metric, percent in columns],
             str(len(method.action_top1)) if method.action_top1 else "-"] for method in results.methods]
    rows.append(["Chance", *[_chance_cell(chance_values.get(metric, results.chance.cmap), percent)
                             for _, metric, percent in columns], "-"])
    lines += markdown_rows(["Method", *[title for title, _, _ in columns], "Seeds"], rows)
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
    reference = raw_reference_line(results, raw_name)
    if reference:
        lines += ["", reference]
    lines.append("")
    lines.append(calibration(results, min_gap=min_gap, raw_name=raw_name).message)
    epochs = fresh_epochs_table(results)
    if epochs:
        lines += ["", epochs.rstrip("\n")]
    per_attribute = per_attribute_table(results)
    if per_attribute:
        lines += ["", per_attribute.rstrip("\n")]
    record = results.metadata.get("provenance")
    if record:
        lines += ["", provenance_line(record)]
    return "\n".join(lines) + "\n"


REFERENCE_METRICS = (("action top-1", "action_top1"), ("frame attacker", "frame_cmap"),
                     ("video attacker", "video_cmap"), ("fine-tuned attacker", "finetuned_cmap"))


def raw_reference_line(results: BenchmarkResults, raw_name: str = "Raw") -> str | None:
    """A line comparing the Raw row with `metadata["raw_reference"]` (`{"label": ..., metric: value}`, fractions):
    what the action model and every attacker reach on raw video now against then, so that a change of the fresh
    models that changes what an attacker reaches shows; None without a reference or a Raw row."""
    reference = results.metadata.get("raw_reference")
    try:
        raw = results.method(raw_name)
    except KeyError:
        return None
    if not reference:
        return None
    parts = []
    for label, metric in REFERENCE_METRICS:
        if metric in reference and raw.has(metric):
            now, then = 100 * raw.mean(metric), 100 * float(reference[metric])
            parts.append(f"{label} {then:.1f} -> {now:.1f} ({now - then:+.1f})")
    if not parts:
        return None
    return f"Raw row against {reference.get('label', 'an earlier run')}: " + ", ".join(parts) + "."


def fresh_epochs_table(results: BenchmarkResults) -> str:
    """A Markdown table of how every fresh model stopped: per row and model kind, per seed, the epochs run of the
    cap and the best (kept) epoch, `*` where the cap bound (`extra["convergence"]`; see `cap_bound_models`).

    Returns:
        `str`: the table with its caption, or `""` when no row carries its fresh models' epochs.
    """
    rows = [method for method in results.methods if method.extra.get("convergence")]
    if not rows:
        return ""
    kinds = [kind for kind in FRESH_MODEL_LABELS if any(kind in method.extra["convergence"] for method in rows)]
    caption = (
        "Fresh-model training: epochs run / epoch cap (best epoch) per seed, in seed order; `*`: the cap bound (it "
        "stopped the training, or the best epoch lies within the early-stopping patience of it). Early stopping "
        "(patience) ends a training; the cap is a safety bound."
    )
    table = []
    for method in rows:
        cells = []
        for kind in kinds:
            entry = method.extra["convergence"].get(kind)
            if not entry:
                cells.append("-")
                continue
            bound = set(entry.get("cap_bound_seeds", []))
            cells.append(", ".join(
                f"{epochs}/{entry.get('max_epochs')} ({best}){'*' if seed in bound else ''}"
                for seed, epochs, best in zip(entry["seeds"], entry["epochs"], entry["best_epochs"])))
        table.append([method.name, *cells])
    lines = [caption, "", *markdown_rows(["Method", *[FRESH_MODEL_LABELS[kind] for kind in kinds]], table)]
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


