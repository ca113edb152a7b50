"""Calibration of SynthPrivacy: do fresh small models, trained from scratch on CPU, learn it on raw video?

A privacy benchmark is only informative if, before any anonymization, its actions can be recognised
and its privacy attributes can be predicted: otherwise every anonymizer looks perfect. With the
generator's default settings and `FreshModelConfig()` defaults, this script

1. generates SynthPrivacy (`generate_synth_privacy`, default 1200 videos of 32 frames at 64x64,
   balanced attributes, splits 0.6 / 0.2 / 0.2);
2. decodes the train split (one centred 16-frame clip per video, stride 2) and the test split
   (5 clips per video, the protocol's multi-clip evaluation) with `load_synth_clips`;
3. trains, on the RAW train clips, a fresh action model, a fresh per-frame privacy attacker and a
   fresh video-level privacy attacker (`transformers_vidanon.evaluation.fresh_training`), and a small
   VideoMAE action model for comparison;
4. measures action top-1 (softmax averaged over clips), privacy cMAP and F1 at 0.5 (frame logits
   averaged over time and clips), the best single-frame cMAP, and the chance levels of the test set
   (`transformers_vidanon.metrics`);
5. checks the requirements: action top-1 >= 0.95, and the cMAP of every attacker (per-frame and video-level)
   >= chance cMAP + 0.25; and writes `synth_calibration.json` (every figure, setting, epoch count and time, with
   the provenance of the run) and `synth_calibration.md`.

The exit status is 0 when the requirements hold (always 0 with `--quick`, whose tiny run only
checks that the script works).

Usage:

    python benchmarks/calibrate_synth.py                          # writes benchmarks/results/synth_calibration.*
    python benchmarks/calibrate_synth.py --threads 2 --data-dir data/synth   # keep the generated videos
    python benchmarks/calibrate_synth.py --quick --output /tmp/calibration   # tiny smoke run, seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from transformers_vidanon.data.synth import CONFIG_NAME, generate_synth_privacy, load_synth_clips
from transformers_vidanon.evaluation.fresh_training import (
    FreshModelConfig,
    predict_action,
    predict_frame_attacker,
    predict_video_attacker,
    train_action_model,
    train_frame_attacker,
    train_video_attacker,
)
from transformers_vidanon.metrics import (
    action_top1,
    best_single_frame_cmap,
    chance_cmap,
    chance_f1,
    chance_top1,
    privacy_cmap,
    privacy_f1,
)
from transformers_vidanon.reporting.provenance import collect_provenance, provenance_line

logger = logging.getLogger("calibrate_synth")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIN_ACTION_TOP1 = 0.95
MIN_CMAP_OVER_CHANCE = 0.25


def _machine(threads: int) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": threads,
    }


def _load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return []


class _Timer:
    """Wall-clock seconds of named steps."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Step:
            def __enter__(self) -> None:
                self.start = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                timer.seconds[name] = round(time.perf_counter() - self.start, 2)
                logger.info("%s: %.1f s", name, timer.seconds[name])

        return _Step()


def calibrate(
    data_dir: Path,
    num_videos: int,
    seed: int,
    model_seed: int,
    fresh: FreshModelConfig,
    generator_kwargs: dict[str, Any],
    test_clips: int,
    compare_videomae: bool,
    progress: bool,
) -> dict[str, Any]:
    """Generate (or reuse) the data, train the fresh models on raw clips, and return every figure."""
    timer = _Timer()
    manifest = data_dir / "manifest.jsonl"
    if manifest.exists():
        logger.info("reusing the SynthPrivacy set in %s", data_dir)
        timer.seconds["generate"] = None
    else:
        with timer("generate"):
            generate_synth_privacy(data_dir, num_videos, seed, progress=progress, **generator_kwargs)
    settings = json.loads((data_dir / CONFIG_NAME).read_text())
    with timer("decode"):
        train = load_synth_clips(manifest, "train", progress=progress)
        test = load_synth_clips(manifest, "test", num_clips=test_clips, progress=progress)
    names = list(train.privacy_names)
    test_privacy = test.privacy_labels.numpy()
    figures: dict[str, Any] = {
        "chance_top1": chance_top1(test.labels.numpy()),
        "chance_cmap": chance_cmap(test_privacy, names).cmap,
        "chance_cmap_per_attribute": chance_cmap(test_privacy, names).per_attribute,
        "chance_f1": chance_f1(test_privacy, names).f1,
    }

    with timer("action_model"):
        action = train_action_model(train.clips, train.labels, len(train.action_names), seed=model_seed, config=fresh)
    figures["action_top1"] = action_top1(predict_action(action, test.clips).numpy(), test.labels.numpy())
    logs = {"action_model": action.training_log.to_dict()}
    figures["action_train_top1"] = action_top1(predict_action(action, train.clips).numpy(), train.labels.numpy())

    with timer("frame_attacker"):
        frame = train_frame_attacker(train.clips, train.privacy_labels, seed=model_seed, config=fresh)
    logs["frame_attacker"] = frame.training_log.to_dict()
    prediction = predict_frame_attacker(frame, test.clips)
    frame_cmap = privacy_cmap(prediction.logits.numpy(), test_privacy, names)
    figures["frame_cmap"] = frame_cmap.cmap
    figures["frame_cmap_per_attribute"] = frame_cmap.per_attribute
    figures["frame_f1"] = privacy_f1(prediction.logits.numpy(), test_privacy, attribute_names=names).f1
    single = best_single_frame_cmap(prediction.flat_frame_logits().numpy(), test_privacy, names)
    figures["best_single_frame_cmap"] = single.cmap

    with timer("video_attacker"):
        video = train_video_attacker(train.clips, train.privacy_labels, seed=model_seed, config=fresh)
    logs["video_attacker"] = video.training_log.to_dict()
    video_logits = predict_video_attacker(video, test.clips).numpy()
    video_cmap = privacy_cmap(video_logits, test_privacy, names)
    figures["video_cmap"] = video_cmap.cmap
    figures["video_cmap_per_attribute"] = video_cmap.per_attribute
    figures["video_f1"] = privacy_f1(video_logits, test_privacy, attribute_names=names).f1

    videomae_config = None
    if compare_videomae:
        # every one of the 60 epochs: early stopping would end a slow starter before it learns, which is not the
        # question here (how far a small ViT trained from scratch gets on a few hundred clips)
        videomae_config = dataclasses.replace(fresh, action_architecture="videomae", action_epochs=60, action_lr=1e-3,
                                              early_stopping=False)
        with timer("videomae_action_model"):
            videomae = train_action_model(
                train.clips, train.labels, len(train.action_names), seed=model_seed, config=videomae_config
            )
        figures["videomae_action_top1"] = action_top1(predict_action(videomae, test.clips).numpy(), test.labels.numpy())

    return {
        "generator": settings,
        "fresh_model_config": dataclasses.asdict(fresh),
        "videomae_comparison_config": None if videomae_config is None else {
            key: getattr(videomae_config, key)
            for key in ("action_architecture", "action_epochs", "action_lr", "early_stopping", "video_hidden_size",
                        "video_num_layers",
                        "video_num_heads", "video_intermediate_size", "video_patch_size", "video_tubelet_size")
        },
        "model_seed": model_seed,
        "clips": {
            "train_videos": len(train), "test_videos": len(test), "num_frames": int(train.clips.shape[-4]),
            "frame_stride": 2, "train_clips_per_video": 1, "test_clips_per_video": test_clips,
        },
        "figures": figures,
        "training_logs": logs,
        "seconds": timer.seconds,
    }


def _checks(figures: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, Any] = {
        "action_top1_at_least": MIN_ACTION_TOP1,
        "action_top1_ok": figures["action_top1"] >= MIN_ACTION_TOP1,
    }
    for attacker in ("frame", "video"):
        margin = figures[f"{attacker}_cmap"] - figures["chance_cmap"]
        checks[f"{attacker}_cmap_over_chance"] = margin
        checks[f"{attacker}_cmap_over_chance_at_least"] = MIN_CMAP_OVER_CHANCE
        checks[f"{attacker}_cmap_ok"] = margin >= MIN_CMAP_OVER_CHANCE
    return checks


def _markdown(report: dict[str, Any]) -> str:
    f = report["figures"]
    g = report["generator"]
    c = report["checks"]
    s = report["seconds"]
    fresh = report["fresh_model_config"]

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    def secs(name: str) -> str:
        return "-" if s.get(name) is None else f"{s[name]:.0f} s"

    def epochs(name: str) -> str:
        log = report.get("training_logs", {}).get(name, {})
        return f"{log.get('epochs')} / {log.get('max_epochs')}" if log else "-"

    names = list(f["frame_cmap_per_attribute"])
    lines = [
        "## SynthPrivacy calibration" + (" (quick smoke run: not a calibration)" if report["quick"] else ""),
        "",
        (f"Fresh small models trained from scratch on **raw** SynthPrivacy clips, on CPU "
        f"({report['machine']['torch_threads']} torch thread(s)). Requirements: action top-1 >= "
        f"{100 * MIN_ACTION_TOP1:.0f}% and the cMAP of every attacker >= chance cMAP + "
        f"{100 * MIN_CMAP_OVER_CHANCE:.0f} points. Every model trains until its score on a held-out part of the "
        "training videos stops improving (the epochs below: run / cap)."),
        "",
        "| measure | value | requirement | met |",
        "|---|---|---|---|",
        (f"| action top-1 (3D CNN, softmax averaged over {report['clips']['test_clips_per_video']} clips) | "
        f"{pct(f['action_top1'])} | >= {100 * MIN_ACTION_TOP1:.0f} | {'yes' if c['action_top1_ok'] else 'NO'} |"),
        (f"| frame-attacker cMAP | {pct(f['frame_cmap'])} (chance {pct(f['chance_cmap'])}, +{100 * c['frame_cmap_over_chance']:.1f}) | "
        f">= chance + {100 * MIN_CMAP_OVER_CHANCE:.0f} | {'yes' if c['frame_cmap_ok'] else 'NO'} |"),
        (f"| video-attacker cMAP | {pct(f['video_cmap'])} (chance {pct(f['chance_cmap'])}, +{100 * c['video_cmap_over_chance']:.1f}) | "
        f">= chance + {100 * MIN_CMAP_OVER_CHANCE:.0f} | {'yes' if c['video_cmap_ok'] else 'NO'} |"),
        "",
        "| model | test figure | train time |",
        "|---|---|---|",
        (f"| action model, {fresh['action_architecture']} ({epochs('action_model')} epochs) | top-1 {pct(f['action_top1'])} "
        f"(train {pct(f['action_train_top1'])}; chance {pct(f['chance_top1'])}) | {secs('action_model')} |"),
        (f"| per-frame attacker, ResNet ({epochs('frame_attacker')} epochs x {fresh['frames_per_clip']} frames/clip) | "
        f"cMAP {pct(f['frame_cmap'])}, F1 {f['frame_f1']:.3f}, best single frame cMAP {pct(f['best_single_frame_cmap'])} | "
        f"{secs('frame_attacker')} |"),
        (f"| video attacker, {fresh['video_attacker_architecture']} ({epochs('video_attacker')} epochs) | cMAP "
        f"{pct(f['video_cmap'])}, F1 {f['video_f1']:.3f} | "
        f"{secs('video_attacker')} |"),
    ]
    if "videomae_action_top1" in f:
        v = report["videomae_comparison_config"]
        lines.append(
            f"| action model, VideoMAE (patch {v['video_patch_size']}, tubelet {v['video_tubelet_size']}, "
            f"{v['video_num_layers']} layers of {v['video_hidden_size']}, {v['action_epochs']} epochs without early "
            f"stopping, lr {v['action_lr']}) | "
            f"top-1 {pct(f['videomae_action_top1'])} | {secs('videomae_action_model')} |"
        )
    lines += [
        "",
        f"Chance: cMAP {pct(f['chance_cmap'])}, F1 {f['chance_f1']:.3f} (a blind attacker on this test set).",
        "",
        "| attribute | test prevalence | frame attacker AP | video attacker AP |",
        "|---|---|---|---|",
    ]
    for name in names:
        lines.append(
            f"| {name} | {pct(f['chance_cmap_per_attribute'].get(name))} | {pct(f['frame_cmap_per_attribute'].get(name))} | "
            f"{pct(f['video_cmap_per_attribute'].get(name))} |"
        )
    lines += [
        "",
        (f"Data: {g['num_videos']} videos (seed {g['seed']}) of {g['num_frames']} frames at {g['image_size']}x{g['image_size']}, "
        f"{g['fps']} fps, H.264 crf {g['crf']}; privacy prevalence {g['privacy_prevalence']}; splits {g['split_fractions']} "
        f"({report['clips']['train_videos']} train / {report['clips']['test_videos']} test videos); clips of "
        f"{report['clips']['num_frames']} frames, stride {report['clips']['frame_stride']}. "
        f"Generation {secs('generate')}, decoding {secs('decode')}."),
        "",
        "Fresh-model settings (`FreshModelConfig()` defaults): "
        + ", ".join(f"`{k}={v}`" for k, v in fresh.items() if k not in ("progress", "device")),
        "",
        (f"Machine: {report['machine']['cpu_count']} CPU cores, {report['machine']['platform']}, Python "
        f"{report['machine']['python']}, torch {report['machine']['torch']}; load average {report['load_average_start']} "
        f"at the start, {report['load_average_end']} at the end (shared with other work, so times are upper bounds). "
        f"Total {report['total_seconds']:.0f} s."),
        "",
        provenance_line(report["provenance"]),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-videos", type=int, default=1200, help="videos to generate (default 1200)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--model-seed", type=int, default=0, help="seed of the fresh models (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--test-clips", type=int, default=5, help="clips per test video (default 5)")
    parser.add_argument("--data-dir", default=None,
                        help="where the videos go (reused if it holds a manifest); default a temporary folder")
    parser.add_argument("--output", default=str(RESULTS_DIR), help="folder of the results files")
    parser.add_argument("--skip-videomae", action="store_true", help="skip the VideoMAE action model comparison")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (a few videos, 1 epoch)")
    parser.add_argument("--bf16", action="store_true", help="train under bfloat16 autocast (as `vidanon benchmark`)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)

    fresh = FreshModelConfig(progress=not args.no_progress, bf16=args.bf16)
    generator_kwargs: dict[str, Any] = {}
    num_videos = args.num_videos
    if args.quick:
        num_videos = 30
        generator_kwargs = {"image_size": 32}
        fresh = dataclasses.replace(fresh, action_epochs=1, frame_epochs=1, video_epochs=1)

    start, load_start = time.perf_counter(), _load_average()
    with tempfile.TemporaryDirectory(prefix="synth_calibration_") as scratch:
        data_dir = Path(args.data_dir) if args.data_dir else Path(scratch)
        result = calibrate(
            data_dir, num_videos, args.seed, args.model_seed, fresh, generator_kwargs, args.test_clips,
            compare_videomae=not (args.skip_videomae or args.quick), progress=not args.no_progress,
        )
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": bool(args.quick),
        "machine": _machine(args.threads),
        "load_average_start": load_start,
        "load_average_end": _load_average(),
        **result,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    report["checks"] = _checks(report["figures"])
    report["provenance"] = collect_provenance(config={"arguments": vars(args), "fresh": fresh})
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "synth_calibration.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (output / "synth_calibration.md").write_text(_markdown(report), encoding="utf-8")
    logger.info("wrote %s", output / "synth_calibration.md")
    passed = all(report["checks"][key] for key in ("action_top1_ok", "frame_cmap_ok", "video_cmap_ok"))
    if not passed and not args.quick:
        logger.error("SynthPrivacy calibration requirements not met: %s", report["checks"])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
