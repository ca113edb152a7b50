"""End-to-end speed of `vidanon anonymize` (`anonymize_video`): frames per second and where the time goes.

A real-size input is generated first: 640 x 360, 10 s at 25 fps (250 frames), H.264 written with
`transformers_vidanon.video.write_video`, with moving content (drifting colour waves, moving discs and a little
noise, so that neither the decoder nor the encoder has an easy job). It is then anonymized with `anonymize_video`,
exactly as `vidanon anonymize` calls it, by VidAnon models with random weights (speed does not depend on
training) at image size 224: a ViT-S (hidden 384, 12 layers, 6 heads) and a ViT-B (hidden 768, 12 layers,
12 heads), patch 16, tubelet 2, 16 frames, pruning at layers 2, 5, 8 with keep rate 0.9 (the config's defaults).
CPU, float32.

The split by stage is `anonymize_video`'s own (`timings=`): wall-clock seconds inside each of its stage
functions, summed over the batches of clips: decode (frames of the input), resize (to the model's size),
model (tubelet keep mask), mask (upsampling to the input's size and applying it) and encode (H.264, including
the encoder's final flush). When stages overlap in threads, their sum exceeds the wall time of the run; the
frames per second are always the input's frame count over the wall time of the whole call.

Each configuration is run once as a warm-up on a one-clip video, then `--repeats` times on the full input; the
run with the median wall time is reported, every run's numbers are kept in the JSON. Results accumulate in
`anonymize.json` as rows keyed by (`--label`, configuration): running it again with another label (e.g. after a
change of the code) adds rows beside the old ones, with the same label replaces them.

Usage:

    python benchmarks/bench_anonymize.py --label after --baseline 411cb5b  # ViT-S and ViT-B, old code alternated
    python benchmarks/bench_anonymize.py --configs vit_s --label after     # ViT-S only
    python benchmarks/bench_anonymize.py --quick --output /tmp/bench       # tiny model and video, seconds
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import inspect
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.inference.anonymize import STAGES, AnonymizeOptions, anonymize_video
from transformers_vidanon.video import video_info, write_video

logger = logging.getLogger("bench_anonymize")

RESULTS_DIR = Path(__file__).resolve().parent / "results"

CONFIGS: dict[str, dict[str, Any]] = {
    "vit_s": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6, "intermediate_size": 1536,
              "image_size": 224, "patch_size": 16, "tubelet_size": 2, "num_frames": 16,
              "pruning_layers": [2, 5, 8], "keep_rate": 0.9},
    "vit_b": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "image_size": 224, "patch_size": 16, "tubelet_size": 2, "num_frames": 16,
              "pruning_layers": [2, 5, 8], "keep_rate": 0.9},
    # smoke runs only
    "tiny": {"hidden_size": 32, "num_hidden_layers": 12, "num_attention_heads": 2, "intermediate_size": 64,
             "image_size": 32, "patch_size": 8, "tubelet_size": 2, "num_frames": 4,
             "pruning_layers": [2, 5, 8], "keep_rate": 0.9},
}

VIDEO = {"width": 640, "height": 360, "fps": 25.0, "seconds": 10.0}
QUICK_VIDEO = {"width": 64, "height": 48, "fps": 25.0, "seconds": 0.8}


# ----------------------------------------------------------------------------------------------------------------------
# Input
# ----------------------------------------------------------------------------------------------------------------------
def moving_frames(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """`(T, H, W, 3)` uint8 frames: drifting colour waves, five moving discs, light noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    centres = rng.uniform([0, 0], [height, width], size=(5, 2))
    velocities = rng.uniform(-4, 4, size=(5, 2))
    colours = rng.integers(0, 256, size=(5, 3))
    radius = max(4.0, min(height, width) / 8)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        frame = np.stack([
            128 + 80 * np.sin(xx / 23 + t / 7),
            128 + 80 * np.cos(yy / 17 - t / 11),
            128 + 60 * np.sin((xx + yy) / 31 + t / 13),
        ], axis=-1)
        for centre, velocity, colour in zip(centres, velocities, colours):
            cy, cx = (centre + t * velocity) % (height, width)
            frame[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] = colour
        frame += rng.normal(0, 4, size=frame.shape).astype(np.float32)
        frames[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return frames


def make_input(path: Path, video: dict[str, float], num_frames: int | None = None) -> Path:
    frames = num_frames if num_frames is not None else round(video["seconds"] * video["fps"])
    return write_video(path, moving_frames(frames, int(video["height"]), int(video["width"])), fps=video["fps"])


def build_model(name: str, seed: int = 0) -> VidAnonForPrivacyPreservingActionRecognition:
    torch.manual_seed(seed)
    config = VidAnonConfig(num_labels=10, **CONFIGS[name])
    return VidAnonForPrivacyPreservingActionRecognition(config).eval()


# ----------------------------------------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------------------------------------
def load_anonymize_video(commit: str) -> Callable[..., Any]:
    """`anonymize_video` as `inference/anonymize.py` was at `commit`, beside the current one, on this package.

    The old file is loaded as a sibling module of the current one (`transformers_vidanon.inference._anonymize_at_*`),
    so its relative imports resolve to this checkout's package: only that one file differs between the two.
    """
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "show", f"{commit}:src/transformers_vidanon/inference/anonymize.py"], cwd=root,
                          capture_output=True, text=True, timeout=30, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="bench_anonymize_baseline_"))
    path = folder / "anonymize.py"
    path.write_text(text)
    name = f"transformers_vidanon.inference._anonymize_at_{commit[:10]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.anonymize_video


def measure_once(anonymize: Callable[..., Any], model: Any, source: Path, output: Path,
                 batch_size: int) -> dict[str, Any]:
    """One `anonymize_video` call: wall and CPU seconds, the stage split, and the output checked against the input."""
    timings: dict[str, float] = {}
    cpu_start = time.process_time()
    if "options" in inspect.signature(anonymize).parameters:  # the settings as one `AnonymizeOptions`
        options = AnonymizeOptions(batch_size=batch_size, progress=False)
        report = anonymize(model, None, source, output, options, timings=timings)
    else:  # a baseline commit from before `AnonymizeOptions`: the settings as keywords
        report = anonymize(model, None, source, output, batch_size=batch_size, progress=False, timings=timings)
    cpu = time.process_time() - cpu_start
    written, read = video_info(output), video_info(source)
    if (written.num_frames, written.height, written.width) != (read.num_frames, read.height, read.width):
        raise RuntimeError(f"{output} is {written} for an input of {read}.")
    if abs(written.fps - read.fps) > 1e-6:
        raise RuntimeError(f"{output} has {written.fps} fps for an input of {read.fps} fps.")
    total = timings["total"]
    has_cpu = all(f"{stage}_cpu" in timings for stage in STAGES)
    return {
        "wall_s": total,
        "cpu_s": cpu,
        "fps": report.num_frames / total,
        "stages_s": {stage: timings[stage] for stage in STAGES},
        "stages_sum_s": sum(timings[stage] for stage in STAGES),
        "stages_thread_cpu_s": {stage: timings[f"{stage}_cpu"] for stage in STAGES} if has_cpu else None,
        "kept_fraction": report.kept_fraction,
    }


def benchmark_config(name: str, source: Path, warmup_source: Path, workdir: Path, repeats: int, batch_size: int,
                     implementations: dict[str, Callable[..., Any]]) -> dict[str, dict[str, Any]]:
    """Every implementation (label -> `anonymize_video`) on the same model and input, alternated round by round.

    Round `r` runs the implementations in an order rotated by `r`, so the load of a shared machine falls on all
    alike; each implementation's warm-up call comes first.
    """
    model = build_model(name)
    info = video_info(source)
    labels = list(implementations)
    for label in labels:
        logger.info("%s / %s: warm-up", label, name)
        measure_once(implementations[label], model, warmup_source, workdir / f"{name}_warmup.mp4", batch_size)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    for repeat in range(repeats):
        for label in labels[repeat % len(labels):] + labels[: repeat % len(labels)]:
            run = measure_once(implementations[label], model, source, workdir / f"{name}_{repeat}.mp4", batch_size)
            runs[label].append(run)
            logger.info("%s / %s round %d: %.2f fps, %s", label, name, repeat, run["fps"],
                        {k: round(v, 2) for k, v in run["stages_s"].items()})
    rows = {}
    for label in labels:
        ordered = sorted(runs[label], key=lambda run: run["wall_s"])
        rows[label] = {
            "config": name,
            "model": dict(CONFIGS[name]),
            "parameters": sum(p.numel() for p in model.parameters()),
            "batch_size": batch_size,
            "input": {"num_frames": info.num_frames, "height": info.height, "width": info.width, "fps": info.fps},
            "repeats": repeats,
            "median_run": ordered[(len(ordered) - 1) // 2],
            "runs": runs[label],
            "fps_samples": [run["fps"] for run in runs[label]],
            "fps_median": statistics.median(run["fps"] for run in runs[label]),
        }
    return rows


# ----------------------------------------------------------------------------------------------------------------------
# Machine and report
# ----------------------------------------------------------------------------------------------------------------------
def cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    import av

    try:
        import decord
        decord_version = decord.__version__
    except ImportError:
        decord_version = None
    return {
        "cpu_model": cpu_model_name(),
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pyav": av.__version__,
        "decord": decord_version,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
    }


def code_version() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=30, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "src/transformers_vidanon"], cwd=root,
                                 capture_output=True, text=True, timeout=30, check=True).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "uncommitted_files": None}
    return {"git_commit": commit, "uncommitted_files": [line[3:] for line in changed if line.strip()]}


def _load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# `vidanon anonymize` end to end: frames per second and time per stage (CPU)",
        "",
        "Written by `benchmarks/bench_anonymize.py`. Raw numbers, every run: `anonymize.json`.",
        "",
        "## Method",
        "",
        report["method"],
        "",
        "## Results",
        "",
        ("Seconds per stage are those of the median run by wall time (of two runs, the faster); `fps` is input "
         "frames over the wall time of the whole `anonymize_video` call. `stages sum` above `wall` means stages "
         "overlapped (threads)."),
        "",
        ("| label | config | frames | torch threads | fps | fps of every run | wall s | decode s | resize s "
         "| model s | mask s | encode s | stages sum s | CPU s | anonymize.py of |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = sorted(report["rows"], key=lambda row: list(CONFIGS).index(row["config"]))  # stable: labels in run order
    for row in rows:
        run = row["median_run"]
        stages = " | ".join(f"{run['stages_s'][stage]:.2f}" for stage in STAGES)
        code = row["code"]
        commit = code.get("anonymize_py_from_commit") or code.get("anonymize_py_committed_as") or code["git_commit"]
        lines.append(
            f"| {row['label']} | {row['config']} | {row['input']['num_frames']} | {row['machine']['torch_threads']} "
            f"| {run['fps']:.2f} | {', '.join(f'{fps:.2f}' for fps in row['fps_samples'])} | {run['wall_s']:.2f} "
            f"| {stages} | {run['stages_sum_s']:.2f} | {run['cpu_s']:.2f} | `{(commit or '?')[:10]}` |"
        )
    lines += [
        "",
        ("Thread CPU seconds per stage (`time.thread_time` of the thread running it, median run; with one torch "
         "thread this is the stage's own work, which waiting for a core taken by another process does not inflate; "
         "not recorded by code older than this column):"),
        "",
        "| label | config | decode | resize | model | mask | encode |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cpu = row["median_run"].get("stages_thread_cpu_s")
        cells = " | ".join(f"{cpu[stage]:.2f}" for stage in STAGES) if cpu else " | ".join("-" for _ in STAGES)
        lines.append(f"| {row['label']} | {row['config']} | {cells} |")
    lines += ["", "## Runs", ""]
    for row in rows:
        machine = row["machine"]
        lines.append(
            f"- **{row['label']} / {row['config']}** ({row['date']}): {row['input']['num_frames']} frames of "
            f"{row['input']['width']}x{row['input']['height']} at {row['input']['fps']:g} fps; model "
            f"{_describe(row['model'])}, {row['parameters'] / 1e6:.1f} M parameters, batch {row['batch_size']} clips; "
            f"{row['repeats']} run(s), fps {', '.join(f'{f:.2f}' for f in row['fps_samples'])}; "
            f"torch {machine['torch']} ({machine['torch_threads']} intra-op threads), PyAV {machine['pyav']}, "
            f"decord {machine['decord']}; {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs; "
            f"load average {row['load_average_start']} at start, {row['load_average_end']} at end; "
            f"commit {row['code']['git_commit']}"
            + (f" with uncommitted {row['code']['uncommitted_files']}" if row["code"]["uncommitted_files"] else "")
            + (f". {row['note']}" if row.get("note") else ".")
        )
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def _describe(model: dict[str, Any]) -> str:
    return (f"hidden {model['hidden_size']}, {model['num_hidden_layers']} layers, {model['num_attention_heads']} heads, "
            f"{model['num_frames']} x {model['image_size']} x {model['image_size']}, patch {model['patch_size']}, "
            f"tubelet {model['tubelet_size']}, pruning at {model['pruning_layers']} keep {model['keep_rate']}")


METHOD = (
    "`anonymize_video(model, None, input, output, AnonymizeOptions(batch_size=B, progress=False), timings=...)` "
    "on a generated "
    "H.264 input (moving colour waves, moving discs, light noise; 640 x 360, 25 fps, 10 s unless the row says "
    "fewer frames), VidAnon models with random weights, float32, CPU, torch threads as listed. Stage seconds are "
    "`time.perf_counter` around `anonymize_video`'s own stage functions (decode, resize, model, mask = mask "
    "upsampling and application, encode = H.264 encoding with the final flush), summed over batches; stages "
    "running in another thread are timed in that thread. One warm-up call on a one-clip video, then the "
    "measured rounds; with `--baseline COMMIT` the `anonymize_video` of that commit's `inference/anonymize.py` "
    "(loaded beside the current one, on the same package, so only that file differs; the stages live in "
    "`inference/streaming.py` since it was split) runs in the same process, "
    "alternated with the current one round by round, so that both see the same machine load. The output's frame "
    "count, size and frame rate are checked against the input after every run. The machine is a shared 2-core "
    "CPU (other jobs ran at the same time): absolute timings are noisy, the alternated before/after pairs and "
    "the thread CPU seconds are the figures to compare."
)


# ----------------------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=("vit_s", "vit_b"), default=["vit_s", "vit_b"])
    parser.add_argument("--label", default="current", help="row label of this checkout's code (default: current)")
    parser.add_argument("--baseline", metavar="COMMIT", default=None,
                        help="also measure inference/anonymize.py as it was at COMMIT (on this checkout's package), "
                             "alternated round by round with the current one")
    parser.add_argument("--baseline-label", default="before", help="row label of the --baseline code")
    parser.add_argument("--note", default="", help="free text stored with the rows")
    parser.add_argument("--repeats", type=int, default=1, help="measured rounds per configuration (default 1)")
    parser.add_argument("--frames-vit-b", type=int, default=None,
                        help="measure ViT-B on the first N frames only (default: the whole 10 s)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny model and video (a smoke run of a few seconds)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1 or args.batch_size < 1:
        parser.error("--repeats, --threads and --batch-size must be >= 1")
    if args.baseline is not None and args.baseline_label == args.label:
        parser.error("--baseline-label must differ from --label")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    args.output.mkdir(parents=True, exist_ok=True)
    results_path = args.output / "anonymize.json"
    report = json.loads(results_path.read_text()) if results_path.exists() and not args.quick else {}
    report.update(method=METHOD, quick=args.quick)
    rows = report.setdefault("rows", [])
    video = QUICK_VIDEO if args.quick else VIDEO
    configs = ["tiny"] if args.quick else args.configs
    code = code_version()
    implementations: dict[str, Callable[..., Any]] = {}
    codes = {args.label: code}
    if args.baseline is not None:
        implementations[args.baseline_label] = load_anonymize_video(args.baseline)
        codes[args.baseline_label] = {**code, "anonymize_py_from_commit": args.baseline}
    implementations[args.label] = anonymize_video
    with tempfile.TemporaryDirectory(prefix="bench_anonymize_") as tmp:
        workdir = Path(tmp)
        full = make_input(workdir / "input.mp4", video)
        clip = max(CONFIGS[name]["num_frames"] for name in configs)
        warmup = make_input(workdir / "warmup.mp4", video, num_frames=clip)
        for name in configs:
            source, note = full, args.note
            if name == "vit_b" and args.frames_vit_b:
                source = make_input(workdir / "input_vit_b.mp4", video, num_frames=args.frames_vit_b)
                note = (note + " " if note else "") + (
                    f"ViT-B measured on the first {args.frames_vit_b} frames of the input (the whole 10 s takes "
                    "too long on this machine)."
                )
            load_start, date = _load_average(), datetime.datetime.now(datetime.timezone.utc)
            measured = benchmark_config(name, source, warmup, workdir, args.repeats, args.batch_size, implementations)
            for label, row in measured.items():
                row_note = note
                if label == args.baseline_label and args.baseline is not None:
                    row_note = (f"inference/anonymize.py as of commit {args.baseline}, the rest of the package as in "
                                f"the {args.label!r} row; alternated round by round with it. " + note).strip()
                row.update(label=label, note=row_note, date=date.strftime("%Y-%m-%d %H:%M:%S UTC"),
                           machine=machine_info(), code=codes[label], load_average_start=load_start,
                           load_average_end=_load_average())
                rows[:] = [r for r in rows if (r["label"], r["config"]) != (label, name)] + [row]
    results_path.write_text(json.dumps(report, indent=2) + "\n")
    (args.output / "anonymize.md").write_text(render_markdown(report))
    for row in rows:
        print(f"{row['label']:>10} {row['config']:>6}: {row['median_run']['fps']:.2f} fps "
              f"{ {k: round(v, 2) for k, v in row['median_run']['stages_s'].items()} }")
    return 0


if __name__ == "__main__":
    sys.exit(main())
