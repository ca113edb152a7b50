"""The end-to-end SynthPrivacy benchmark (the README's main job).

Generate the data, train VidAnon, evaluate VidAnon, the random-pruning control and every baseline with the leakage
protocol, sweep VidAnon's inference-time settings (keep rate, lambda_priv, tubelet/tube) for its trade-off curve,
and write the results JSON, a Table-1-style Markdown table, the trade-off plot and a Figure-2-style grid.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ..data.synth import generate_synth_privacy
from ..evaluation.baselines import BASELINES
from ..evaluation.fresh_training import FreshModelConfig, bf16_is_fast
from ..evaluation.parallel import make_executor
from ..evaluation.protocol import (
    ProtocolConfig,
    baseline_anonymizer,
    evaluate_method,
    oracle_anonymizer,
    random_pruning_anonymizer,
    run_protocol,
    synth_protocol_data,
    vidanon_anonymizer,
)
from ..modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition
from ..reporting import MethodResult, markdown_table, plot_figure2, plot_tradeoff, write_results_json
from ..reporting.modelcard import results_from_benchmark, save_model_card
from ..training.arguments import build_arguments
from ..training.trainer import train_from_arguments

logger = logging.getLogger(__name__)

BENCHMARK_BASELINES = ("down2", "down4", "blackening", "strongblur")
"""The baselines of the table (besides Raw), by their `evaluation.baselines.BASELINES` names."""


def packaged_config(name: str) -> Path:
    """Path of a training config shipped with the package (`synthetic`, `vp_ucf101`, ...)."""
    path = Path(str(resources.files("transformers_vidanon") / "configs" / f"{name}.yaml"))
    if not path.is_file():
        raise FileNotFoundError(f"no packaged training config named {name!r} ({path})")
    return path


@dataclass
class BenchmarkConfig:
    """Settings of the SynthPrivacy benchmark (defaults: about 20 minutes on 2 CPU cores).

    Attributes:
        output_dir: everything is written here (data/, vidanon-*/, results.json, results.md, PNGs).
        num_videos / data_seed / image_size / video_frames: the generated SynthPrivacy set.
        recipes: which packaged training configs to train and evaluate: `synthetic` (the default recipe, chosen by
            `benchmarks/results/synth_ablation.md`) and/or `synthetic_paper` (the paper's objective at this scale);
            the first one is the model of the sweep, the random control, the oracle rows and the figure.
        training_overrides: training arguments (name -> value, as in the YAML configs) applied over every recipe.
        seeds: fresh-model seeds of the main table.
        sweep_keep_rates / sweep_lambdas / sweep_modes: VidAnon inference settings of the trade-off curve (a keep
            rate applies at every pruning layer); the random-pruning control is run at every sweep keep rate too.
        sweep_seeds: fresh-model seeds per sweep point (fewer: the sweep is for the curve, the table is the claim).
        privacy_cls_row: also evaluate the first recipe's model with `lambda_priv = 0` (the score without its privacy
            term) with every seed, so that what the privacy CLS adds is measured against the seed spread.
        secondary_rows / secondary_seeds: rows that no target of the benchmark turns on (`"Oracle tube"` and
            `"Oracle finer"` stand for the tube oracle and the finer-grid oracles), measured with these seeds and the
            per-frame and video attackers only, and marked in the table; the seeds of `seeds` and every attacker go
            to the rows that decide (Raw, Blackening, VidAnon and its lambda_priv = 0 row, the random control and the
            oracle at the model's grid). Empty: every row with every seed.
        oracle_grids: finer grids (tubelets per side) at which the oracle is reported too, beside the oracle and the
            tube oracle at the trained model's own grid.
        fresh: fresh-model settings (bfloat16 autocast where it is native: about 1.5 times faster on this 2-core CPU).
        threads: torch threads.
        workers: fresh models trained at once in worker processes (2 on a 2-core machine, 1 torch thread each).
        worker_threads: torch threads per worker (default: the CPU cores shared out).
        cache: cache the Raw row in `output_dir/cache` (keyed by the data and fresh-model settings) and reuse it.
        quick: a smoke run (`vidanon benchmark --quick`): recorded in the results, and model cards never show its
            numbers as results.
    """

    output_dir: str = "outputs/benchmark"
    num_videos: int = 900
    data_seed: int = 0
    image_size: int = 64
    video_frames: int = 32
    recipes: tuple[str, ...] = ("synthetic",)
    training_overrides: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2)
    sweep_keep_rates: tuple[float, ...] = (0.75, 0.85)
    sweep_lambdas: tuple[float, ...] = (0.0, 2.0)
    sweep_modes: tuple[str, ...] = ("window",)
    privacy_cls_row: bool = True
    secondary_rows: tuple[str, ...] = ("Down-2x", "Down-4x", "StrongBlur", "Oracle tube", "Oracle finer")
    secondary_seeds: tuple[int, ...] = (0,)
    sweep_seeds: tuple[int, ...] = (0,)
    oracle_grids: tuple[int, ...] = (16,)
    fresh: FreshModelConfig = field(default_factory=lambda: FreshModelConfig(bf16=bf16_is_fast()))
    threads: int | None = None
    progress: bool = True
    workers: int = 2
    worker_threads: int | None = None
    cache: bool = True
    quick: bool = False


RECIPE_LABELS = {"synthetic": "VidAnon", "synthetic_paper": "VidAnon (paper recipe)"}


def recipe_label(recipe: str) -> str:
    """The results-table name of the model trained with a packaged recipe."""
    return RECIPE_LABELS.get(recipe, f"VidAnon ({recipe})")


def _train_vidanon(config: BenchmarkConfig, data_dir: Path, recipe: str) -> Path:
    output = Path(config.output_dir) / f"vidanon-{recipe}"
    if (output / "model" / "model.safetensors").is_file():
        logger.info("reusing the trained model in %s", output / "model")
        return output / "model"
    overrides = {"data_dir": str(data_dir), "output_dir": str(output), "resume_from_checkpoint": "latest",
                 "disable_tqdm": not config.progress, **config.training_overrides}
    result = train_from_arguments(*build_arguments(packaged_config(recipe), overrides))
    if result.model_dir is None:
        raise RuntimeError(f"training with the {recipe} recipe stopped early; rerun to resume from its checkpoint")
    return Path(result.model_dir)


def run_benchmark(config: BenchmarkConfig) -> dict:
    """Run everything; returns `{"results": BenchmarkResults, "sweep": [...], "files": {...}, "seconds": {...}}`."""
    if config.threads:
        torch.set_num_threads(config.threads)
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    start = time.perf_counter()

    data_dir = output / "data"
    if not (data_dir / "manifest.jsonl").is_file():
        generate_synth_privacy(data_dir, config.num_videos, config.data_seed, image_size=config.image_size,
                               num_frames=config.video_frames, progress=config.progress)
    seconds["data"] = time.perf_counter() - start

    models, model_dirs = {}, {}
    for recipe in config.recipes:
        tick = time.perf_counter()
        model_dirs[recipe] = _train_vidanon(config, data_dir, recipe)
        models[recipe] = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(model_dirs[recipe]).eval()
        seconds[f"train_{recipe}"] = time.perf_counter() - tick

    tick = time.perf_counter()
    first = next(iter(models.values()))
    data = synth_protocol_data(data_dir / "manifest.jsonl", num_frames=first.config.num_frames, progress=config.progress)
    fresh = replace(config.fresh, progress=config.fresh.progress and config.progress)
    protocol = ProtocolConfig(seeds=tuple(config.seeds), fresh=fresh, progress=config.progress,
                              num_workers=config.workers, worker_threads=config.worker_threads,
                              cache_dir=str(output / "cache") if config.cache else None)
    executor = make_executor(config.workers, config.worker_threads)  # one pool for the table and the sweep
    methods = [(BASELINES["raw"].label, baseline_anonymizer("raw"))]
    methods += [(BASELINES[key].label, baseline_anonymizer(key)) for key in BENCHMARK_BASELINES]
    for recipe, model in models.items():
        methods.append((recipe_label(recipe), vidanon_anonymizer(model)))
    if config.privacy_cls_row:
        methods.append((f"{recipe_label(config.recipes[0])} λ=0", vidanon_anonymizer(first, lambda_priv=0.0)))
    methods.append(("Random pruning", random_pruning_anonymizer(first.config, seed=config.data_seed)))
    methods += oracle_rows(first.config, config.oracle_grids)
    order = [name for name, *_rest in methods]  # the table keeps this order
    secondary = [m for m in methods if _is_secondary(m[0], config.secondary_rows, first.config)]
    methods = [m for m in methods if m not in secondary]
    results = run_protocol(methods, data, protocol, dataset="SynthPrivacy", executor=executor,
                           metadata={"benchmark": _jsonable(asdict(config)),
                                     "vidanon_config": {k: first.config.to_dict()[k] for k in (
                                         "pruning_layers", "keep_rate", "lambda_priv", "temporal_consistency",
                                         "hidden_size", "num_hidden_layers", "image_size", "num_frames")}})
    if secondary:
        light = replace(protocol, seeds=tuple(config.secondary_seeds),
                        attackers=tuple(a for a in protocol.attackers if a != "finetuned"), cache_dir=None)
        marked = [(f"{name} ({len(light.seeds)} seed{'s' if len(light.seeds) > 1 else ''})", *rest)
                  for name, *rest in secondary]
        extra_rows = run_protocol(marked, data, light, dataset="SynthPrivacy", executor=executor).methods
        position = {name: order.index(original) for (name, *_r), (original, *_o) in zip(marked, secondary)}
        position.update({name: order.index(name) for name, *_rest in methods})
        results.methods = sorted(results.methods + extra_rows, key=lambda m: position[m.name])
        results.metadata["secondary_rows"] = {"rows": [m[0] for m in secondary], "seeds": list(light.seeds),
                                              "attackers": list(light.attackers)}
    seconds["evaluate"] = time.perf_counter() - tick

    tick = time.perf_counter()
    sweep_protocol = replace(protocol, seeds=tuple(config.sweep_seeds), attackers=("frame",), cache_dir=None)
    sweep: list[MethodResult] = []
    for mode in config.sweep_modes:
        for keep in config.sweep_keep_rates:
            for lam in config.sweep_lambdas:
                settings = dict(keep_rate=keep, lambda_priv=lam, temporal_consistency=mode)
                name = f"{mode} keep={keep:g} λ={lam:g}"
                sweep.append(evaluate_method(name, vidanon_anonymizer(first, **settings), data, sweep_protocol,
                                             extra=settings, executor=executor))
    for keep in config.sweep_keep_rates:  # the control at every keep rate of the sweep: is the learned score worth it?
        control = random_pruning_anonymizer(first.config, seed=config.data_seed, keep_rate=keep)
        sweep.append(evaluate_method(f"random keep={keep:g}", control,
                                     data, sweep_protocol, extra={"keep_rate": keep, "random_control": True},
                                     executor=executor))
    seconds["sweep"] = time.perf_counter() - tick
    executor.shutdown(wait=True)

    files = write_outputs(output, results, sweep, data, first)
    for recipe, model_dir in model_dirs.items():  # the cards now carry the measured leakage
        _write_card(model_dir, models[recipe], results, recipe_label(recipe))
    seconds["total"] = time.perf_counter() - start
    (output / "timings.json").write_text(json.dumps(timings_report(seconds, results, sweep), indent=2))
    logger.info("benchmark written to %s in %.0f s", output, seconds["total"])
    return {"results": results, "sweep": sweep, "files": files, "seconds": seconds}


def timings_report(seconds: dict[str, float], results, sweep) -> dict:
    """Where the time went: seconds per stage, per method (anonymization and fresh models, cached rows named) and
    per fresh model (wall and CPU seconds, epochs run of the cap), with the provenance of the run."""
    def method_times(method: MethodResult) -> dict:
        return {"seconds": method.extra.get("seconds"), "anonymize_seconds": method.extra.get("anonymize_seconds"),
                "cached": bool(method.extra.get("cached"))}

    fresh = [{"method": method.name, **model} for method in [*results.methods, *sweep]
             if not method.extra.get("cached") for model in method.extra.get("fresh_models", [])]
    cpu = {}
    for model in fresh:
        cpu.setdefault(model["kind"], []).append(model.get("cpu_seconds") or 0.0)
    return {
        **seconds,
        "methods": {method.name: method_times(method) for method in results.methods},
        "sweep_points": {method.name: method_times(method) for method in sweep},
        "fresh_model_cpu_seconds": {kind: {"count": len(values), "total": sum(values),
                                           "mean": sum(values) / len(values)} for kind, values in cpu.items()},
        "fresh_models": fresh,
        "provenance": results.metadata.get("provenance"),
    }


def _is_secondary(name: str, secondary_rows: tuple[str, ...], model_config) -> bool:
    """Whether a row is one of `BenchmarkConfig.secondary_rows` ("Oracle tube" / "Oracle finer" by kind)."""
    grid = model_config.image_size // model_config.patch_size
    if name.startswith("Oracle tube"):
        return "Oracle tube" in secondary_rows
    if name.startswith("Oracle "):
        return "Oracle finer" in secondary_rows and name != f"Oracle {grid}x{grid}"
    return name in secondary_rows


def oracle_rows(model_config, finer_grids: tuple[int, ...] = ()) -> list[tuple[str, object]]:
    """The frontier: the oracle and the tube oracle at the model's tubelet grid, and the oracle at finer grids."""
    grid, tubelet = model_config.image_size // model_config.patch_size, model_config.tubelet_size
    rows = [(f"Oracle {grid}x{grid}", oracle_anonymizer(tubelet, grid)),
            (f"Oracle tube {grid}x{grid}", oracle_anonymizer(tubelet, grid, tube=True))]
    rows += [(f"Oracle {g}x{g}", oracle_anonymizer(tubelet, g)) for g in finer_grids if g > grid]
    return rows


def _write_card(model_dir: Path, model, results, method_name: str) -> None:
    """Refresh the model card of a trained model with the protocol's results (its own row, Raw and chance)."""

    card_results = results_from_benchmark(results)
    methods = card_results["methods"]
    own = methods[method_name]
    card_results["methods"] = {name: row for name, row in methods.items() if not name.startswith("VidAnon")}
    card_results["methods"]["VidAnon"] = own  # the card's "this model" row
    training_args_path = model_dir / "training_args.json"
    training_args = json.loads(training_args_path.read_text()) if training_args_path.is_file() else None
    save_model_card(model_dir, config=model.config, results=card_results, training_args=training_args)


def write_outputs(output: Path, results, sweep, data, model) -> dict[str, str]:
    """results.json (with the sweep), results.md, tradeoff PNGs (frame and video attacker) and figure2.png."""
    path_json = write_results_json(results, output / "results.json")
    payload = json.loads(path_json.read_text())
    payload["sweep"] = [method.to_dict() for method in sweep]
    path_json.write_text(json.dumps(payload, indent=2))
    table = markdown_table(results)
    (output / "results.md").write_text(table + "\n")
    plot_tradeoff(results, sweep, output / "tradeoff_frame.png", attacker="frame",
                  title="SynthPrivacy: action top-1 vs per-frame attacker cMAP")
    video_sweep = [m for m in sweep if m.has("video_cmap")]
    plot_tradeoff(results, video_sweep, output / "tradeoff_video.png", attacker="video",
                  title="SynthPrivacy: action top-1 vs video attacker cMAP")
    raw = data.test_clips[:3, 0].float() / 255.0
    anonymized = vidanon_anonymizer(model)(raw, None).video
    plot_figure2(raw, anonymized, output / "figure2.png", frames=4)
    return {name: str(output / name) for name in
            ("results.json", "results.md", "tradeoff_frame.png", "tradeoff_video.png", "figure2.png")}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
