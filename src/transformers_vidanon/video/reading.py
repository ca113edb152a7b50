"""Reading video (and image) files.

Decoding goes through [decord](https://github.com/dmlc/decord) where it is installed (fast random access) and
through PyAV otherwise; both return the same frames (checked by the tests) as `(T, H, W, 3)` uint8 RGB arrays,
whatever the pixel format of the file (grayscale and odd-sized videos come back as 3-channel frames).

Every failure to read a file raises [`VideoDecodeError`] (a `ValueError`) carrying the offending `path`;
a missing file raises [`VideoNotFoundError`], which is both a `VideoDecodeError` and a `FileNotFoundError`.
Which frames to read is [`sampling`]'s business; writing is [`writing`]'s.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np

logger = logging.getLogger(__name__)

Backend = Literal["auto", "decord", "pyav"]

BACKENDS: tuple[str, ...] = ("auto", "decord", "pyav")
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

# Frames larger than this (pixels per frame) are refused before any decoding: 4096 x 4096 is 4x a 4K UHD
# frame, far beyond any action-recognition input, while a decoded 16-frame clip of it already takes 800 MB.
DEFAULT_MAX_PIXELS = 4096 * 4096

# Frame widths decord 0.6 cannot produce when it scales while decoding (its row copy fails), found by trying every
# width from 8 to 1300; `VideoFile(size=...)` with such a width fails with decord (falls back to PyAV with "auto").
DECORD_UNSUPPORTED_WIDTHS = frozenset({8, 12, 16, 24, 48, 72})


class VideoDecodeError(ValueError):
    """A video (or image) file could not be read.

    Args:
        path (`str` or `os.PathLike`): the file.
        reason (`str`): what went wrong.

    Attributes:
        path (`str`): the file, as given.
        reason (`str`): what went wrong.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read video {self.path!r}: {reason}")

    def __reduce__(self):  # keep pickling (DataLoader workers) working with the two-argument constructor
        return (type(self), (self.path, self.reason))


class VideoNotFoundError(VideoDecodeError, FileNotFoundError):
    """The video file does not exist (both a [`VideoDecodeError`] and a `FileNotFoundError`)."""

    def __init__(self, path: str | os.PathLike, reason: str = "no such file") -> None:
        super().__init__(path, reason)
        self.errno = errno.ENOENT
        self.strerror = reason
        self.filename = self.path


@dataclass(frozen=True)
class VideoInfo:
    """What the container header says about a video.

    Attributes:
        num_frames (`int`): number of frames (counted from the packets when the header does not say).
        fps (`float`): average frame rate.
        height (`int`): frame height in pixels.
        width (`int`): frame width in pixels.
    """

    num_frames: int
    fps: float
    height: int
    width: int


# A decode size: `(height, width)`, or a function of the file's header that returns one.
DecodeSize = tuple[int, int] | Callable[[VideoInfo], tuple[int, int]]


def decord_available() -> bool:
    """Whether decord can be imported."""
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str = "auto") -> str:
    """Turn `"auto"` into the backend used here (`"decord"` where installed, else `"pyav"`) and validate names.

    Args:
        backend (`str`): `"auto"`, `"decord"` or `"pyav"`.

    Returns:
        `str`: `"decord"` or `"pyav"`.

    Raises:
        ValueError: an unknown name, or `"decord"` requested where decord is not installed.
    """
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS}, got {backend!r}.")
    if backend == "auto":
        return "decord" if decord_available() else "pyav"
    if backend == "decord" and not decord_available():
        raise ValueError(
            "`backend='decord'` was requested but decord is not installed; use 'pyav' or 'auto'."
        )
    return backend


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise VideoNotFoundError(path, "no such file")
    if not path.is_file():
        raise VideoDecodeError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "the file is empty (0 bytes)")


def _check_size(path: Path, height: int, width: int, max_pixels: int | None) -> None:
    if height <= 0 or width <= 0:
        raise VideoDecodeError(path, f"invalid frame size {width}x{height}")
    if max_pixels is not None and height * width > max_pixels:
        raise VideoDecodeError(
            path,
            f"frames of {width}x{height} ({height * width} pixels) exceed max_pixels={max_pixels}; "
            "raise `max_pixels` (`--max-pixels` of `vidanon anonymize`) to read it anyway, or downscale the file "
            "first",
        )


def _probe_pyav(path: Path, count_frames: bool = True) -> VideoInfo:
    """Read the header with PyAV. No frame is decoded.

    Where the header has no frame count (Matroska, WebM), the packets are counted if `count_frames`, else
    `num_frames` is returned as 0 (unknown).
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "the file has no video stream (zero-frame or audio-only file?)")
            stream = container.streams.video[0]
            height, width = stream.codec_context.height, stream.codec_context.width
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            num_frames = int(stream.frames or 0)
            if num_frames <= 0 and count_frames:
                num_frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
    except VideoDecodeError:
        raise
    except av.error.FileNotFoundError as error:
        raise VideoNotFoundError(path, "no such file") from error
    except (av.error.FFmpegError, OSError, ValueError, IndexError, RuntimeError) as error:
        raise VideoDecodeError(path, f"not a readable video ({type(error).__name__}: {error})") from error
    if num_frames <= 0 and count_frames:
        raise VideoDecodeError(path, "the video has zero frames")
    return VideoInfo(num_frames=num_frames, fps=fps, height=height, width=width)


def video_info(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> VideoInfo:
    """Probe a video file (header only, no decoding).

    Args:
        path (`str` or `os.PathLike`): the video file.
        max_pixels (`int`, *optional*, defaults to `DEFAULT_MAX_PIXELS`):
            Refuse frames with more pixels than this (`None`: no limit).

    Returns:
        [`VideoInfo`]: frame count, frame rate, height and width.

    Raises:
        VideoNotFoundError: the file does not exist.
        VideoDecodeError: the file is not a readable video, has no frames, or has frames above `max_pixels`.
    """
    path = Path(path)
    _check_exists(path)
    info = _probe_pyav(path)
    _check_size(path, info.height, info.width, max_pixels)
    return info


def _checked_decode_size(path: Path, size: tuple[int, int], max_pixels: int | None) -> tuple[int, int]:
    try:
        height, width = size
        valid = all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in (height, width)
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"the decode `size` for {str(path)!r} must be a (height, width) pair of ints >= 1, got {size!r}."
        )
    height, width = int(height), int(width)
    if max_pixels is not None and height * width > max_pixels:
        raise ValueError(
            f"the decode `size` {width}x{height} for {str(path)!r} exceeds max_pixels={max_pixels}."
        )
    return height, width


def _validate_indices(path: Path, indices: np.ndarray | list[int], num_frames: int) -> np.ndarray:
    array = np.asarray(indices)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"`indices` for {str(path)!r} must be a non-empty 1-D sequence, got shape {array.shape}."
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"`indices` for {str(path)!r} must be integers, got dtype {array.dtype}.")
    bad = array[(array < 0) | (array >= num_frames)]
    if bad.size:
        raise ValueError(
            f"frame indices {bad[:8].tolist()} are out of range for {str(path)!r}, which has {num_frames} frames."
        )
    return array.astype(np.int64)


class VideoFile:
    """An open video file from which frames can be read by index, with either backend.

    Open it once, read `info` to choose indices, then call `get_frames` (several times if needed):

    ```python
    >>> with VideoFile("clip.mp4") as video:  # doctest: +SKIP
    ...     frames = video.get_frames(training_indices(video.info.num_frames))
    ```

    Args:
        path (`str` or `os.PathLike`): the video file.
        backend (`str`, *optional*, defaults to `"auto"`): `"decord"`, `"pyav"` or `"auto"` (decord if installed).
        max_pixels (`int`, *optional*, defaults to `DEFAULT_MAX_PIXELS`):
            Refuse frames with more pixels than this before decoding (`None`: no limit).
        size (`tuple[int, int]` or callable, *optional*, keyword-only):
            Decode at this `(height, width)` instead of the file's own size: the decoder scales each frame
            (bilinear, swscale) as it converts it to RGB, which is cheaper than decoding at full size and resizing
            afterwards. A callable receives the header's [`VideoInfo`] and returns the size, for a size that
            depends on the source (it is called once, before any frame is decoded). `None` (default), or the
            file's own size, decodes as without it. decord and PyAV scale alike but not bit-identically (a few
            grey levels apart on sharp edges).

    Attributes:
        info ([`VideoInfo`]): the file's header (its own frame size, whatever `size` is).
        size (`tuple[int, int]`): `(height, width)` of the frames `get_frames` returns.

    Raises:
        VideoNotFoundError: the file does not exist.
        VideoDecodeError: the file cannot be opened as a video, has no frames, or exceeds `max_pixels`.
        ValueError: a `size` that is not a pair of positive ints, or exceeds `max_pixels`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        backend: str = "auto",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        *,
        size: DecodeSize | None = None,
    ) -> None:
        self.path = Path(path)
        self.requested_backend = backend
        self.backend = resolve_backend(backend)
        _check_exists(self.path)
        # The header is probed with PyAV whatever the backend: it gives the frame size before anything is
        # decoded (decord does not), so oversized files are refused before they can exhaust memory.
        # decord counts frames itself: the packets are only counted (when the header lacks it) for PyAV
        header = _probe_pyav(self.path, count_frames=self.backend == "pyav")
        _check_size(self.path, header.height, header.width, max_pixels)
        self.info = header
        native = (header.height, header.width)
        if callable(size):
            size = size(header)
        self.size = native if size is None else _checked_decode_size(self.path, size, max_pixels)
        self._reader = None
        if self.backend == "decord":
            try:
                self._reader = self._open_decord()
            except VideoDecodeError:
                if self.requested_backend != "auto":
                    raise
                self._fall_back_to_pyav("cannot open it")
                if self.info.num_frames <= 0:
                    self.info = _probe_pyav(self.path)
            else:
                # decord counts frames its own way; indices must stay within what it can return
                self.info = VideoInfo(len(self._reader), header.fps, header.height, header.width)

    def _fall_back_to_pyav(self, what: str) -> None:
        logger.debug("decord %s for %s; reading it with PyAV instead", what, self.path)
        self.backend = "pyav"
        self._reader = None

    def _open_decord(self):
        import decord

        resize = {} if self._native_size else {"height": self.size[0], "width": self.size[1]}
        try:
            return decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=1, **resize)
        except (RuntimeError, AssertionError, decord.DECORDError) as error:
            raise VideoDecodeError(
                self.path, f"decord cannot open it ({type(error).__name__}: {error})"
            ) from error

    @property
    def _native_size(self) -> bool:
        return self.size == (self.info.height, self.info.width)

    def get_frames(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Decode the frames at `indices` (any order, repeats allowed).

        Args:
            indices (`np.ndarray` or `list[int]` of shape `(T,)`): 0-based frame indices, `< info.num_frames`.

        Returns:
            `np.ndarray` of shape `(T, H, W, 3)` (`(H, W) = size`), dtype uint8, RGB, in the order of `indices`.

        Raises:
            ValueError: indices that are not 1-D integers in range.
            VideoDecodeError: the data cannot be decoded (corrupt or truncated file).
        """
        index_array = _validate_indices(self.path, indices, self.info.num_frames)
        if self.backend == "decord":
            try:
                return self._get_frames_decord(index_array)
            except VideoDecodeError:
                # decord 0.6 fails (or returns 4-channel rows) on some frame widths, e.g. 16, 24, 48 or 72
                # pixels: with "auto" such files are read with PyAV, which also settles whether the file is bad.
                if self.requested_backend != "auto":
                    raise
                self._fall_back_to_pyav("cannot decode it")
        return self._get_frames_pyav(index_array)

    def _get_frames_decord(self, indices: np.ndarray) -> np.ndarray:
        import decord

        unique, inverse = np.unique(indices, return_inverse=True)
        try:
            batch = self._reader.get_batch(unique.tolist()).asnumpy()
        except (RuntimeError, AssertionError, IndexError, decord.DECORDError) as error:
            raise VideoDecodeError(
                self.path, f"decoding failed ({type(error).__name__}: {error}){self._decord_size_hint()}"
            ) from error
        expected = (unique.size, *batch.shape[1:3]) if self._native_size else (unique.size, *self.size)
        if batch.ndim != 4 or batch.shape != (*expected, 3):
            raise VideoDecodeError(
                self.path,
                f"decord returned frames of unexpected shape {batch.shape}{self._decord_size_hint()}",
            )
        return np.ascontiguousarray(batch[inverse.reshape(-1)])

    def _decord_size_hint(self) -> str:
        if self._native_size:
            return ""
        height, width = self.size
        return (
            f" while decoding at {width}x{height}: decord 0.6 cannot produce some frame widths "
            f"({', '.join(map(str, sorted(DECORD_UNSUPPORTED_WIDTHS)))}); use backend='auto' (which reads such "
            "files with PyAV) or 'pyav', or another size"
        )

    def _get_frames_pyav(self, indices: np.ndarray) -> np.ndarray:
        import av

        wanted = set(indices.tolist())
        last = int(indices.max())
        decoded: dict[int, np.ndarray] = {}
        position = -1
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                for position, frame in enumerate(container.decode(stream)):
                    if position in wanted:
                        decoded[position] = self._to_rgb(frame)
                    if position >= last:
                        break
        except (av.error.FFmpegError, OSError, ValueError, IndexError, RuntimeError) as error:
            raise VideoDecodeError(self.path, f"decoding failed ({type(error).__name__}: {error})") from error
        missing = sorted(wanted.difference(decoded))
        if missing:
            raise VideoDecodeError(
                self.path,
                f"the stream ended after {position + 1} frames although the header announces "
                f"{self.info.num_frames}; frames {missing[:8]} could not be decoded (truncated file?)",
            )
        return np.stack([decoded[int(i)] for i in indices])

    def _to_rgb(self, frame) -> np.ndarray:
        if self._native_size:
            return frame.to_ndarray(format="rgb24")
        # one swscale pass (scale and convert together, bilinear), as decord's filter graph does
        height, width = self.size
        return frame.reformat(
            width=width, height=height, format="rgb24", interpolation="BILINEAR"
        ).to_ndarray()

    def close(self) -> None:
        """Release the decoder."""
        self._reader = None

    def __enter__(self) -> VideoFile:  # noqa: PYI034 (Self needs Python 3.11)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_clip(
    path: str | os.PathLike,
    indices: np.ndarray | list[int],
    backend: str = "auto",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode the frames at `indices` of a video file.

    Args:
        path (`str` or `os.PathLike`): the video file.
        indices (`np.ndarray` or `list[int]` of shape `(T,)`): 0-based frame indices (any order, repeats allowed).
        backend (`str`, *optional*, defaults to `"auto"`): `"decord"`, `"pyav"` or `"auto"` (decord if installed).
        max_pixels (`int`, *optional*, defaults to `DEFAULT_MAX_PIXELS`):
            Refuse frames with more pixels than this before decoding (`None`: no limit).

    Returns:
        `np.ndarray` of shape `(T, H, W, 3)`, dtype uint8, RGB.

    Raises:
        VideoNotFoundError: the file does not exist.
        VideoDecodeError: the file is not a readable video, is truncated or corrupt, or exceeds `max_pixels`.
        ValueError: indices out of range.
    """
    with VideoFile(path, backend=backend, max_pixels=max_pixels) as video:
        return video.get_frames(indices)


def read_image(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as one RGB frame (grayscale, palette and alpha images are converted to RGB).

    Args:
        path (`str` or `os.PathLike`): the image file.
        max_pixels (`int`, *optional*, defaults to `DEFAULT_MAX_PIXELS`): refuse larger images (`None`: no limit).

    Returns:
        `np.ndarray` of shape `(H, W, 3)`, dtype uint8.

    Raises:
        VideoNotFoundError: the file does not exist.
        VideoDecodeError: the file is not a readable image or exceeds `max_pixels`.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    _check_exists(path)
    try:
        with Image.open(path) as image:
            _check_size(path, image.height, image.width, max_pixels)
            return np.asarray(image.convert("RGB"))
    except VideoDecodeError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise VideoDecodeError(path, f"not a readable image ({type(error).__name__}: {error})") from error


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether `path` has an image extension (`IMAGE_EXTENSIONS`); such files are served as static clips."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
