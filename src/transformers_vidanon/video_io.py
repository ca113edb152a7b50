"""Reading and writing video files, and choosing which frames to read.

Decoding goes through [decord](https://github.com/dmlc/decord) where it is installed (fast random access) and
through PyAV otherwise; both return the same frames (checked by the tests) as `(T, H, W, 3)` uint8 RGB arrays,
whatever the pixel format of the file (grayscale and odd-sized videos come back as 3-channel frames).
Writing goes through PyAV (H.264 in an mp4 container), atomically.

Every failure to read a file raises [`VideoDecodeError`] (a `ValueError`) carrying the offending `path`;
a missing file raises [`VideoNotFoundError`], which is both a `VideoDecodeError` and a `FileNotFoundError`.

Frame sampling:

- [`training_indices`]: one random segment of `num_frames` frames, `frame_stride` apart.
- [`uniform_clip_indices`]: `num_clips` segments spread evenly over the video (multi-clip evaluation).

A video shorter than one segment (`(num_frames - 1) * frame_stride + 1` frames) follows `short_video_policy`:

- `"loop"` (default): the indices wrap around the end of the video (`index % num_video_frames`), so the clip
  replays the video from its start;
- `"pad"`: indices past the end are replaced by the last frame (the clip freezes on its last frame).

Either way the clip has exactly `num_frames` frames: a short video never raises and is never silently truncated.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np

from .fileutils import mkstemp_with_umask

logger = logging.getLogger(__name__)

Backend = Literal["auto", "decord", "pyav"]
ShortVideoPolicy = Literal["loop", "pad"]

BACKENDS: tuple[str, ...] = ("auto", "decord", "pyav")
SHORT_VIDEO_POLICIES: tuple[str, ...] = ("loop", "pad")
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

# Frames larger than this (pixels per frame) are refused before any decoding: 4096 x 4096 is 4x a 4K UHD
# frame, far beyond any action-recognition input, while a decoded 16-frame clip of it already takes 800 MB.
DEFAULT_MAX_PIXELS = 4096 * 4096


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

    Raises:
        VideoNotFoundError: the file does not exist.
        VideoDecodeError: the file cannot be opened as a video, has no frames, or exceeds `max_pixels`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        backend: str = "auto",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
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

        try:
            return decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=1)
        except (RuntimeError, AssertionError, decord.DECORDError) as error:
            raise VideoDecodeError(
                self.path, f"decord cannot open it ({type(error).__name__}: {error})"
            ) from error

    def get_frames(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """Decode the frames at `indices` (any order, repeats allowed).

        Args:
            indices (`np.ndarray` or `list[int]` of shape `(T,)`): 0-based frame indices, `< info.num_frames`.

        Returns:
            `np.ndarray` of shape `(T, H, W, 3)`, dtype uint8, RGB, in the order of `indices`.

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
            raise VideoDecodeError(self.path, f"decoding failed ({type(error).__name__}: {error})") from error
        if batch.ndim != 4 or batch.shape[0] != unique.size or batch.shape[-1] != 3:
            raise VideoDecodeError(self.path, f"decord returned frames of unexpected shape {batch.shape}")
        return np.ascontiguousarray(batch[inverse.reshape(-1)])

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
                        decoded[position] = frame.to_ndarray(format="rgb24")
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


# ---------------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------------


def _check_sampling_arguments(num_video_frames: int, num_frames: int, frame_stride: int, policy: str) -> None:
    if int(num_video_frames) < 1:
        raise ValueError(f"`num_video_frames` must be >= 1, got {num_video_frames}.")
    if int(num_frames) < 1:
        raise ValueError(f"`num_frames` must be >= 1, got {num_frames}.")
    if int(frame_stride) < 1:
        raise ValueError(f"`frame_stride` must be >= 1, got {frame_stride}.")
    if policy not in SHORT_VIDEO_POLICIES:
        raise ValueError(f"`short_video_policy` must be one of {SHORT_VIDEO_POLICIES}, got {policy!r}.")


def clip_span(num_frames: int, frame_stride: int) -> int:
    """Number of video frames one clip covers: `(num_frames - 1) * frame_stride + 1`."""
    return (num_frames - 1) * frame_stride + 1


def _fit_short_video(offsets: np.ndarray, num_video_frames: int, policy: str) -> np.ndarray:
    if policy == "loop":
        return offsets % num_video_frames
    return np.minimum(offsets, num_video_frames - 1)


def training_indices(
    num_video_frames: int,
    num_frames: int = 16,
    frame_stride: int = 2,
    rng: np.random.Generator | int | None = None,
    short_video_policy: str = "loop",
) -> np.ndarray:
    """Indices of one random training clip: `num_frames` frames `frame_stride` apart from a random start.

    Args:
        num_video_frames (`int`): frames in the video.
        num_frames (`int`, *optional*, defaults to 16): frames in the clip.
        frame_stride (`int`, *optional*, defaults to 2): distance between consecutive sampled frames.
        rng (`np.random.Generator` or `int`, *optional*): random generator or seed (`None`: fresh entropy).
        short_video_policy (`str`, *optional*, defaults to `"loop"`):
            For a video shorter than one clip (the clip then starts at frame 0): `"loop"` wraps the indices,
            `"pad"` repeats the last frame. See the module docstring.

    Returns:
        `np.ndarray` of shape `(num_frames,)`, dtype int64, every value in `[0, num_video_frames)`.

    Example:

    ```python
    >>> training_indices(100, num_frames=4, frame_stride=2, rng=0).tolist()
    [79, 81, 83, 85]
    >>> training_indices(5, num_frames=4, frame_stride=2, short_video_policy="loop").tolist()
    [0, 2, 4, 1]
    >>> training_indices(5, num_frames=4, frame_stride=2, short_video_policy="pad").tolist()
    [0, 2, 4, 4]

    ```
    """
    _check_sampling_arguments(num_video_frames, num_frames, frame_stride, short_video_policy)
    offsets = np.arange(num_frames, dtype=np.int64) * frame_stride
    span = clip_span(num_frames, frame_stride)
    if num_video_frames < span:
        return _fit_short_video(offsets, num_video_frames, short_video_policy)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    start = int(generator.integers(0, num_video_frames - span + 1))
    return offsets + start


def uniform_clip_indices(
    num_video_frames: int,
    num_frames: int = 16,
    frame_stride: int = 2,
    num_clips: int = 5,
    short_video_policy: str = "loop",
) -> np.ndarray:
    """Indices of `num_clips` evaluation clips whose starts are spread evenly over the video.

    The first clip starts at frame 0 and the last one ends on the last frame (starts
    `round(i * (num_video_frames - span) / (num_clips - 1))`); a single clip is centred.

    Args:
        num_video_frames (`int`): frames in the video.
        num_frames (`int`, *optional*, defaults to 16): frames per clip.
        frame_stride (`int`, *optional*, defaults to 2): distance between consecutive sampled frames.
        num_clips (`int`, *optional*, defaults to 5): number of clips.
        short_video_policy (`str`, *optional*, defaults to `"loop"`):
            For a video shorter than one clip, every clip is the same clip from frame 0, wrapped (`"loop"`) or
            padded with the last frame (`"pad"`).

    Returns:
        `np.ndarray` of shape `(num_clips, num_frames)`, dtype int64.

    Example:

    ```python
    >>> uniform_clip_indices(20, num_frames=3, frame_stride=2, num_clips=3).tolist()
    [[0, 2, 4], [8, 10, 12], [15, 17, 19]]

    ```
    """
    _check_sampling_arguments(num_video_frames, num_frames, frame_stride, short_video_policy)
    if int(num_clips) < 1:
        raise ValueError(f"`num_clips` must be >= 1, got {num_clips}.")
    offsets = np.arange(num_frames, dtype=np.int64) * frame_stride
    span = clip_span(num_frames, frame_stride)
    if num_video_frames < span:
        clip = _fit_short_video(offsets, num_video_frames, short_video_policy)
        return np.tile(clip, (num_clips, 1))
    room = num_video_frames - span
    if num_clips == 1:
        starts = np.array([room // 2], dtype=np.int64)
    else:
        starts = np.rint(np.arange(num_clips) * room / (num_clips - 1)).astype(np.int64)
    return starts[:, None] + offsets[None, :]


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


def _to_even(frames: np.ndarray, even_size: str) -> np.ndarray:
    height, width = frames.shape[1:3]
    pad_h, pad_w = height % 2, width % 2
    if not (pad_h or pad_w):
        return frames
    if even_size == "crop":
        return frames[:, : height - pad_h, : width - pad_w]
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray,
    fps: float,
    crf: int = 18,
    even_size: Literal["pad", "crop"] = "pad",
    threads: int = 1,
) -> Path:
    """Write RGB frames to an H.264 mp4 file (yuv420p), atomically.

    The frames are encoded into a temporary file in the destination folder which then replaces `path` in one
    `os.replace`: a reader never sees a half-written file, and an interrupted write leaves no file behind.

    yuv420p (the pixel format every player reads) needs even frame sizes: an odd height or width is padded
    by one row/column repeating the edge (`even_size="pad"`, the default; the file is then one pixel larger)
    or cropped by one (`even_size="crop"`).

    Args:
        path (`str` or `os.PathLike`): destination (its folder is created if missing).
        frames (`np.ndarray` of shape `(T, H, W, 3)` or `(T, H, W)`, uint8): RGB (or grayscale) frames, `T >= 1`.
        fps (`float`): frame rate (> 0).
        crf (`int`, *optional*, defaults to 18): x264 constant rate factor (0 = lossless luma, 51 = worst).
        even_size (`str`, *optional*, defaults to `"pad"`): `"pad"` or `"crop"`, for odd frame sizes.
        threads (`int`, *optional*, defaults to 1):
            Encoder threads. 1 (with macroblock-tree rate control off) makes the bytes identical from run to run
            and machine to machine; 0 lets x264 choose (faster on long videos).

    Returns:
        `Path`: the written file.

    Raises:
        ValueError: frames of the wrong shape or dtype, or a non-positive `fps`.
    """
    import av

    path = Path(path)
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
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"`fps` for {str(path)!r} must be > 0, got {fps}.")
    if even_size not in ("pad", "crop"):
        raise ValueError(f"`even_size` must be 'pad' or 'crop', got {even_size!r}.")
    frames = _to_even(frames, even_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = mkstemp_with_umask(prefix=f".{path.stem}.", suffix=".tmp.mp4", dir=path.parent)
    os.close(descriptor)
    try:
        with av.open(temporary, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.height, stream.width = frames.shape[1], frames.shape[2]
            stream.pix_fmt = "yuv420p"
            options = {"crf": str(int(crf)), "threads": str(int(threads))}
            if int(threads) == 1:
                # x264's macroblock-tree rate control was seen to make the bytes differ between runs
                options["x264-params"] = "mbtree=0"
            stream.options = options
            for frame in frames:
                for packet in stream.encode(
                    av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                ):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


__all__ = [
    "BACKENDS",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "SHORT_VIDEO_POLICIES",
    "VIDEO_EXTENSIONS",
    "VideoDecodeError",
    "VideoFile",
    "VideoInfo",
    "VideoNotFoundError",
    "clip_span",
    "decord_available",
    "is_image_path",
    "read_clip",
    "read_image",
    "resolve_backend",
    "training_indices",
    "uniform_clip_indices",
    "video_info",
    "write_video",
]
