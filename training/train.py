"""Adversarial training of a VidAnon anonymizer.

    accelerate launch training/train.py --config training/configs/synthetic.yaml [--key value ...]

Every argument (see `--help`) can sit in the YAML file or on the command line; the command line wins. The
training logic lives in `transformers_vidanon.trainer`; this script only parses arguments and reports.
"""

import logging
import sys

from transformers_vidanon.trainer import train_from_arguments
from transformers_vidanon.training_args import parse_arguments


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    model_args, data_args, training_args = parse_arguments(argv)
    result = train_from_arguments(model_args, data_args, training_args)
    logging.getLogger("train").info(
        "finished: %d steps, %.2f epochs%s; model: %s; metrics: %s",
        result.global_step, result.epochs_completed,
        " (stopped by a signal; resume with --resume_from_checkpoint latest)" if result.stopped_by_signal else "",
        result.model_dir, result.final_metrics,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
