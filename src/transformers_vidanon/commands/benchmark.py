"""`vidanon benchmark`: the end-to-end SynthPrivacy benchmark (data, training, leakage evaluation, report)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default="outputs/benchmark", help="where data, models, tables and figures go")
    parser.add_argument("--num-videos", type=int, default=None, help="SynthPrivacy size (default 900)")
    parser.add_argument("--world", type=int, default=None,
                        help="SynthPrivacy world generated and evaluated on, 1 or 2 (default 1; see vidanon synth)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="fresh-model seeds (default 0 1 2)")
    parser.add_argument("--recipes", nargs="+", default=None,
                        help="packaged training configs to train and evaluate: synthetic (the default recipe) and/or "
                             "synthetic_paper (the paper's objective at this scale) (default: synthetic)")
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run (few videos, one seed, short training): NOT a result")
    parser.add_argument("--full", action="store_true",
                        help="also the rows no headline target turns on (Down-2x, Down-4x, StrongBlur, the tube and "
                             "finer oracles, with one seed) and the keep/lambda sweep, every headline row with every "
                             "seed; writes synth_benchmark_full.{json,md} and synth_benchmark_full_timings.json "
                             "(default: the headline table, synth_benchmark.{json,md} and "
                             "synth_benchmark_timings.json)")
    parser.add_argument("--train", nargs=argparse.REMAINDER, default=[],
                        help="training overrides, e.g. --train --num_train_epochs 20 (must come last)")
    parser.add_argument("--workers", type=int, default=None,
                        help="fresh models trained at once in worker processes (default 2, 1 torch thread each on "
                             "2 cores)")
    parser.add_argument("--no-cache", action="store_true",
                        help="retrain the Raw row even when OUTPUT/cache holds one of the same data and settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def overrides_from_tokens(tokens: list[str]) -> dict[str, object]:
    """`--key value [value ...]` tokens (a flag alone is `true`) as a mapping of training argument names to values;
    the values are checked against the arguments' types when the training run is built."""
    values: dict[str, list[str]] = {}
    key = None
    for token in tokens:
        if token.startswith("--"):
            key = token[2:].replace("-", "_")
            values[key] = []
        elif key is None:
            raise SystemExit(f"--train: {token!r} does not follow an argument name (write --train --name value ...)")
        else:
            values[key].append(token)
    return {key: "true" if not given else given[0] if len(given) == 1 else given for key, given in values.items()}


def run(args) -> int:
    from transformers_vidanon.evaluation.fresh_training import FreshModelConfig
    from transformers_vidanon.workflows.benchmark import BenchmarkConfig, run_benchmark

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = BenchmarkConfig(output_dir=args.output, progress=not args.no_progress,
                             training_overrides=overrides_from_tokens(args.train), full=args.full)
    if args.quick:
        config.quick = True
        config.num_videos, config.seeds, config.sweep_keep_rates, config.sweep_lambdas = 48, (0,), (0.5,), (1.0,)
        config.fresh = FreshModelConfig(action_epochs=2, frame_epochs=2, video_epochs=2, finetune_epochs=2,
                                        progress=config.progress)
        config.training_overrides = {"num_train_epochs": 1, **config.training_overrides}
    if args.num_videos:
        config.num_videos = args.num_videos
    if args.world is not None:
        config.world = args.world
    if args.seeds:
        config.seeds = tuple(args.seeds)
    if args.recipes:
        config.recipes = tuple(args.recipes)
    if args.workers:
        config.workers = args.workers
    config.cache = not args.no_cache
    outcome = run_benchmark(config)
    print(Path(outcome["files"][f"{config.results_name}.md"]).read_text())
    for name, path in outcome["files"].items():
        print(f"{name}: {path}")
    print(f"total time: {outcome['seconds']['total']:.0f} s")
    return 0
