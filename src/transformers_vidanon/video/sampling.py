"""Choosing which frames of a video make a clip.

- [`training_indices`]: one random segment of `num_frames` frames, `frame_stride` apart.
- [`uniform_clip_indices`]: `num_clips` segments spread evenly over the video (multi-clip evaluation).
- [`split_into_clips`]: consecutive clips covering every frame exactly once (anonymizing a whole video).

A video shorter than one segment (`(num_frames - 1) * frame_stride + 1` frames) follows `short_video_policy`:

- `"loop"` (default): the indices wrap around the end of the video (`index % num_video_frames`), so the clip
  replays the video from its start;
- `"pad"`: indices past the end are replaced by the last frame (the clip freezes on its last frame).

Either way the clip has exactly `num_frames` frames: a short video never raises and is never silently truncated.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

ShortVideoPolicy = Literal["loop", "pad"]
SHORT_VIDEO_POLICIES: tuple[str, ...] = ("loop", "pad")


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


def split_into_clips(num_video_frames: int, clip_length: int) -> np.ndarray:
    """Frame indices of the consecutive clips covering a video, every frame exactly once.

    Args:
        num_video_frames (`int`): frames in the video (>= 1).
        clip_length (`int`): frames per clip (the model's `num_frames`).

    Returns:
        `np.ndarray` of shape `(ceil(num_video_frames / clip_length), clip_length)`, int64: clip `k` holds
        frames `k * clip_length ...`; the last clip repeats the last frame where the video ends early.

    Example:

    ```python
    >>> split_into_clips(5, 2).tolist()
    [[0, 1], [2, 3], [4, 4]]
    ```
    """
    if int(num_video_frames) < 1:
        raise ValueError(f"`num_video_frames` must be >= 1, got {num_video_frames}.")
    if int(clip_length) < 1:
        raise ValueError(f"`clip_length` must be >= 1, got {clip_length}.")
    num_clips = math.ceil(num_video_frames / clip_length)
    indices = np.arange(num_clips * clip_length, dtype=np.int64).reshape(num_clips, clip_length)
    return np.minimum(indices, num_video_frames - 1)
