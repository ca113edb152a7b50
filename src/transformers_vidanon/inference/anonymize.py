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

A run can be stopped by a signal through a [`StopRequest`]: its handler only records the signal, and the run checks
it between files, between batches and in its reader and writer threads (see [`StopRequest`] for why the handler
does not raise).

Main entry points: [`anonymize_video`], [`anonymize_folder`], [`anonymize_frames`] (in memory), and
[`load_anonymizer`] / [`pruning_settings`] to get the model to use.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModelForVideoClassification
from transformers.utils import cached_file

from ..modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition, VidAnonModel
from ..processing_vidanon import VidAnonImageProcessor, clips_to_pixel_values
from ..pruning import keep_mask_from_indices, upsample_keep_mask
from ..reporting.plots import save_preview
from ..video import (
    DEFAULT_CRF,
    DEFAULT_MAX_PIXELS,
    VIDEO_EXTENSIONS,
    Mp4Writer,
    VideoDecodeError,
    VideoFile,
    split_into_clips,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 4
DEFAULT_FALLBACK_FPS = 25.0
"""Frame rate written when the input's header gives none."""

EVENTS: tuple[str, ...] = ("batch_in_flight", "file_done")
"""What an `on_event(kind, path)` callback of [`anonymize_video`] / [`anonymize_files`] is told, always in the
calling thread: `"batch_in_flight"` (`path`: the output) once a batch has been handed to the writer thread, the
output's temporary file open and the next batch handed to the reader thread; `"file_done"` (`path`: the input) once
a file of a folder is written, skipped or failed, before the next one starts."""


# ----------------------------------------------------------------------------------------------------------------------
# Stopping a run
# ----------------------------------------------------------------------------------------------------------------------
class RunStopped(BaseException):
    """Raised at a check point of a run whose [`StopRequest`] was made: the output being written is aborted (its
    temporary file deleted) as it unwinds. A `BaseException`, like `KeyboardInterrupt`, so that no
    `except Exception` on the way (a folder run's per-file error handling, a library's) can take it for an error.

    Attributes:
        signum (`int`): the signal that asked for the stop.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopRequest:
    """A request to stop a run, made once by a signal (SIGINT, SIGTERM) and honoured at the run's check points.

    A signal handler that raises can lose the signal: Python runs the handler in the main thread at whatever
    bytecode comes next, and an exception raised while that is a finalizer or a weakref callback (tqdm's and decord's
    `__del__`, the callback each `ThreadPoolExecutor` registers, all of which run in the main thread between and
    during files) is printed as "Exception ignored in ..." and dropped, so the run went on and exited 0; an
    `Exception` subclass raised inside any `except Exception` block is swallowed as well. So the handler installed
    by [`handling_signals`] (once, for the whole run) only records the first signal, and the work checks the record
    with [`check`] before each file, before each batch, in the reader and writer threads before each batch and each
    clip written, and before an output is committed: wherever the signal lands, the run stops at the next check
    point with the output being written aborted. Blocking work that writes nothing and reaches no check point
    (loading a model, a download) can run in [`interruptible`], where the handler raises [`RunStopped`] at once.

    ```python
    >>> stop = StopRequest()  # doctest: +SKIP
    >>> with stop.handling_signals():
    ...     anonymize_folder(model, processor, "videos/", "anonymized/", stop=stop)  # RunStopped on Ctrl-C
    ```

    Attributes:
        signum (`int` or `None`): the first signal received (`None`: no stop was requested).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._raise_at_once = False

    @property
    def requested(self) -> bool:
        """Whether a stop was requested."""
        return self.signum is not None

    def request(self, signum: int) -> None:
        """Record a stop asked for by `signum` (the first request counts; later ones change nothing)."""
        if self.signum is None:
            self.signum = int(signum)

    def check(self) -> None:
        """Raise [`RunStopped`] if a stop was requested (safe from any thread)."""
        if self.signum is not None:
            raise RunStopped(self.signum)

    def _handle(self, signum: int, frame: Any) -> None:
        self.request(signum)
        if self._raise_at_once:
            raise RunStopped(self.signum)

    @contextlib.contextmanager
    def handling_signals(self, signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopRequest]:
        """Install the recording handler for `signals` for the block (from the main thread), restoring the previous
        handlers after it."""
        previous = {signum: signal.signal(signum, self._handle) for signum in signals}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                if handler is not None:  # None: not installed from Python, nothing to restore
                    signal.signal(signum, handler)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Inside the block a signal also raises [`RunStopped`] at once (for blocking work that writes nothing); a
        stop recorded in the block whose exception was lost (raised inside a finalizer, where Python would print it
        as "Exception ignored"; here it is not printed) is raised as the block ends."""
        self.check()
        previous, self._raise_at_once = self._raise_at_once, True
        previous_hook = sys.unraisablehook

        def unraisable(report: Any) -> None:
            if not isinstance(report.exc_value, RunStopped):  # a lost RunStopped is recorded: nothing to say
                previous_hook(report)

        sys.unraisablehook = unraisable
        try:
            yield
        finally:
            self._raise_at_once = previous
            sys.unraisablehook = previous_hook
        self.check()


def _emit(on_event: Callable[[str, Path], None] | None, kind: str, path: Path) -> None:
    if on_event is not None:
        on_event(kind, path)


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


@dataclass
class FramesAnonymization:
    """Result of [`anonymize_frames`].

    Attributes:
        frames (`np.ndarray` of shape `(T, H, W, 3)`, uint8): the anonymized frames, at the input size.
        keep_mask (`np.ndarray` of shape `(num_clips, num_frames // tubelet_size, image_h // patch, image_w // patch)`):
            The tubelet keep mask of every clip (1 = kept), on the model's grid; clip `k` covers frames
            `k * num_frames` to `(k + 1) * num_frames - 1` (the last clip's padding frames included).
        pixel_mask (`np.ndarray` of shape `(T, H, W)`, bool): True where the input pixel was kept.
    """

    frames: np.ndarray
    keep_mask: np.ndarray
    pixel_mask: np.ndarray

    @property
    def kept_fraction(self) -> float:
        """Share of pixels kept."""
        return float(self.pixel_mask.mean()) if self.pixel_mask.size else 0.0


# ----------------------------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------------------------
def pruning_settings(model: Any, keep_rate: float | Sequence[float] | None = None,
                     lambda_priv: float | None = None) -> contextlib.AbstractContextManager:
    """The model pruning with another keep rate and/or privacy weight for a `with` block
    (`model.pruning_overridden`); the model's own settings come back after it. The values are validated like the
    configuration's (a bad value raises `ValueError` naming it).

    Args:
        model ([`VidAnonForPrivacyPreservingActionRecognition`] or [`VidAnonModel`]): the trained model.
        keep_rate (`float` or `list[float]`, *optional*): fraction of tubelets kept at each pruning layer (one value
            for all layers, or one per layer). `None`: unchanged.
        lambda_priv (`float`, *optional*): weight of the privacy attention in the score. `None`: unchanged.
    """
    if keep_rate is None and lambda_priv is None:
        return contextlib.nullcontext(model)
    if keep_rate is not None and not model.config.pruning_layers:
        logger.warning("`keep_rate` is overridden but this model has no pruning layer: it changes nothing.")
    return model.pruning_overridden(keep_rate=keep_rate, lambda_priv=lambda_priv)


def load_anonymizer(
    name_or_path: str | os.PathLike,
    device: str | torch.device | None = None,
    trust_remote_code: bool = False,
    **from_pretrained_kwargs: Any,
) -> tuple[Any, Any | None]:
    """Load a trained anonymizer and, when the checkpoint has one, its image processor.

    Args:
        name_or_path (`str` or `os.PathLike`): a local folder written by `save_pretrained`, or a Hub repository id.
        device (`str` or `torch.device`, *optional*): where to put the model (default: CPU).
        trust_remote_code (`bool`, *optional*, defaults to `False`): load through the checkpoint's own code
            (`auto_map`) instead of this package's classes.
        from_pretrained_kwargs: passed to `from_pretrained` (e.g. `revision`, `token`).

    Returns:
        `(model, processor)`: the model in eval mode; the processor is `None` when the checkpoint has none
        (frames are then resized with torch, see [`prepare_pixel_values`]).

    Raises:
        FileNotFoundError: `name_or_path` is neither a checkpoint folder nor a reachable Hub repository; a name that
            looks like a local path (see [`looks_local`]) and does not exist fails at once, without asking the Hub.
        ValueError: the checkpoint is not a VidAnon model, its weights file is corrupt or truncated, its weights do
            not fit its config, or `device` is not available.
    """
    source = str(name_or_path)
    local = Path(source).expanduser()
    if local.exists() and not (local / "config.json").is_file():
        raise FileNotFoundError(f"model folder {source!r} has no config.json: it is not a saved model.")
    if not local.exists() and looks_local(source):
        raise FileNotFoundError(f"model folder {source!r} does not exist (it is a path, not a Hub repository id).")
    if local.exists():
        source = str(local)
    if device is not None:
        check_device(device)
    try:
        if trust_remote_code:
            model = AutoModelForVideoClassification.from_pretrained(
                source, trust_remote_code=True, **from_pretrained_kwargs
            )
        else:
            config = AutoConfig.from_pretrained(source, **from_pretrained_kwargs)
            if getattr(config, "model_type", None) != "vidanon":
                raise ValueError(
                    f"model {source!r} is a {getattr(config, 'model_type', '?')!r} model, not a VidAnon anonymizer."
                )
            model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(source, **from_pretrained_kwargs)
    except OSError as error:
        raise FileNotFoundError(f"cannot load model {source!r}: {error}") from error
    except SafetensorError as error:
        weights = local / "model.safetensors" if local.is_dir() else f"{source}/model.safetensors"
        raise ValueError(f"the weights file {str(weights)!r} is corrupt or truncated ({error}).") from None
    except RuntimeError as error:
        if "mismatch" not in str(error) and "size" not in str(error):
            raise
        raise ValueError(
            f"the weights of {source!r} do not fit its config.json (tensor shapes differ; was config.json edited, "
            f"or copied from another model?): {str(error).splitlines()[0]}"
        ) from None
    if not hasattr(model, "anonymize"):
        raise ValueError(f"model {source!r} ({type(model).__name__}) has no `anonymize` method.")
    model.eval()
    if device is not None:
        model.to(device)
    return model, _load_processor(source, from_pretrained_kwargs)


def looks_local(name: str) -> bool:
    """Whether a model name is meant as a local path rather than a Hub id (`"org/name"`).

    True when it starts with `.`, `/` or `~`, holds a backslash or more than one `/`, ends with a separator, or
    its first component is an existing local folder.
    """
    name = str(name)
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1 or name.endswith(("/", os.sep)):
        return True
    first = name.split("/")[0]
    return "/" in name and Path(first).is_dir()


def check_device(device: str | torch.device) -> torch.device:
    """The `torch.device` for `device`, or a `ValueError` naming it when it does not exist on this machine."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {str(device)!r} is not a torch device: {error}") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r}: CUDA is not available on this machine; use 'cpu'.")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(device)!r}: this machine has {torch.cuda.device_count()} CUDA device(s).")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {str(device)!r}: MPS is not available on this machine; use 'cpu'.")
    return resolved


def _load_processor(source: str, kwargs: dict[str, Any]) -> Any | None:
    """The checkpoint's image processor, or None when it has no `preprocessor_config.json`."""
    try:
        found = cached_file(source, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False, **kwargs)
    except OSError:
        found = None
    if found is None:
        logger.info("Model %s has no image processor: frames are resized with torch (bilinear).", source)
        return None
    return VidAnonImageProcessor.from_pretrained(source, **kwargs)


# ----------------------------------------------------------------------------------------------------------------------
# Building blocks (shared by the file, folder and pipeline paths)
# ----------------------------------------------------------------------------------------------------------------------
def _image_size(config: Any) -> tuple[int, int]:
    size = config.image_size
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def prepare_pixel_values(clips: np.ndarray, config: Any, processor: Any | None = None) -> torch.Tensor:
    """Resize whole frames (no crop, so every pixel is scored) to the model's size, as pixels in [0, 1].

    Args:
        clips (`np.ndarray` of shape `(B, T, H, W, 3)`, uint8): RGB clips at any size.
        config (`VidAnonConfig`): gives `image_size`.
        processor (`VidAnonImageProcessor`, *optional*): when given, its resize (resample filter) and rescale are
            used, with centre cropping turned off; it must not normalise (VidAnon models normalise inside).
            `None`: bilinear, antialiased torch resize (`processing_vidanon.clips_to_pixel_values`).

    Returns:
        `torch.FloatTensor` of shape `(B, T, 3, image_h, image_w)` in [0, 1].
    """
    return clips_to_pixel_values(clips, _image_size(config), processor)


@torch.no_grad()
def predict_keep_mask(model: Any, pixel_values: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE) -> torch.Tensor:
    """The tubelet keep mask of clips at the model's size, in mini-batches, in eval mode.

    Args:
        model: a VidAnon model (with `anonymize`, or a base `VidAnonModel`).
        pixel_values (`torch.FloatTensor` of shape `(B, T, C, image_h, image_w)`): pixels in [0, 1].
        batch_size (`int`, *optional*, defaults to 4): clips per forward pass.

    Returns:
        `torch.FloatTensor` of shape `(B, T / tubelet_size, image_h / patch_size, image_w / patch_size)` on the CPU,
        1 = kept.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
    if pixel_values.ndim != 5 or pixel_values.shape[0] == 0:
        raise ValueError(
            f"`pixel_values` must hold at least one clip of shape (T, C, H, W), got shape {tuple(pixel_values.shape)}."
        )
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters())
        masks = []
        for start in range(0, pixel_values.shape[0], batch_size):
            chunk = pixel_values[start : start + batch_size].to(device=parameter.device, dtype=parameter.dtype)
            if hasattr(model, "anonymize"):
                mask = model.anonymize(chunk).keep_mask
            else:
                mask = model(chunk, return_dict=True).keep_mask
            masks.append(mask.detach().float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(masks)


def _mask_backbone(model: Any) -> Any | None:
    """The package's own `VidAnonModel` inside `model`, whose layers [`compute_keep_mask`] may run itself, or None.

    None for anything else: a subclass that overrides `anonymize` (its own code must run), a checkpoint's own code
    loaded with `trust_remote_code`, another architecture; those go through [`predict_keep_mask`].
    """
    backbone = model
    if isinstance(model, VidAnonForPrivacyPreservingActionRecognition):
        if type(model).anonymize is not VidAnonForPrivacyPreservingActionRecognition.anonymize:
            return None
        backbone = getattr(model, "vidanon", None)
    return backbone if type(backbone) is VidAnonModel else None


@torch.inference_mode()
def compute_keep_mask(model: Any, pixel_values: torch.Tensor, batch_size: int = DEFAULT_BATCH_SIZE) -> torch.Tensor:
    """The same tubelet keep mask as [`predict_keep_mask`], computed with the layers that decide it only.

    Which tubelets are kept is settled in the last pruning layer: the layers after it (and the final norm, the
    heads, the anonymization of the model-size input that `anonymize` also returns) cannot change it, so for the
    package's own models the forward stops there (with the paper's pruning at layers 2, 5, 8 of 12, 3 of the 12
    layers are skipped), under `torch.inference_mode`. Other models go through [`predict_keep_mask`].

    Args and returns: as [`predict_keep_mask`].
    """
    backbone = _mask_backbone(model)
    if backbone is None:
        return predict_keep_mask(model, pixel_values, batch_size)
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
    if pixel_values.ndim != 5 or pixel_values.shape[0] == 0:
        raise ValueError(
            f"`pixel_values` must hold at least one clip of shape (T, C, H, W), got shape {tuple(pixel_values.shape)}."
        )
    config = backbone.config
    layers = backbone.encoder.layer[: max(config.pruning_layers, default=-1) + 1]
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters())
        masks = []
        for start in range(0, pixel_values.shape[0], batch_size):
            chunk = pixel_values[start : start + batch_size].to(device=parameter.device, dtype=parameter.dtype)
            hidden_states = backbone.embeddings(chunk)
            batch = hidden_states.shape[0]
            indices = torch.arange(config.num_tubelets, device=parameter.device).expand(batch, -1)
            soft_keep = torch.ones(batch, config.num_tubelets, device=parameter.device)
            fused = False
            for layer in layers:  # positional, as `VidAnonEncoder` calls them
                hidden_states, indices, soft_keep, fused, *_ = layer(hidden_states, indices, soft_keep, fused, False)
            masks.append(keep_mask_from_indices(indices, config.tubelet_grid).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(masks)


def apply_mask_to_frames(clips: np.ndarray, keep_mask: torch.Tensor, fill_value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Apply tubelet keep masks to uint8 clips at their own size (nearest-neighbour upsampling of the mask).

    The upsampling is [`transformers_vidanon.pruning.upsample_keep_mask`], the one the model uses on its own input;
    the frames stay uint8 (a full-resolution float copy is never made), so kept pixels are exactly the input's.

    Args:
        clips (`np.ndarray` of shape `(B, T, H, W, 3)`, uint8): the original clips.
        keep_mask (`torch.Tensor` of shape `(B, T', H', W')`): 1 = kept.
        fill_value (`float`, *optional*, defaults to 0.0): value in [0, 1] written into pruned tubelets.

    Returns:
        `(frames, pixel_mask)`: the anonymized clips `(B, T, H, W, 3)` uint8 and the kept pixels `(B, T, H, W)` bool.
    """
    batch, frames, height, width = clips.shape[:4]
    if keep_mask.ndim != 4 or keep_mask.shape[0] != batch:
        raise ValueError(f"`keep_mask` must be (batch={batch}, T', H', W'), got {tuple(keep_mask.shape)}.")
    pixel_mask = upsample_keep_mask(keep_mask.float(), (frames, height, width))[:, :, 0].numpy() > 0.5  # (B, T, H, W)
    fill = np.uint8(round(min(max(float(fill_value), 0.0), 1.0) * 255))
    return np.where(pixel_mask[..., None], clips, fill), pixel_mask


def _check_model(model: Any) -> None:
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) != "vidanon":
        raise ValueError(f"`model` must be a VidAnon model, got {type(model).__name__}.")


def _anonymize_batch(
    model: Any, clips: np.ndarray, processor: Any | None, batch_size: int
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    pixel_values = prepare_pixel_values(clips, model.config, processor)
    keep_mask = predict_keep_mask(model, pixel_values, batch_size)
    frames, pixel_mask = apply_mask_to_frames(clips, keep_mask, model.config.anonymization_fill_value)
    return frames, pixel_mask, keep_mask


def anonymize_frames(
    model: Any, frames: np.ndarray, processor: Any | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> FramesAnonymization:
    """Anonymize a video held in memory (see the module docstring for the clip layout).

    Args:
        model: a VidAnon model.
        frames (`np.ndarray` of shape `(T, H, W, 3)`): uint8 RGB, or floats in [0, 1] (converted to uint8).
        processor (`VidAnonImageProcessor`, *optional*): see [`prepare_pixel_values`].
        batch_size (`int`, *optional*, defaults to 4): clips per forward pass.

    Returns:
        [`FramesAnonymization`]: frames of the input's shape, the per-clip tubelet masks, the kept pixels.
    """
    _check_model(model)
    frames = as_uint8_frames(frames)
    clip_length = model.config.num_frames
    indices = split_into_clips(frames.shape[0], clip_length)
    clips = frames[indices]  # (num_clips, T, H, W, 3)
    out, pixel_mask, keep_mask = _anonymize_batch(model, clips, processor, batch_size)
    num = frames.shape[0]
    return FramesAnonymization(
        frames=out.reshape(-1, *out.shape[2:])[:num],
        keep_mask=keep_mask.numpy(),
        pixel_mask=pixel_mask.reshape(-1, *pixel_mask.shape[2:])[:num],
    )


def as_uint8_frames(frames: Any) -> np.ndarray:
    """Frames `(T, H, W, 3)` as uint8: uint8 passes through, floats in [0, 1] are scaled and rounded.

    Raises:
        ValueError: another shape, dtype or value range.
    """
    array = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.shape[0] < 1:
        raise ValueError(f"`frames` must have shape (T, H, W, 3) with T >= 1, got {array.shape}.")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise ValueError(f"float `frames` must be in [0, 1], got values in [{array.min()}, {array.max()}].")
        return (array * 255.0).round().astype(np.uint8)
    raise ValueError(f"`frames` must be uint8 or float in [0, 1], got dtype {array.dtype}.")


def _has_audio(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return len(container.streams.audio) > 0
    except (av.error.FFmpegError, OSError):
        return False


# ----------------------------------------------------------------------------------------------------------------------
# Files and folders
# ----------------------------------------------------------------------------------------------------------------------
STAGES: tuple[str, ...] = ("decode", "resize", "model", "mask", "encode")
"""The stages of [`anonymize_video`], in the order a batch of clips goes through them (see [`StageTimer`])."""


class StageTimer:
    """Seconds spent in each stage of [`anonymize_video`], summed over batches.

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
class _Tally:
    """What the encode stage has written so far, and the preview frames it kept."""

    num_written: int = 0
    kept_pixels: int = 0
    preview: tuple[np.ndarray, np.ndarray] | None = None


def _batches(num_clips: int, batch_size: int) -> Iterator[range]:
    for start in range(0, num_clips, batch_size):
        yield range(start, min(start + batch_size, num_clips))


def _check_video_arguments(model: Any, input_path: Path, output_path: Path, overwrite: bool, batch_size: int,
                           preview_path: str | os.PathLike | None) -> None:
    """The argument checks of [`anonymize_video`], all before anything is read or written."""
    _check_model(model)
    if output_path.suffix.lower() != ".mp4":
        raise ValueError(f"the output {str(output_path)!r} must be an .mp4 file (the anonymized video is H.264/mp4).")
    if output_path.exists() and input_path.exists() and output_path.resolve() == input_path.resolve():
        raise ValueError(f"the output {str(output_path)!r} is the input file; choose another output path.")
    if output_path.exists() and not overwrite:
        raise FileExistsError(f"the output {str(output_path)!r} exists (pass overwrite=True to replace it).")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
    if preview_path is not None and Path(preview_path).suffix.lower() != ".png":
        raise ValueError(f"the preview {str(preview_path)!r} must be a .png file.")  # before any video is written


def _output_fps(fps: float, input_path: Path) -> float:
    """The input's frame rate, or `DEFAULT_FALLBACK_FPS` (with a warning) when its header gives none."""
    if not fps or not math.isfinite(fps) or fps <= 0:
        logger.warning("%s gives no frame rate; writing %s fps.", input_path, DEFAULT_FALLBACK_FPS)
        return DEFAULT_FALLBACK_FPS
    return fps


def _decode_clips(video: VideoFile, clip_indices: np.ndarray) -> np.ndarray:
    """Decode stage: the frames of clips `(B, T)` of indices as `(B, T, H, W, 3)` uint8 at the input's size."""
    info = video.info
    frames = video.get_frames(clip_indices.reshape(-1))
    return frames.reshape(*clip_indices.shape, info.height, info.width, 3)


def _encode_clips(writer: Mp4Writer, frames: np.ndarray, pixel_mask: np.ndarray, batch: range, num_frames: int,
                  clip_length: int, tally: _Tally, preview: tuple[int, np.ndarray] | None = None,
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


def _stream_clips(model: Any, processor: Any | None, video: VideoFile, writer: Mp4Writer, clip_indices: np.ndarray,
                  batch_size: int, timer: StageTimer, preview_clip: int | None, progress: bool,
                  stop: StopRequest | None = None, on_event: Callable[[str, Path], None] | None = None) -> _Tally:
    """Run every batch of clips through decode, resize, model, mask and encode, the stages overlapping in threads.

    The model runs in the calling thread; a reader thread decodes and resizes the next batch meanwhile, and a
    writer thread masks and encodes the previous one (one batch in flight each way, batches written in order,
    through the one `writer`). An error in any stage stops the run once the threads have finished what they were
    doing, so the writer can then be aborted safely. So does a `stop` request: it is checked before each batch here,
    and in the threads before each batch they take and each clip they write (raising [`RunStopped`]).
    """
    stop = StopRequest() if stop is None else stop
    num_frames, clip_length = video.info.num_frames, clip_indices.shape[1]
    fill = model.config.anonymization_fill_value
    tally = _Tally()
    batches = list(_batches(len(clip_indices), batch_size))

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

    bar = tqdm(total=len(clip_indices), desc=video.path.name, unit="clip", disable=not progress, leave=False)
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
                keep_mask = compute_keep_mask(model, pixel_values, batch_size)
            if last_write is not None:
                last_write.result()
                bar.update(len(batches[number - 1]))
            last_write = encoder.submit(write, batch, clips, keep_mask)
            _emit(on_event, "batch_in_flight", writer.path)
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


def anonymize_video(
    model: Any,
    processor: Any | None,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_rate: float | Sequence[float] | None = None,
    lambda_priv: float | None = None,
    preview_path: str | os.PathLike | None = None,
    overwrite: bool = True,
    crf: int = DEFAULT_CRF,
    progress: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    timings: dict[str, float] | None = None,
    stop: StopRequest | None = None,
    on_event: Callable[[str, Path], None] | None = None,
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
        batch_size (`int`, *optional*, defaults to 4): clips per forward pass.
        keep_rate (`float` or `list[float]`, *optional*): override of the model's keep rate for this run.
        lambda_priv (`float`, *optional*): override of the model's privacy weight for this run.
        preview_path (`str` or `os.PathLike`, *optional*): also write a PNG with raw frames of the middle clip above
            the same frames anonymized.
        overwrite (`bool`, *optional*, defaults to `True`): replace an existing output; `False` raises
            `FileExistsError`.
        crf (`int`, *optional*, defaults to 18): x264 quality (0 lossless luma ... 51 worst).
        progress (`bool`, *optional*, defaults to `True`): show a tqdm bar over the clips.
        max_pixels (`int`, *optional*, defaults to `video.DEFAULT_MAX_PIXELS`): refuse inputs with larger frames
            (`None`: no limit).
        timings (`dict`, *optional*): filled with the wall seconds spent in each of [`STAGES`], the thread CPU
            seconds of each as `"<stage>_cpu"` (see [`StageTimer`]), and `"total"`, the wall time of the whole call.
        stop ([`StopRequest`], *optional*): checked before the file, before each batch (also in the reader and
            writer threads) and before the output is committed.
        on_event (`Callable[[str, Path], None]`, *optional*): told `("batch_in_flight", output_path)` after each
            batch is handed to the writer thread (see [`EVENTS`]), in the calling thread.

    Returns:
        [`AnonymizeReport`].

    Raises:
        VideoNotFoundError: the input does not exist.
        VideoDecodeError: the input cannot be decoded.
        ValueError: bad arguments (output not `.mp4`, output equal to the input, keep rate out of range, ...).
        FileExistsError: the output exists and `overwrite` is `False`.
        RunStopped: `stop` was requested; the output being written was aborted (a previous file there is kept).
    """
    start = time.perf_counter()
    stop = StopRequest() if stop is None else stop
    stop.check()
    input_path, output_path = Path(input_path), Path(output_path)
    _check_video_arguments(model, input_path, output_path, overwrite, batch_size, preview_path)
    timer = StageTimer()
    with pruning_settings(model, keep_rate, lambda_priv) as run_model, VideoFile(input_path, max_pixels=max_pixels) as video:
        info = video.info
        fps = _output_fps(info.fps, input_path)
        audio = _has_audio(input_path)
        if audio:
            logger.warning("%s has an audio track: it is dropped (a voice identifies a person too).", input_path)
        clip_length = run_model.config.num_frames
        settings = (run_model.config.keep_rate, run_model.config.lambda_priv)
        clip_indices = split_into_clips(info.num_frames, clip_length)
        preview_clip = len(clip_indices) // 2 if preview_path is not None else None
        with Mp4Writer(output_path, fps, crf=crf) as writer:
            tally = _stream_clips(run_model, processor, video, writer, clip_indices, batch_size, timer,
                                  preview_clip, progress, stop, on_event)
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
        keep_rate=settings[0], lambda_priv=settings[1], audio_dropped=audio,
        preview_path=written_preview,
    )
    _log_report(report)
    if timings is not None:
        timings.update(timer.seconds, total=time.perf_counter() - start)
        timings.update({f"{stage}_cpu": seconds for stage, seconds in timer.cpu_seconds.items()})
    return report


def _log_report(report: AnonymizeReport) -> None:
    logger.info(
        "Anonymized %s -> %s: %d frames at %.3g fps, %dx%d, %.1f%% of pixels kept.", report.input_path,
        report.output_path, report.num_frames, report.fps, report.width, report.height, 100 * report.kept_fraction,
    )
    if (report.output_height, report.output_width) != (report.height, report.width):
        logger.info("%s is %dx%d: H.264 needs even sizes, so it was written as %dx%d (edge pixels repeated).",
                    report.output_path, report.width, report.height, report.output_width, report.output_height)


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
    model: Any,
    processor: Any | None,
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_rate: float | Sequence[float] | None = None,
    lambda_priv: float | None = None,
    preview_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    recursive: bool = True,
    crf: int = DEFAULT_CRF,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    stop: StopRequest | None = None,
    on_event: Callable[[str, Path], None] | None = None,
) -> FolderReport:
    """Anonymize every video under `input_dir` into `output_dir`, keeping the relative paths (suffix `.mp4`).

    A file that cannot be read or anonymized is reported (with the reason) and the run goes on with the others;
    because outputs are written atomically, a failed or interrupted file leaves no output behind. Existing outputs
    are skipped unless `overwrite`, so an interrupted run can simply be started again.

    Args:
        model, processor, batch_size, keep_rate, lambda_priv, crf, max_pixels: as in [`anonymize_video`] (the
            overrides are applied once for the whole folder).
        input_dir (`str` or `os.PathLike`): folder of videos.
        output_dir (`str` or `os.PathLike`): destination folder.
        preview_dir (`str` or `os.PathLike`, *optional*): write one preview PNG per video there (same relative path,
            suffix `.png`).
        overwrite (`bool`, *optional*, defaults to `False`): re-anonymize files whose output exists.
        recursive (`bool`, *optional*, defaults to `True`): include sub-folders.
        stop, on_event: as in [`anonymize_files`].

    Returns:
        [`FolderReport`].

    Raises:
        FileNotFoundError: `input_dir` does not exist.
        ValueError: no video in `input_dir`, two inputs that map to the same output, or `output_dir` inside
            `input_dir` with `recursive`.
        RunStopped: `stop` was requested (finished outputs are kept, the one being written is aborted).
    """
    _check_model(model)
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    targets = folder_targets(input_dir, output_dir, recursive)
    report = FolderReport()
    with pruning_settings(model, keep_rate, lambda_priv) as run_model:  # once, not per file
        anonymize_files(run_model, processor, tqdm(list(targets.items()), desc="anonymize", unit="video"), report,
                        input_dir, batch_size=batch_size, preview_dir=preview_dir, overwrite=overwrite, crf=crf,
                        max_pixels=max_pixels, stop=stop, on_event=on_event)
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
    model: Any, processor: Any | None, items: Iterable[tuple[Path, Path]], report: FolderReport, input_dir: Path, *,
    batch_size: int, preview_dir: str | os.PathLike | None, overwrite: bool, crf: int, max_pixels: int | None,
    stop: StopRequest | None = None, on_event: Callable[[str, Path], None] | None = None,
) -> FolderReport:
    """Anonymize `(output, input)` pairs into `report`: existing outputs skipped unless `overwrite`, a file that
    fails reported with its reason while the others go on (the one per-file loop of the folder paths).

    `stop` ([`StopRequest`]) is checked before each file and after the last one, and within each file as in
    [`anonymize_video`]: a stop raises [`RunStopped`], the file being written aborted and the finished ones kept.
    `on_event` is told `("file_done", input_path)` after each file (written, skipped or failed) and the events of
    [`anonymize_video`] (see [`EVENTS`]), in the calling thread.
    """
    stop = StopRequest() if stop is None else stop
    for target, path in items:
        stop.check()
        if target.exists() and not overwrite:
            logger.info("Skipping %s: %s exists.", path, target)
            report.skipped.append(path)
            _emit(on_event, "file_done", path)
            continue
        preview = None if preview_dir is None else (Path(preview_dir) / path.relative_to(input_dir)).with_suffix(".png")
        try:
            report.reports.append(anonymize_video(model, processor, path, target, batch_size=batch_size,
                                                  preview_path=preview, overwrite=True, crf=crf, max_pixels=max_pixels,
                                                  stop=stop, on_event=on_event))
        except (VideoDecodeError, OSError, ValueError, RuntimeError) as error:
            reason = f"{type(error).__name__}: {error}"
            logger.error("Could not anonymize %s: %s", path, reason)
            report.failures.append((path, reason))
        _emit(on_event, "file_done", path)
    stop.check()
    return report


__all__ = [
    "EVENTS",
    "STAGES",
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
    "compute_keep_mask",
    "find_videos",
    "folder_targets",
    "load_anonymizer",
    "looks_local",
    "predict_keep_mask",
    "prepare_pixel_values",
    "pruning_settings",
]
