"""Push a saved VidAnon anonymizer (weights, code, video and image processors, model card) to the Hugging Face Hub.

    python examples/push_to_hub.py path/to/model your-name/vidanon-synth [--results results.json] [--keep-hub-card]

The model folder is what `save_pretrained` (or the trainer) wrote. The card is rendered from the model's
configuration, the folder's `training_args.json` when present, and `--results` when given (the evaluation's
results JSON); without results it says "not evaluated". It replaces a card already on the Hub unless
`--keep-hub-card` (the card policy of `transformers_vidanon.reporting.hub`). The Hub endpoint and token come from the
environment as everywhere in huggingface_hub (`HF_ENDPOINT`, `HF_TOKEN`, or `hf auth login`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from transformers_vidanon.inference.anonymize import load_anonymizer
from transformers_vidanon.reporting.hub import push_model_to_hub

logger = logging.getLogger("push_to_hub")


def read_results(path: Path):
    """A results JSON: either the model card's plain layout or what `reporting.write_results_json` writes."""
    data = json.loads(path.read_text())
    if isinstance(data.get("chance"), dict):  # a BenchmarkResults file
        from transformers_vidanon.reporting import BenchmarkResults

        return BenchmarkResults.from_dict(data)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the saved model folder")
    parser.add_argument("repo_id", help="the Hub repository, owner/name (created if missing)")
    parser.add_argument("--results", type=Path, help="evaluation results JSON for the model card")
    parser.add_argument("--base-model", help="Hub id of the checkpoint the model was initialised from")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--keep-hub-card", action="store_true",
                        help="keep a README.md already on the Hub instead of replacing it with this card")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    folder = Path(args.folder)
    if not (folder / "config.json").is_file():
        logger.error("%s is not a saved model folder (no config.json).", folder)
        return 2
    if args.results is not None and not args.results.is_file():
        logger.error("--results %s does not exist.", args.results)
        return 2
    model, processor = load_anonymizer(folder)
    training_args = None
    if (folder / "training_args.json").is_file():
        training_args = json.loads((folder / "training_args.json").read_text()) or None
    results = read_results(args.results) if args.results is not None else None
    commit = push_model_to_hub(
        model, args.repo_id, processor=processor, results=results, training_args=training_args,
        base_model=args.base_model, private=args.private, keep_hub_card=args.keep_hub_card,
    )
    logger.info("Pushed to %s (commit %s)", commit.repo_url, commit.oid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
