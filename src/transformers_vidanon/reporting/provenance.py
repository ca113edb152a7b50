"""Provenance of a results file, and fingerprints of what a result depends on.

A number in a README is only worth something when it can be traced to the code and the settings that made it.
[`collect_provenance`] records the git commit of the package's source tree (or "not a git checkout"), whether it
had uncommitted changes, the package, torch, transformers and Python versions, the machine (CPU cores, GPU) and
the full configuration of the run; every results writer of the package puts it in its files.

[`fingerprint`] hashes tensors and JSON-able settings into a short key, used to reuse a result (the Raw row of the
leakage protocol) only when its data and settings are the same.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..fileutils import jsonable

logger = logging.getLogger(__name__)

NOT_A_GIT_CHECKOUT = "not a git checkout"

__all__ = ["NOT_A_GIT_CHECKOUT", "PROVENANCE_KEYS", "collect_provenance", "fingerprint", "git_commit"]

#: The keys every provenance record has.
PROVENANCE_KEYS: tuple[str, ...] = (
    "git_commit",
    "git_dirty",
    "package_version",
    "torch_version",
    "transformers_version",
    "python_version",
    "platform",
    "cpu_count",
    "torch_threads",
    "gpu",
    "created",
    "config",
)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(path: str | os.PathLike | None = None) -> tuple[str, bool | None]:
    """`(commit, dirty)` of the git checkout holding `path` (default: this package's source), or
    `("not a git checkout", None)`. `dirty` says whether tracked files had uncommitted changes."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], where)
    if not commit:
        return NOT_A_GIT_CHECKOUT, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return commit, bool(status) if status is not None else None


def _gpu() -> str:
    try:
        if torch.cuda.is_available():
            return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception as error:  # noqa: BLE001 - a broken driver is "none" here, not a failed results file
        logger.debug("no GPU name: %s", error)
    return "none"


def collect_provenance(config: Any = None) -> dict[str, Any]:
    """Where a result comes from.

    Args:
        config (*optional*): the run's full configuration (a dataclass, a dict, ...), stored as JSON.

    Returns:
        `dict` with the keys of `PROVENANCE_KEYS`.
    """
    import transformers

    commit, dirty = git_commit()
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": _gpu(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": jsonable(config),
    }


def provenance_line(record: dict[str, Any]) -> str:
    """One Markdown line for a person: commit, versions, machine."""
    commit = record.get("git_commit", NOT_A_GIT_CHECKOUT)
    if commit != NOT_A_GIT_CHECKOUT:
        commit = f"commit `{commit[:12]}`" + (" (with uncommitted changes)" if record.get("git_dirty") else "")
    return (
        f"Provenance: {commit}; transformers_vidanon {record.get('package_version')}, torch "
        f"{record.get('torch_version')}, transformers {record.get('transformers_version')}; "
        f"{record.get('cpu_count')} CPU cores, GPU: {record.get('gpu')}; {record.get('created')}. "
        "The full configuration is in the results JSON."
    )


def fingerprint(*parts: Any) -> str:
    """A sha256 key of tensors (their dtype, shape and bytes) and JSON-able values, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            tensor = part.detach().cpu().contiguous()
            digest.update(f"tensor {tensor.dtype} {tuple(tensor.shape)}".encode())
            digest.update(tensor.view(torch.uint8).reshape(-1).numpy().data if tensor.numel() else b"")
        else:
            digest.update(json.dumps(jsonable(part), sort_keys=True).encode())
        digest.update(b"|")
    return digest.hexdigest()
