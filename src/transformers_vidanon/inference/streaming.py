"""Streaming the clips of one video through the anonymizer: decode, resize, model, mask and encode, overlapping.

The model runs in the calling thread; a reader thread decodes and resizes the next batch of clips meanwhile, and a
writer thread masks and encodes the previous one ([`stream_clips`]). [`StageTimer`] measures each stage.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..pruning import apply_mask_to_frames
from ..video import Mp4Writer, VideoFile
from .frames import predict_keep_mask, prepare_pixel_values
from .options import AnonymizeOptions
from .stopping import StopRequest, emit_event

logger = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("decode", "resize", "model", "mask", "encode")
"""The stages of `anonymize_video`, in the order a batch of clips goes through them (see [`StageTimer`])."""


class StageTimer:
    """Seconds spent in each stage of `anonymize_video`, summed over batches.

    `with timer("model"): ...` adds the wall-clock time of the block (`time.perf_counter`) to
    `timer.seconds["model"]` and the CPU time of the thread running it (`time.thread_time`; with one torch thread
    that is all of the stage's work, however busy the machine) to `timer.cpu_seconds["model"]`. Stages that run
    in another thread add their own time, so with overlapping stages the sum of the stages exceeds the run's wall
    time.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.cpu_seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
            with self._lock:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed
                self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + cpu


@dataclass
class Tally:
    """What the encode stage of [`stream_clips`] has written, and the preview frames it kept.

    Attributes:
        num_written (`int`): frames written (the last clip's padding left out).
        kept_pixels (`int`): pixels of those frames that were kept.
        preview (`tuple[np.ndarray, np.ndarray]`, *optional*): the raw and the anonymized frames of the preview clip.
    """

    num_written: int = 0
    kept_pixels: int = 0
    preview: tuple[np.ndarray, np.ndarray] | None = None


def _batches(num_clips: int, batch_size: int) -> Iterator[range]:
    for start in range(0, num_clips, batch_size):
        yield range(start, min(start + batch_size, num_clips))


def _decode_clips(video: VideoFile, clip_indices: np.ndarray) -> np.ndarray:
    """Decode stage: the frames of clips `(B, T)` of indices as `(B, T, H, W, 3)` uint8 at the input's size."""
    info = video.info
    frames = video.get_frames(clip_indices.reshape(-1))
    return frames.reshape(*clip_indices.shape, info.height, info.width, 3)


def _encode_clips(writer: Mp4Writer, frames: np.ndarray, pixel_mask: np.ndarray, batch: range, num_frames: int,
                  clip_length: int, tally: Tally, preview: tuple[int, np.ndarray] | None = None,
                  stop: StopRequest | None = None) -> None:
    """Encode stage: write the anonymized clips of `batch`, without the last clip's padding frames.

    `preview`, when given, is `(clip number, its raw frames)`: that clip's raw and anonymized frames are kept in
    `tally.preview`. `stop` is checked before each clip.
    """
    for offset, clip_number in enumerate(batch):
        if stop is not None:
            stop.check()
        real = min(clip_length, num_frames - clip_number * clip_length)  # drop the padding
        writer.write(frames[offset, :real])
        tally.kept_pixels += int(np.count_nonzero(pixel_mask[offset, :real]))
        tally.num_written += real
        if preview is not None and clip_number == preview[0]:
            tally.preview = (preview[1][offset, :real].copy(), frames[offset, :real].copy())


def stream_clips(model: Any, processor: Any | None, video: VideoFile, writer: Mp4Writer,
                 clip_indices: np.ndarray, options: AnonymizeOptions, timer: StageTimer,
                 preview_clip: int | None = None) -> Tally:
    """Run every batch of clips through decode, resize, model, mask and encode, the stages overlapping in threads.

    The model runs in the calling thread; a reader thread decodes and resizes the next batch meanwhile, and a
    writer thread masks and encodes the previous one (one batch in flight each way, batches written in order,
    through the one `writer`). An error in any stage stops the run once the threads have finished what they were
    doing, so the writer can then be aborted safely. So does a stop request (`options.stop`): it is checked before
    each batch here, and in the threads before each batch they take and each clip they write (raising
    `RunStopped`). `options.on_event` is told `("batch_in_flight", writer.path)` after each batch is handed to the
    writer thread.

    Args:
        model: the VidAnon model, its pruning settings applied.
        processor (`VidAnonImageProcessor`, *optional*): see [`~frames.prepare_pixel_values`].
        video (`VideoFile`): the open input.
        writer (`Mp4Writer`): the open output.
        clip_indices (`np.ndarray` of shape `(num_clips, clip_length)`): the frames of every clip.
        options ([`~options.AnonymizeOptions`]): `batch_size`, `progress`, `stop` and `on_event` are used.
        timer ([`StageTimer`]): receives the time of each stage.
        preview_clip (`int`, *optional*): the clip whose raw and anonymized frames are kept in the tally.
    """
    stop = options.stop
    num_frames, clip_length = video.info.num_frames, clip_indices.shape[1]
    fill = model.config.anonymization_fill_value
    tally = Tally()
    batches = list(_batches(len(clip_indices), options.batch_size))

    def read(batch: range) -> tuple[np.ndarray, torch.Tensor]:
        stop.check()
        with timer("decode"):
            clips = _decode_clips(video, clip_indices[batch.start : batch.stop])
        with timer("resize"):
            return clips, prepare_pixel_values(clips, model.config, processor)

    def write(batch: range, clips: np.ndarray, keep_mask: torch.Tensor) -> None:
        stop.check()
        with timer("mask"):
            frames, pixel_mask = apply_mask_to_frames(clips, keep_mask, fill)
        with timer("encode"):
            wanted = (preview_clip, clips) if preview_clip is not None and preview_clip in batch else None
            _encode_clips(writer, frames, pixel_mask, batch, num_frames, clip_length, tally, wanted, stop)

    bar = tqdm(total=len(clip_indices), desc=video.path.name, unit="clip", disable=not options.progress, leave=False)
    reader = ThreadPoolExecutor(1, thread_name_prefix="vidanon-read")
    encoder = ThreadPoolExecutor(1, thread_name_prefix="vidanon-write")
    next_read: Future | None = None
    last_write: Future | None = None
    try:
        next_read = reader.submit(read, batches[0])
        for number, batch in enumerate(batches):
            stop.check()
            clips, pixel_values = next_read.result()
            next_read = reader.submit(read, batches[number + 1]) if number + 1 < len(batches) else None
            with timer("model"):
                keep_mask = predict_keep_mask(model, pixel_values, options.batch_size)
            if last_write is not None:
                last_write.result()
                bar.update(len(batches[number - 1]))
            last_write = encoder.submit(write, batch, clips, keep_mask)
            emit_event(options.on_event, "batch_in_flight", writer.path)
        last_write.result()
        bar.update(len(batches[-1]))
    except BaseException:
        _settle(next_read, last_write)  # before the caller aborts the writer, no thread may still use it
        raise
    finally:
        reader.shutdown(wait=False)  # idle by now
        encoder.shutdown(wait=False)
        bar.close()
    return tally


def _settle(*futures: Future | None) -> None:
    """Cancel `futures` that have not started and wait for the others, through further interruptions too."""
    pending = [future for future in futures if future is not None and not future.cancel()]
    while True:
        try:
            wait(pending)
            return
        except BaseException:  # noqa: BLE001 (a second Ctrl-C or signal: the threads must still finish first)
            logger.debug("interrupted while waiting for the reader and writer threads; still waiting")


__all__ = ["STAGES", "StageTimer", "Tally", "stream_clips"]
