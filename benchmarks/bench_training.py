"""Training throughput (clips/s) on this machine: the trainer on the synthetic config, and training fed from mp4 files.

Part "trainer": runs `training/train.py --config training/configs/synthetic.yaml` for a fixed number of steps in a
fresh process per objective (grl, alternating), reads the trainer's own clips/s from metrics.jsonl (the first
logging window, which holds start-up work, is left out) and the training process's own peak resident memory
(getrusage at its exit).

Part "files": the path a user with their own videos takes. H.264 mp4 files at 320 x 240 (larger than the model
input, as real files are, so the loader has to scale) are written once and listed in a CSV manifest; rows come
from `load_manifest`, are decoded by `ClipTransform("train", ...)` (random 16-frame window, stride 2,
`ClipAugmentation`) and batched by a torch `DataLoader` with `collate_clips`. At each image size it measures clips
per second of the loader alone (with `decode_at_size` off, the full-size decode then resize, and on), of the model
step alone (forward, backward and AdamW step of `VidAnonForPrivacyPreservingActionRecognition` on in-memory
batches) and of both together, with 0, 1 and 2 DataLoader workers.

    python benchmarks/bench_training.py [--parts trainer files] [--steps 40] [--output benchmarks/results/training.json]
    python benchmarks/bench_training.py --quick --output /tmp/training.json     # small smoke run of both parts

GPU figures (ViT-B at 16 x 224 x 224 in bf16) need a GPU; on a machine without one they are reported as not
measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# The model of the "files" part: ViT-Ti width at half depth, small enough for a 2-core CPU at 224 x 224.
FILES_MODEL = {"hidden_size": 192, "num_hidden_layers": 6, "num_attention_heads": 3, "intermediate_size": 768,
               "patch_size": 16, "tubelet_size": 2, "num_frames": 16, "pruning_layers": [1, 3, 5], "keep_rate": 0.9}
QUICK_MODEL = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
               "patch_size": 16, "tubelet_size": 2, "num_frames": 16, "pruning_layers": [1], "keep_rate": 0.9}
SOURCE_HEIGHT, SOURCE_WIDTH = 240, 320


def run_once(objective: str, steps: int, synth_dir: Path, work: Path) -> dict:
    output = work / f"run-{objective}"
    # the training script runs inside a wrapper that reports its own peak resident memory when it ends
    wrapper = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
               "code = 0\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
               "except SystemExit as e:\n    code = e.code or 0\n"
               "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(code)")
    command = [
        sys.executable, "-c", wrapper, str(REPO / "training" / "train.py"), "--config", str(REPO / "training" / "configs" / "synthetic.yaml"),
        "--data_dir", str(synth_dir), "--output_dir", str(output), "--objective", objective,
        "--max_steps", str(steps), "--logging_steps", "5", "--eval_every_epochs", "0", "--save_final_model", "false",
        "--checkpointing_steps", str(10 * steps), "--disable_tqdm", "true",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    peak_kib = int(result.stderr.rsplit("PEAK_RSS_KIB", 1)[1].split()[0])
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    rates = [r["clips_per_s"] for r in records if "clips_per_s" in r][1:]
    return {
        "objective": objective,
        "steps": steps,
        "clips_per_s_median": statistics.median(rates),
        "clips_per_s_windows": rates,
        "wall_s": wall,
        "peak_rss_mib": peak_kib / 1024,
    }


def loader_rate(synth_dir: Path, clips: int = 400) -> float:
    """Clips/s the synthetic config's training loader supplies alone (decode, sample, resize; one process)."""
    from torch.utils.data import DataLoader

    from transformers_vidanon.data import collate_clips
    from transformers_vidanon.data.builders import build_training_data
    from transformers_vidanon.training.arguments import parse_arguments
    from transformers_vidanon.workflows.benchmark import packaged_config

    model_args, data_args, _ = parse_arguments(["--config", str(packaged_config("synthetic")), "--data_dir", str(synth_dir)])
    data = build_training_data(data_args, model_args.image_size, model_args.num_frames)
    loader = DataLoader(data.train, batch_size=16, shuffle=True, collate_fn=collate_clips)
    seen, start = 0, time.perf_counter()
    while seen < clips:
        for batch in loader:
            seen += batch["pixel_values"].shape[0]
            if seen >= clips:
                break
    return seen / (time.perf_counter() - start)


def write_source_videos(folder: Path, num_videos: int, num_frames: int) -> Path:
    """Write `num_videos` 320 x 240 H.264 files (moving shapes over a coarse texture) and a CSV manifest of them."""
    from transformers_vidanon.video import write_video

    rng = np.random.default_rng(0)
    rows = ["path,action,split"]
    yy, xx = np.mgrid[0:SOURCE_HEIGHT, 0:SOURCE_WIDTH].astype(np.float32)
    for index in range(num_videos):
        texture = rng.integers(40, 216, size=(SOURCE_HEIGHT // 8, SOURCE_WIDTH // 8, 3), dtype=np.uint8)
        background = texture.repeat(8, 0).repeat(8, 1).astype(np.float32)
        phase = rng.uniform(0, 2 * np.pi, size=4)
        frames = np.empty((num_frames, SOURCE_HEIGHT, SOURCE_WIDTH, 3), dtype=np.uint8)
        for t in range(num_frames):
            frame = np.roll(background, t, axis=1)
            for k in range(2):
                cy = SOURCE_HEIGHT / 2 + 70 * np.sin(t / 11 + phase[2 * k])
                cx = SOURCE_WIDTH / 2 + 110 * np.cos(t / 17 + phase[2 * k + 1])
                mask = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 28.0**2))[..., None]
                frame = frame * (1 - mask) + np.array([230.0, 60 + 80 * k, 40], dtype=np.float32) * mask
            frames[t] = frame.astype(np.uint8)
        name = f"class{index % 2}/video{index:03d}.mp4"
        write_video(folder / name, frames, fps=25)
        rows.append(f"{name},class{index % 2},train")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def _worker_init(_: int) -> None:
    import torch

    torch.set_num_threads(1)


def _files_loader(dataset, image_size: int, decode_at_size: bool, workers: int, clips: int, batch_size: int):
    from torch.utils.data import DataLoader, RandomSampler

    from transformers_vidanon.data import ClipTransform, collate_clips

    transform = ClipTransform("train", num_frames=16, frame_stride=2, image_size=image_size,
                              decode_at_size=decode_at_size)
    # one pass of a with-replacement sampler: no epoch boundary (and no worker restart) inside the timing;
    # the first batch is the warm-up (worker start-up, first decode)
    sampler = RandomSampler(range(len(dataset)), replacement=True, num_samples=clips + batch_size)
    return DataLoader(dataset.with_transform(transform), batch_size=batch_size, sampler=sampler,
                      num_workers=workers, collate_fn=collate_clips, worker_init_fn=_worker_init)


def _build_model(spec: dict, image_size: int):
    import torch

    from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition

    torch.manual_seed(0)
    config = VidAnonConfig(image_size=image_size, num_labels=2, **spec)
    model = VidAnonForPrivacyPreservingActionRecognition(config).train()
    return model, torch.optim.AdamW(model.parameters(), lr=1e-4)


def _train_step(model, optimizer, batch: dict) -> None:
    optimizer.zero_grad(set_to_none=True)
    model(pixel_values=batch["pixel_values"], labels=batch["labels"], privacy_labels=batch["privacy_labels"]).loss.backward()
    optimizer.step()


def _timed_batches(loader, step=None) -> float:
    """Clips/s over every batch after the first (the warm-up), running `step` on each batch if given."""
    seen, start = 0, 0.0
    for index, batch in enumerate(loader):
        if step is not None:
            step(batch)
        if index == 0:
            start = time.perf_counter()
            continue
        seen += batch["pixel_values"].shape[0]
    return seen / (time.perf_counter() - start)


def model_step_rate(spec: dict, image_size: int, batch_size: int, steps: int) -> float:
    """Clips/s of forward + backward + optimizer step on in-memory batches (after one warm-up step)."""
    import torch

    model, optimizer = _build_model(spec, image_size)
    generator = torch.Generator().manual_seed(0)
    batch = {"pixel_values": torch.rand(batch_size, 16, 3, image_size, image_size, generator=generator),
             "labels": torch.randint(0, 2, (batch_size,), generator=generator),
             "privacy_labels": torch.randint(0, 2, (batch_size, 5), generator=generator).float()}
    _train_step(model, optimizer, batch)
    start = time.perf_counter()
    for _ in range(steps):
        _train_step(model, optimizer, batch)
    return steps * batch_size / (time.perf_counter() - start)


def transform_ms_per_clip(dataset, image_size: int, decode_at_size: bool, samples: int) -> float:
    """Median milliseconds of one `ClipTransform.load` (open, decode, augment) in this process, no DataLoader."""
    from transformers_vidanon.data import ClipTransform

    transform = ClipTransform("train", num_frames=16, frame_stride=2, image_size=image_size,
                              decode_at_size=decode_at_size)
    paths = dataset["video"]
    timings = []
    for index in range(samples):
        start = time.perf_counter()
        transform.load(paths[index % len(paths)], seed=index)
        timings.append(1000 * (time.perf_counter() - start))
    return statistics.median(timings)


def files_benchmark(sizes: list[int], workers: list[int], quick: bool, threads: int) -> dict:
    """The "files" part: loader alone, model step alone and both together, per image size and worker count."""
    import torch

    from transformers_vidanon.data import load_manifest

    torch.set_num_threads(threads)
    spec = QUICK_MODEL if quick else FILES_MODEL
    batch_size = 2
    num_videos, video_frames = (4, 40) if quick else (12, 150)
    rows, transform_ms = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_training_files_") as tmp:
        manifest = write_source_videos(Path(tmp), num_videos, video_frames)
        dataset = load_manifest(manifest, split="train")
        for size in sizes:
            # fewer clips where each costs more, so that one full run stays within about ten minutes here
            loader_clips = 4 if quick else {64: 32, 112: 24}.get(size, 16)
            model_steps = 1 if quick else {64: 6, 112: 3}.get(size, 1)
            together_clips = 2 if quick else {64: 16, 112: 8}.get(size, 2)
            model_rate = model_step_rate(spec, size, batch_size, model_steps)
            per_clip = {key: transform_ms_per_clip(dataset, size, at_size, 3 if quick else 16)
                        for key, at_size in (("full_size_decode", False), ("decode_at_size", True))}
            print(f"files: {size} px, ms per clip in one process: {per_clip}", flush=True)
            transform_ms[size] = per_clip
            for count in workers:
                row = {"image_size": size, "num_workers": count, "model_step_clips_per_s": model_rate}
                for at_size in (False, True):
                    key = "decode_at_size" if at_size else "full_size_decode"
                    row[f"loader_clips_per_s_{key}"] = _timed_batches(
                        _files_loader(dataset, size, at_size, count, loader_clips, batch_size))
                model, optimizer = _build_model(spec, size)
                row["together_clips_per_s_decode_at_size"] = _timed_batches(
                    _files_loader(dataset, size, True, count, together_clips, batch_size),
                    lambda batch, model=model, optimizer=optimizer: _train_step(model, optimizer, batch))
                rows.append(row)
                print(f"files: {size} px, {count} workers: " + ", ".join(
                    f"{k} {v:.2f}" for k, v in row.items() if k.endswith("per_s") or "per_s_" in k), flush=True)
    return {
        "source_videos": {"count": num_videos, "frames": video_frames, "width": SOURCE_WIDTH,
                          "height": SOURCE_HEIGHT, "codec": "H.264 (write_video defaults)", "fps": 25},
        "loader": "load_manifest(CSV) -> ClipTransform('train', num_frames=16, frame_stride=2, image_size=S) -> "
                  f"DataLoader(batch_size={batch_size}, collate_fn=collate_clips, workers with 1 torch thread)",
        "model": {**spec, "batch_size": batch_size, "dtype": "float32", "optimizer": "AdamW",
                  "step": "forward (action + privacy losses) + backward + optimizer step"},
        "rows": rows,
        "transform_ms_per_clip": transform_ms,
        "transform_note": "median ms of one ClipTransform.load (open, decode, augment) in the main process, no "
                          "DataLoader, same seeds with the option off and on",
    }


def files_markdown(files: dict) -> list[str]:
    model = files["model"]
    lines = [
        "## Training fed from mp4 files (manifest -> ClipTransform -> DataLoader)",
        "",
        (f"{files['source_videos']['count']} H.264 files of {files['source_videos']['frames']} frames at "
         f"{files['source_videos']['width']} x {files['source_videos']['height']}, 16-frame clips (stride 2, random "
         f"window, `ClipAugmentation`), batch {model['batch_size']}. Model: hidden {model['hidden_size']}, "
         f"{model['num_hidden_layers']} layers, {model['num_attention_heads']} heads, MLP {model['intermediate_size']}, "
         f"patch {model['patch_size']}, tubelet {model['tubelet_size']}, pruning after layers {model['pruning_layers']} "
         f"(keep {model['keep_rate']}), fp32, AdamW. Clips per second, one measurement each (after a warm-up batch)."),
        "",
        ("| size | workers | loader alone, full-size decode | loader alone, decode at size | model step alone | "
         "together (decode at size) |"),
        "|---|---|---|---|---|---|",
    ]
    for row in files["rows"]:
        lines.append(f"| {row['image_size']} | {row['num_workers']} | {row['loader_clips_per_s_full_size_decode']:.1f} | "
                     f"{row['loader_clips_per_s_decode_at_size']:.1f} | {row['model_step_clips_per_s']:.2f} | "
                     f"{row['together_clips_per_s_decode_at_size']:.2f} |")
    lines += ["", "One clip through `ClipTransform.load` in one process (median ms; open, decode, augment):", "",
              "| size | full-size decode, then resize | decode at size | speed-up |", "|---|---|---|---|"]
    for size, per_clip in files["transform_ms_per_clip"].items():
        before, after = per_clip["full_size_decode"], per_clip["decode_at_size"]
        lines.append(f"| {size} | {before:.1f} | {after:.1f} | {before / after:.2f}x |")
    return lines


def trainer_benchmark(steps: int, objectives: list[str]) -> dict:
    from transformers_vidanon.data.synth import generate_synth_privacy

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate_synth_privacy(work / "synth", 120, 0, progress=False)
        runs = [run_once(objective, steps, work / "synth", work) for objective in objectives]
        supplied = loader_rate(work / "synth")
    for run in runs:
        run["model_only_clips_per_s"] = 1.0 / max(1e-9, 1.0 / run["clips_per_s_median"] - 1.0 / supplied)
    return {"runs": runs, "loader_clips_per_s": supplied}


def trainer_markdown(trainer: dict) -> list[str]:
    supplied = trainer["loader_clips_per_s"]
    lines = ["## The trainer on the synthetic config (in-memory-sized 64 x 64 files, num_workers 0)", "",
             "| objective | clips/s (median of windows) | peak RSS (MiB) | wall (s) for steps |", "|---|---|---|---|"]
    for run in trainer["runs"]:
        lines.append(f"| {run['objective']} | {run['clips_per_s_median']:.1f} | {run['peak_rss_mib']:.0f} "
                     f"| {run['wall_s']:.0f} for {run['steps']} |")
    for run in trainer["runs"]:
        model_only = run["model_only_clips_per_s"]
        lines.append("")
        lines.append(f"{run['objective']}: loader alone {supplied:.1f} clips/s, model step alone about {model_only:.1f} "
                     f"clips/s: the loader is {supplied / model_only:.2f}x what training consumes")
    return lines


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _decoders() -> dict:
    import av

    from transformers_vidanon.video import decord_available, resolve_backend

    versions = {"backend": resolve_backend("auto"), "pyav": av.__version__}
    if decord_available():
        import decord

        versions["decord"] = decord.__version__
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=["trainer", "files"], default=["trainer", "files"])
    parser.add_argument("--steps", type=int, default=40, help="trainer part: training steps per objective")
    parser.add_argument("--objectives", nargs="+", default=["grl", "alternating"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 112, 224], help="files part: image sizes")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="files part: DataLoader workers")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="files part: torch threads of the main (model) process")
    parser.add_argument("--quick", action="store_true", help="small smoke run: few steps, tiny model, one size")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "training.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.objectives, args.sizes, args.workers = 10, ["grl"], [64], [0, 1]
    sys.path.insert(0, str(REPO / "src"))
    import torch

    load_start = os.getloadavg()
    trainer = trainer_benchmark(args.steps, args.objectives) if "trainer" in args.parts else None
    files = files_benchmark(args.sizes, args.workers, args.quick, args.threads) if "files" in args.parts else None
    report = {
        "quick": args.quick,
        "commit": _git_commit(),
        "machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "worker_torch_threads": 1,
                    "python": platform.python_version(), "decoders": _decoders(),
                    "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "config": "training/configs/synthetic.yaml (64x64, 16 frames, hidden 128, 6 layers, batch 8, fp32)",
        "gpu": "not measured: no GPU on this machine (ViT-B 16x224x224 bf16 clips/s, memory and MFU need one)",
    }
    lines = []
    if trainer is not None:
        report.update(trainer)
        report["loader_note"] = ("the trainer decodes in its own process (num_workers 0): its clips/s include "
                                 "decoding; the model alone runs at 1 / (1 / trainer - 1 / loader) clips/s")
        lines += trainer_markdown(trainer) + [""]
    if files is not None:
        report["files"] = files
        lines += files_markdown(files) + [""]
    machine = report["machine"]
    lines.append(
        f"Machine: {machine['cpu']}, {machine['cores']} CPU cores shared with other work (timings are noisy: load "
        f"average {[round(v, 2) for v in machine['load_average_start']]} at the start, "
        f"{[round(v, 2) for v in machine['load_average_end']]} at the end), torch {machine['torch']} with "
        f"{machine['torch_threads']} threads in the main process and 1 per DataLoader worker, video decoding by "
        f"{machine['decoders']['backend']} (" + ", ".join(f"{k} {v}" for k, v in machine["decoders"].items()
                                                           if k != "backend")
        + f"); commit {report['commit']}. Workers share the same cores as the model step, so more workers than free "
        "cores cannot help here. GPU: not measured.")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2))
    Path(args.output).with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
