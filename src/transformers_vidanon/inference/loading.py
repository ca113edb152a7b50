"""Getting the model that anonymizes: [`load_anonymizer`] (a folder or a Hub id, with its processor),
[`pruning_settings`] (another keep rate or privacy weight for a run) and [`check_device`]."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModelForVideoClassification
from transformers.utils import cached_file

from ..modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition
from ..processing_vidanon import VidAnonImageProcessor

logger = logging.getLogger(__name__)


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
        (frames are then resized with torch, see [`~frames.prepare_pixel_values`]).

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



def check_model(model: Any) -> None:
    """Raise `ValueError` naming `model` unless it is a VidAnon model (its config's `model_type` is `"vidanon"`)."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) != "vidanon":
        raise ValueError(f"`model` must be a VidAnon model, got {type(model).__name__}.")


__all__ = ["check_device", "check_model", "load_anonymizer", "looks_local", "pruning_settings"]
