"""transformers_vidanon: privacy-preserving action recognition by attention-guided tubelet pruning.

Importing the package registers the ``vidanon`` model type with transformers' Auto classes, so that
``AutoConfig``, ``AutoModel``, ``AutoModelForVideoClassification``, ``AutoVideoProcessor`` and
``AutoImageProcessor`` load VidAnon checkpoints, and the ``video-anonymization`` pipeline task.
"""

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForVideoClassification

# the class itself: `transformers.AutoVideoProcessor` is a placeholder where torchvision is missing, yet the
# pipelines use this class everywhere, and VidAnon's video processor needs no torchvision
from transformers.models.auto.video_processing_auto import AutoVideoProcessor

from .configuration_vidanon import DEFAULT_PRIVACY_LABEL_NAMES, VidAnonConfig
from .modeling_vidanon import (
    VidAnonAnonymizationOutput,
    VidAnonForPrivacyPreservingActionRecognition,
    VidAnonForPrivacyPreservingActionRecognitionOutput,
    VidAnonModel,
    VidAnonModelOutput,
    VidAnonPreTrainedModel,
    gradient_reversal,
    grl_coefficient_schedule,
)
from .processing_vidanon import VidAnonImageProcessor
from .video_processing_vidanon import VidAnonVideoProcessor

__version__ = "0.1.0"


def _register() -> None:
    """Register with the Auto classes (idempotent) and record ``auto_map`` for ``trust_remote_code`` loading."""
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


_register()

from .pipelines import register_pipelines

register_pipelines()

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
]
