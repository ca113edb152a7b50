"""Writing video files: H.264 in an mp4 container (yuv420p), through PyAV, atomically.

[`Mp4Writer`] streams frames batch by batch into a hidden temporary file in the destination folder, which replaces
the destination in one `os.replace` when the writer is committed: a reader never sees a half-written file, and a
failed or interrupted write leaves no file behind. [`write_video`] writes frames held in memory through it.

yuv420p (the pixel format every player reads) needs even frame sizes: an odd height or width is padded by one
row/column repeating the edge (`even_size="pad"`, the default; the file is then one pixel larger) or cropped by one
(`even_size="crop"`).

With `threads=1` (the default) the encoder's macroblock-tree rate control is off, which makes the bytes identical
from run to run and machine to machine; `threads=0` lets x264 choose (faster on long videos).
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np

from ..fileutils import mkstemp_with_umask

logger = logging.getLogger(__name__)

DEFAULT_CRF = 18
EVEN_SIZE_MODES: tuple[str, ...] = ("pad", "crop")
PARTIAL_OUTPUTS: set[Path] = set()
"""Temporary files being written now (removed on commit or abort; a signal handler can remove the rest)."""


def remove_partial_outputs() -> list[Path]:
    """Delete the temporary outputs still being written (for a signal handler); returns the ones removed."""
    removed = []
    for path in list(PARTIAL_OUTPUTS):
        path.unlink(missing_ok=True)
        PARTIAL_OUTPUTS.discard(path)
        removed.append(path)
    return removed


def _checked_frames(path: Path, frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(
            f"`frames` for {str(path)!r} must have shape (T, H, W, 3) or (T, H, W) with T >= 1, got {frames.shape}."
        )
    if frames.dtype != np.uint8:
        raise ValueError(
            f"`frames` for {str(path)!r} must be uint8 in [0, 255], got dtype {frames.dtype} "
            "(convert [0, 1] floats with `(frames * 255).round().astype(np.uint8)`)."
        )
    if min(frames.shape[1:3]) < 2:
        raise ValueError(
            f"frames for {str(path)!r} must be at least 2x2 pixels, got {frames.shape[2]}x{frames.shape[1]}."
        )
    return frames


class Mp4Writer:
    """An H.264 mp4 file written batch by batch, atomically (see the module docstring).

    The frame size is taken from the first batch; every later batch must have the same size. Use it as a context
    manager (committed on a normal exit, aborted on an exception) or call [`commit`] / [`abort`] yourself.

    Args:
        path (`str` or `os.PathLike`): destination (its folder is created if missing).
        fps (`float`): frame rate (> 0).
        crf (`int`, *optional*, defaults to 18): x264 constant rate factor (0 = lossless luma, 51 = worst).
        even_size (`str`, *optional*, defaults to `"pad"`): `"pad"` or `"crop"`, for odd frame sizes.
        threads (`int`, *optional*, defaults to 1): encoder threads (1: reproducible bytes; 0: x264 chooses).

    Raises:
        ValueError: a non-positive `fps` or an unknown `even_size`; in [`write`], frames of the wrong shape, dtype
            or size.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float,
        crf: int = DEFAULT_CRF,
        even_size: Literal["pad", "crop"] = "pad",
        threads: int = 1,
    ) -> None:
        self.path = Path(path)
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"`fps` for {str(self.path)!r} must be > 0, got {fps}.")
        if even_size not in EVEN_SIZE_MODES:
            raise ValueError(f"`even_size` must be one of {EVEN_SIZE_MODES}, got {even_size!r}.")
        self.fps, self.crf, self.even_size, self.threads = fps, int(crf), even_size, int(threads)
        self.frames_written = 0
        self.frame_size: tuple[int, int] | None = None  # (height, width) of the input frames
        self._container = self._stream = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = mkstemp_with_umask(prefix=f".{self.path.stem}.", suffix=".tmp.mp4",
                                                   dir=self.path.parent)
        os.close(descriptor)
        self.temporary = Path(temporary)
        PARTIAL_OUTPUTS.add(self.temporary)

    def _open(self, height: int, width: int) -> None:
        import av

        self.frame_size = (height, width)
        if self.even_size == "pad":
            coded = (height + height % 2, width + width % 2)
        else:
            coded = (height - height % 2, width - width % 2)
        self._container = av.open(str(self.temporary), mode="w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
        self._stream.height, self._stream.width = coded
        self._stream.pix_fmt = "yuv420p"
        options = {"crf": str(self.crf), "threads": str(self.threads)}
        if self.threads == 1:
            # x264's macroblock-tree rate control was seen to make the bytes differ between runs
            options["x264-params"] = "mbtree=0"
        self._stream.options = options

    @property
    def coded_size(self) -> tuple[int, int] | None:
        """(height, width) of the written file (even), known once the first batch is written."""
        return None if self._stream is None else (self._stream.height, self._stream.width)

    def _fit(self, frames: np.ndarray) -> np.ndarray:
        coded_h, coded_w = self._stream.height, self._stream.width
        height, width = frames.shape[1:3]
        if height > coded_h or width > coded_w:
            frames = frames[:, :coded_h, :coded_w]
        pad_h, pad_w = coded_h - frames.shape[1], coded_w - frames.shape[2]
        if pad_h or pad_w:
            frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return frames

    def write(self, frames: np.ndarray) -> None:
        """Encode a batch of uint8 RGB frames `(T, H, W, 3)` (or grayscale `(T, H, W)`)."""
        import av

        frames = _checked_frames(self.path, frames)
        if self._container is None:
            self._open(*frames.shape[1:3])
        elif frames.shape[1:3] != self.frame_size:
            raise ValueError(
                f"frames for {str(self.path)!r} changed size from {self.frame_size} to {tuple(frames.shape[1:3])}."
            )
        for frame in self._fit(frames):
            for packet in self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                self._container.mux(packet)
            self.frames_written += 1

    def commit(self) -> Path:
        """Flush the encoder and move the file into place; returns the destination."""
        if self._container is None:
            self.abort()
            raise ValueError(f"no frames were written to {str(self.path)!r}.")
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            os.replace(self.temporary, self.path)
        except BaseException:
            self.abort()
            raise
        PARTIAL_OUTPUTS.discard(self.temporary)
        return self.path

    def abort(self) -> None:
        """Close the encoder and delete the temporary file; the destination is left as it was."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # the container may be in any state here; the file is deleted anyway
                logger.debug("closing the aborted output %s failed", self.temporary, exc_info=True)
        self.temporary.unlink(missing_ok=True)
        PARTIAL_OUTPUTS.discard(self.temporary)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray,
    fps: float,
    crf: int = DEFAULT_CRF,
    even_size: Literal["pad", "crop"] = "pad",
    threads: int = 1,
) -> Path:
    """Write RGB frames held in memory to an H.264 mp4 file (yuv420p), atomically, through [`Mp4Writer`].

    Args:
        path (`str` or `os.PathLike`): destination (its folder is created if missing).
        frames (`np.ndarray` of shape `(T, H, W, 3)` or `(T, H, W)`, uint8): RGB (or grayscale) frames, `T >= 1`.
        fps, crf, even_size, threads: see [`Mp4Writer`].

    Returns:
        `Path`: the written file.

    Raises:
        ValueError: frames of the wrong shape or dtype, or a non-positive `fps`.
    """
    frames = _checked_frames(Path(path), frames)
    with Mp4Writer(path, fps, crf=crf, even_size=even_size, threads=threads) as writer:
        writer.write(frames)
    return writer.path
