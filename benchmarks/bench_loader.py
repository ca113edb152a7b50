"""Throughput of the video loader: training clips per second through `DataLoader`, decord vs PyAV.

The loader measured is the package's own path: `load_videofolder` rows, `ClipTransform("train", ...)`
(random 16-frame window with stride 2, decode, `ClipAugmentation` to the output size), `collate_clips`, batches
of 4. Test videos are generated first: 300 frames of 320 x 240 H.264 each (moving noise texture, so the decoder
does real work), written with `video_io.write_video` into a temporary folder.

Measured for every (backend, output size, DataLoader workers) combination: clips per second over a fixed number
of clips after a warm-up batch (which also absorbs worker start-up). Each configuration runs `--repeats` times
in an interleaved order (all configurations once, then again) and the median is reported, so the load of a
shared machine falls on every configuration alike. The load average is recorded at the start and the end.

The training side of the comparison (clips per second the training step consumes) is measured elsewhere; the
results leave `training_clips_per_second` empty for it, with the loader's figures beside it.

Usage:

    python benchmarks/bench_loader.py                                   # writes benchmarks/results/loader.{json,md}
    python benchmarks/bench_loader.py --quick --output /tmp/bench       # tiny smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler
from tqdm.auto import tqdm

from transformers_vidanon.data import ClipTransform, collate_clips, load_videofolder
from transformers_vidanon.processing_vidanon import ClipAugmentation, frames_to_clip
from transformers_vidanon.video import VideoFile, decord_available, training_indices, write_video

logger = logging.getLogger("bench_loader")

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def make_videos(
    folder: Path, num_videos: int, num_frames: int, height: int, width: int, seed: int = 0
) -> None:
    """Write `num_videos` H.264 videos of a noise texture sliding by one pixel per frame (two classes)."""
    rng = np.random.default_rng(seed)
    for index in tqdm(range(num_videos), desc="writing test videos"):
        texture = rng.integers(0, 256, size=(height + num_frames, width, 3), dtype=np.uint8)
        frames = np.stack([texture[t : t + height] for t in range(num_frames)])
        write_video(folder / f"class{index % 2}" / f"video{index:03d}.mp4", frames, fps=25, crf=23, threads=0)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def measure(
    dataset,
    backend: str,
    image_size: int,
    num_workers: int,
    num_clips: int,
    batch_size: int,
    num_frames: int,
    frame_stride: int,
) -> float:
    """Clips per second of one loader configuration (after one warm-up batch)."""
    transform = ClipTransform(
        "train", num_frames=num_frames, frame_stride=frame_stride, image_size=image_size, backend=backend
    )
    needed = num_clips + batch_size  # the first batch is the warm-up
    # one pass of a with-replacement sampler: no epoch boundary (and no worker restart) inside the timing
    sampler = RandomSampler(range(len(dataset)), replacement=True, num_samples=needed)
    loader = DataLoader(
        dataset.with_transform(transform),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_clips,
        worker_init_fn=_worker_init,
    )
    seen = 0
    start = 0.0
    for step, batch in enumerate(loader):
        if step == 0:
            start = time.perf_counter()  # after the warm-up batch (worker start-up, first decode)
            continue
        seen += batch["pixel_values"].shape[0]
    return seen / (time.perf_counter() - start)


def breakdown(
    folder: Path, backends: list[str], sizes: list[int], num_frames: int, frame_stride: int, samples: int
) -> dict[str, Any]:
    """Median milliseconds per clip of each step, in this process: open, decode, to tensor + augmentation."""
    files = sorted(folder.rglob("*.mp4"))
    rng = np.random.default_rng(0)
    result: dict[str, Any] = {}
    frames = None
    for backend in backends:
        opening, decoding = [], []
        for index in range(samples):
            start = time.perf_counter()
            video = VideoFile(files[index % len(files)], backend=backend)
            opened = time.perf_counter()
            frames = video.get_frames(training_indices(video.info.num_frames, num_frames, frame_stride, rng))
            decoding.append(1000 * (time.perf_counter() - opened))
            opening.append(1000 * (opened - start))
        result[f"{backend}_open_ms"] = statistics.median(opening)
        result[f"{backend}_decode_ms"] = statistics.median(decoding)
    for size in sizes:
        augment = ClipAugmentation(size)
        timings = []
        for index in range(samples):
            start = time.perf_counter()
            augment(frames_to_clip(frames), generator=torch.Generator().manual_seed(index))
            timings.append(1000 * (time.perf_counter() - start))
        result[f"augment_{size}_ms"] = statistics.median(timings)
    return result


def write_markdown(results: dict[str, Any], path: Path) -> None:
    rows = results["configurations"]
    settings = results["settings"]
    lines = [
        "## Video loader throughput",
        "",
        (
            f"Training clips per second through `DataLoader` (batch {settings['batch_size']}, "
            f"{settings['num_frames']} frames, stride {settings['frame_stride']}, random window, "
            f"`ClipAugmentation`), from {settings['num_videos']} H.264 videos of {settings['video_frames']} "
            f"frames at {settings['video_width']} x {settings['video_height']}. Median of {settings['repeats']} "
            f"interleaved repeats of {settings['clips_per_measure']} clips each, after a warm-up batch."
        ),
        "",
        "| backend | output | workers | clips/s (median) | all repeats |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        repeats = ", ".join(f"{value:.1f}" for value in row["clips_per_second_repeats"])
        lines.append(
            f"| {row['backend']} | {row['num_frames']} x {row['image_size']} x {row['image_size']} | "
            f"{row['num_workers']} | {row['clips_per_second']:.1f} | {repeats} |"
        )
    steps = results["breakdown_ms_per_clip"]
    lines += [
        "",
        "Where the time goes (median ms per clip, one process, no DataLoader): "
        + ", ".join(
            f"{name.removesuffix('_ms').replace('_', ' ')} {value:.1f}" for name, value in steps.items()
        )
        + ". Opening is paid per example (a PyAV header probe, plus decord's reader construction, which indexes "
        "the file). PyAV decodes from the first frame up to the last one needed; decord seeks to the keyframe "
        "before the window, but these test videos have one keyframe every 250 frames (x264's default), so it too "
        "decodes from near the start.",
    ]
    machine = results["machine"]
    training = results["training_clips_per_second"] or "not measured here (see the training benchmark)"
    lines += [
        "",
        f"Training clips/s to compare with: {training}.",
        "",
        (
            f"Machine: {machine['cpu_count']} CPU cores, {machine['platform']}, Python {machine['python']}, torch "
            f"{machine['torch']}; shared with other work: load average {machine['load_average_start']} at the "
            f"start, {machine['load_average_end']} at the end (1, 5, 15 minutes). Worker processes compete with "
            "the main process for the same cores, so more workers than free cores cannot help."
        ),
        "",
    ]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR, help="folder for loader.json and loader.md"
    )
    parser.add_argument("--num-videos", type=int, default=12)
    parser.add_argument("--video-frames", type=int, default=300)
    parser.add_argument("--clips", type=int, default=32, help="clips timed per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=[112, 224])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (few short videos, one repeat)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    if args.quick:
        args.num_videos, args.video_frames, args.clips, args.repeats = 4, 40, 4, 1
        args.sizes, args.workers = [112], [0, 1]
    num_frames, frame_stride, height, width = 16, 2, 240, 320
    backends = ["pyav"] + (["decord"] if decord_available() else [])
    load_start = [round(v, 2) for v in os.getloadavg()]

    with tempfile.TemporaryDirectory(prefix="bench_loader_") as folder:
        make_videos(Path(folder), args.num_videos, args.video_frames, height, width)
        dataset = load_videofolder(folder)
        steps = breakdown(
            Path(folder), backends, args.sizes, num_frames, frame_stride, 6 if args.quick else 20
        )
        configurations = [(b, s, w) for s in args.sizes for b in backends for w in args.workers]
        samples: dict[tuple[str, int, int], list[float]] = {c: [] for c in configurations}
        with tqdm(total=len(configurations) * args.repeats, desc="measuring") as progress:
            for _ in range(args.repeats):
                for backend, size, workers in configurations:
                    samples[(backend, size, workers)].append(
                        measure(
                            dataset,
                            backend,
                            size,
                            workers,
                            args.clips,
                            args.batch_size,
                            num_frames,
                            frame_stride,
                        )
                    )
                    progress.update()

    results = {
        "settings": {
            "num_videos": args.num_videos,
            "video_frames": args.video_frames,
            "video_height": height,
            "video_width": width,
            "num_frames": num_frames,
            "frame_stride": frame_stride,
            "batch_size": args.batch_size,
            "clips_per_measure": args.clips,
            "repeats": args.repeats,
            "augmentation": "ClipAugmentation(image_size) defaults",
            "quick": args.quick,
        },
        "configurations": [
            {
                "backend": b,
                "image_size": s,
                "num_frames": num_frames,
                "num_workers": w,
                "clips_per_second": statistics.median(samples[(b, s, w)]),
                "clips_per_second_repeats": samples[(b, s, w)],
            }
            for b, s, w in configurations
        ],
        "breakdown_ms_per_clip": steps,
        "training_clips_per_second": None,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average_start": load_start,
            "load_average_end": [round(v, 2) for v in os.getloadavg()],
        },
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "loader.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, args.output / "loader.md")
    for row in results["configurations"]:
        logger.info(
            "%-6s %3d px  workers=%d  %6.1f clips/s",
            row["backend"],
            row["image_size"],
            row["num_workers"],
            row["clips_per_second"],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
