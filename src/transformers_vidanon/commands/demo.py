"""`vidanon demo --output DIR`: anonymize a generated clip with a RANDOMLY INITIALISED model.

Nothing is trained and nothing is downloaded: the demo shows the mechanics (a tubelet keep mask computed at the
model's size, applied to the clip at its own size, written as mp4, with a preview PNG), not a useful anonymizer.
Which tubelets an untrained model keeps is arbitrary.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

_BANNER = (
    "THIS DEMO USES A RANDOMLY INITIALISED MODEL (no training, no download): the tubelets it removes are "
    "arbitrary and the result is NOT anonymized in any meaningful sense. Train a model (see the README) or "
    "load a trained one with `vidanon anonymize`."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Generate a short clip (a moving figure over a moving texture), anonymize it with a randomly initialised "
        "small VidAnon model (no training, no download) and write the input, the anonymized mp4 and a preview PNG."
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for the demo files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the clip and of the model's random weights")
    parser.add_argument("--num-frames", type=int, default=32, help="frames of the generated clip (>= 1)")
    parser.add_argument("--size", type=int, default=96, help="height and width of the generated clip (even, >= 32)")
    parser.add_argument("--keep-rate", type=float, default=0.7, help="keep rate of the model's two pruning layers")


def build_demo_model(seed: int = 0, keep_rate: float = 0.7):
    """A small randomly initialised anonymizer: 64x64 frames, 8-frame clips, 8x8x2 tubelets, 4 layers, pruning
    after layers 1 and 2. Its weights are random: it is for demonstrations and tests only."""
    import torch

    from ..configuration_vidanon import VidAnonConfig
    from ..modeling_vidanon import VidAnonForPrivacyPreservingActionRecognition

    config = VidAnonConfig(
        image_size=64, patch_size=8, num_frames=8, tubelet_size=2, hidden_size=64, num_hidden_layers=4,
        num_attention_heads=4, intermediate_size=128, pruning_layers=[1, 2], keep_rate=keep_rate, num_labels=6,
    )
    torch.manual_seed(seed)
    return VidAnonForPrivacyPreservingActionRecognition(config).eval()


def run(args: argparse.Namespace) -> int:
    from ..data.synth import render_synth_video
    from ..inference.anonymize import anonymize_video
    from ..video import write_video

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.num_frames < 1:
        logger.error("--num-frames must be >= 1, got %s.", args.num_frames)
        return 2
    if not 0.0 < args.keep_rate <= 1.0:
        logger.error("--keep-rate must be in (0, 1], got %s.", args.keep_rate)
        return 2
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        logger.error("--output %s exists and is not a folder.", output)
        return 2
    logger.warning(_BANNER)
    try:
        clip = render_synth_video(
            "wave", {"skin_color": 1, "face": 1, "gender": 1, "nudity": 0, "relationship": 1}, args.seed,
            num_frames=args.num_frames, image_size=args.size,
        )
    except ValueError as error:
        logger.error("%s", error)
        return 2
    source = write_video(output / "demo_input.mp4", clip.frames, fps=12)
    model = build_demo_model(args.seed, args.keep_rate)
    report = anonymize_video(
        model, None, source, output / "demo_anonymized.mp4", preview_path=output / "demo_preview.png"
    )
    logger.info("Input:      %s (%d frames, %dx%d)", source, report.num_frames, report.width, report.height)
    logger.info("Anonymized: %s (%.1f%% of pixels kept)", report.output_path, 100 * report.kept_fraction)
    logger.info("Preview:    %s", report.preview_path)
    logger.warning(_BANNER)
    return 0
