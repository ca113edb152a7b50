"""Writing the SynthPrivacy benchmark: labels and splits drawn, videos rendered and encoded, regions and the
manifest written (the files are listed in the package docstring)."""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ...fileutils import write_text_atomically
from ...video import write_video
from ..labels import PRIVACY_ATTRIBUTES
from .read import CONFIG_NAME, MANIFEST_NAME, read_synth_manifest
from .render import (
    DEFAULT_IMAGE_SIZE,
    DEFAULT_NUM_FRAMES,
    REGION_NAMES,
    check_size,
    check_world,
    render_synth_video,
    world_actions,
)

logger = logging.getLogger(__name__)

BALANCED_PREVALENCE: tuple[float, ...] = (0.5, 0.5, 0.5, 0.5, 0.5)
"""The default positive rate of each attribute: balanced, so that chance cMAP is about 0.5 and the
privacy leakage of an anonymizer has the widest range to show in."""

VP_UCF101_PREVALENCE: tuple[float, ...] = (0.91, 0.60, 0.90, 0.25, 0.25)
"""Positive rates of the attributes in VP-UCF101 (the `--imbalanced` setting)."""

GENERATOR_VERSION = 2
"""Version of what the generator writes: 2 added the `action` region and world 2 (world 1's videos and manifest
are those of version 1)."""

DEFAULT_FPS = 16
DEFAULT_CRF = 18


def _split_assignment(labels: np.ndarray, fractions: Sequence[float], rng: np.random.Generator) -> list[str]:
    """Stratified split: within each class, a shuffled order cut by the fractions."""
    splits = [""] * len(labels)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n = len(members)
        n_train = round(n * fractions[0])
        n_val = round(n * (fractions[0] + fractions[1])) - n_train
        for rank, index in enumerate(members):
            splits[index] = "train" if rank < n_train else ("val" if rank < n_train + n_val else "test")
    return splits


def sample_synth_labels(
    num_videos: int,
    seed: int = 0,
    privacy_prevalence: Sequence[float] | None = None,
    split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
    world: int = 1,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The labels `generate_synth_privacy` gives its videos, without rendering anything.

    Actions are balanced (a shuffled `i mod 6`, 6 being the number of the world's actions), each attribute is an
    independent Bernoulli draw with its prevalence, and splits are stratified by action.

    Args:
        num_videos (`int`): number of videos.
        seed (`int`, *optional*, defaults to 0): the generator's seed.
        privacy_prevalence (5 floats, *optional*): positive rates (default `BALANCED_PREVALENCE`).
        split_fractions (3 floats, *optional*, defaults to `(0.6, 0.2, 0.2)`): train, val, test fractions.
        world (`int`, *optional*, defaults to 1): the world, whose actions are the classes.

    Returns:
        `tuple`: action labels `(N,)` int, privacy labels `(N, 5)` int 0/1, and the split of each video.
    """
    prevalence = np.asarray(BALANCED_PREVALENCE if privacy_prevalence is None else privacy_prevalence, dtype=float)
    if prevalence.shape != (len(PRIVACY_ATTRIBUTES),) or np.any((prevalence < 0) | (prevalence > 1)):
        raise ValueError(
            f"`privacy_prevalence` must be {len(PRIVACY_ATTRIBUTES)} rates in [0, 1] "
            f"(order {PRIVACY_ATTRIBUTES}), got {privacy_prevalence}."
        )
    fractions = np.asarray(split_fractions, dtype=float)
    if fractions.shape != (3,) or np.any(fractions < 0) or not math.isclose(float(fractions.sum()), 1.0, abs_tol=1e-6):
        raise ValueError(f"`split_fractions` must be 3 non-negative numbers summing to 1, got {split_fractions}.")
    num_classes = len(world_actions(world))
    rng = np.random.default_rng(seed)
    labels = np.arange(num_videos) % num_classes
    labels = labels[rng.permutation(num_videos)]
    privacy = (rng.random((num_videos, len(PRIVACY_ATTRIBUTES))) < prevalence).astype(int)
    return labels, privacy, _split_assignment(labels, fractions, rng)


def generate_synth_privacy(
    output_dir: str | os.PathLike,
    num_videos: int,
    seed: int = 0,
    *,
    num_frames: int = DEFAULT_NUM_FRAMES,
    image_size: int = DEFAULT_IMAGE_SIZE,
    fps: int = DEFAULT_FPS,
    privacy_prevalence: Sequence[float] | None = None,
    split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
    crf: int = DEFAULT_CRF,
    world: int = 1,
    num_workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write the SynthPrivacy benchmark (videos, manifest, regions) to `output_dir`.

    Actions are balanced (video `i` of a shuffled order gets class `i mod 6`); each privacy attribute
    is drawn independently with its positive rate from `privacy_prevalence`; splits are stratified
    by action. Each video's nuisances come from its own random stream (`seed`, index), so that the files do not
    depend on `num_workers`.

    Args:
        output_dir (`str` or `os.PathLike`): folder to write into (created if missing).
        num_videos (`int`): number of videos (>= 1).
        seed (`int`, *optional*, defaults to 0): the seed of everything.
        num_frames (`int`, *optional*, defaults to 32): frames per video.
        image_size (`int`, *optional*, defaults to 64): frame height and width (112 for the large setting).
        fps (`int`, *optional*, defaults to 16): frame rate written in the mp4 files.
        privacy_prevalence (5 floats, *optional*): positive rate of each attribute, in the order of
            `PRIVACY_ATTRIBUTES`; defaults to `BALANCED_PREVALENCE` (0.5 each). Pass
            `VP_UCF101_PREVALENCE` for VP-UCF101's imbalance.
        split_fractions (3 floats, *optional*, defaults to `(0.6, 0.2, 0.2)`): train, val and test
            fractions (each >= 0, summing to 1).
        crf (`int`, *optional*, defaults to 18): H.264 constant rate factor (lower = better quality).
        world (`int`, *optional*, defaults to 1): which world draws the videos (`SYNTH_WORLDS`; the package
            docstring describes each); its actions are the classes.
        num_workers (`int`, *optional*): videos rendered and encoded at once in worker processes (default: the
            CPU count, at most `num_videos`; 1: in this process).
        overwrite (`bool`, *optional*, defaults to `False`): replace an existing benchmark in `output_dir`.
        progress (`bool`, *optional*, defaults to `True`): show a tqdm bar.

    Returns:
        `Path`: the path of `manifest.jsonl`.

    Raises:
        ValueError: on an invalid argument (named in the message).
        FileExistsError: if `output_dir` already holds a manifest and `overwrite` is False.
    """
    world = check_world(world)
    prevalence, fractions = _checked_arguments(num_videos, num_frames, image_size, fps, crf, seed,
                                               privacy_prevalence, split_fractions)
    num_videos = int(num_videos)
    workers = _worker_count(num_workers, num_videos)
    root = Path(output_dir)
    manifest_path = root / MANIFEST_NAME
    if manifest_path.exists():
        if not overwrite:
            raise FileExistsError(f"{manifest_path} already exists; pass overwrite=True (--overwrite) to replace it.")
        _remove_benchmark(manifest_path)
    (root / "regions").mkdir(parents=True, exist_ok=True)

    labels, privacy, splits = sample_synth_labels(num_videos, seed, prevalence, fractions, world=world)
    sizes = {"num_frames": int(num_frames), "image_size": int(image_size), "fps": int(fps), "crf": int(crf),
             "world": world}
    jobs = [(root, index, int(labels[index]), privacy[index].tolist(), int(seed), sizes) for index in range(num_videos)]
    rows: list[dict[str, Any] | None] = [None] * num_videos
    pool = _process_pool(workers) if workers > 1 else None
    try:
        if pool is None:
            written = ((job[1], _write_one_video(*job[:5], **job[5])) for job in jobs)
        else:
            # every job is submitted (the worker processes started) before the progress bar starts its thread
            futures: dict[Future, int] = {pool.submit(_write_one_video, *job[:5], **job[5]): job[1] for job in jobs}
            written = ((futures[future], future.result()) for future in as_completed(futures))
        with tqdm(total=num_videos, desc="SynthPrivacy", unit="video", disable=not progress) as bar:
            for index, row in written:  # the first failure is raised here, and the jobs not started are cancelled
                rows[index] = {**row, "split": splits[index]}
                bar.update()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    settings = {
        "generator_version": GENERATOR_VERSION,
        "world": world,
        "num_videos": num_videos,
        "seed": int(seed),
        "num_frames": int(num_frames),
        "image_size": int(image_size),
        "fps": int(fps),
        "crf": int(crf),
        "privacy_prevalence": [float(p) for p in prevalence],
        "split_fractions": [float(f) for f in fractions],
        "actions": list(world_actions(world)),
        "privacy_attributes": list(PRIVACY_ATTRIBUTES),
        "region_names": list(REGION_NAMES),
    }
    write_text_atomically(root / CONFIG_NAME, json.dumps(settings, indent=2) + "\n")
    # The manifest is written last, so that its presence means the benchmark is complete.
    write_text_atomically(manifest_path, "".join(json.dumps(row) + "\n" for row in rows))
    logger.info("Wrote %d SynthPrivacy videos (world %d) to %s", num_videos, world, root)
    return manifest_path


def _worker_count(num_workers: int | None, num_videos: int) -> int:
    if num_workers is None:
        return max(1, min(os.cpu_count() or 1, num_videos))
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or int(num_workers) < 1:
        raise ValueError(f"`num_workers` must be an integer >= 1 (or None for the CPU count), got {num_workers!r}.")
    return min(int(num_workers), num_videos)


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of worker processes: forked on Linux (the workers inherit the imported modules and start at once; they
    only render with numpy and encode, so that no lock of another thread of this process is needed there), spawned
    elsewhere (where a calling script needs the `if __name__ == "__main__":` guard)."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def _checked_arguments(
    num_videos: int, num_frames: int, image_size: int, fps: int, crf: int, seed: int,
    privacy_prevalence: Sequence[float] | None, split_fractions: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """Validate the generator's arguments before anything is written; returns the prevalence and fractions."""
    if int(num_videos) < 1:
        raise ValueError(f"`num_videos` must be >= 1, got {num_videos}.")
    check_size(num_frames, image_size)
    if int(fps) < 1:
        raise ValueError(f"`fps` must be >= 1, got {fps}.")
    if not 0 <= int(crf) <= 51:
        raise ValueError(f"`crf` must be in [0, 51], got {crf}.")
    prevalence = np.asarray(BALANCED_PREVALENCE if privacy_prevalence is None else privacy_prevalence, dtype=float)
    fractions = np.asarray(split_fractions, dtype=float)
    sample_synth_labels(1, seed, prevalence, fractions)  # validates both
    return prevalence, fractions


def _remove_benchmark(manifest_path: Path) -> None:
    """Delete the files of a previous benchmark, so that no stale video survives beside the new ones."""
    for row in read_synth_manifest(manifest_path):
        for key in ("path", "regions"):
            (manifest_path.parent / row[key]).unlink(missing_ok=True)
    manifest_path.unlink()


def _write_one_video(
    root: Path, index: int, label: int, privacy: list[int], seed: int, *,
    num_frames: int, image_size: int, fps: int, crf: int, world: int = 1,
) -> dict[str, Any]:
    """Render video `index` from its own random stream `(seed, index)`, write its mp4 (byte-reproducibly: one
    encoder thread) and region file; returns its manifest row without the split."""
    action = world_actions(world)[label]
    video_id = f"synth_{index:05d}" if world == 1 else f"synth_w{world}_{index:05d}"
    video = render_synth_video(action, privacy, np.random.default_rng([int(seed), index]),
                               num_frames=num_frames, image_size=image_size, world=world)
    rel_video, rel_regions = f"videos/{action}/{video_id}.mp4", f"regions/{video_id}.npz"
    write_video(root / rel_video, video.frames, fps, crf=crf, threads=1)
    np.savez_compressed(root / rel_regions, **video.regions)
    row: dict[str, Any] = {"video_id": video_id, "path": rel_video, "action": action, "label": int(label)}
    row.update({name: int(value) for name, value in zip(PRIVACY_ATTRIBUTES, privacy)})
    row.update({"regions": rel_regions, "num_frames": int(num_frames), "height": int(image_size),
                "width": int(image_size), "fps": int(fps)})
    return row
