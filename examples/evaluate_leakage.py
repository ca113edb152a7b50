"""Measure how much privacy an anonymizer leaks: fresh attackers trained from scratch on its output.

    python examples/evaluate_leakage.py --model outputs/example-train/model --data-dir outputs/synthprivacy

Compares the model with Raw video, Down-4x and the random-pruning control on the SynthPrivacy test split, and prints
a Table-1-style result with the chance level. Every figure is a mean over `--seeds` fresh models.
"""

from __future__ import annotations

import argparse

from transformers_vidanon import VidAnonForPrivacyPreservingActionRecognition
from transformers_vidanon.evaluation.fresh_training import FreshModelConfig
from transformers_vidanon.evaluation.protocol import (
    ProtocolConfig,
    baseline_anonymizer,
    random_pruning_anonymizer,
    run_protocol,
    synth_protocol_data,
    vidanon_anonymizer,
)
from transformers_vidanon.reporting import markdown_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a trained VidAnon checkpoint")
    parser.add_argument("--data-dir", required=True, help="a SynthPrivacy folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="shorter fresh-model training (< 1)")
    args = parser.parse_args()

    model = VidAnonForPrivacyPreservingActionRecognition.from_pretrained(args.model).eval()
    data = synth_protocol_data(f"{args.data_dir}/manifest.jsonl", num_frames=model.config.num_frames)
    fresh = FreshModelConfig().with_epochs_scaled(args.epochs_scale)
    methods = [
        ("Raw", baseline_anonymizer("raw")),
        ("Down-4x", baseline_anonymizer("down4")),
        ("VidAnon", vidanon_anonymizer(model)),
        ("Random pruning", random_pruning_anonymizer(model.config)),
    ]
    results = run_protocol(methods, data, ProtocolConfig(seeds=tuple(args.seeds), fresh=fresh), dataset="SynthPrivacy")
    print(markdown_table(results))


if __name__ == "__main__":
    main()
