"""`vidanon synth`: write the SynthPrivacy benchmark (mp4 videos, manifest, ground-truth regions).

Example:

```bash
vidanon synth --output data/synth --num-videos 1200 --seed 0            # 64x64, balanced attributes
vidanon synth --output data/synth_large --num-videos 1200 --large       # 112x112
vidanon synth --output data/synth_vp --num-videos 1200 --imbalanced     # VP-UCF101 positive rates
vidanon synth --output data/synth_w2 --num-videos 1200 --world 2        # world 2: other figures, cues, actions
```
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


# `data.synth`'s defaults, written out so that `--help` imports no torch (a test keeps them equal)
DEFAULT_NUM_FRAMES = 32
DEFAULT_IMAGE_SIZE = 64
LARGE_IMAGE_SIZE = 112
DEFAULT_FPS = 16
SYNTH_WORLDS = (1, 2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `synth` options to `parser`."""
    parser.add_argument("--output", required=True, help="folder to write the benchmark into")
    parser.add_argument("--num-videos", type=int, default=1200, help="number of videos (default: 1200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything (default: 0)")
    parser.add_argument(
        "--image-size", type=int, default=None,
        help=f"frame height and width, even (default: {DEFAULT_IMAGE_SIZE}; {LARGE_IMAGE_SIZE} with --large)",
    )
    parser.add_argument("--large", action="store_true", help=f"{LARGE_IMAGE_SIZE}x{LARGE_IMAGE_SIZE} frames")
    parser.add_argument(
        "--num-frames", type=int, default=DEFAULT_NUM_FRAMES, help=f"frames per video (default: {DEFAULT_NUM_FRAMES})"
    )
    parser.add_argument("--fps", type=int, default=DEFAULT_FPS, help=f"frame rate (default: {DEFAULT_FPS})")
    parser.add_argument(
        "--imbalanced", action="store_true",
        help="VP-UCF101 positive rates (0.91, 0.60, 0.90, 0.25, 0.25) instead of 0.5 for every attribute",
    )
    parser.add_argument(
        "--split-fractions", type=float, nargs=3, default=(0.6, 0.2, 0.2), metavar=("TRAIN", "VAL", "TEST"),
        help="fractions of the train, val and test splits (default: 0.6 0.2 0.2)",
    )
    parser.add_argument(
        "--world", type=int, default=1,
        help=f"which world draws the videos, one of {SYNTH_WORLDS} (default: 1; 2 has other figures, privacy cues, "
             "backgrounds, a moving camera and other actions)",
    )
    parser.add_argument(
        "--num-workers", type=int, default=None,
        help="videos rendered at once in worker processes (default: the CPU count)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a benchmark already in --output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate the benchmark; returns 0 on success, 2 on a bad argument or an existing benchmark."""
    from ..data.synth import (
        DEFAULT_IMAGE_SIZE,
        LARGE_IMAGE_SIZE,
        VP_UCF101_PREVALENCE,
        generate_synth_privacy,
    )

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.large and args.image_size not in (None, LARGE_IMAGE_SIZE):
        logger.error("--large sets --image-size %d; got --image-size %d as well.", LARGE_IMAGE_SIZE, args.image_size)
        return 2
    image_size = args.image_size or (LARGE_IMAGE_SIZE if args.large else DEFAULT_IMAGE_SIZE)
    try:
        manifest = generate_synth_privacy(
            args.output,
            args.num_videos,
            args.seed,
            num_frames=args.num_frames,
            image_size=image_size,
            fps=args.fps,
            privacy_prevalence=VP_UCF101_PREVALENCE if args.imbalanced else None,
            split_fractions=tuple(args.split_fractions),
            world=args.world,
            num_workers=args.num_workers,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except (ValueError, FileExistsError) as error:
        logger.error("%s", error)
        return 2
    logger.info("SynthPrivacy manifest: %s", manifest)
    return 0
