"""Training the fresh models of the leakage protocol: action recognisers and privacy attackers trained from
scratch (their architectures are in `transformers_vidanon.classifiers`).

An anonymizer is judged by NEW models trained on its output, never by its own heads. This module
trains three kinds on in-memory clip tensors (see `transformers_vidanon.data.synth.ClipSet`):

- `train_action_model`: a video classifier, cross-entropy; `predict_action` averages the softmax
  over temporal clips. Default: `FreshC3DForVideoClassification`, a small 3D CNN (the field's target
  action model is a 3D CNN, I3D); any `AutoModelForVideoClassification` name, path or config is
  accepted instead, and `FreshModelConfig(action_architecture="videomae")` builds a small
  `VideoMAEForVideoClassification`.
- `train_frame_attacker`: a per-frame multi-label privacy attacker (by default a small
  `ResNetForImageClassification`, as the field's ResNet-50 per frame), BCE on single frames;
  `predict_frame_attacker` averages the logits over time and clips, and also returns every frame's
  logits (for the best single-frame leakage).
- `train_video_attacker`: a video-level multi-label attacker (BCE), which sees motion as well as
  appearance; default the same small 3D CNN, or VideoMAE; `predict_video_attacker` averages logits
  over clips.

Why a 3D CNN by default: on the default SynthPrivacy set (720 training clips of 16x64x64), the
3D CNN reaches 99% test top-1 in 16 epochs (about a minute on two CPU threads), where the best small
VideoMAE found (patch 16, tubelet 4, 3 layers of 128) reaches 85% after 60 epochs (about 3 minutes):
a ViT trained from scratch on a few hundred clips is data-starved
(see `benchmarks/results/synth_calibration.md`).

Clips are `(N, T, C, H, W)` or `(N, num_clips, T, C, H, W)`, uint8 in [0, 255] or float in [0, 1]
(training draws one clip of a multi-clip video at random each time). Every model normalises its own
input (`FreshModel` holds the per-channel mean and std, computed on its training clips by default):
small models trained from scratch learn next to nothing from unnormalised pixels. Training is seeded
(initialisation, order, augmentation, dropout) and deterministic for a seed on a given machine and
thread count; it runs on the threads `torch.get_num_threads()` allows unless
`FreshModelConfig.num_threads` says otherwise. The default sizes and epochs (`FreshModelConfig`)
keep one training on a few hundred 16x64x64 clips within seconds to a minute or two on two CPU cores.

The modules, one idea each: [`config`] (the settings), [`clips`] (checks, draws, augmentation, normalisation
statistics), [`models`] (default architectures, building and fine-tuning copies), [`loop`] (the one training loop,
its schedule, early stopping and log), [`tasks`] (what each kind of model learns, and the `train_*` functions) and
[`prediction`] (the `predict_*` functions).
"""

from __future__ import annotations

from .config import FreshModelConfig, bf16_is_fast
from .loop import TrainingLog
from .models import CHANNELS_LAST_MODELS
from .prediction import (
    FrameAttackerPrediction,
    clip_logits,
    predict_action,
    predict_frame_attacker,
    predict_video_attacker,
)
from .tasks import FreshTrainingOptions, train_action_model, train_frame_attacker, train_video_attacker

__all__ = [
    "CHANNELS_LAST_MODELS",
    "FrameAttackerPrediction",
    "FreshModelConfig",
    "FreshTrainingOptions",
    "TrainingLog",
    "bf16_is_fast",
    "clip_logits",
    "predict_action",
    "predict_frame_attacker",
    "predict_video_attacker",
    "train_action_model",
    "train_frame_attacker",
    "train_video_attacker",
]
