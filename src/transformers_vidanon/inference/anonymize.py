"""Anonymizing real video files with a trained VidAnon model.

A video of any length, frame rate and size is cut into consecutive clips of the model's `num_frames` frames
(frame stride 1), so that every frame belongs to exactly one clip; the last, partial clip is padded by repeating
the last frame and the padding is dropped again after anonymization. Each clip is resized (the whole frame, no
crop) to the model's `image_size` to score the tubelets; the resulting tubelet keep mask is upsampled by nearest
neighbour back to the **original** frame size and applied to the **original** frames. The output therefore keeps
the input's frame count, frame rate and frame size (an odd height or width is padded by one edge row/column,
because H.264 in yuv420p needs even sizes), and every kept pixel is the input pixel (up to the codec), every
pruned one is `config.anonymization_fill_value` (black by default).

The audio track is never copied: a voice identifies a person as well as a face does.

Outputs are written atomically: frames are encoded into a hidden temporary file in the destination folder,
which replaces the destination in one `os.replace` once the last frame is written. An interrupted run leaves
no file that looks complete, and a re-run can skip the outputs that exist.

The run's settings are one [`AnonymizeOptions`]; a run can be stopped by a signal through its [`StopRequest`] (see
`inference.stopping`).

Main entry points: [`anonymize_video`], [`anonymize_folder`], [`anonymize_frames`] (in memory), and
[`load_anonymizer`] / [`pruning_settings`] to get the model to use. They live in small modules, each re-exported
here: `options` (the settings), `stopping` (signals, events), `loading` (the model), `frames` (the keep mask and
its application in memory), `streaming` (the overlapping stages of one file); this module holds the files and
folders.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..processing_vidanon import as_uint8_frames
from ..pruning import apply_mask_to_frames
from ..reporting.plots import save_preview
from ..video import DEFAULT_CRF, VIDEO_EXTENSIONS, Mp4Writer, VideoDecodeError, VideoFile, split_into_clips
from .frames import FramesAnonymization, anonymize_frames, predict_keep_mask, prepare_pixel_values
from .loading import check_device, check_model, load_anonymizer, looks_local, pruning_settings
from .options import DEFAULT_BATCH_SIZE, AnonymizeOptions
from .stopping import EVENTS, RunStopped, StopRequest, emit_event
from .streaming import STAGES, StageTimer, stream_clips

logger = logging.getLogger(__name__)

DEFAULT_FALLBACK_FPS = 25.0
"""Frame rate written when the input's header gives none."""


# ----------------------------------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------------------------------
@dataclass
class AnonymizeReport:
    """What [`anonymize_video`] did to one file.

    Attributes:
        input_path (`Path`): the source video.
        output_path (`Path`): the anonymized mp4.
        num_frames (`int`): frames read and written (the same number).
        fps (`float`): frame rate of the input, written to the output.
        height (`int`), width (`int`): frame size of the input.
        output_height (`int`), output_width (`int`): frame size written (the input's, rounded up to even).
        num_clips (`int`): model clips the video was cut into.
        kept_fraction (`float`): share of the video's pixels kept (the rest is filled, i.e. black).
        keep_rate (`float` or `list[float]`): the keep rate(s) used.
        lambda_priv (`float`): the privacy weight used.
        audio_dropped (`bool`): the input had an audio track, which was not copied.
        preview_path (`Path`, *optional*): the preview PNG, if one was asked for.
    """

    input_path: Path
    output_path: Path
    num_frames: int
    fps: float
    height: int
    width: int
    output_height: int
    output_width: int
    num_clips: int
    kept_fraction: float
    keep_rate: float | list[float]
    lambda_priv: float
    audio_dropped: bool = False
    preview_path: Path | None = None


@dataclass
class FolderReport:
    """What [`anonymize_folder`] did.

    Attributes:
        reports (`list[AnonymizeReport]`): one per anonymized file.
        failures (`list[tuple[Path, str]]`): the files that could not be anonymized, with the reason.
        skipped (`list[Path]`): inputs whose output already existed (with `overwrite=False`).
    """

    reports: list[AnonymizeReport] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every file was anonymized (or skipped)."""
        return not self.failures



# ----------------------------------------------------------------------------------------------------------------------
# One file
# ----------------------------------------------------------------------------------------------------------------------
def anonymize_video(
    model: Any, processor: Any | None, input_path: str | os.PathLike, output_path: str | os.PathLike,
    options: AnonymizeOptions | None = None, *, preview_path: str | os.PathLike | None = None, overwrite: bool = True,
    timings: dict[str, float] | None = None,
) -> AnonymizeReport:
    """Anonymize one video file into an mp4 with the same frame count, frame rate and frame size.

    See the module docstring for how clips are cut and how the mask reaches the original frames. The audio
    track is dropped. The output appears only once complete (atomic rename).

    Args:
        model: a trained [`VidAnonForPrivacyPreservingActionRecognition`] (see [`load_anonymizer`]).
        processor (`VidAnonImageProcessor`, *optional*): resizing for scoring (see [`prepare_pixel_values`]); `None`
            resizes with torch.
        input_path (`str` or `os.PathLike`): the video to anonymize (any container decord/PyAV reads).
        output_path (`str` or `os.PathLike`): the `.mp4` to write (its folder is created).
        options ([`AnonymizeOptions`], *optional*): the run's settings (batch size, pruning overrides, quality,
            input size limit, progress bar, stop request, events); `None`: the defaults.
        preview_path (`str` or `os.PathLike`, *optional*): also write a PNG with raw frames of the middle clip above
            the same frames anonymized.
        overwrite (`bool`, *optional*, defaults to `True`): replace an existing output; `False` raises
            `FileExistsError`.
        timings (`dict`, *optional*): filled with the wall seconds spent in each of [`STAGES`], the thread CPU
            seconds of each as `"<stage>_cpu"` (see [`StageTimer`]), and `"total"`, the wall time of the whole call.

    Returns:
        [`AnonymizeReport`].

    Raises:
        VideoNotFoundError: the input does not exist.
        VideoDecodeError: the input cannot be decoded.
        ValueError: bad arguments (output not `.mp4`, output equal to the input, keep rate out of range, ...).
        FileExistsError: the output exists and `overwrite` is `False`.
        RunStopped: `options.stop` was requested; the output being written was aborted (a previous file there is
            kept).
    """
    options = AnonymizeOptions() if options is None else options
    options.stop.check()
    check_model(model)
    with pruning_settings(model, options.keep_rate, options.lambda_priv) as run_model:
        return _anonymize_file(run_model, processor, Path(input_path), Path(output_path), options,
                               preview_path=preview_path, overwrite=overwrite, timings=timings)


def _anonymize_file(model: Any, processor: Any | None, input_path: Path, output_path: Path,
                    options: AnonymizeOptions, *, preview_path: str | os.PathLike | None, overwrite: bool,
                    timings: dict[str, float] | None = None) -> AnonymizeReport:
    """[`anonymize_video`] with the model's pruning settings already applied (once for a whole folder)."""
    start = time.perf_counter()
    stop = options.stop
    stop.check()
    _check_video_arguments(input_path, output_path, overwrite, preview_path)
    timer = StageTimer()
    with VideoFile(input_path, max_pixels=options.max_pixels) as video:
        info = video.info
        fps = _output_fps(info.fps, input_path)
        audio = _has_audio(input_path)
        if audio:
            logger.warning("%s has an audio track: it is dropped (a voice identifies a person too).", input_path)
        clip_length = model.config.num_frames
        clip_indices = split_into_clips(info.num_frames, clip_length)
        preview_clip = len(clip_indices) // 2 if preview_path is not None else None
        with Mp4Writer(output_path, fps, crf=options.crf) as writer:
            tally = stream_clips(model, processor, video, writer, clip_indices, options, timer, preview_clip)
            stop.check()  # every frame is written, but a stop requested meanwhile must not commit it
            flush_start = time.perf_counter()
        timer.seconds["encode"] += time.perf_counter() - flush_start  # the encoder's last frames, the rename

    if tally.num_written != info.num_frames:  # cannot happen unless the clip layout above is broken
        raise RuntimeError(f"wrote {tally.num_written} frames for {info.num_frames} input frames of {input_path}.")
    written_preview = None
    if preview_clip is not None and tally.preview is not None:
        first = preview_clip * clip_length
        title = f"{input_path.name}\nframes {first}-{first + len(tally.preview[0]) - 1}"
        written_preview = save_preview(tally.preview[0], tally.preview[1], preview_path, title)
    report = AnonymizeReport(
        input_path=input_path, output_path=output_path, num_frames=info.num_frames, fps=fps, height=info.height,
        width=info.width, output_height=writer.coded_size[0], output_width=writer.coded_size[1],
        num_clips=len(clip_indices), kept_fraction=tally.kept_pixels / float(info.num_frames * info.height * info.width),
        keep_rate=model.config.keep_rate, lambda_priv=model.config.lambda_priv, audio_dropped=audio,
        preview_path=written_preview,
    )
    _log_report(report)
    if timings is not None:
        timings.update(timer.seconds, total=time.perf_counter() - start)
        timings.update({f"{stage}_cpu": seconds for stage, seconds in timer.cpu_seconds.items()})
    return report


def _check_video_arguments(input_path: Path, output_path: Path, overwrite: bool,
                           preview_path: str | os.PathLike | None) -> None:
    """The argument checks of [`anonymize_video`], all before anything is read or written."""
    if output_path.suffix.lower() != ".mp4":
        raise ValueError(f"the output {str(output_path)!r} must be an .mp4 file (the anonymized video is H.264/mp4).")
    if output_path.exists() and input_path.exists() and output_path.resolve() == input_path.resolve():
        raise ValueError(f"the output {str(output_path)!r} is the input file; choose another output path.")
    if output_path.exists() and not overwrite:
        raise FileExistsError(f"the output {str(output_path)!r} exists (pass overwrite=True to replace it).")
    if preview_path is not None and Path(preview_path).suffix.lower() != ".png":
        raise ValueError(f"the preview {str(preview_path)!r} must be a .png file.")  # before any video is written


def _output_fps(fps: float, input_path: Path) -> float:
    """The input's frame rate, or `DEFAULT_FALLBACK_FPS` (with a warning) when its header gives none."""
    if not fps or not math.isfinite(fps) or fps <= 0:
        logger.warning("%s gives no frame rate; writing %s fps.", input_path, DEFAULT_FALLBACK_FPS)
        return DEFAULT_FALLBACK_FPS
    return fps


def _has_audio(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return len(container.streams.audio) > 0
    except (av.error.FFmpegError, OSError):
        return False


def _log_report(report: AnonymizeReport) -> None:
    logger.info(
        "Anonymized %s -> %s: %d frames at %.3g fps, %dx%d, %.1f%% of pixels kept.", report.input_path,
        report.output_path, report.num_frames, report.fps, report.width, report.height, 100 * report.kept_fraction,
    )
    if (report.output_height, report.output_width) != (report.height, report.width):
        logger.info("%s is %dx%d: H.264 needs even sizes, so it was written as %dx%d (edge pixels repeated).",
                    report.output_path, report.width, report.height, report.output_width, report.output_height)


# ----------------------------------------------------------------------------------------------------------------------
# Folders
# ----------------------------------------------------------------------------------------------------------------------
def find_videos(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """The video files (extensions in `video.VIDEO_EXTENSIONS`) under `folder`, sorted; hidden files skipped.

    Raises:
        FileNotFoundError: `folder` does not exist or is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder {str(folder)!r} does not exist or is not a folder.")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in candidates
        if path.is_file()
        and path.suffix.lower() in VIDEO_EXTENSIONS
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )



def anonymize_folder(
    model: Any, processor: Any | None, input_dir: str | os.PathLike, output_dir: str | os.PathLike,
    options: AnonymizeOptions | None = None, *, preview_dir: str | os.PathLike | None = None, overwrite: bool = False,
    recursive: bool = True,
) -> FolderReport:
    """Anonymize every video under `input_dir` into `output_dir`, keeping the relative paths (suffix `.mp4`).

    A file that cannot be read or anonymized is reported (with the reason) and the run goes on with the others;
    because outputs are written atomically, a failed or interrupted file leaves no output behind. Existing outputs
    are skipped unless `overwrite`, so an interrupted run can simply be started again.

    Args:
        model, processor: as in [`anonymize_video`].
        input_dir (`str` or `os.PathLike`): folder of videos.
        output_dir (`str` or `os.PathLike`): destination folder.
        options ([`AnonymizeOptions`], *optional*): as in [`anonymize_video`], for every file (the pruning overrides
            are applied once for the whole folder).
        preview_dir (`str` or `os.PathLike`, *optional*): write one preview PNG per video there (same relative path,
            suffix `.png`).
        overwrite (`bool`, *optional*, defaults to `False`): re-anonymize files whose output exists.
        recursive (`bool`, *optional*, defaults to `True`): include sub-folders.

    Returns:
        [`FolderReport`].

    Raises:
        FileNotFoundError: `input_dir` does not exist.
        ValueError: no video in `input_dir`, two inputs that map to the same output, or `output_dir` inside
            `input_dir` with `recursive`.
        RunStopped: `options.stop` was requested (finished outputs are kept, the one being written is aborted).
    """
    options = AnonymizeOptions() if options is None else options
    check_model(model)
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    targets = folder_targets(input_dir, output_dir, recursive)
    items = tqdm(list(targets.items()), desc="anonymize", unit="video", disable=not options.progress)
    report = anonymize_files(model, processor, items, FolderReport(), input_dir, options, preview_dir=preview_dir,
                             overwrite=overwrite)
    if report.failures:
        logger.error(
            "%d of %d videos failed:\n%s",
            len(report.failures), len(targets), "\n".join(f"  {path}: {reason}" for path, reason in report.failures),
        )
    return report


def folder_targets(input_dir: Path, output_dir: Path, recursive: bool = True) -> dict[Path, Path]:
    """Output path -> input video for every video under `input_dir` (sorted, so the same on every process), the
    relative paths kept and the suffix `.mp4`; outputs already inside `input_dir` are not inputs.

    Raises:
        ValueError: no video, or two inputs that map to the same output.
    """
    videos = find_videos(input_dir, recursive=recursive)
    if recursive and output_dir.resolve().is_relative_to(input_dir.resolve()):
        videos = [path for path in videos if not path.resolve().is_relative_to(output_dir.resolve())]
    if not videos:
        raise ValueError(f"input folder {str(input_dir)!r} holds no video ({', '.join(VIDEO_EXTENSIONS)}).")
    targets: dict[Path, Path] = {}
    for path in videos:
        target = (output_dir / path.relative_to(input_dir)).with_suffix(".mp4")
        if target in targets:
            raise ValueError(f"{str(targets[target])!r} and {str(path)!r} would both be written to {str(target)!r}.")
        targets[target] = path
    return targets


def anonymize_files(
    model: Any, processor: Any | None, items: Iterable[tuple[Path, Path]], report: FolderReport, input_dir: Path,
    options: AnonymizeOptions, *, preview_dir: str | os.PathLike | None = None, overwrite: bool = False,
) -> FolderReport:
    """Anonymize `(output, input)` pairs into `report`: existing outputs skipped unless `overwrite`, a file that
    fails reported with its reason while the others go on (the one per-file loop of the folder paths).

    The pruning overrides of `options` are applied once, before the first file. `options.stop` is checked before
    each file and after the last one, and within each file as in [`anonymize_video`]: a stop raises [`RunStopped`],
    the file being written aborted and the finished ones kept. `options.on_event` is told `("file_done",
    input_path)` after each file (written, skipped or failed) and the events of [`anonymize_video`] (see
    [`EVENTS`]), in the calling thread.
    """
    stop = options.stop
    with pruning_settings(model, options.keep_rate, options.lambda_priv) as run_model:  # once, not per file
        for target, path in items:
            stop.check()
            if target.exists() and not overwrite:
                logger.info("Skipping %s: %s exists.", path, target)
                report.skipped.append(path)
                emit_event(options.on_event, "file_done", path)
                continue
            preview = None
            if preview_dir is not None:
                preview = (Path(preview_dir) / path.relative_to(input_dir)).with_suffix(".png")
            try:
                report.reports.append(_anonymize_file(run_model, processor, path, target, options,
                                                      preview_path=preview, overwrite=True))
            except (VideoDecodeError, OSError, ValueError, RuntimeError) as error:
                reason = f"{type(error).__name__}: {error}"
                logger.error("Could not anonymize %s: %s", path, reason)
                report.failures.append((path, reason))
            emit_event(options.on_event, "file_done", path)
    stop.check()
    return report


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CRF",
    "EVENTS",
    "STAGES",
    "AnonymizeOptions",
    "AnonymizeReport",
    "FolderReport",
    "FramesAnonymization",
    "RunStopped",
    "StageTimer",
    "StopRequest",
    "anonymize_files",
    "anonymize_folder",
    "anonymize_frames",
    "anonymize_video",
    "apply_mask_to_frames",
    "as_uint8_frames",
    "check_device",
    "find_videos",
    "folder_targets",
    "load_anonymizer",
    "looks_local",
    "predict_keep_mask",
    "prepare_pixel_values",
    "pruning_settings",
]
