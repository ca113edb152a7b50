"""The demo with the package's pieces: what `vidanon app --model DIR_OR_HUB_ID` serves.

The checkpoint is loaded as `vidanon anonymize` loads it ([`load_anonymizer`]: the model and its image processor)
and wrapped in the package's `video-anonymization` pipeline, so that the page shows the frames and the masks that
`vidanon anonymize` writes for the same file and settings. Files are decoded with the package's reader
(`video.VideoFile`, as the pipeline decodes a path) and written with its one mp4 writer (`video.write_video`); the
mask flicker is `metrics.mask_flicker_rate`; example clips are SynthPrivacy videos (`data.synth`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .demo import DemoLimits, DemoTools, InputRefused, VideoProbe, build_demo

SYNTH_CLIP_FRAMES = 48
SYNTH_CLIP_SIZE = 128
SYNTH_CLIP_FPS = 12.0


def probe_video(path: str) -> VideoProbe:
    """The header of a video file (frames counted), or [`InputRefused`] with the reader's reason."""
    from ..video import VideoDecodeError, video_info

    try:
        info = video_info(path, max_pixels=None)  # the demo's own limit is checked on the probe
    except VideoDecodeError as error:
        raise InputRefused(f"{Path(path).name} cannot be used: {error.reason}.") from None
    return VideoProbe(num_frames=info.num_frames, fps=info.fps, height=info.height, width=info.width)


def read_video(path: str) -> np.ndarray:
    """Every frame of a video file, `(T, H, W, 3)` uint8, with the reader the pipeline uses for a path."""
    from ..video import VideoDecodeError, VideoFile

    try:
        with VideoFile(path, max_pixels=None) as video:
            return video.get_frames(np.arange(video.info.num_frames))
    except VideoDecodeError as error:
        raise InputRefused(f"{Path(path).name} cannot be decoded: {error.reason}.") from None


def write_mp4(path: str, frames: np.ndarray, fps: float) -> Path:
    """H.264 / yuv420p mp4 through the package's writer, with `vidanon anonymize`'s settings."""
    from ..video import write_video

    return write_video(path, frames, fps)


def synth_clip(action: str, seed: int, folder: str) -> str:
    """A SynthPrivacy clip of `action`, its privacy attributes and nuisances drawn from `seed`, as an mp4 in
    `folder` (48 frames of 128 x 128 at 12 fps)."""
    from ..data.labels import PRIVACY_ATTRIBUTES
    from ..data.synth import render_synth_video
    from ..video import write_video

    rng = np.random.default_rng(seed)
    privacy = [int(value) for value in rng.integers(0, 2, size=len(PRIVACY_ATTRIBUTES))]
    clip = render_synth_video(action, privacy, rng, num_frames=SYNTH_CLIP_FRAMES, image_size=SYNTH_CLIP_SIZE)
    return str(write_video(Path(folder) / f"synthprivacy_{action}_{seed}.mp4", clip.frames, fps=SYNTH_CLIP_FPS))


def package_tools() -> DemoTools:
    """[`DemoTools`] made of the package's reader, writer, flicker rate and SynthPrivacy renderer."""
    from ..data.synth import SYNTH_ACTIONS
    from ..metrics import mask_flicker_rate

    return DemoTools(probe=probe_video, read=read_video, write_mp4=write_mp4, flicker=mask_flicker_rate,
                     example_clip=synth_clip, example_actions=tuple(SYNTH_ACTIONS))


def load_pipeline(name_or_path: str | os.PathLike, device: str | None = None, trust_remote_code: bool = False) -> Any:
    """The `video-anonymization` pipeline over the model and image processor `vidanon anonymize` would load.

    Raises:
        FileNotFoundError, ValueError: as [`load_anonymizer`] (a missing model, a corrupt weights file, ...).
    """
    from ..inference.anonymize import load_anonymizer
    from ..pipelines import VideoAnonymizationPipeline

    model, processor = load_anonymizer(name_or_path, device=device, trust_remote_code=trust_remote_code)
    return VideoAnonymizationPipeline(model=model, image_processor=processor, device=model.device)


def build_package_demo(
    name_or_path: str | os.PathLike,
    limits: DemoLimits | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
    output_root: str | os.PathLike | None = None,
):
    """The demo page (`gradio.Blocks`) for a checkpoint, with the package's tools."""
    anonymizer = load_pipeline(name_or_path, device=device, trust_remote_code=trust_remote_code)
    return build_demo(anonymizer, package_tools(), limits or DemoLimits(), model_name=str(name_or_path),
                      output_root=output_root)


__all__ = ["build_package_demo", "load_pipeline", "package_tools", "probe_video", "read_video", "synth_clip",
           "write_mp4"]
