"""Small file helpers shared by the writers of the package: atomic writes, and the one JSON sanitiser."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux), else by setting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            match = re.search(r"^Umask:\s*([0-7]+)$", status.read(), flags=re.MULTILINE)
        if match:
            return int(match.group(1), 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def mkstemp_with_umask(**kwargs: Any) -> tuple[int, str]:
    """`tempfile.mkstemp`, but the file gets the mode a plain `open(path, "w")` gives (0o666 minus the umask)
    instead of 0o600, so that a temporary file renamed onto its destination is an ordinary output file."""
    descriptor, path = tempfile.mkstemp(**kwargs)
    try:
        os.fchmod(descriptor, 0o666 & ~current_umask())
    except BaseException:
        os.close(descriptor)
        os.unlink(path)
        raise
    return descriptor, path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file path in the folder of `path` (created if missing) to write the output to: on a normal exit
    it replaces `path` in one `os.replace`, on an exception it is deleted. A reader never sees a half-written file.

    Example:

    ```python
    >>> with atomic_path("results/table.md") as temporary:
    ...     temporary.write_text("| a | b |\n")
    ```
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = mkstemp_with_umask(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(descriptor)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through [`atomic_path`]; returns the path."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types, for every JSON file the package writes (results, provenance, timings, run
    arguments) and for fingerprints of settings.

    Dataclasses and mappings become dicts (keys as strings), tuples, lists and sets lists (sets sorted, so that the
    output does not depend on hashing), numpy scalars and arrays and torch tensors Python numbers and lists, and
    non-finite floats `None` (JSON has no NaN or infinity: a reader takes `null` for "not a number"). Objects with a
    `to_dict()` (model configurations, ...) become that dict; anything else (paths, ...) its string.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: jsonable(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return [jsonable(item) for item in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float):  # numpy's float64 too
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalars and arrays, torch tensors
        return jsonable(value.tolist())
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def write_json_atomically(path: str | os.PathLike, value: Any, indent: int | None = 2) -> Path:
    """Write [`jsonable`]`(value)` as JSON (strict: no NaN) to `path` through [`atomic_path`]; returns the path."""
    return write_text_atomically(path, json.dumps(jsonable(value), indent=indent, allow_nan=False) + "\n")


__all__ = [
    "atomic_path",
    "current_umask",
    "jsonable",
    "mkstemp_with_umask",
    "write_json_atomically",
    "write_text_atomically",
]
