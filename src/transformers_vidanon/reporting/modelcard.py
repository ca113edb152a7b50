"""Model cards for trained VidAnon anonymizers (pushing one with its model: `reporting.hub`).

The card template is `transformers_vidanon/templates/model_card.md` (shipped inside the package, read with
`importlib.resources`; it is the only copy). It is a Markdown file with `string.Template` placeholders (`$name`);
[`render_model_card`] fills them from the model configuration, the evaluation results and the training
arguments. The YAML front matter is written with PyYAML, so it always parses.

The results dict (what the evaluation produces, as plain data):

```python
{
    "dataset": "SynthPrivacy",            # name of the evaluation data (required)
    "seeds": 3,                           # fresh models per method (optional)
    "chance_cmap": 0.58,                  # cMAP of a blind attacker on the test labels (required)
    "chance_top1": 0.17,                  # optional: the best constant action guess
    "chance_f1": 0.61,                    # optional: F1 of an attacker that always says "present"
    "quick": False,                       # optional: True for a smoke run (never a Hub result)
    "methods": {                          # one entry per anonymizer; "raw" and "vidanon" expected
        "raw": {"action_top1": {"mean": 0.85, "std": 0.01}, "frame_cmap": {...}, "frame_f1": {...},
                "video_cmap": {...}, "video_f1": {...}},
        "vidanon": {...},                 # this model's row (also the model-index entry)
    },
}
```

Every metric is a fraction in [0, 1], given as `{"mean": m, "std": s}` (std optional) or a plain number; a
metric that was not measured is left out (or `None`). `reporting.BenchmarkResults` objects are accepted
too ([`results_from_benchmark`] converts them). Without results the card says "not evaluated" and carries no
model-index: no number is ever invented.

What the card claims follows from what was measured:
- a `model-index` (the Hub's results widget) only from a calibrated run: the Raw row must be clearly above chance
  on action top-1 and on the attacker's cMAP (the rule of `reporting.calibration`), and the run must be
  neither a smoke run (`quick`) nor a single seed (a `--quick` benchmark has one). Otherwise the table is still
  shown, under a warning, and the metadata has no results;
- "±" only with two seeds or more;
- `datasets` metadata only for Hub dataset ids (`owner/name`); the package's own data sets (SynthPrivacy, UCF101,
  ...) are named once in the text, under one name;
- the arguments table leaves out local paths (folders and files of the machine that trained);
- framework versions are listed as in transformers' Trainer cards.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import yaml

from ..configuration_vidanon import VidAnonConfig
from ..fileutils import write_text_atomically
from ..pruning import surviving_tubelets
from .results import calibration_checks
from .tables import format_value, markdown_rows

logger = logging.getLogger(__name__)

TEMPLATE_PACKAGE = "transformers_vidanon"
TEMPLATE_PATH = ("templates", "model_card.md")

CARD_TAGS: tuple[str, ...] = ("privacy", "video-classification", "anonymization", "token-pruning", "vidanon")

# key, table header, model-index type, model-index name, shown in percent
METRICS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("action_top1", "Action top-1 (%)", "accuracy", "Action top-1, fresh action model (higher is better)", True),
    ("frame_cmap", "Frame cMAP (%)", "cmap", "Privacy cMAP, frame-level attacker (lower is better)", True),
    ("frame_f1", "Frame F1", "f1", "Privacy F1, frame-level attacker (lower is better)", False),
    ("video_cmap", "Video cMAP (%)", "cmap", "Privacy cMAP, video-level attacker (lower is better)", True),
    ("video_f1", "Video F1", "f1", "Privacy F1, video-level attacker (lower is better)", False),
)
METRIC_KEYS: tuple[str, ...] = tuple(metric[0] for metric in METRICS)
MODEL_METHOD = "vidanon"
RAW_METHOD = "raw"
CALIBRATION_MIN_GAP = 0.05  # the margin of `reporting.calibration`

# the package's data set names (training arguments, results) -> the one name a card uses
DATASET_NAMES: dict[str, str] = {
    "synth": "SynthPrivacy",
    "synthprivacy": "SynthPrivacy",
    "ucf101": "UCF101",
    "hmdb51": "HMDB51",
    "vp_ucf101": "VP-UCF101",
    "vp_hmdb51": "VP-HMDB51",
    "pa_hmdb51": "PA-HMDB51",
    "ucf101_vispr": "UCF101 + VISPR",
}
# training arguments that hold local paths: never written into a card
PATH_ARGUMENTS: frozenset[str] = frozenset({
    "output_dir", "data_dir", "manifest", "split_dir", "privacy_labels", "pa_annotations", "vispr_dir",
    "vispr_annotation_dir", "resume_from_checkpoint", "logging_dir", "config",
})
FRAMEWORKS: tuple[tuple[str, str], ...] = (
    ("transformers-vidanon", "transformers_vidanon"), ("transformers", "Transformers"), ("torch", "PyTorch"),
    ("accelerate", "Accelerate"), ("datasets", "Datasets"),
)


def load_template() -> str:
    """The card template shipped in the package (`templates/model_card.md`)."""
    return resources.files(TEMPLATE_PACKAGE).joinpath(*TEMPLATE_PATH).read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------------------
def results_from_benchmark(benchmark: Any) -> dict[str, Any]:
    """Convert an `reporting.BenchmarkResults` into the plain results dict (see the module docstring)."""
    methods: dict[str, dict[str, dict[str, float]]] = {}
    seeds = 0
    for method in benchmark.methods:
        row = {}
        for key in METRIC_KEYS:
            if method.has(key):
                row[key] = {"mean": method.mean(key), "std": method.std(key)}
                seeds = max(seeds, method.num_seeds(key))
        methods[method.name] = row
    chance = benchmark.chance
    results: dict[str, Any] = {
        "dataset": benchmark.dataset or "unnamed",
        "seeds": seeds,
        "chance_cmap": chance.cmap,
        "chance_top1": chance.action_top1,
        "methods": methods,
    }
    if getattr(chance, "f1", None) is not None:
        results["chance_f1"] = chance.f1
    metadata = getattr(benchmark, "metadata", None) or {}
    if metadata.get("quick") or (metadata.get("benchmark") or {}).get("quick"):
        results["quick"] = True
    return results


def _fraction(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where} must be a number in [0, 1], got {value!r}.")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{where} must be a fraction in [0, 1] (not a percentage), got {value!r}.")
    return float(value)


def _metric(value: Any, where: str) -> tuple[float, float | None] | None:
    """`(mean, std or None)` of one metric entry, or None when it was not measured."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        unknown = set(value) - {"mean", "std", "num_seeds"}
        if unknown or "mean" not in value:
            raise ValueError(f"{where} must be {{'mean': ..., 'std': ...}}, got keys {sorted(value)}.")
        if value["mean"] is None or (isinstance(value["mean"], float) and math.isnan(value["mean"])):
            return None
        mean = _fraction(value["mean"], f"{where}['mean']")
        std = value.get("std")
        if std is None or (isinstance(std, float) and math.isnan(std)):
            return mean, None
        return mean, _fraction(std, f"{where}['std']")
    if isinstance(value, float) and math.isnan(value):
        return None
    return _fraction(value, where), None


def normalize_results(results: Mapping[str, Any] | Any) -> dict[str, Any]:
    """Validate a results dict (or `BenchmarkResults`) and bring every metric to `(mean, std or None)`.

    Returns:
        `dict` with `dataset` (str), `seeds` (int or None), `chance_cmap` (float), `chance_top1` and `chance_f1`
        (float or None), `methods` (`{name: {metric: (mean, std)}}`, names as given, order kept).

    Raises:
        ValueError: a missing entry, an unknown metric, or a value outside [0, 1], named by its place in the dict.
    """
    if not isinstance(results, Mapping):
        if hasattr(results, "methods") and hasattr(results, "chance"):
            results = results_from_benchmark(results)
        else:
            raise ValueError(f"`results` must be a dict (see transformers_vidanon.reporting.modelcard), got {type(results).__name__}.")
    for key in ("dataset", "chance_cmap", "methods"):
        if key not in results:
            raise ValueError(f"`results` has no {key!r} entry (see transformers_vidanon.reporting.modelcard for the layout).")
    if not isinstance(results["methods"], Mapping) or not results["methods"]:
        raise ValueError("results['methods'] must be a non-empty dict of method name -> metrics.")
    methods: dict[str, dict[str, tuple[float, float | None]]] = {}
    for name, row in results["methods"].items():
        if not isinstance(row, Mapping):
            raise ValueError(f"results['methods'][{name!r}] must be a dict of metrics, got {type(row).__name__}.")
        unknown = set(row) - set(METRIC_KEYS)
        if unknown:
            raise ValueError(
                f"results['methods'][{name!r}] has unknown metric(s) {sorted(unknown)}; known: {', '.join(METRIC_KEYS)}."
            )
        parsed = {key: _metric(row.get(key), f"results['methods'][{name!r}][{key!r}]") for key in METRIC_KEYS}
        methods[str(name)] = {key: value for key, value in parsed.items() if value is not None}
    seeds = results.get("seeds")
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"results['seeds'] must be an integer >= 1, got {seeds!r}.")
    optional = {}
    for key in ("chance_top1", "chance_f1"):
        optional[key] = None if results.get(key) is None else _fraction(results[key], f"results[{key!r}]")
    if seeds == 1:  # one seed has no spread: the std is not shown
        methods = {name: {key: (mean, None) for key, (mean, _) in row.items()} for name, row in methods.items()}
    return {
        "dataset": dataset_display_name(str(results["dataset"])),
        "quick": bool(results.get("quick", False)),
        "seeds": seeds,
        "chance_cmap": _fraction(results["chance_cmap"], "results['chance_cmap']"),
        **optional,
        "methods": methods,
    }


def dataset_display_name(name: str) -> str:
    """The one name a card uses for a data set (`"synth"` and `"SynthPrivacy"` are both `"SynthPrivacy"`)."""
    return DATASET_NAMES.get(name.strip().lower().replace("-", "_"), name)


def _is_hub_id(value: str) -> bool:
    """`owner/name` and nothing that looks like a local path."""
    return (
        value.count("/") == 1 and not value.startswith((".", "/", "~")) and "\\" not in value
        and all(part.strip() for part in value.split("/")) and not os.path.exists(value)
    )


def _is_local_path(key: str, value: Any) -> bool:
    if key in PATH_ARGUMENTS:
        return value is not None
    if not isinstance(value, str) or not value:
        return False
    if key == "model_name_or_path":
        return not (_is_hub_id(value) or "/" not in value and not os.path.exists(value))
    return value.startswith(("/", "./", "../", "~")) or os.path.isabs(value)


def calibration_check(results: dict[str, Any]) -> tuple[bool, str]:
    """Whether normalised results can tell anonymizers apart, and why: `reporting.results.calibration_checks` (the
    rule of the results tables) on the Raw row."""
    raw_key = _find_method(results["methods"], RAW_METHOD)
    if raw_key is None:
        return False, "there is no Raw row to calibrate against"
    checks = calibration_checks(results["methods"][raw_key], results["chance_top1"], results["chance_cmap"],
                                CALIBRATION_MIN_GAP)
    if len(checks) == 1:
        return False, "the attackers' cMAP on Raw video was not measured"
    for check in checks:
        if check.mean is None or check.chance is None:
            return False, f"Raw {check.label} or its chance level was not measured"
        if not check.passed:
            return False, (f"Raw {check.label} ({100 * check.mean:.1f}%) is not clearly above chance "
                           f"({100 * check.chance:.1f}%)")
    return True, "Raw is clearly above chance on every measure"


def _find_method(methods: Mapping[str, Any], name: str) -> str | None:
    for key in methods:
        if key.lower() == name:
            return key
    return None


def _cell(value: tuple[float, float | None] | None, percent: bool) -> str:
    return "-" if value is None else format_value(value[0], value[1], percent)


def _results_section(results: dict[str, Any] | None) -> str:
    if results is None:
        return (
            "**Not evaluated.** No evaluation results were given when this card was written, so it reports no "
            "numbers. Measure the leakage with `vidanon evaluate` (fresh action and privacy models trained from "
            "scratch on this model's anonymized videos, compared with the raw videos and with chance level) and "
            "regenerate the card with the results."
        )
    methods = results["methods"]
    raw_key, model_key = _find_method(methods, RAW_METHOD), _find_method(methods, MODEL_METHOD)
    order = ([raw_key] if raw_key else []) + [k for k in methods if k not in (raw_key, model_key)]
    order += [model_key] if model_key else []
    rows = []
    for name in order:
        label = "Raw (no anonymization)" if name == raw_key else ("**This model**" if name == model_key else name)
        rows.append([label, *[_cell(methods[name].get(key), percent) for key, _, _, _, percent in METRICS]])
    chance = {
        "action_top1": results["chance_top1"],
        "frame_cmap": results["chance_cmap"],
        "video_cmap": results["chance_cmap"],
        "frame_f1": results["chance_f1"],
        "video_f1": results["chance_f1"],
    }
    rows.append(["Chance level", *[format_value(chance[key], None, percent) for key, _, _, _, percent in METRICS]])
    lines = markdown_rows(["Method", *[metric[1] for metric in METRICS]], rows)
    seeds = results["seeds"]
    if seeds == 1:
        spread = "result of one seed (no spread is known)"
    elif seeds:
        spread = f"mean ± standard deviation over {seeds} seeds"
    else:
        spread = "mean (± standard deviation over seeds, where given)"
    warnings = []
    if results["quick"]:
        warnings.append(
            "**Smoke run, not a result.** These numbers come from a shortened run (`--quick`: few videos, one seed, "
            "short training) that only checks the pipeline works; they are not reported as the model's results."
        )
    if seeds == 1 and not results["quick"]:
        warnings.append(
            "**One seed: not reported as the model's results.** With a single fresh-model seed the spread is unknown, "
            "so these numbers are shown here but not as Hub results."
        )
    calibrated, reason = calibration_check(results)
    if not calibrated:
        warnings.append(
            f"**Uncalibrated: these numbers cannot rank anonymizers.** {reason[0].upper() + reason[1:]}, so neither a "
            "utility loss nor a privacy gain can be shown; they are not reported as the model's results."
        )
    text = [*[item for warning in warnings for item in (warning, "")],
        (
            f"Measured on **{results['dataset']}** with the leakage protocol: the anonymizer is frozen, and new models are "
        "trained from scratch on its anonymized videos: an action model (action top-1, higher is better) and "
        "privacy attackers, one per frame with logits averaged over time (frame-level) and one on whole clips "
        "(video-level) (privacy cMAP and mean per-attribute F1 at threshold 0.5, lower is better: less leakage). "
            f"Each number is the {spread}. The Raw row is the same protocol on the unmodified videos."
        ),
        "",
        *lines,
        "",
        (
            "Chance level: a blind privacy attacker (one that only knows how often each attribute occurs) already "
            f"scores a cMAP of {100 * results['chance_cmap']:.2f}% on these labels, so privacy cMAP should be read "
            "against that number, not against 0."
        ),
    ]
    return "\n".join(text)


def _model_index(model_name: str, results: dict[str, Any]) -> list[dict[str, Any]] | None:
    model_key = _find_method(results["methods"], MODEL_METHOD)
    if model_key is None or results["quick"] or results["seeds"] == 1 or not calibration_check(results)[0]:
        return None
    row = results["methods"][model_key]
    metrics = [
        {"name": name, "type": metric_type, "value": round(row[key][0], 4)}
        for key, _, metric_type, name, _ in METRICS
        if key in row
    ]
    if not metrics:
        return None
    dataset = results["dataset"]
    return [
        {
            "name": model_name,
            "results": [
                {
                    "task": {"type": "video-classification", "name": "Privacy-preserving action recognition"},
                    "dataset": {"type": dataset.lower().replace(" ", "-"), "name": dataset},
                    "metrics": metrics,
                }
            ],
        }
    ]


# ----------------------------------------------------------------------------------------------------------------------
# Model and training sections
# ----------------------------------------------------------------------------------------------------------------------
def _surviving_tubelets(config: Any) -> int:
    """Tubelets left after every pruning layer (the model's selection rule)."""
    return surviving_tubelets(config.tubelet_grid, config.keep_rates(), config.fuse_pruned_tokens,
                              config.temporal_consistency)


def _names(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(f"`{name}`" for name in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _architecture(config: Any) -> str:
    height, width = (config.image_size,) * 2 if isinstance(config.image_size, int) else tuple(config.image_size)
    grid = config.tubelet_grid
    total = config.num_tubelets
    kept = _surviving_tubelets(config)
    if config.pruning_layers:
        pruning = (
            f"after the attention block of layers {list(config.pruning_layers)} (0-based), keep rate "
            f"{config.keep_rate}, "
            + ("ranked by the pixel scorer (a per-tubelet classifier of the tubelet's own pixels), "
               if config.pruning_score == "pixels" else f"`lambda_priv` = {config.lambda_priv}, ")
            + f"{'same spatial positions in every time slot' if config.temporal_consistency == 'tube' else 'tubelet by tubelet'}"
            f"{', pruned tubelets fused into one token' if config.fuse_pruned_tokens else ''}: "
            f"{kept} of {total} tubelets ({100 * kept / total:.1f}%) survive, the others are set to black"
        )
    else:
        pruning = "none (this checkpoint prunes no tubelet)"
    labels = [config.id2label[i] for i in sorted(config.id2label)] if getattr(config, "id2label", None) else []
    lines = [
        (
            f"- Input: {config.num_frames} frames of {height}x{width} pixels, RGB in [0, 1] (normalised inside the "
            f"model); tubelets of {config.tubelet_size}x{config.patch_size}x{config.patch_size} "
            f"(frames x pixels x pixels), a {grid[0]}x{grid[1]}x{grid[2]} grid of {total} tubelets."
        ),
        (
            f"- Encoder: {config.num_hidden_layers} layers, width {config.hidden_size}, "
            f"{config.num_attention_heads} heads, MLP {config.intermediate_size}, {config.position_embedding_type} "
            "position embeddings, two classification tokens (action, privacy)."
        ),
        f"- Pruning: {pruning}.",
        f"- Action head: {config.num_labels} classes" + (f" ({_names(labels)})." if labels else "."),
        (
            f"- Privacy head (behind gradient reversal): {config.num_privacy_labels} binary attributes "
            f"({_names(list(config.privacy_label_names))})."
        ),
    ]
    return "\n".join(lines)


def _table(header: tuple[str, str], items: Mapping[str, Any]) -> str:
    rows = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    for key, value in items.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        text = str(value).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{key}` | {text} |")
    return "\n".join(rows)


def _training_section(
    training_args: Mapping[str, Any] | None, base_model: str | None, training_metrics: Mapping[str, Any] | None = None
) -> str:
    parts = []
    if base_model:
        parts.append(f"Initialised from [`{base_model}`](https://huggingface.co/{base_model}).")
    if training_metrics:
        metrics_text = (
            "Final metrics of the anonymizer's own heads during training (these are not the leakage protocol: its "
            "privacy head is trained against the encoder and says little about what a fresh attacker recovers):"
        )
    if not training_args:
        parts.append("Training data and recipe were not recorded with this card.")
        if training_metrics:
            parts += [metrics_text, _table(("Metric", "Value"), training_metrics)]
        return "\n\n".join(parts)
    parts.append(
        "Trained adversarially: action cross-entropy plus the privacy head's binary cross-entropy behind a gradient "
        "reversal layer, so the privacy head learns to predict the attributes while the encoder is pushed to prune "
        "what reveals them. Recorded arguments:"
    )
    shown = {key: value for key, value in training_args.items() if not _is_local_path(key, value)}
    if "dataset" in shown and isinstance(shown["dataset"], str):
        shown["dataset"] = dataset_display_name(shown["dataset"])
    parts.append(_table(("Argument", "Value"), shown))
    if len(shown) < len(training_args):
        parts.append("Local paths of the training machine (data, output and checkpoint folders) are left out.")
    if training_metrics:
        parts += [metrics_text, _table(("Metric", "Value"), training_metrics)]
    return "\n\n".join(parts)


def framework_versions() -> str:
    """The installed versions of the libraries the model was saved with, as a Markdown list."""
    lines = []
    for distribution, label in FRAMEWORKS:
        try:
            lines.append(f"- {label} {importlib.metadata.version(distribution)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return "\n".join(lines)


def _usage(repo_id: str) -> str:
    return "\n".join(
        [
            "from transformers import pipeline",
            "from transformers_vidanon.inference.anonymize import anonymize_video, load_anonymizer",
            "",
            "# anonymize a video file (same frame count, frame rate and size; audio dropped)",
            f'model, processor = load_anonymizer("{repo_id}")',
            'anonymize_video(model, processor, "input.mp4", "anonymized.mp4", preview_path="preview.png")',
            "",
            "# or in memory, through a pipeline (importing transformers_vidanon registers the task)",
            f'anonymizer = pipeline("video-anonymization", model="{repo_id}")',
            'result = anonymizer("input.mp4")  # result["frames"]: (T, H, W, 3) uint8',
            "",
            "# action labels from the action head",
            f'classifier = pipeline("video-classification", model="{repo_id}")',
            'print(classifier("input.mp4"))',
        ]
    )


# ----------------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------------
def render_model_card(
    config: Any,
    results: Mapping[str, Any] | Any | None = None,
    training_args: Mapping[str, Any] | None = None,
    base_model: str | None = None,
    repo_id: str | None = None,
    model_name: str | None = None,
    license: str = "apache-2.0",
    training_metrics: Mapping[str, Any] | None = None,
) -> str:
    """The model card (README.md) of a VidAnon anonymizer, as Markdown with YAML front matter.

    Args:
        config (`VidAnonConfig`): the model's configuration.
        results (`dict` or `BenchmarkResults`, *optional*): evaluation results (layout in the module docstring).
            `None`: the card says "not evaluated" and has no model-index.
        training_args (`dict`, *optional*): training arguments to list (JSON-like values); a `dataset` entry also
            fills the `datasets` metadata. `None`: "not recorded".
        base_model (`str`, *optional*): Hub id of the checkpoint the model was initialised from.
        repo_id (`str`, *optional*): where the model lives, used in the code examples.
        model_name (`str`, *optional*): title of the card; defaults to the repository name or "VidAnon anonymizer".
        license (`str`, *optional*, defaults to `"apache-2.0"`): license identifier for the metadata.
        training_metrics (`dict`, *optional*): final metrics of the training run (e.g. the anonymizer's own heads on
            its validation split), listed in the training section and kept apart from the leakage results.

    Returns:
        `str`: the card.

    Raises:
        ValueError: malformed results (the message names the entry).
    """
    normalized = None if results is None else normalize_results(results)
    if model_name is None:
        model_name = repo_id.split("/")[-1] if repo_id else "VidAnon anonymizer"
    metadata: dict[str, Any] = {
        "library_name": "transformers",
        "pipeline_tag": "video-classification",
        "license": license,
        "tags": list(CARD_TAGS),
    }
    # only Hub dataset ids go into the metadata (a local name there would link to a page that does not exist)
    datasets = []
    for name in ((training_args or {}).get("dataset"), normalized["dataset"] if normalized else None):
        if isinstance(name, str) and _is_hub_id(name) and name not in datasets:
            datasets.append(name)
    if datasets:
        metadata["datasets"] = datasets
    if base_model:
        metadata["base_model"] = base_model
    if normalized is not None:
        model_index = _model_index(model_name, normalized)
        if model_index is None:
            logger.warning(
                "The card's model-index is left out: the results have no %r method, are a smoke run, have one seed "
                "or are uncalibrated.", MODEL_METHOD,
            )
        else:
            metadata["model-index"] = model_index
    front_matter = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000).strip()
    return Template(load_template()).substitute(
        front_matter=front_matter,
        model_name=model_name,
        repo_id=repo_id or "path/or/repo-id",
        architecture=_architecture(config),
        usage_code=_usage(repo_id or "path/or/repo-id"),
        training_section=_training_section(training_args, base_model, training_metrics),
        results_section=_results_section(normalized),
        framework_versions=framework_versions(),
    )


def save_model_card(
    save_dir: str | os.PathLike,
    config: Any | None = None,
    results: Mapping[str, Any] | Any | None = None,
    training_args: Mapping[str, Any] | None = None,
    base_model: str | None = None,
    **render_kwargs: Any,
) -> Path:
    """Write `README.md` (the model card) into a saved model folder, atomically.

    Args:
        save_dir (`str` or `os.PathLike`): the model folder.
        config (`VidAnonConfig`, *optional*): defaults to the folder's `config.json`.
        results, training_args, base_model, render_kwargs: see [`render_model_card`].

    Returns:
        `Path`: the written README.md.

    Raises:
        FileNotFoundError: no `config` given and the folder has no `config.json`.
    """
    save_dir = Path(save_dir)
    if config is None:
        if not (save_dir / "config.json").is_file():
            raise FileNotFoundError(f"{str(save_dir)!r} has no config.json; pass `config`.")
        config = VidAnonConfig.from_pretrained(save_dir)
    card = render_model_card(config, results, training_args, base_model, **render_kwargs)
    save_dir.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(save_dir / "README.md", card)


__all__ = [
    "CARD_TAGS",
    "METRIC_KEYS",
    "load_template",
    "normalize_results",
    "render_model_card",
    "results_from_benchmark",
    "save_model_card",
]
