"""The end-to-end SynthPrivacy benchmark (the README's main job).

Generate the data, train VidAnon, evaluate it with the leakage protocol beside the rows the headline targets turn
on (Raw, Blackening, VidAnon with lambda_priv = 0, the random-pruning control and the oracle at the model's grid),
and write the results JSON, a Table-1-style Markdown table, the trade-off plot and a Figure-2-style grid. The
anonymizer trains in a process of its own while the Raw row's fresh models train (one core each on 2 cores).
`full` adds the rows no headline target turns on (Down-2x, Down-4x, StrongBlur, the tube and finer-grid oracles)
and the sweep of VidAnon's inference-time settings (keep rate, lambda_priv) for its trade-off curve.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ..configuration_vidanon import VidAnonConfig
from ..data.synth import check_synth_world, generate_synth_privacy
from ..evaluation.baselines import BASELINES
from ..evaluation.fresh_training import FreshModelConfig, bf16_is_fast
from ..evaluation.parallel import PacedExecutor, make_executor
from ..evaluation.protocol import (
    ATTACKERS,
    Method,
    ProtocolConfig,
    baseline_anonymizer,
    evaluate_method,
    oracle_anonymizer,
    random_pruning_anonymizer,
    run_protocol,
    synth_protocol_data,
    vidanon_anonymizer,
)
from ..fileutils import jsonable, write_json_atomically, write_text_atomically
from ..modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition
from ..reporting import MethodResult, markdown_table, plot_figure2, plot_tradeoff, write_results_json
from ..reporting.modelcard import results_from_benchmark, save_model_card
from ..reporting.results import cap_bound_models
from ..training.arguments import build_arguments
from ..training.trainer import model_input_size, train_from_arguments

logger = logging.getLogger(__name__)

BENCHMARK_BASELINES = ("down2", "down4", "blackening", "strongblur")
"""The baselines of the table (besides Raw), by their `evaluation.baselines.BASELINES` names."""

HEADLINE_BASELINES = ("blackening",)
"""The baselines of the default run (besides Raw): the ones a headline target turns on."""

SINGLE_SEED_ROWS = ("Blackening", "VidAnon λ=0", "Random pruning", "Oracle")
"""The rows the default run measures with one seed (and every attacker): their spread over seeds was small in the
full run (worst-case cMAP std: Blackening 0.5, VidAnon λ=0 1.0, random pruning 0.5, oracle 0.7 points), far below
the gaps the targets ask about. "Oracle" stands for the oracle at the model's grid."""

RAW_REFERENCE = {
    "label": "the fresh models before the default run's recipe (benchmarks/results/synth_benchmark.json at commit "
             "cbe2437, 3 seeds)",
    "action_top1": 0.987037037037037, "frame_cmap": 0.9862413522839185, "video_cmap": 0.9831511546097648,
    "finetuned_cmap": 0.9831511546097648, "worst_cmap": 0.9865305441795159,
}
"""What the fresh models reached on Raw video before the fresh-model recipe of this version (faster steps, the
plateau schedule): the results compare their Raw row with it, so that a change of what an attacker reaches shows."""


def packaged_config(name: str) -> Path:
    """Path of a training config shipped with the package (`synthetic`, `vp_ucf101`, ...)."""
    path = Path(str(resources.files("transformers_vidanon") / "configs" / f"{name}.yaml"))
    if not path.is_file():
        raise FileNotFoundError(f"no packaged training config named {name!r} ({path})")
    return path


@dataclass
class BenchmarkConfig:
    """Settings of the SynthPrivacy benchmark (the default run: the headline table, within 20 minutes on 2 CPU cores;
    `full`: every row and the sweep).

    Attributes:
        output_dir: everything is written here (data/, vidanon-*/, the results JSON and Markdown, their timings, PNGs:
            `synth_benchmark.{json,md}` and `synth_benchmark_timings.json`, or with `full`
            `synth_benchmark_full.{json,md}` and `synth_benchmark_full_timings.json`).
        full: also the rows no headline target turns on (`secondary_rows`) and the sweep; every headline row then
            runs with every seed (`single_seed_rows` defaults to none).
        num_videos / data_seed / image_size / video_frames / world: the generated SynthPrivacy set (`world`: which
            world draws it, recorded in the results' `benchmark` settings; the data of `output_dir` is reused only
            when it is of that world).
        recipes: which packaged training configs to train and evaluate: `synthetic` (the default recipe, chosen by
            `benchmarks/results/synth_ablation.md`) and/or `synthetic_paper` (the paper's objective at this scale);
            the first one is the model of the sweep, the random control, the oracle rows and the figure.
        training_overrides: training arguments (name -> value, as in the YAML configs) applied over every recipe.
        seeds: fresh-model seeds of the main table (Raw and VidAnon run with all of them).
        single_seed_rows: headline rows measured with the first seed only (and every attacker), marked "(1 seed)" in
            the table: None: `SINGLE_SEED_ROWS` in the default run (their spread over seeds is small), none with
            `full`.
        sweep_keep_rates / sweep_lambdas / sweep_modes: VidAnon inference settings of the trade-off curve (`full`
            only; a keep rate applies at every pruning layer); the random-pruning control is run at every sweep keep
            rate too.
        sweep_seeds: fresh-model seeds per sweep point (fewer: the sweep is for the curve, the table is the claim).
        privacy_cls_row: also evaluate the first recipe's model with `lambda_priv = 0` (the score without its privacy
            term), so that what the privacy CLS adds is measured.
        secondary_rows / secondary_seeds: with `full`, the rows that no target of the benchmark turns on (`"Oracle
            tube"` and `"Oracle finer"` stand for the tube oracle and the finer-grid oracles), measured with these
            seeds and the per-frame and video attackers only, and marked in the table. Empty: every row with every
            seed.
        oracle_grids: finer grids (tubelets per side) at which the oracle is reported too, beside the oracle and the
            tube oracle at the trained model's own grid.
        fresh: fresh-model settings (bfloat16 autocast where it is native; `benchmarks/results/fresh_models.md`).
        threads: torch threads.
        workers: fresh models trained at once in worker processes (2 on a 2-core machine, 1 torch thread each).
        worker_threads: torch threads per worker (default: the CPU cores shared out).
        overlap_training: with 2 or more workers, train the anonymizer in a process of its own (with a worker's
            threads) while one worker fewer trains the fresh models of the rows that need no trained model (Raw
            first); the last worker starts when the training ends.
        cache: cache the Raw row in `output_dir/cache` (keyed by the data and fresh-model settings) and reuse it.
        raw_reference: figures the Raw row reached before (`RAW_REFERENCE`), compared with it in the results.
        quick: a smoke run (`vidanon benchmark --quick`): recorded in the results, and model cards never show its
            numbers as results.
    """

    output_dir: str = "outputs/benchmark"
    num_videos: int = 900
    world: int = 1
    data_seed: int = 0
    image_size: int = 64
    video_frames: int = 32
    recipes: tuple[str, ...] = ("synthetic",)
    training_overrides: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2)
    full: bool = False
    single_seed_rows: tuple[str, ...] | None = None
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
    overlap_training: bool = True
    cache: bool = True
    raw_reference: dict[str, Any] | None = field(default_factory=lambda: dict(RAW_REFERENCE))
    quick: bool = False

    def row_seeds(self, name: str, grid_name: str) -> tuple[int, ...]:
        """The seeds of a headline row: the first seed for the single-seed rows, else `seeds`."""
        single = SINGLE_SEED_ROWS if self.single_seed_rows is None and not self.full else self.single_seed_rows or ()
        key = "Oracle" if name == grid_name else name
        return tuple(self.seeds[:1]) if key in single else tuple(self.seeds)

    @property
    def results_name(self) -> str:
        """The stem of the results files: `synth_benchmark`, or `synth_benchmark_full` with `full`."""
        return "synth_benchmark_full" if self.full else "synth_benchmark"


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
                 "synth_world": config.world, "disable_tqdm": not config.progress, **config.training_overrides}
    result = train_from_arguments(*build_arguments(packaged_config(recipe), overrides))
    if result.model_dir is None:
        raise RuntimeError(f"training with the {recipe} recipe stopped early; rerun to resume from its checkpoint")
    return Path(result.model_dir)


def _recipe_overrides(config: BenchmarkConfig, data_dir: Path, recipe: str) -> dict[str, Any]:
    output = Path(config.output_dir) / f"vidanon-{recipe}"
    return {"data_dir": str(data_dir), "output_dir": str(output), "resume_from_checkpoint": "latest",
            "synth_world": config.world, "disable_tqdm": not config.progress, **config.training_overrides}


def recipe_geometry(config: BenchmarkConfig, data_dir: Path, recipe: str) -> dict[str, int]:
    """`image_size`, `patch_size`, `tubelet_size` and `num_frames` of the model a recipe trains (of the trained
    model when it exists), known before it trains: the oracle rows and the protocol's clips need nothing else."""
    model_dir = Path(config.output_dir) / f"vidanon-{recipe}" / "model"
    if (model_dir / "config.json").is_file():
        saved = json.loads((model_dir / "config.json").read_text())
        return {name: int(saved[name]) for name in ("image_size", "patch_size", "tubelet_size", "num_frames")}
    model_args = build_arguments(packaged_config(recipe), _recipe_overrides(config, data_dir, recipe))[0]
    image_size, num_frames = model_input_size(model_args)
    defaults = VidAnonConfig()
    return {"image_size": image_size, "num_frames": num_frames,
            "patch_size": int(model_args.patch_size or defaults.patch_size),
            "tubelet_size": int(model_args.tubelet_size or defaults.tubelet_size)}


def _train_recipes(config: BenchmarkConfig, data_dir: Path, recipes: tuple[str, ...], threads: int | None,
                   log_level: int | None = None) -> None:
    """Train the recipes one after the other (the target of the training process, which logs at `log_level`); each
    writes a record of its time to `vidanon-RECIPE/benchmark_training.json`."""
    if threads:
        torch.set_num_threads(int(threads))
    if log_level is not None:
        logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for recipe in recipes:
        started, wall = time.time(), time.perf_counter()
        reused = (Path(config.output_dir) / f"vidanon-{recipe}" / "model" / "model.safetensors").is_file()
        model_dir = _train_vidanon(config, data_dir, recipe)
        record = {"recipe": recipe, "seconds": time.perf_counter() - wall, "started_at": started,
                  "finished_at": time.time(), "threads": torch.get_num_threads(), "reused": reused,
                  "model_dir": str(model_dir)}
        write_json_atomically(model_dir.parent / "benchmark_training.json", record)


class _AnonymizerTraining:
    """The recipes' training, in this process or in a process of its own while the protocol runs, and the trained
    models once it has ended (`model(recipe)` waits for it)."""

    def __init__(self, config: BenchmarkConfig, data_dir: Path) -> None:
        self.config, self.data_dir = config, data_dir
        self.process = None
        self.watcher: threading.Thread | None = None
        self.done = threading.Event()
        self.models: dict[str, VidAnonForPrivacyPreservingActionRecognition] = {}
        self.background = False
        self.span: tuple[float, float] | None = None  # launch and end of the training process (time.time())

    def _model_dir(self, recipe: str) -> Path:
        return Path(self.config.output_dir) / f"vidanon-{recipe}" / "model"

    def start(self, threads: int | None, background: bool, on_done=None) -> None:
        """Train in this process (returns when done), or in a spawned process with `threads` torch threads
        (`on_done()` is called from a watcher thread when it ends)."""
        recipes = tuple(self.config.recipes)
        if not background:
            _train_recipes(self.config, self.data_dir, recipes, self.config.threads)
            self.done.set()
            return
        self.background = True
        context = torch.multiprocessing.get_context("spawn")
        self.process = context.Process(target=_train_recipes, name="vidanon-training",
                                       args=(self.config, self.data_dir, recipes, threads,
                                             logging.getLogger().level or logging.INFO))
        launched = time.time()
        self.process.start()
        logger.info("training %s in process %d with %s torch thread(s), beside the fresh models",
                    ", ".join(recipes), self.process.pid, threads)

        def watch() -> None:
            self.process.join()
            self.span = (launched, time.time())
            self.done.set()
            if on_done is not None:
                on_done()

        self.watcher = threading.Thread(target=watch, name="vidanon-training-watcher", daemon=True)
        self.watcher.start()

    def wait(self) -> None:
        self.done.wait()
        if self.process is not None and self.process.exitcode != 0:
            raise RuntimeError(f"training the anonymizer failed (exit code {self.process.exitcode}; its log is "
                               f"above); rerun to resume from its checkpoint")

    def model(self, recipe: str) -> VidAnonForPrivacyPreservingActionRecognition:
        """The trained model of a recipe (waits for the training to end)."""
        if recipe not in self.models:
            self.wait()
            model_dir = self._model_dir(recipe)
            if not (model_dir / "model.safetensors").is_file():
                raise RuntimeError(f"training with the {recipe} recipe stopped early; rerun to resume from its "
                                   "checkpoint")
            self.models[recipe] = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(model_dir).eval()
        return self.models[recipe]

    def records(self) -> dict[str, dict]:
        """Each recipe's training record (seconds, start and end, threads, whether a trained model was reused)."""
        records = {}
        for recipe in self.config.recipes:
            path = self._model_dir(recipe).parent / "benchmark_training.json"
            if path.is_file():
                records[recipe] = {**json.loads(path.read_text()), "background": self.background}
        return records

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join()


def benchmark_rows(config: BenchmarkConfig, geometry: dict[str, int], training: _AnonymizerTraining) -> list[Method]:
    """The rows of the run, in table order: Raw, the baselines, VidAnon per recipe, its lambda_priv = 0 row, the
    random control and the oracles; with their seeds and attackers (see `BenchmarkConfig`). The rows that need a
    trained model get it when they start (`Method.make_anonymizer`)."""
    grid = geometry["image_size"] // geometry["patch_size"]
    grid_name = f"Oracle {grid}x{grid}"
    first = config.recipes[0]
    rows: list[tuple[str, dict]] = [(BASELINES["raw"].label, {"anonymizer": baseline_anonymizer("raw")})]
    baselines = BENCHMARK_BASELINES if config.full else HEADLINE_BASELINES
    rows += [(BASELINES[key].label, {"anonymizer": baseline_anonymizer(key)}) for key in baselines]
    for recipe in config.recipes:
        rows.append((recipe_label(recipe), {"make_anonymizer": lambda recipe=recipe: vidanon_anonymizer(
            training.model(recipe))}))
    if config.privacy_cls_row:
        # the action attention alone, also for a model that ranks by its pixel scorer
        rows.append((f"{recipe_label(first)} λ=0", {"make_anonymizer": lambda: vidanon_anonymizer(
            training.model(first), lambda_priv=0.0, pruning_score="attention")}))
    rows.append(("Random pruning", {"make_anonymizer": lambda: random_pruning_anonymizer(
        training.model(first).config, seed=config.data_seed)}))
    # the default run: the oracle at the model's grid; --full: the tube oracle and the finer grids too
    oracles = oracle_rows_for(geometry["tubelet_size"], grid, config.oracle_grids if config.full else (),
                              tube=config.full)
    rows += [(name, {"anonymizer": anonymizer}) for name, anonymizer in oracles]
    light = tuple(a for a in ATTACKERS if a != "finetuned")
    methods = []
    for name, spec in rows:
        if config.full and _is_secondary(name, config.secondary_rows, grid):
            seeds, attackers = tuple(config.secondary_seeds), light
        else:
            seeds, attackers = config.row_seeds(name, grid_name), None
        shown = name if (attackers is None and seeds == tuple(config.seeds)) else f"{name} ({_seed_count(seeds)})"
        methods.append(Method(shown, seeds=seeds, attackers=attackers, **spec))
    return methods


def _seed_count(seeds: tuple[int, ...]) -> str:
    return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"


def run_benchmark(config: BenchmarkConfig) -> dict:
    """Run everything; returns `{"results": BenchmarkResults, "sweep": [...], "files": {...}, "seconds": {...},
    "timings": {...}}`."""
    if config.threads:
        torch.set_num_threads(config.threads)
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    start, started_at = time.perf_counter(), time.time()

    data_dir = output / "data"
    generated = not (data_dir / "manifest.jsonl").is_file()
    if generated:
        generate_synth_privacy(data_dir, config.num_videos, config.data_seed, image_size=config.image_size,
                               num_frames=config.video_frames, world=config.world, progress=config.progress)
    else:  # the data of an earlier run, reused only when it is of the world asked for
        check_synth_world(data_dir, config.world)
    seconds["data"] = time.perf_counter() - start
    spans["data"] = (started_at, time.time())

    tick, tick_at = time.perf_counter(), time.time()
    geometry = recipe_geometry(config, data_dir, config.recipes[0])
    data = synth_protocol_data(data_dir / "manifest.jsonl", num_frames=geometry["num_frames"],
                               progress=config.progress)
    seconds["decode"] = time.perf_counter() - tick
    spans["decode"] = (tick_at, time.time())

    fresh = replace(config.fresh, progress=config.fresh.progress and config.progress)
    protocol = ProtocolConfig(seeds=tuple(config.seeds), fresh=fresh, progress=config.progress,
                              num_workers=config.workers, worker_threads=config.worker_threads,
                              cache_dir=str(output / "cache") if config.cache else None)
    # one pool for the table and the sweep; one worker fewer while the anonymizer trains beside it
    executor = PacedExecutor(make_executor(config.workers, config.worker_threads), config.workers)
    training = _AnonymizerTraining(config, data_dir)
    to_train = [recipe for recipe in config.recipes
                if not (training._model_dir(recipe) / "model.safetensors").is_file()]
    background = bool(to_train) and config.overlap_training and config.workers >= 2
    failed = True
    try:
        tick, tick_at = time.perf_counter(), time.time()
        if background:
            executor.set_limit(config.workers - 1)
            threads = config.worker_threads or max(1, (os.cpu_count() or 1) // config.workers)
            training.start(threads, background=True, on_done=lambda: executor.set_limit(config.workers))
        else:
            training.start(None, background=False)
            seconds["train"] = time.perf_counter() - tick
            spans["train"] = (tick_at, time.time())

        tick, tick_at = time.perf_counter(), time.time()
        methods = benchmark_rows(config, geometry, training)
        results = run_protocol(methods, data, protocol, dataset="SynthPrivacy", executor=executor,
                               metadata={"benchmark": jsonable(config),
                                         "rows": [{"name": m.name, "seeds": list(m.seeds or config.seeds),
                                                   "attackers": list(m.attackers or protocol.attackers)}
                                                  for m in methods]})
        seconds["evaluate"] = time.perf_counter() - tick
        spans["evaluate"] = (tick_at, time.time())
        first = training.model(config.recipes[0])
        results.metadata["vidanon_config"] = {k: first.config.to_dict()[k] for k in (
            "pruning_layers", "keep_rate", "lambda_priv", "temporal_consistency", "hidden_size", "num_hidden_layers",
            "image_size", "num_frames")}
        if config.raw_reference:
            results.metadata["raw_reference"] = dict(config.raw_reference)
        secondary = [m.name for m in methods if m.attackers is not None]
        if secondary:
            results.metadata["secondary_rows"] = {"rows": secondary, "seeds": list(config.secondary_seeds),
                                                  "attackers": [a for a in ATTACKERS if a != "finetuned"]}

        tick, tick_at = time.perf_counter(), time.time()
        results.sweep = run_sweep(config, first, data, protocol, executor) if config.full else []
        seconds["sweep"] = time.perf_counter() - tick
        spans["sweep"] = (tick_at, time.time())
        failed = False
    finally:
        training.stop()
        executor.shutdown(wait=True, cancel_futures=failed)
    records = training.records()
    for recipe, record in records.items():
        seconds[f"train_{recipe}"] = record["seconds"]
    if background:  # the training process ran beside the first rows: from its launch to its end
        spans["train"] = training.span
        seconds["train"] = training.span[1] - training.span[0]

    tick, tick_at = time.perf_counter(), time.time()
    files = write_outputs(output, results, data, first, config.results_name)
    for recipe in config.recipes:  # the cards now carry the measured leakage
        _write_card(training._model_dir(recipe), training.model(recipe), results, recipe_label(recipe))
    seconds["outputs"] = time.perf_counter() - tick
    spans["outputs"] = (tick_at, time.time())
    seconds["total"] = time.perf_counter() - start
    spans["total"] = (started_at, time.time())
    timings = timings_report(seconds, results, spans=spans, started_at=started_at, training=records,
                             generated=generated, full=config.full)
    timings_path = output / f"{config.results_name}_timings.json"
    write_json_atomically(timings_path, timings)
    files[timings_path.name] = str(timings_path)
    logger.info("benchmark written to %s in %.0f s", output, seconds["total"])
    return {"results": results, "sweep": results.sweep, "files": files, "seconds": seconds, "timings": timings}


def run_sweep(config: BenchmarkConfig, model, data, protocol: ProtocolConfig, executor) -> list[MethodResult]:
    """VidAnon at every sweep setting, then the random control at every sweep keep rate (frame attacker, the
    sweep's seeds)."""
    sweep_protocol = replace(protocol, seeds=tuple(config.sweep_seeds), attackers=("frame",), cache_dir=None)
    sweep: list[MethodResult] = []
    for mode in config.sweep_modes:
        for keep in config.sweep_keep_rates:
            for lam in config.sweep_lambdas:
                settings = dict(keep_rate=keep, lambda_priv=lam, temporal_consistency=mode)
                name = f"{mode} keep={keep:g} λ={lam:g}"
                sweep.append(evaluate_method(name, vidanon_anonymizer(model, **settings), data, sweep_protocol,
                                             extra=settings, executor=executor))
    for keep in config.sweep_keep_rates:  # the control at every keep rate of the sweep: is the learned score worth it?
        control = random_pruning_anonymizer(model.config, seed=config.data_seed, keep_rate=keep)
        sweep.append(evaluate_method(f"random keep={keep:g}", control,
                                     data, sweep_protocol, extra={"keep_rate": keep, "random_control": True},
                                     executor=executor))
    return sweep


def timings_report(seconds: dict[str, float], results, spans: dict[str, tuple[float, float]] | None = None,
                   started_at: float | None = None, training: dict[str, dict] | None = None,
                   generated: bool = True, full: bool = False) -> dict:
    """Where the time went: seconds per stage (data, decoding the protocol's clips, training, the evaluation, the
    sweep, the outputs, total) with when each ran (seconds from the start: the training overlaps the first rows),
    per row (wall seconds from its anonymization to its last fresh model, the CPU seconds of its fresh models, its
    seeds, whether it was reused from the cache), per fresh model (wall and CPU seconds, epochs run of the cap, best
    epoch, what stopped it), the fresh models whose cap bound, and whether anything was reused (`cold`: the data
    generated, every model trained and no row from the cache), with the provenance of the run."""
    origin = started_at if started_at is not None else min((start for start, _ in (spans or {}).values()), default=0)

    def offset(value):
        return None if value is None else round(value - origin, 3)

    def method_times(method: MethodResult) -> dict:
        return {"seconds": method.extra.get("seconds"), "anonymize_seconds": method.extra.get("anonymize_seconds"),
                "fresh_cpu_seconds": method.extra.get("fresh_cpu_seconds"),
                "seeds": method.extra.get("seeds", len(method.action_top1)),
                "start": offset(method.extra.get("started_at")), "end": offset(method.extra.get("finished_at")),
                "cached": bool(method.extra.get("cached"))}

    fresh = [{"method": method.name, **{key: value for key, value in model.items()
                                         if key not in ("started_at", "finished_at")},
              "start": offset(model.get("started_at")), "end": offset(model.get("finished_at"))}
             for method in [*results.methods, *results.sweep]
             if not method.extra.get("cached") for model in method.extra.get("fresh_models", [])]
    cpu = {}
    for model in fresh:
        cpu.setdefault(model["kind"], []).append(model.get("total_cpu_seconds") or model.get("cpu_seconds") or 0.0)
    training = training or {}
    reused = [f"row {method.name} (cache)" for method in results.methods if method.extra.get("cached")]
    reused += [f"model {recipe}" for recipe, record in training.items() if record.get("reused")]
    if not generated:
        reused.append("data")
    return {
        **seconds,
        "mode": "full" if full else "default",
        "cold": not reused,
        "reused": reused,
        "stages": {name: {"start": offset(begin), "end": offset(end), "seconds": round(end - begin, 3)}
                   for name, (begin, end) in (spans or {}).items()},
        "training": {recipe: {**{key: value for key, value in record.items()
                                 if key not in ("started_at", "finished_at")},
                              "start": offset(record.get("started_at")), "end": offset(record.get("finished_at"))}
                     for recipe, record in training.items()},
        "methods": {method.name: method_times(method) for method in results.methods},
        "sweep_points": {method.name: method_times(method) for method in results.sweep},
        "fresh_model_cpu_seconds": {kind: {"count": len(values), "total": sum(values),
                                           "mean": sum(values) / len(values)} for kind, values in cpu.items()},
        "cap_bound": [{"method": name, "kind": kind, "seeds": seeds} for name, kind, seeds in cap_bound_models(results)],
        "fresh_models": fresh,
        "provenance": results.metadata.get("provenance"),
    }


def _is_secondary(name: str, secondary_rows: tuple[str, ...], grid: int) -> bool:
    """Whether a row is one of `BenchmarkConfig.secondary_rows` ("Oracle tube" / "Oracle finer" by kind; `grid`: the
    model's tubelets per side)."""
    if name.startswith("Oracle tube"):
        return "Oracle tube" in secondary_rows
    if name.startswith("Oracle "):
        return "Oracle finer" in secondary_rows and name != f"Oracle {grid}x{grid}"
    return name in secondary_rows


def oracle_rows_for(tubelet_size: int, grid: int, finer_grids: tuple[int, ...] = (),
                    tube: bool = True) -> list[tuple[str, object]]:
    """The frontier: the oracle (and the tube oracle) at a tubelet grid, and the oracle at finer grids."""
    rows = [(f"Oracle {grid}x{grid}", oracle_anonymizer(tubelet_size, grid))]
    if tube:
        rows.append((f"Oracle tube {grid}x{grid}", oracle_anonymizer(tubelet_size, grid, tube=True)))
    rows += [(f"Oracle {g}x{g}", oracle_anonymizer(tubelet_size, g)) for g in finer_grids if g > grid]
    return rows


def oracle_rows(model_config, finer_grids: tuple[int, ...] = ()) -> list[tuple[str, object]]:
    """The frontier: the oracle and the tube oracle at the model's tubelet grid, and the oracle at finer grids."""
    return oracle_rows_for(model_config.tubelet_size, model_config.image_size // model_config.patch_size, finer_grids)


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


def write_outputs(output: Path, results, data, model, name: str = "synth_benchmark") -> dict[str, str]:
    """NAME.json (`write_results_json`, the sweep in it), NAME.md, the trade-off PNGs (frame and video attacker;
    `_full` after their names for the full run) and figure2.png; returns `{file name: path}`."""
    write_results_json(results, output / f"{name}.json")
    write_text_atomically(output / f"{name}.md", markdown_table(results) + "\n")
    sweep = results.sweep
    suffix = "_full" if name.endswith("_full") else ""
    names = [f"{name}.json", f"{name}.md", f"tradeoff_frame{suffix}.png", f"tradeoff_video{suffix}.png", "figure2.png"]
    plot_tradeoff(results, sweep, output / names[2], attacker="frame",
                  title="SynthPrivacy: action top-1 vs per-frame attacker cMAP")
    video_sweep = [m for m in sweep if m.has("video_cmap")]
    plot_tradeoff(results, video_sweep, output / names[3], attacker="video",
                  title="SynthPrivacy: action top-1 vs video attacker cMAP")
    raw = data.test_clips[:3, 0].float() / 255.0
    anonymized = vidanon_anonymizer(model)(raw, None).video
    plot_figure2(raw, anonymized, output / "figure2.png", frames=4)
    return {file: str(output / file) for file in names}
