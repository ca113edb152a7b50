"""Video files: [`reading`] (decord or PyAV decoding, probing, images), [`sampling`] (which frames make a clip) and
[`writing`] (the one atomic, streaming mp4 writer). The names below are this subpackage's public API."""

from .reading import (
    BACKENDS,
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Backend,
    VideoDecodeError,
    VideoFile,
    VideoInfo,
    VideoNotFoundError,
    decord_available,
    is_image_path,
    read_clip,
    read_image,
    resolve_backend,
    video_info,
)
from .sampling import (
    SHORT_VIDEO_POLICIES,
    ShortVideoPolicy,
    clip_span,
    split_into_clips,
    training_indices,
    uniform_clip_indices,
)
from .writing import DEFAULT_CRF, Mp4Writer, remove_partial_outputs, write_video

__all__ = [
    "BACKENDS",
    "DEFAULT_CRF",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "SHORT_VIDEO_POLICIES",
    "VIDEO_EXTENSIONS",
    "Backend",
    "Mp4Writer",
    "ShortVideoPolicy",
    "VideoDecodeError",
    "VideoFile",
    "VideoInfo",
    "VideoNotFoundError",
    "clip_span",
    "decord_available",
    "is_image_path",
    "read_clip",
    "read_image",
    "remove_partial_outputs",
    "resolve_backend",
    "split_into_clips",
    "training_indices",
    "uniform_clip_indices",
    "video_info",
    "write_video",
]
