"""The ``vidanon`` command line.

Each sub-command lives in ``transformers_vidanon.commands.<name>`` and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``. This file only wires them together, so that
``vidanon --help`` stays fast (a command's heavy imports happen when it runs).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> one-line help; the module transformers_vidanon.commands.<name> does the work
COMMANDS: dict[str, str] = {
    "demo": "anonymize a generated clip with a randomly initialised model (no training, no download)",
    "synth": "write the SynthPrivacy benchmark: mp4 files, a manifest and ground-truth regions",
    "evaluate": "measure privacy leakage: train fresh action and privacy models on anonymized video",
    "benchmark": "run the end-to-end SynthPrivacy benchmark (data, training, evaluation, report)",
    "anonymize": "anonymize a video file or a folder of videos with a trained VidAnon model",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidanon",
        description="Privacy-preserving action recognition by attention-guided tubelet pruning.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_command=name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Parse the command name first, then let the command add its own arguments.
    known, _ = parser.parse_known_args(argv[:1] if argv and not argv[0].startswith("-") else argv)
    name = getattr(known, "_command", None)
    if name is None:
        parser.print_help()
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"transformers_vidanon.commands.{name}")
    sub_parser = argparse.ArgumentParser(prog=f"vidanon {name}", description=COMMANDS[name])
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(argv[1:])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
