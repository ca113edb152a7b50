"""Figures of results: the utility-privacy trade-off with its Pareto front, and the raw-versus-anonymized frame
grid (the paper's Figure 2). matplotlib (Agg) draws them; PNGs are written atomically."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..fileutils import atomic_path
from .results import BenchmarkResults, MethodResult

logger = logging.getLogger(__name__)




def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated in (low privacy cMAP, high action top-1), ordered by cMAP.

    A point is dominated when another has lower-or-equal cMAP and higher-or-equal top-1, one of them
    strictly.

    Args:
        points (`Sequence[tuple[float, float]]`): ``(cmap, top1)`` pairs.

    Returns:
        `list[int]`: indices into ``points``, by increasing cMAP.
    """
    order = sorted(range(len(points)), key=lambda index: (points[index][0], -points[index][1]))
    front: list[int] = []
    best_top1 = -math.inf
    for index in order:
        if points[index][1] > best_top1:
            front.append(index)
            best_top1 = points[index][1]
    return front


def _new_figure(width: float, height: float):
    # A bare Figure renders through the Agg backend on savefig without touching pyplot's global state.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_tradeoff(
    results: BenchmarkResults,
    sweep: Sequence[MethodResult],
    path: str | Path,
    attacker: str = "frame",
    title: str | None = None,
) -> Path:
    """The utility-privacy trade-off: action top-1 against privacy cMAP, as a PNG.

    Every method of ``results`` is a point with error bars (std over seeds); the blind attacker's cMAP is a
    vertical dashed line (and the action chance level a horizontal dotted one); the ``sweep`` of VidAnon
    settings (e.g. several ``lambda_priv`` or keep rates) is drawn as labelled points with its Pareto front
    (lower cMAP, higher top-1) joined by a line. Top-left is best.

    Args:
        results (`BenchmarkResults`): methods and chance levels.
        sweep (`Sequence[MethodResult]`): VidAnon at several settings; may be empty.
        path (`str` or `Path`): the PNG to write.
        attacker (`str`, *optional*, defaults to `"frame"`): `"frame"` or `"video"`, whose cMAP is the x axis.
        title (`str`, *optional*): figure title.

    Returns:
        `Path`: the file written.
    """
    if attacker not in ("frame", "video"):
        raise ValueError(f"`attacker` must be 'frame' or 'video', got {attacker!r}.")
    cmap_metric = f"{attacker}_cmap"
    figure = _new_figure(7.0, 5.0)
    axes = figure.add_subplot()
    plotted = 0
    for index, method in enumerate(results.methods):
        if not (method.has("action_top1") and method.has(cmap_metric)):
            logger.warning("Method %s lacks action top-1 or %s cMAP: not plotted.", method.name, attacker)
            continue
        x, y = 100 * method.mean(cmap_metric), 100 * method.mean("action_top1")
        axes.errorbar(
            x,
            y,
            xerr=100 * method.std(cmap_metric),
            yerr=100 * method.std("action_top1"),
            fmt="o",
            color=f"C{index % 10}",
            capsize=3,
            label=method.name,
        )
        axes.annotate(method.name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        plotted += 1
    sweep_points = [
        (100 * point.mean(cmap_metric), 100 * point.mean("action_top1"), point)
        for point in sweep
        if point.has(cmap_metric) and point.has("action_top1")
    ]
    if sweep_points:
        for x, y, point in sweep_points:
            axes.errorbar(
                x,
                y,
                xerr=100 * point.std(cmap_metric),
                yerr=100 * point.std("action_top1"),
                fmt="s",
                color="black",
                markersize=4,
                capsize=2,
                alpha=0.7,
            )
            axes.annotate(point.name, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        front = pareto_front([(x, y) for x, y, _ in sweep_points])
        axes.plot(
            [sweep_points[i][0] for i in front],
            [sweep_points[i][1] for i in front],
            "-",
            color="black",
            linewidth=1.5,
            label="VidAnon sweep (Pareto front)",
        )
        plotted += len(sweep_points)
    if plotted == 0:
        raise ValueError("Nothing to plot: no method or sweep point has both action top-1 and cMAP.")
    axes.axvline(
        100 * results.chance.cmap, color="grey", linestyle="--", label="chance cMAP (blind attacker)"
    )
    axes.axhline(100 * results.chance.action_top1, color="grey", linestyle=":", label="chance top-1")
    axes.set_xlabel(f"{attacker}-level privacy attacker cMAP (%)  ← more private")
    axes.set_ylabel("action top-1 (%)  ↑ more useful")
    axes.set_title(
        title
        or (
            f"Utility-privacy trade-off on {results.dataset}"
            if results.dataset
            else "Utility-privacy trade-off"
        )
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="best")
    path = Path(path)
    with atomic_path(path, suffix=".tmp.png") as temporary:
        figure.savefig(temporary, format="png")
    logger.info("Wrote trade-off plot to %s", path)
    return path


def _as_video_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().float().cpu().numpy()
    array = np.asarray(value, dtype=np.float32)
    if array.ndim != 5:
        raise ValueError(f"`{name}` must have shape (N, T, C, H, W), got {array.shape}.")
    if array.shape[2] not in (1, 3):
        raise ValueError(f"`{name}` must have 1 or 3 channels, got {array.shape[2]} (shape {array.shape}).")
    return array


def plot_figure2(
    raw: Any,
    anonymized: Any,
    path: str | Path,
    frames: int = 4,
    clip_names: Sequence[str] | None = None,
) -> Path:
    """Raw frames above anonymized frames for a few clips (the paper's Figure 2), as a PNG.

    Each clip takes two rows: its raw frames, then the same frames anonymized. ``frames`` frame positions
    are spread evenly over the clip.

    Args:
        raw (`array-like` of shape `(N, T, C, H, W)`): clips in [0, 1] (numpy or torch), C = 1 or 3.
        anonymized (`array-like` of shape `(N, T, C, H, W)`): the same clips anonymized (same shape).
        path (`str` or `Path`): the PNG to write.
        frames (`int`, *optional*, defaults to 4): frame positions per clip (at most T).
        clip_names (`Sequence[str]`, *optional*): one label per clip.

    Returns:
        `Path`: the file written.
    """
    raw_array = _as_video_array(raw, "raw")
    anonymized_array = _as_video_array(anonymized, "anonymized")
    if raw_array.shape != anonymized_array.shape:
        raise ValueError(
            f"`raw` {raw_array.shape} and `anonymized` {anonymized_array.shape} must have the same shape."
        )
    num_clips, num_frames = raw_array.shape[:2]
    if num_clips == 0:
        raise ValueError("`raw` holds no clip.")
    if not 1 <= frames <= num_frames:
        raise ValueError(f"`frames` must be between 1 and T = {num_frames}, got {frames}.")
    if clip_names is not None and len(clip_names) != num_clips:
        raise ValueError(f"`clip_names` has {len(clip_names)} names for {num_clips} clips.")
    positions = np.linspace(0, num_frames - 1, frames).round().astype(int)
    height, width = raw_array.shape[3:]
    cell = 1.6
    figure = _new_figure(cell * frames * width / max(height, width) + 0.8, cell * 2 * num_clips + 0.3)
    grid = figure.subplots(2 * num_clips, frames, squeeze=False)
    for clip in range(num_clips):
        label = clip_names[clip] if clip_names is not None else f"clip {clip}"
        for row, (array, kind) in enumerate(((raw_array, "raw"), (anonymized_array, "anonymized"))):
            for column, position in enumerate(positions):
                axes = grid[2 * clip + row, column]
                image = np.clip(array[clip, position].transpose(1, 2, 0), 0.0, 1.0)
                if image.shape[2] == 1:
                    axes.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
                else:
                    axes.imshow(image)
                axes.set_xticks([])
                axes.set_yticks([])
                if column == 0:
                    axes.set_ylabel(f"{label}\n{kind}", fontsize=8)
                if clip == 0 and row == 0:
                    axes.set_title(f"frame {position}", fontsize=8)
    path = Path(path)
    with atomic_path(path, suffix=".tmp.png") as temporary:
        figure.savefig(temporary, format="png")
    logger.info("Wrote raw/anonymized frame grid of %d clips to %s", num_clips, path)
    return path


def save_preview(raw_clip: np.ndarray, anonymized_clip: np.ndarray, path: str | os.PathLike, title: str,
                 max_frames: int = 8) -> Path:
    """Write a Figure-2-style PNG (raw frames above the same frames anonymized), atomically.

    The drawing is [`plot_figure2`]; this function picks the frames and converts them.

    Args:
        raw_clip (`np.ndarray` of shape `(T, H, W, 3)`, uint8): consecutive input frames.
        anonymized_clip (`np.ndarray` of shape `(T, H, W, 3)`, uint8): the same frames anonymized.
        path (`str` or `os.PathLike`): the PNG to write.
        title (`str`): row label (e.g. the file name and the frame range).
        max_frames (`int`, *optional*, defaults to 8): at most this many frames, spread over the clip.

    Returns:
        `Path`: the written PNG.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the preview {str(path)!r} must be a .png file.")

    def to_float(clip: np.ndarray) -> np.ndarray:  # (T, H, W, 3) uint8 -> (1, T, 3, H, W) in [0, 1]
        return (np.asarray(clip).astype(np.float32) / 255.0).transpose(0, 3, 1, 2)[None]

    plot_figure2(to_float(raw_clip), to_float(anonymized_clip), path, frames=min(max_frames, len(raw_clip)),
                 clip_names=[title])
    return path
