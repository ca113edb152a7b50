"""The VidAnon anonymization demo as a Hugging Face Space: the same page as `vidanon app`, on a Hub checkpoint.

The model, its processors and the `video-anonymization` pipeline come from the checkpoint's own code
(`trust_remote_code=True`): nothing here imports `transformers_vidanon`. `vidanon_demo.py` is a copy of the
package's `transformers_vidanon/app/demo.py` (the tests keep them equal); this file gives it what the package would
otherwise give: PyAV to probe, decode and write video (H.264 / yuv420p with the settings of the package's writer,
so the files match `vidanon anonymize`'s), and the mask flicker rate as `transformers_vidanon.metrics` defines it.

Space variables (Settings -> Variables): `VIDANON_MODEL` (required, the checkpoint's Hub id), `VIDANON_MAX_PIXELS`
and `VIDANON_MAX_SECONDS` (the upload limits; 0: none). Run it locally the same way:

    VIDANON_MODEL=org/vidanon python app.py
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from transformers import pipeline
from vidanon_demo import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SECONDS,
    DemoLimits,
    DemoTools,
    InputRefused,
    VideoProbe,
    build_demo,
)


def probe(path: str) -> VideoProbe:
    """Frame count (from the header, else counted from the packets), frame rate and size of a video file."""
    name = Path(path).name
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise InputRefused(f"{name} cannot be used: the file has no video stream (an audio-only file?).")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            height, width = stream.codec_context.height, stream.codec_context.width
            num_frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError) as error:
        raise InputRefused(f"{name} cannot be used: not a readable video ({error}).") from None
    return VideoProbe(num_frames=int(num_frames), fps=fps, height=int(height), width=int(width))


def read(path: str) -> np.ndarray:
    """Every frame as `(T, H, W, 3)` uint8 RGB, decoded as the checkpoint's pipeline decodes a path with PyAV."""
    try:
        with av.open(path) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (av.error.FFmpegError, OSError) as error:
        raise InputRefused(f"{Path(path).name} cannot be decoded ({error}).") from None
    if not frames:
        raise InputRefused(f"{Path(path).name} has no video frames.")
    return np.stack(frames)


def write_mp4(path: str, frames: np.ndarray, fps: float) -> str:
    """H.264 in mp4, yuv420p, x264 crf 18 on one thread without macroblock-tree rate control (reproducible bytes),
    an odd size padded by repeating the edge: the settings of `vidanon anonymize`."""
    height, width = frames.shape[1:3]
    frames = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    with av.open(path, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "threads": "1", "x264-params": "mbtree=0"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def mask_flicker_rate(keep_mask: np.ndarray) -> float:
    """Share of tubelet positions whose keep state changes between consecutive time slots (`(B, T', H', W')`)."""
    kept = np.asarray(keep_mask) > 0.5
    return float(np.mean(kept[:, 1:] != kept[:, :-1]))


def _limit(name: str, default: float) -> float | None:
    value = float(os.environ.get(name, default))
    return value if value > 0 else None


MODEL = os.environ.get("VIDANON_MODEL")
if not MODEL:
    raise SystemExit("Set VIDANON_MODEL to the Hub id of a VidAnon checkpoint (a Space variable, or the environment).")
max_pixels = _limit("VIDANON_MAX_PIXELS", DEFAULT_MAX_PIXELS)
limits = DemoLimits(max_pixels=int(max_pixels) if max_pixels else None,
                    max_seconds=_limit("VIDANON_MAX_SECONDS", DEFAULT_MAX_SECONDS))
loaded = pipeline("video-anonymization", model=MODEL, trust_remote_code=True)
# `vidanon anonymize` resizes the clips with the checkpoint's image processor (the video processor rounds
# differently): so does the page, which then shows the masks the command writes
anonymizer = type(loaded)(model=loaded.model, image_processor=loaded.image_processor)
tools = DemoTools(probe=probe, read=read, write_mp4=write_mp4, flicker=mask_flicker_rate)
demo = build_demo(anonymizer, tools, limits, model_name=MODEL)

if __name__ == "__main__":
    demo.queue().launch()
