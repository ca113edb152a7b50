"""Train a VidAnon anonymizer on SynthPrivacy with the library's trainer (what `training/train.py` does, in code).

    python examples/train_synthetic.py --output-dir outputs/example-train [--epochs 15]

The data is generated on the first run. For multi-process or GPU training use
`accelerate launch training/train.py --config training/configs/synthetic.yaml` instead.
"""

from __future__ import annotations

import argparse
import logging

from transformers_vidanon.training.arguments import parse_arguments
from transformers_vidanon.training.trainer import train_from_arguments
from transformers_vidanon.workflows.benchmark import packaged_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="outputs/example-train")
    parser.add_argument("--data-dir", default="outputs/synthprivacy")
    parser.add_argument("--num-videos", type=int, default=360)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--objective", default="grl", choices=["grl", "alternating"])
    args, extra = parser.parse_known_args()  # anything else goes to the trainer, e.g. --hidden_size 64
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    model_args, data_args, training_args = parse_arguments([
        "--config", str(packaged_config("synthetic")), "--output_dir", args.output_dir, "--data_dir", args.data_dir,
        "--synth_num_videos", str(args.num_videos), "--num_train_epochs", str(args.epochs),
        "--objective", args.objective, *extra,
    ])
    result = train_from_arguments(model_args, data_args, training_args)
    print(f"trained {result.global_step} steps; validation: {result.final_metrics}")
    print(f"model saved to {result.model_dir}")


if __name__ == "__main__":
    main()
