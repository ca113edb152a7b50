"""Train a tiny VidAnon anonymizer on generated clips, then anonymize a generated video file with it.

Everything is generated here (SynthPrivacy clips: a figure doing an action over a moving texture, with known
privacy attributes), so the example needs no dataset and no download. It takes well under a minute on a CPU.
A few dozen training steps make a model that has started to learn, not a useful anonymizer: for real use,
train on real data (see `training/`) and evaluate the leakage with `vidanon evaluate`.

    python examples/anonymize_video.py --output-dir outputs/example
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

from transformers_vidanon import VidAnonConfig, VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.data.synth import SYNTH_ACTIONS, render_synth_video
from transformers_vidanon.inference.anonymize import anonymize_video, load_anonymizer
from transformers_vidanon.processing_vidanon import VidAnonImageProcessor, frames_to_clip
from transformers_vidanon.training.arguments import AdversarialTrainingArguments
from transformers_vidanon.training.trainer import AdversarialTrainer
from transformers_vidanon.video import write_video

logger = logging.getLogger("anonymize_video")


def generated_clips(num_clips: int, num_frames: int, image_size: int, seed: int) -> list[dict]:
    """Training examples in the trainer's format: pixel_values (T, C, H, W) in [0, 1], labels, privacy_labels."""
    rng = np.random.default_rng(seed)
    examples = []
    for index in range(num_clips):
        action = int(rng.integers(len(SYNTH_ACTIONS)))
        privacy = rng.integers(0, 2, size=5)
        video = render_synth_video(SYNTH_ACTIONS[action], privacy.tolist(), int(rng.integers(2**31)),
                                   num_frames=num_frames, image_size=image_size)
        examples.append({
            "pixel_values": frames_to_clip(video.frames),
            "labels": action,
            "privacy_labels": torch.tensor(privacy, dtype=torch.float32),
            "video_id": f"train_{index}",
        })
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", required=True, help="where the model, the videos and the preview go")
    parser.add_argument("--steps", type=int, default=40, help="training steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    output = Path(args.output_dir)

    # 1. A tiny anonymizer: 32x32 frames, 8-frame clips, 8x8x2 tubelets, pruning after layer 1.
    config = VidAnonConfig(
        image_size=32, patch_size=8, num_frames=8, tubelet_size=2, hidden_size=64, num_hidden_layers=3,
        num_attention_heads=4, intermediate_size=128, pruning_layers=[1], keep_rate=0.6,
        num_labels=len(SYNTH_ACTIONS), id2label=dict(enumerate(SYNTH_ACTIONS)),
        label2id={name: index for index, name in enumerate(SYNTH_ACTIONS)},
    )
    torch.manual_seed(args.seed)
    model = VidAnonForPrivacyPreservingActionRecognition(config)

    # 2. Train it adversarially for a few dozen steps on generated clips.
    training_args = AdversarialTrainingArguments(
        output_dir=str(output / "training"), max_steps=args.steps, num_train_epochs=100,
        per_device_train_batch_size=8, learning_rate=1e-3, warmup_epochs=0.5, eval_every_epochs=0,
        seed=args.seed, cpu=True, disable_tqdm=True,
    )
    trainer = AdversarialTrainer(
        model, training_args, generated_clips(48, config.num_frames, config.image_size, args.seed),
        processor=VidAnonImageProcessor.from_model_config(config),
    )
    result = trainer.train()
    logger.info("Trained %d steps; model saved in %s", result.global_step, result.model_dir)

    # 3. A longer, larger test video (its size and length need not match the model's).
    video = render_synth_video("wave", [1, 1, 1, 0, 1], args.seed + 1, num_frames=27, image_size=96)
    source = write_video(output / "input.mp4", video.frames, fps=15)

    # 4. Anonymize it with the saved model, as a user would.
    anonymizer, processor = load_anonymizer(result.model_dir)
    report = anonymize_video(anonymizer, processor, source, output / "anonymized.mp4",
                             preview_path=output / "preview.png")
    logger.info(
        "Anonymized %s -> %s: %d frames at %g fps, %dx%d, %.1f%% of pixels kept; preview in %s",
        source, report.output_path, report.num_frames, report.fps, report.width, report.height,
        100 * report.kept_fraction, report.preview_path,
    )


if __name__ == "__main__":
    main()
