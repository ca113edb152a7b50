"""Small file helpers shared by the writers of the package."""

from __future__ import annotations

import os
import re
import tempfile
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


__all__ = ["current_umask", "mkstemp_with_umask"]
