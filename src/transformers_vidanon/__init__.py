"""transformers_vidanon: privacy-preserving action recognition by attention-guided tubelet pruning.

Importing the package registers the ``vidanon`` model type with transformers' Auto classes, so that
``AutoConfig``, ``AutoModel``, ``AutoModelForVideoClassification`` and ``AutoImageProcessor`` load VidAnon
checkpoints.
"""

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForVideoClassification

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

__version__ = "0.1.0"


def _register() -> None:
    """Register with the Auto classes (idempotent) and record ``auto_map`` for ``trust_remote_code`` loading."""
    AutoConfig.register(VidAnonConfig.model_type, VidAnonConfig, exist_ok=True)
    AutoModel.register(VidAnonConfig, VidAnonModel, exist_ok=True)
    AutoModelForVideoClassification.register(VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition, exist_ok=True)
    AutoImageProcessor.register(VidAnonConfig, image_processor_classes={"pil": VidAnonImageProcessor}, exist_ok=True)
    VidAnonConfig.register_for_auto_class()
    VidAnonModel.register_for_auto_class("AutoModel")
    VidAnonForPrivacyPreservingActionRecognition.register_for_auto_class("AutoModelForVideoClassification")


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
    "gradient_reversal",
    "grl_coefficient_schedule",
]
