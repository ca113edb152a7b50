"""Checked number types for `argparse` flags, and the flags every command that loads a model shares.

A flag's type says in one line what it expected (`--keep-rate: expected a number in (0, 1], got 'x'`), as
`argparse` prints it; no torch is imported (`vidanon --help` stays light).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

Number = TypeVar("Number", int, float)


def number_type(kind: Callable[[str], Number], accepts: Callable[[Number], bool], expected: str,
                allowed: str) -> Callable[[str], Number]:
    """An `argparse` type: `kind(value)` when `accepts` it, else an `ArgumentTypeError` saying what was wanted.

    Args:
        kind (`int` or `float`): how the text is read.
        accepts (`Callable`): whether a read number is allowed (non-finite floats never are).
        expected (`str`): what the flag takes, for text that is not a number (`"a number in (0, 1]"`).
        allowed (`str`): the allowed range, for a number outside it (`"in (0, 1]"`).

    Example:

    ```python
    >>> fraction = number_type(float, lambda x: 0.0 < x <= 1.0, "a number in (0, 1]", "in (0, 1]")
    >>> fraction("0.5")
    0.5

    ```
    """

    def parse(value: str) -> Number:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}") from None
        if not (math.isfinite(number) and accepts(number)):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {number}")
        return number

    parse.__name__ = expected  # what argparse names in its own messages
    return parse


def add_model_arguments(parser: argparse.ArgumentParser, default_device: str) -> None:
    """`--model`, `--device` and `--trust-remote-code`, as every command that loads a trained model takes them."""
    parser.add_argument("--model", required=True, metavar="DIR_OR_HUB_ID",
                        help="a folder written by save_pretrained, or a Hub repository id")
    parser.add_argument("--device", default=None, help=f"torch device (default: {default_device})")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="load the model through the code stored with the checkpoint")


__all__ = ["add_model_arguments", "number_type"]
