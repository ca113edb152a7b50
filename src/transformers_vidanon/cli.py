"""The ``vidanon`` command line.

Each sub-command lives in ``transformers_vidanon.commands.<name>`` and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``. This file only wires them together, so that every ``--help``
stays fast: the package imports nothing heavy when it runs as the command line (see ``transformers_vidanon``), a
command module imports its heavy dependencies when it runs, and the package registers with transformers just before.

Flags are spelled with dashes (``--num-videos``); the underscore spelling of ``training/train.py``
(``--num_videos``) is accepted as an alias. Every flag's help shows its default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

# name -> one-line help; the module transformers_vidanon.commands.<name> does the work
COMMANDS: dict[str, str] = {
    "demo": "anonymize a generated clip with a randomly initialised model (no training, no download)",
    "synth": "write the SynthPrivacy benchmark: mp4 files, a manifest and ground-truth regions",
    "evaluate": "measure privacy leakage: train fresh action and privacy models on anonymized video",
    "benchmark": "run the end-to-end SynthPrivacy benchmark (data, training, evaluation, report)",
    "anonymize": "anonymize a video file or a folder of videos with a trained VidAnon model",
    "app": "serve an interactive anonymization demo in the browser (needs the app extra)",
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every flag's default (also where its help text says nothing of it), never `(default: None)` or
    `(default: False)` for an off switch."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if "default" in help_text.lower() or action.default is argparse.SUPPRESS or action.required:
            return help_text  # says it already, or there is none
        if action.option_strings and action.nargs == 0:  # a switch: off unless given
            return help_text
        if action.default is None:
            return help_text + (" (default: none)" if action.option_strings else "")
        return help_text + " (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose `--dashed-flags` also answer to `--underscored_flags` (hidden from the help)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*names, **kwargs)
        aliases = ["--" + name[2:].replace("-", "_") for name in names if name.startswith("--") and "-" in name[2:]]
        aliases = [alias for alias in aliases if alias not in self._option_string_actions]
        for alias in aliases:  # the same action, reached by another spelling, not listed twice in --help
            self._option_string_actions[alias] = action
        return action


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


def build_command_parser(name: str) -> argparse.ArgumentParser:
    """The full parser of one command (its module imported, nothing heavy)."""
    module = importlib.import_module(f"transformers_vidanon.commands.{name}")
    parser = CommandParser(prog=f"vidanon {name}", description=COMMANDS[name])
    module.add_arguments(parser)
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
    args = build_command_parser(name).parse_args(argv[1:])
    from transformers_vidanon import register

    register()  # the Auto classes and the pipeline, as an import of the package does outside the command line
    module = importlib.import_module(f"transformers_vidanon.commands.{name}")
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
