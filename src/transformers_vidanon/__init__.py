"""transformers_vidanon: privacy-preserving action recognition by attention-guided tubelet pruning.

Importing the package registers the ``vidanon`` model type with transformers' Auto classes, so that
``AutoConfig``, ``AutoModel``, ``AutoModelForVideoClassification``, ``AutoVideoProcessor`` and
``AutoImageProcessor`` load VidAnon checkpoints, and the ``video-anonymization`` pipeline task ([`register`]).

The one exception is the package's own programs, the command line (``vidanon ...`` or
``python -m transformers_vidanon.cli ...``) and the checkout's ``training/train.py``: there the package imports
nothing heavy until they have parsed their arguments (``--help`` never imports torch), and they call [`register`]
before doing their work. The public names below are loaded on first use either way.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .lazy_imports import lazy_attributes

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY_NAMES: dict[str, str] = {
    "DEFAULT_PRIVACY_LABEL_NAMES": "configuration_vidanon",
    "VidAnonConfig": "configuration_vidanon",
    "VidAnonAnonymizationOutput": "modeling_vidanon",
    "VidAnonForPrivacyPreservingActionRecognition": "modeling_vidanon",
    "VidAnonForPrivacyPreservingActionRecognitionOutput": "modeling_vidanon",
    "VidAnonModel": "modeling_vidanon",
    "VidAnonModelOutput": "modeling_vidanon",
    "VidAnonPreTrainedModel": "modeling_vidanon",
    "gradient_reversal": "modeling_vidanon",
    "grl_coefficient_schedule": "optimization",
    "VidAnonImageProcessor": "processing_vidanon",
    "VidAnonVideoProcessor": "video_processing_vidanon",
}

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .configuration_vidanon import DEFAULT_PRIVACY_LABEL_NAMES, VidAnonConfig
    from .modeling_vidanon import (
        VidAnonAnonymizationOutput,
        VidAnonForPrivacyPreservingActionRecognition,
        VidAnonForPrivacyPreservingActionRecognitionOutput,
        VidAnonModel,
        VidAnonModelOutput,
        VidAnonPreTrainedModel,
        gradient_reversal,
    )
    from .optimization import grl_coefficient_schedule
    from .processing_vidanon import VidAnonImageProcessor
    from .video_processing_vidanon import VidAnonVideoProcessor


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY_NAMES, globals())


_registered = False


def register() -> None:
    """Register VidAnon with transformers (idempotent): the Auto classes, `auto_map` for `trust_remote_code` saving,
    and the `video-anonymization` pipeline task."""
    global _registered
    if _registered:
        return
    from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForVideoClassification

    # the class itself: `transformers.AutoVideoProcessor` is a placeholder where torchvision is missing, yet the
    # pipelines use this class everywhere, and VidAnon's video processor needs no torchvision
    from transformers.models.auto.video_processing_auto import AutoVideoProcessor

    from .configuration_vidanon import VidAnonConfig
    from .modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition, VidAnonModel
    from .pipelines import register_pipelines
    from .processing_vidanon import VidAnonImageProcessor
    from .video_processing_vidanon import VidAnonVideoProcessor

    AutoConfig.register(VidAnonConfig.model_type, VidAnonConfig, exist_ok=True)
    AutoModel.register(VidAnonConfig, VidAnonModel, exist_ok=True)
    AutoModelForVideoClassification.register(VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition, exist_ok=True)
    AutoImageProcessor.register(VidAnonConfig, image_processor_classes={"pil": VidAnonImageProcessor}, exist_ok=True)
    # one torch-only class serves whichever backend is asked for (it needs no torchvision)
    AutoVideoProcessor.register(
        VidAnonConfig,
        video_processor_classes={"torchvision": VidAnonVideoProcessor, "pil": VidAnonVideoProcessor},
        exist_ok=True,
    )
    VidAnonConfig.register_for_auto_class()
    VidAnonModel.register_for_auto_class("AutoModel")
    VidAnonForPrivacyPreservingActionRecognition.register_for_auto_class("AutoModelForVideoClassification")
    # saved processors carry `auto_map` and their code, for `trust_remote_code` loading without the package
    VidAnonImageProcessor.register_for_auto_class("AutoImageProcessor")
    VidAnonVideoProcessor.register_for_auto_class("AutoVideoProcessor")
    register_pipelines()
    _registered = True


def _running_the_command_line() -> bool:
    """Whether this process is one of the package's programs: the `vidanon` command (console script, or
    `python -m transformers_vidanon.cli`) or this checkout's `training/train.py` (which call [`register`])."""
    argv = getattr(sys, "orig_argv", None) or []
    if "-m" in argv[:-1] and argv[argv.index("-m") + 1] == f"{__name__}.cli":
        return True
    if not sys.argv or not sys.argv[0]:
        return False
    program = Path(sys.argv[0])
    if program.name in ("vidanon", "vidanon.exe"):
        return True
    training_script = Path(__file__).resolve().parents[2] / "training" / "train.py"
    return program.name == "train.py" and program.resolve() == training_script


if not _running_the_command_line():
    register()


__all__ = [
    "DEFAULT_PRIVACY_LABEL_NAMES",
    "VidAnonAnonymizationOutput",
    "VidAnonConfig",
    "VidAnonForPrivacyPreservingActionRecognition",
    "VidAnonForPrivacyPreservingActionRecognitionOutput",
    "VidAnonImageProcessor",
    "VidAnonModel",
    "VidAnonModelOutput",
    "VidAnonPreTrainedModel",
    "VidAnonVideoProcessor",
    "gradient_reversal",
    "grl_coefficient_schedule",
    "register",
]
