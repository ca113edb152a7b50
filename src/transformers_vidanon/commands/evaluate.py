"""`vidanon evaluate`: the leakage protocol for one anonymizer (a VidAnon checkpoint or a baseline) on a dataset."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from transformers_vidanon.data.sources import DATASETS, DataSource, add_source_arguments

ORACLE_NAMES = ("oracle", "oracle-tube")


def parse_oracle(spec: str, model_grid: tuple[int, int] | None) -> tuple[str, int, int, bool]:
    """`oracle[:GRID[:TUBELET]]` or `oracle-tube[...]` -> (row name, grid size, tubelet size, tube). Without a
    grid, the grid of the VidAnon checkpoint being compared (`model_grid` = (grid size, tubelet size))."""
    name, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    if name not in ORACLE_NAMES or len(parts) > 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise SystemExit(f"--method {spec!r}: write oracle[:GRID[:TUBELET]] or oracle-tube[:GRID[:TUBELET]], "
                         "e.g. oracle:8 or oracle-tube:8:2")
    if not parts and model_grid is None:
        raise SystemExit(f"--method {spec!r}: give the grid (e.g. {name}:8) or a VidAnon checkpoint to take it from")
    grid = int(parts[0]) if parts else model_grid[0]
    tubelet = int(parts[1]) if len(parts) > 1 else (model_grid[1] if model_grid else 2)
    tube = name == "oracle-tube"
    return f"Oracle{' tube' if tube else ''} {grid}x{grid}, t{tubelet}", grid, tubelet, tube


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", action="append", required=True,
                        help="a VidAnon checkpoint (folder or Hub id), a baseline by name (the names of "
                             "transformers_vidanon.evaluation.baselines.BASELINES, e.g. blackening), 'random:<checkpoint>' for the random-pruning control "
                             "at that checkpoint's keep schedule, or on SynthPrivacy the oracle "
                             "'oracle[:GRID[:TUBELET]]' / 'oracle-tube[...]' (prunes every tubelet touching a privacy "
                             "region; default grid: the VidAnon checkpoint's); repeat for several methods (Raw is "
                             "always added)")
    parser.add_argument("--data", required=True,
                        help="a SynthPrivacy folder (or its manifest.jsonl), any manifest (CSV/JSONL with a split "
                             "column), or with --dataset the dataset root (its data_dir)")
    parser.add_argument("--dataset", default=None, choices=DATASETS,
                        help="a named dataset, described by the flags below as in a training config (e.g. vp_ucf101 "
                             "with --split-dir); default: --data is a SynthPrivacy folder or a manifest")
    # the fields of a named dataset, declared once in `data.sources.DataSource` (the training arguments too)
    add_source_arguments(parser, skip=("dataset", "data_dir"))
    parser.add_argument("--boxes", default=None, help="person boxes JSON for the blackening baseline on real data")
    parser.add_argument("--output", default="outputs/evaluation", help="folder for results.json and results.md")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fresh-model seeds (at least 3)")
    parser.add_argument("--attackers", nargs="+", default=["frame", "video", "finetuned"],
                        choices=["frame", "video", "finetuned"],
                        help="privacy attackers: per-frame and video-level trained from scratch, and 'finetuned' "
                             "(trained on raw video, then fine-tuned on the anonymized video); default all three")
    parser.add_argument("--finetune-from", default="video", choices=["frame", "video"],
                        help="the raw-trained attacker the fine-tuned attacker starts from")
    parser.add_argument("--workers", type=int, default=1,
                        help="fresh models trained at once in worker processes (e.g. 2 on 2 cores)")
    parser.add_argument("--worker-threads", type=int, default=None,
                        help="torch threads per worker (default: the CPU cores shared out)")
    parser.add_argument("--cache-dir", default=None,
                        help="cache the Raw row here, keyed by the data and fresh-model settings, and reuse it")
    parser.add_argument("--num-frames", type=int, default=16, help="frames per clip the fresh models see")
    parser.add_argument("--frame-stride", type=int, default=2, help="distance between sampled frames")
    parser.add_argument("--image-size", type=int, default=None, help="clip size (default: the data's or 112)")
    parser.add_argument("--keep-rate", type=float, default=None, help="override the checkpoint's keep rate")
    parser.add_argument("--lambda-priv", type=float, default=None, help="override the checkpoint's lambda_priv")
    parser.add_argument("--action-model", default=None,
                        help="AutoModelForVideoClassification name/path for the fresh action model (default: small)")
    parser.add_argument("--frame-attacker", default=None, help="AutoModelForImageClassification name/path")
    parser.add_argument("--video-attacker", default=None, help="AutoModelForVideoClassification name/path")
    parser.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply the fresh models' epoch caps (they stop earlier when their validation score "
                             "stops improving)")
    parser.add_argument("--bf16", action="store_true",
                        help="train the fresh models under bfloat16 autocast (faster on CPUs with AVX512-BF16 / AMX)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def data_source(args: argparse.Namespace) -> DataSource:
    """The dataset the flags describe: `--dataset` with `--data` as its root (a `manifest`'s file unless
    `--manifest` names it), or without `--dataset` the SynthPrivacy folder or manifest `--data` is."""
    if args.dataset is not None:
        manifest = args.manifest or (args.data if args.dataset == "manifest" else None)
        return DataSource.from_arguments(args, data_dir=args.data, manifest=manifest)
    data = Path(args.data)
    manifest = data / "manifest.jsonl" if data.is_dir() else data
    if manifest.is_file() and (manifest.parent / "synth_config.json").is_file():
        return DataSource.from_arguments(args, dataset="synth", data_dir=str(manifest.parent))
    return DataSource.from_arguments(args, dataset="manifest", manifest=str(manifest))


def _load_data(args):
    from transformers_vidanon.data.builders import evaluation_splits, synth_manifest
    from transformers_vidanon.data.synth import DEFAULT_IMAGE_SIZE
    from transformers_vidanon.evaluation.protocol import datasets_protocol_data, synth_protocol_data

    source = data_source(args)
    if source.dataset == "synth":  # its region files serve the blackening baseline and the oracle
        if args.dataset is None:  # a folder of any world, used as it is
            manifest = Path(source.data_dir) / "manifest.jsonl"
        else:  # generated first when missing; another world than --synth-world is refused
            manifest = synth_manifest(source, args.image_size or DEFAULT_IMAGE_SIZE, args.num_frames)
        return synth_protocol_data(manifest, args.num_frames, args.frame_stride, progress=not args.no_progress)
    train, test, test_split = evaluation_splits(source, args.image_size or 112, args.num_frames)
    if test_split != "test":
        logging.getLogger("vidanon.evaluate").warning(
            "%s has no test split: measuring on its %s split, and the results say so", args.data, test_split)
    boxes = None
    if args.boxes:
        from transformers_vidanon.evaluation.baselines import load_boxes

        boxes = load_boxes(args.boxes)
    protocol_data = datasets_protocol_data(train, test, args.num_frames, args.frame_stride, args.image_size or 112,
                                           boxes=boxes, progress=not args.no_progress)
    protocol_data.test_split = test_split
    return protocol_data


def _anonymizers(args):
    from transformers_vidanon import VidAnonForPrivacyPreservingActionRecognition
    from transformers_vidanon.evaluation.baselines import BASELINES
    from transformers_vidanon.evaluation.protocol import (
        baseline_anonymizer,
        oracle_anonymizer,
        random_pruning_anonymizer,
        vidanon_anonymizer,
    )

    methods = [("Raw", baseline_anonymizer("raw"))]
    pruning = {k: v for k, v in (("keep_rate", args.keep_rate), ("lambda_priv", args.lambda_priv)) if v is not None}
    model_grid = None
    oracles = []
    for spec in args.method:
        if spec == "raw":
            continue
        if spec.split(":")[0] in ORACLE_NAMES:
            oracles.append(spec)
        elif spec in BASELINES:
            methods.append((spec, baseline_anonymizer(spec)))
        elif spec.startswith("random:"):
            config = VidAnonForPrivacyPreservingActionRecognition.config_class.from_pretrained(spec[len("random:"):])
            methods.append(("Random pruning", random_pruning_anonymizer(config, keep_rate=pruning.get("keep_rate"))))
        else:
            if "/" not in spec and not Path(spec).exists():
                raise SystemExit(f"--method {spec!r}: not a baseline ({', '.join(BASELINES)}), an oracle, "
                                 "'random:<checkpoint>', a checkpoint folder or a Hub id")
            model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(spec)
            methods.append((f"VidAnon ({spec})", vidanon_anonymizer(model, **pruning)))
            model_grid = model_grid or (model.config.image_size // model.config.patch_size, model.config.tubelet_size)
    for spec in oracles:
        name, grid, tubelet, tube = parse_oracle(spec, model_grid)
        methods.append((name, oracle_anonymizer(tubelet, grid, tube)))
    return methods


def run(args) -> int:
    from transformers_vidanon.evaluation.fresh_training import FreshModelConfig
    from transformers_vidanon.evaluation.protocol import ProtocolConfig, run_protocol
    from transformers_vidanon.reporting import markdown_table, write_results_json

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if len(args.seeds) < 3:
        logging.getLogger("vidanon.evaluate").warning(
            "fewer than 3 seeds: differences smaller than the spread over seeds are not results")
    fresh = FreshModelConfig(progress=not args.no_progress, bf16=args.bf16).with_epochs_scaled(args.epochs_scale)
    config = ProtocolConfig(seeds=tuple(args.seeds), attackers=tuple(args.attackers), fresh=fresh,
                            action_model=args.action_model, frame_attacker_model=args.frame_attacker,
                            video_attacker_model=args.video_attacker, progress=not args.no_progress,
                            finetune_from=args.finetune_from, num_workers=args.workers,
                            worker_threads=args.worker_threads, cache_dir=args.cache_dir)
    try:
        data = _load_data(args)
    except (ValueError, FileNotFoundError) as error:  # the data the flags describe: one line, status 2
        logging.getLogger("vidanon.evaluate").error("--data %s: %s", args.data, error)
        return 2
    results = run_protocol(_anonymizers(args), data, config, dataset=str(args.data),
                           metadata={"arguments": vars(args)})  # with the provenance of the run
    output = Path(args.output)
    write_results_json(results, output / "results.json")
    table = markdown_table(results)
    (output / "results.md").write_text(table + "\n")
    print(table)
    print(json.dumps({"results": str(output / "results.json")}))
    return 0
