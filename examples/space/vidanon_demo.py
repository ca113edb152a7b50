"""The interactive anonymization demo: a Gradio app around a `video-anonymization` pipeline.

The user uploads a video (or generates a SynthPrivacy clip, where the tools can render one) and sees, side by
side, the raw clip and the anonymized one, the tubelet keep mask over time and the heat maps of the last pruning
layer (`a_act`, `a_priv` and `s = a_act - lambda_priv * a_priv`), with the share of pixels kept and the mask
flicker. The keep rate and `lambda_priv` are sliders: they reach the model as the pipeline's `keep_rate` /
`lambda_priv` arguments, i.e. `model.pruning_overridden(...)` for the duration of one call, so the weights and the
model's own settings are never changed.

Everything the demo computes goes through the pipeline (the frames, the masks, and with `return_pruning_maps` the
maps of `model.pruning_maps`, from the same forward pass); the video is handed to it in consecutive segments of
whole clips, which gives what one call on the whole video gives and lets the page show a progress bar.

This file imports nothing from `transformers_vidanon`: it runs wherever transformers can build the pipeline, with
the package installed (`vidanon app`, see `transformers_vidanon.app.package`) or from a checkpoint's own code
(`trust_remote_code=True`, as a Hugging Face Space does: `examples/space/app.py`). What it needs beyond the
pipeline (probing, decoding and writing video files, the flicker rate, example clips) comes in as [`DemoTools`];
`examples/space/vidanon_demo.py` is a copy of this file, and the tests keep the two equal.
"""

from __future__ import annotations

import html
import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MAX_PIXELS = 1280 * 720
"""Largest frame (height x width) the demo takes by default: the whole video is held in memory."""
DEFAULT_MAX_SECONDS = 20.0
"""Longest video the demo takes by default."""
FALLBACK_FPS = 25.0
"""Frame rate used when a file's header gives none (as `vidanon anonymize` does)."""
CLIPS_PER_STEP = 4
"""Model clips per pipeline call (one step of the progress bar)."""
MAX_TILES = 24
"""At most this many time slots are drawn in the mask strip and the heat maps (evenly spaced when there are more)."""
TILE_WIDTH = 96
KEPT_RUNS = 16
"""Output folders of this many recent runs are kept (older ones are deleted; the page has its own copies)."""


class InputRefused(ValueError):
    """A video the demo does not take (unreadable, no video stream, too large, too long): the message is shown in
    the page."""


@dataclass(frozen=True)
class VideoProbe:
    """What a file's header says: `num_frames`, `fps` (0 when unknown), `height`, `width`."""

    num_frames: int
    fps: float
    height: int
    width: int


@dataclass
class DemoTools:
    """What the demo needs besides the pipeline.

    Attributes:
        probe (`Callable[[str], VideoProbe]`): the file's frame count, frame rate and size; raises [`InputRefused`]
            (or `ValueError`) with the reason when it is not a readable video or has no video stream.
        read (`Callable[[str], np.ndarray]`): every frame, `(T, H, W, 3)` uint8 RGB (the decoding the pipeline does
            for a path); raises like `probe`.
        write_mp4 (`Callable[[str, np.ndarray, float], Any]`): write frames as a browser-playable mp4 (H.264, yuv420p)
            at a frame rate.
        flicker (`Callable[[np.ndarray], float]`): the mask flicker rate of a `(B, T', H', W')` keep mask: the share of
            tubelet positions whose keep state changes between consecutive time slots.
        example_clip (`Callable[[str, int, str], str]`, *optional*): render an example clip `(action, seed, folder)`
            into an mp4 in `folder` and return its path; the page offers it when given.
        example_actions (`tuple[str, ...]`): the actions `example_clip` knows.
    """

    probe: Callable[[str], VideoProbe]
    read: Callable[[str], np.ndarray]
    write_mp4: Callable[[str, np.ndarray, float], Any]
    flicker: Callable[[np.ndarray], float]
    example_clip: Callable[[str, int, str], str] | None = None
    example_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoLimits:
    """What an upload may be: frames of at most `max_pixels` pixels, at most `max_seconds` long (`None`: no limit)."""

    max_pixels: int | None = DEFAULT_MAX_PIXELS
    max_seconds: float | None = DEFAULT_MAX_SECONDS


@dataclass
class DemoResult:
    """One anonymization as the page shows it.

    Attributes:
        raw_video (`Path`), anonymized_video (`Path`): H.264 mp4 files of the decoded input (no audio) and of the
            anonymized frames, at the input's frame count, frame rate and size.
        frames (`np.ndarray` `(T, H, W, 3)` uint8): the anonymized frames.
        keep_mask (`np.ndarray` `(num_clips, T', H', W')`): the pipeline's keep mask of every clip (1 = kept).
        slot_mask (`np.ndarray` `(num_slots, H', W')`): the same over the video's time slots (the last clip's
            padding slots left out).
        pruning_maps (`dict[str, np.ndarray]`): `action_attention`, `privacy_attention`, `scores` of the last pruning
            layer over the time slots, `(num_slots, H', W')`, NaN where an earlier layer pruned the tubelet; empty
            when the model has no pruning layer or its code gives no maps.
        pruning_layer (`int` or `None`): which layer the maps are of.
        kept_fraction (`float`): share of the video's pixels kept.
        tubelet_fraction (`float`): share of the video's tubelets kept.
        flicker (`float` or `None`): mask flicker rate over the video's time slots (`None` with one slot).
        keep_rate, lambda_priv: the settings used.
        fps (`float`), num_frames (`int`), height (`int`), width (`int`): of the input.
        mask_strip (`np.ndarray`), heat_maps (`list[np.ndarray]`): the images the page shows.
        slots_shown (`list[int]`): the time slots drawn in them.
        arrays_file (`Path`): `keep_mask`, `slot_mask` and the maps as an `.npz` file.
    """

    raw_video: Path
    anonymized_video: Path
    frames: np.ndarray
    keep_mask: np.ndarray
    slot_mask: np.ndarray
    pruning_maps: dict[str, np.ndarray]
    pruning_layer: int | None
    kept_fraction: float
    tubelet_fraction: float
    flicker: float | None
    keep_rate: Any
    lambda_priv: float
    fps: float
    num_frames: int
    height: int
    width: int
    mask_strip: np.ndarray
    heat_maps: list[np.ndarray] = field(default_factory=list)
    slots_shown: list[int] = field(default_factory=list)
    arrays_file: Path | None = None

    def summary(self) -> str:
        """The result in one Markdown paragraph."""
        flicker = "n/a (one time slot)" if self.flicker is None else f"{100 * self.flicker:.1f} %"
        return (
            f"**Kept {100 * self.kept_fraction:.1f} % of the pixels** ({100 * self.tubelet_fraction:.1f} % of the "
            f"tubelets) · **mask flicker {flicker}** · keep rate {_format_rate(self.keep_rate)}, "
            f"λ = {self.lambda_priv:g} · {self.num_frames} frames at {self.fps:.3g} fps, {self.width}×{self.height}"
        )


# ----------------------------------------------------------------------------------------------------------------------
# The computation
# ----------------------------------------------------------------------------------------------------------------------
def _refusing_unreadable(read: Callable[[str], Any], path: str, what: str) -> Any:
    """`read(path)`, with a file it cannot read (`ValueError`, `OSError`) refused as [`InputRefused`]."""
    try:
        return read(path)
    except InputRefused:
        raise
    except (ValueError, OSError) as error:
        raise InputRefused(f"{Path(path).name} {what}: {error}") from None


def check_video(tools: DemoTools, path: str, limits: DemoLimits) -> VideoProbe:
    """The probe of `path`, or [`InputRefused`] saying why the demo does not take it."""
    name = Path(path).name
    probe = _refusing_unreadable(tools.probe, path, "cannot be read as a video")
    if probe.num_frames < 1:
        raise InputRefused(f"{name} has no video frames.")
    pixels = probe.height * probe.width
    if limits.max_pixels and pixels > limits.max_pixels:
        raise InputRefused(
            f"{name} has frames of {probe.width}×{probe.height} = {pixels} pixels; this demo takes at most "
            f"{limits.max_pixels} pixels per frame (--max-pixels). Downscale the video, or use `vidanon anonymize`, "
            f"which streams."
        )
    seconds = probe.num_frames / (probe.fps if probe.fps > 0 else FALLBACK_FPS)
    if limits.max_seconds and seconds > limits.max_seconds:
        raise InputRefused(
            f"{name} is {seconds:.1f} s long; this demo takes at most {limits.max_seconds:g} s (--max-seconds). "
            f"Cut the video, or use `vidanon anonymize`, which streams."
        )
    return probe


def anonymize_for_demo(
    anonymizer: Any,
    tools: DemoTools,
    path: str,
    output_dir: str | Path,
    keep_rate: float | None = None,
    lambda_priv: float | None = None,
    limits: DemoLimits = DemoLimits(),
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Anonymize one video file with the pipeline and make what the page shows.

    Args:
        anonymizer: a `video-anonymization` pipeline.
        tools ([`DemoTools`]): reading, writing and the flicker rate.
        path (`str`): the video file.
        output_dir (`str` or `Path`): where the mp4 files and the arrays go.
        keep_rate (`float`, *optional*), lambda_priv (`float`, *optional*): the pipeline's overrides (`None`: the
            model's own).
        limits ([`DemoLimits`]): what an upload may be.
        progress (`Callable[[int, int], None]`, *optional*): called with (clips done, clips in all).

    Raises:
        InputRefused: the file is not a video the demo takes.
    """
    probe = check_video(tools, path, limits)
    video = _refusing_unreadable(tools.read, path, "cannot be decoded")
    config = anonymizer.model.config
    clip_length, tubelet = int(config.num_frames), int(config.tubelet_size)
    with_maps = hasattr(anonymizer.model, "pruning_maps") and bool(config.pruning_layers)
    options: dict[str, Any] = {"keep_rate": keep_rate, "lambda_priv": lambda_priv}
    if with_maps:
        options["return_pruning_maps"] = True

    num_frames = video.shape[0]
    step = clip_length * CLIPS_PER_STEP  # whole clips: the segments give what one call on the video gives
    num_clips = math.ceil(num_frames / clip_length)
    frames, masks, kept_pixels, maps = [], [], 0, []
    if progress is not None:
        progress(0, num_clips)
    for start in range(0, num_frames, step):
        result = anonymizer(video[start : start + step], **options)
        frames.append(result["frames"])
        masks.append(result["keep_mask"])
        kept_pixels += int(np.count_nonzero(result["pixel_mask"]))
        if with_maps:
            maps.append(result["pruning_maps"][-1])
        if progress is not None:
            progress(min(num_clips, (start + step) // clip_length), num_clips)
    anonymized = np.concatenate(frames)
    keep_mask = np.concatenate(masks)
    num_slots = math.ceil(num_frames / tubelet)  # time slots holding at least one real frame
    slot_mask = keep_mask.reshape(-1, *keep_mask.shape[2:])[:num_slots]
    pruning_maps = {
        name: np.concatenate([chunk[name] for chunk in maps]).reshape(-1, *keep_mask.shape[2:])[:num_slots]
        for name in ("action_attention", "privacy_attention", "scores")
    } if maps else {}

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    fps = probe.fps if probe.fps > 0 else FALLBACK_FPS
    raw_video = Path(tools.write_mp4(str(output_dir / "raw.mp4"), video, fps))
    anonymized_video = Path(tools.write_mp4(str(output_dir / "anonymized.mp4"), anonymized, fps))
    arrays_file = output_dir / "vidanon_masks.npz"
    np.savez(arrays_file, keep_mask=keep_mask, slot_mask=slot_mask, **pruning_maps)

    slots = _slots_to_show(num_slots)
    settings = (config.keep_rate, config.lambda_priv)
    return DemoResult(
        raw_video=raw_video,
        anonymized_video=anonymized_video,
        frames=anonymized,
        keep_mask=keep_mask,
        slot_mask=slot_mask,
        pruning_maps=pruning_maps,
        pruning_layer=max(config.pruning_layers) if pruning_maps else None,
        kept_fraction=kept_pixels / float(anonymized[..., 0].size),
        tubelet_fraction=float(slot_mask.mean()),
        flicker=float(tools.flicker(slot_mask[None])) if num_slots > 1 else None,
        keep_rate=settings[0] if keep_rate is None else keep_rate,
        lambda_priv=float(settings[1] if lambda_priv is None else lambda_priv),
        fps=fps,
        num_frames=num_frames,
        height=probe.height,
        width=probe.width,
        mask_strip=mask_strip(video, slot_mask, slots, tubelet),
        heat_maps=[heat_map(pruning_maps[name], slots, (probe.height, probe.width), diverging=name == "scores")
                   for name in ("action_attention", "privacy_attention", "scores")] if pruning_maps else [],
        slots_shown=slots,
        arrays_file=arrays_file,
    )


# ----------------------------------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------------------------------
_SEQUENTIAL = np.array([[13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33]], np.float64)
_DIVERGING = np.array([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]], np.float64)
_PRUNED_BEFORE = np.array([128, 128, 128], np.uint8)
_BACKGROUND = 255


def _slots_to_show(num_slots: int) -> list[int]:
    if num_slots <= MAX_TILES:
        return list(range(num_slots))
    return sorted({round(x) for x in np.linspace(0, num_slots - 1, MAX_TILES)})


def _tile_size(height: int, width: int) -> tuple[int, int]:
    return max(16, min(4 * TILE_WIDTH, round(TILE_WIDTH * height / width))), TILE_WIDTH


def _nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the first two axes."""
    rows = (np.arange(size[0]) * array.shape[0]) // size[0]
    columns = (np.arange(size[1]) * array.shape[1]) // size[1]
    return array[rows][:, columns]


def _tiles(tiles: list[np.ndarray], per_row: int, gap: int = 3) -> np.ndarray:
    """Tiles of one size, left to right then top to bottom, on a white background."""
    height, width = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / per_row)
    columns = min(per_row, len(tiles))
    canvas = np.full((rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3), _BACKGROUND, np.uint8)
    for number, tile in enumerate(tiles):
        top, left = (number // per_row) * (height + gap), (number % per_row) * (width + gap)
        canvas[top : top + height, left : left + width] = tile
    return canvas


def mask_strip(frames: np.ndarray, slot_mask: np.ndarray, slots: list[int], tubelet: int, per_row: int = 12) -> np.ndarray:
    """The keep mask over time: for each time slot shown, its first frame with the pruned tubelets darkened and
    tinted red (kept tubelets as they are), left to right then top to bottom."""
    size = _tile_size(*frames.shape[1:3])
    tiles = []
    for slot in slots:
        frame = _nearest(frames[min(slot * tubelet, frames.shape[0] - 1)], size).astype(np.float64)
        kept = _nearest(slot_mask[slot] > 0.5, size)[..., None]
        pruned = 0.25 * frame + np.array([110.0, 0.0, 0.0])
        tiles.append(np.where(kept, frame, pruned).round().clip(0, 255).astype(np.uint8))
    return _tiles(tiles, per_row)


def _colors(values: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Values in [0, 1] through a colour ramp, `(..., 3)` uint8."""
    position = np.clip(values, 0.0, 1.0) * (len(stops) - 1)
    low = np.floor(position).astype(int).clip(0, len(stops) - 2)
    weight = (position - low)[..., None]
    return ((1 - weight) * stops[low] + weight * stops[low + 1]).round().astype(np.uint8)


def value_range(values: np.ndarray) -> tuple[float, float]:
    """The colour scale of a heat map: the smallest and the largest value present (NaN left out)."""
    present = values[np.isfinite(values)]
    if present.size == 0:
        return (0.0, 1.0)
    low, high = float(present.min()), float(present.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def heat_map(values: np.ndarray, slots: list[int], frame_size: tuple[int, int], diverging: bool = False,
             per_row: int = 6) -> np.ndarray:
    """One value per tubelet `(num_slots, H', W')` as coloured tiles, one per time slot shown, from the smallest to
    the largest value over the video: dark to yellow, or blue-white-red (`diverging`, for the score); grey where an
    earlier layer pruned the tubelet."""
    low, high = value_range(values)
    size = _tile_size(*frame_size)
    tiles = []
    for slot in slots:
        grid = values[slot]
        colored = _colors((np.nan_to_num(grid, nan=low) - low) / (high - low), _DIVERGING if diverging else _SEQUENTIAL)
        colored[~np.isfinite(grid)] = _PRUNED_BEFORE
        tiles.append(_nearest(colored, size))
    return _tiles(tiles, per_row)


def _format_rate(rate: Any) -> str:
    return ", ".join(f"{r:g}" for r in rate) if isinstance(rate, (list, tuple)) else f"{float(rate):g}"


def maps_legend(result: DemoResult) -> str:
    """What the heat maps show, with their colour scales."""
    if not result.pruning_maps:
        return "No heat maps: this model has no pruning layer, or its code gives no pruning maps."
    parts = []
    for name, label in (("action_attention", "a_act"), ("privacy_attention", "a_priv"), ("scores", "s")):
        low, high = value_range(result.pruning_maps[name])
        parts.append(f"`{label}` {low:.3g} … {high:.3g}")
    shown = result.slots_shown
    which = "every time slot" if len(shown) == len(result.slot_mask) else f"{len(shown)} of {len(result.slot_mask)} time slots"
    return (
        f"Layer {result.pruning_layer} (the last pruning layer), {which}, one tile per slot, left to right: "
        + "; ".join(parts)
        + " (each from its smallest to its largest value). `a_act`, `a_priv`: dark to yellow; `s = a_act − λ·a_priv`: "
        "blue (pruned first) to red (kept first); grey: pruned at an earlier layer. The mask strip shows the same "
        "slots (pruned tubelets red)."
    )


# ----------------------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------------------
def _model_description(anonymizer: Any, model_name: str) -> str:
    config = anonymizer.model.config
    size = config.image_size
    return (
        f"Model **{html.escape(model_name)}**: clips of {config.num_frames} frames scored at {size}×{size} pixels, "
        f"tubelets of {config.tubelet_size} frames × {config.patch_size}×{config.patch_size} pixels, pruning at "
        f"layers {', '.join(map(str, config.pruning_layers)) or 'none'}; its own keep rate "
        f"{_format_rate(config.keep_rate)}, λ = {config.lambda_priv:g}."
    )


def _limits_description(limits: DemoLimits) -> str:
    pixels = f"frames up to {limits.max_pixels} pixels" if limits.max_pixels else "frames of any size"
    seconds = f"up to {limits.max_seconds:g} s" if limits.max_seconds else "of any length"
    return f"Videos {seconds}, {pixels}; the audio track is dropped."


class _Runs:
    """Output folders of the runs, the oldest deleted beyond [`KEPT_RUNS`]."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="vidanon-app-"))
        self.folders: list[Path] = []

    def new(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=self.root))
        self.folders.append(folder)
        while len(self.folders) > KEPT_RUNS:
            shutil.rmtree(self.folders.pop(0), ignore_errors=True)
        return folder


def build_demo(
    anonymizer: Any,
    tools: DemoTools,
    limits: DemoLimits = DemoLimits(),
    model_name: str = "",
    output_root: str | Path | None = None,
):
    """The demo page, a `gradio.Blocks` (call `.launch(...)` on it).

    Args:
        anonymizer: a `video-anonymization` pipeline.
        tools ([`DemoTools`]): reading, writing, the flicker rate and, optionally, example clips.
        limits ([`DemoLimits`]): what an upload may be.
        model_name (`str`): shown in the page.
        output_root (`str` or `Path`, *optional*): where each run's files go (default: a new temporary folder).

    The page's API (`gradio_client`): `/anonymize` (video, keep_rate, lambda_priv) gives the raw and the
    anonymized mp4, the mask strip, the three heat maps, the kept fraction of pixels, the mask flicker (`None`
    with one time slot), the summary and the `.npz` of the masks and maps; `/example` (action, seed) gives the path
    of a generated clip where the tools can render one.
    """
    import gradio as gr

    config = anonymizer.model.config
    runs = _Runs(output_root)
    per_layer = isinstance(config.keep_rate, (list, tuple))  # one slider value stands for every layer once moved
    default_rate = float(config.keep_rate[-1] if per_layer else config.keep_rate)

    def rate_override(value: float) -> float | None:
        return None if per_layer and float(value) == default_rate else float(value)

    def anonymize(video: str | None, keep_rate: float, lambda_priv: float, progress=gr.Progress()):  # noqa: B008
        if not video:
            raise gr.Error("Upload a video first" + (" or generate a SynthPrivacy clip." if tools.example_clip else "."),
                           title="No video")

        def report(done: int, total: int) -> None:
            progress((done, total), desc="Anonymizing clips", unit="clips")

        try:
            result = anonymize_for_demo(anonymizer, tools, video, runs.new(), keep_rate=rate_override(keep_rate),
                                        lambda_priv=float(lambda_priv), limits=limits, progress=report)
        except InputRefused as error:  # the upload's temporary path would say nothing to the user: its name does
            message = html.escape(str(error).replace(video, Path(video).name), quote=False)
            raise gr.Error(message, title="This video cannot be used", print_exception=False) from None
        heat = result.heat_maps or [None, None, None]
        return (
            str(result.raw_video), str(result.anonymized_video), result.mask_strip, *heat, result.kept_fraction,
            result.flicker, result.summary() + "\n\n" + maps_legend(result), str(result.arrays_file),
        )

    def anonymize_if_loaded(video: str | None, keep_rate: float, lambda_priv: float,
                            progress=gr.Progress()):  # noqa: B008
        if not video:  # a slider moved before any video: nothing to redo
            return tuple(gr.skip() for _ in outputs)
        return anonymize(video, keep_rate, lambda_priv, progress)

    with gr.Blocks(title="VidAnon anonymization demo", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# VidAnon: video anonymization by token pruning\n"
            "A video transformer with an action and a privacy CLS token scores every tubelet (a block of "
            "frames × pixels) with `s = a_act − λ·a_priv` and keeps the top-scoring ones; the others become black. "
            f"{_model_description(anonymizer, model_name)} {_limits_description(limits)}",
            elem_id="intro",
        )
        with gr.Row():
            with gr.Column(scale=3):
                source = gr.Video(label="Video to anonymize", sources=["upload"], include_audio=True, height=320,
                                  elem_id="input-video")
            with gr.Column(scale=2):
                keep_rate = gr.Slider(0.05, 1.0, value=default_rate, step=0.05, label="Keep rate",
                                      info="share of tubelets kept at each pruning layer" + (
                                          " (the model's own per-layer rates until moved)" if per_layer else ""),
                                      elem_id="keep-rate")
                lambda_priv = gr.Slider(0.0, 5.0, value=float(config.lambda_priv), step=0.05, label="λ (privacy weight)",
                                        info="s = a_act − λ·a_priv", elem_id="lambda-priv")
                run = gr.Button("Anonymize", variant="primary", elem_id="run")
                with gr.Row():
                    kept = gr.Number(label="Kept fraction (pixels)", precision=4, interactive=False,
                                     elem_id="kept-fraction")
                    flicker = gr.Number(label="Mask flicker", precision=4, interactive=False, elem_id="mask-flicker")
                if tools.example_clip is not None:
                    with gr.Row():
                        action = gr.Dropdown(list(tools.example_actions), value=tools.example_actions[0],
                                             label="SynthPrivacy action", elem_id="synth-action")
                        seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="synth-seed")
                    generate = gr.Button("Generate a SynthPrivacy clip", elem_id="synth-generate")
        with gr.Row():
            raw_out = gr.Video(label="Raw (decoded, no audio)", interactive=False, height=360, elem_id="raw-video")
            anonymized_out = gr.Video(label="Anonymized", interactive=False, height=360, elem_id="anonymized-video")
        summary = gr.Markdown(label="Summary", elem_id="summary")
        strip = gr.Image(label="Keep mask over time (pruned tubelets red)", type="numpy", format="png",
                         interactive=False, elem_id="mask-strip")
        with gr.Row():
            a_act = gr.Image(label="a_act (action CLS attention)", type="numpy", format="png", interactive=False,
                             elem_id="a-act")
            a_priv = gr.Image(label="a_priv (privacy CLS attention)", type="numpy", format="png", interactive=False,
                              elem_id="a-priv")
            score = gr.Image(label="s = a_act − λ·a_priv", type="numpy", format="png", interactive=False,
                             elem_id="score")
        arrays = gr.File(label="Masks and maps (.npz)", interactive=False, elem_id="arrays")
        gr.Markdown(
            "Randomly initialised or untrained models prune arbitrary tubelets. Whatever is kept is shown unchanged: "
            "this is no guarantee of anonymity."
        )
        outputs = [raw_out, anonymized_out, strip, a_act, a_priv, score, kept, flicker, summary, arrays]
        # one run at a time: the pruning overrides change the shared model's settings for the duration of a call
        gr.on([run.click, source.upload], anonymize, [source, keep_rate, lambda_priv], outputs,
              api_name="anonymize", concurrency_id="anonymize", concurrency_limit=1)
        gr.on([keep_rate.release, lambda_priv.release], anonymize_if_loaded, [source, keep_rate, lambda_priv],
              outputs, api_visibility="private", concurrency_id="anonymize", concurrency_limit=1)
        if tools.example_clip is not None:
            def example(action_name: str, seed_value: float | None) -> str:
                if action_name not in tools.example_actions:
                    raise gr.Error(f"Unknown action {html.escape(str(action_name))}.", print_exception=False)
                return tools.example_clip(action_name, int(seed_value or 0), str(runs.new()))

            generate.click(example, [action, seed], source, api_name="example").then(
                anonymize, [source, keep_rate, lambda_priv], outputs, api_visibility="private",
                concurrency_id="anonymize", concurrency_limit=1,
            )
    return demo


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SECONDS",
    "DemoLimits",
    "DemoResult",
    "DemoTools",
    "InputRefused",
    "VideoProbe",
    "anonymize_for_demo",
    "build_demo",
    "check_video",
    "heat_map",
    "mask_strip",
]
