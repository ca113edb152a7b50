"""Resumable checkpoints of the adversarial trainer: where they live, how one is saved atomically, when one is
complete, and which one a run resumes from.

A checkpoint is the folder `OUTPUT/checkpoints/step_N` (N the optimizer step, 8 digits) holding Accelerate's
`save_state` (model, optimizers, schedulers, random states, the registered `TrainerState`), the run's arguments
(`run_config.json`) and, written last, `checkpoint.json`: every file with its size. It is saved into `.step_N.tmp` and
renamed once complete, so a kill during a save never leaves a folder that looks resumable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from accelerate.logging import get_logger

from ..fileutils import write_json_atomically

logger = get_logger(__name__)

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PREFIX = "step_"
# written last into a checkpoint folder, before the folder gets its final name: the files and their sizes
CHECKPOINT_MANIFEST = "checkpoint.json"
# what a checkpoint written before CHECKPOINT_MANIFEST existed holds once complete (run_config.json was written last)
LEGACY_CHECKPOINT_FILES = ("model.safetensors", "optimizer.bin", "random_states_0.pkl", "run_config.json")


def checkpoint_path(output_dir: str | os.PathLike, global_step: int) -> Path:
    """The folder of the checkpoint at `global_step` of the run writing to `output_dir`."""
    return Path(output_dir) / CHECKPOINT_DIR / f"{CHECKPOINT_PREFIX}{global_step:08d}"


def checkpoint_problem(path: str | os.PathLike) -> str | None:
    """Why a checkpoint folder cannot be resumed from (`None` when it is complete).

    A complete checkpoint holds `checkpoint.json`, written last, listing every file with its size; a folder without
    it (a save that was killed, or emptied) or whose files are missing or of another size (truncated) is not one.
    Folders saved before `checkpoint.json` existed count as complete when they hold the files of a save and
    `run_config.json`, which was then written last.
    """
    path = Path(path)
    manifest = path / CHECKPOINT_MANIFEST
    if not path.is_dir():
        return "not a folder"
    if not manifest.is_file():
        if all((path / name).is_file() for name in LEGACY_CHECKPOINT_FILES):
            return None
        return f"no {CHECKPOINT_MANIFEST} (the save did not finish)"
    try:
        files = json.loads(manifest.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{CHECKPOINT_MANIFEST} is unreadable"
    for name, size in files.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if file.stat().st_size != size:
            return f"{name} has {file.stat().st_size} bytes instead of {size} (truncated)"
    return None


def list_checkpoints(output_dir: str | os.PathLike, complete_only: bool = True) -> list[Path]:
    """Checkpoint folders under `output_dir/checkpoints`, oldest first.

    Args:
        output_dir (`str` or `os.PathLike`): the run's output folder.
        complete_only (`bool`, *optional*, defaults to `True`): only the complete ones ([`checkpoint_problem`]).
    """
    folder = Path(output_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(rf"{CHECKPOINT_PREFIX}\d+", p.name)]
    found = sorted(found, key=lambda p: int(p.name[len(CHECKPOINT_PREFIX):]))
    return [p for p in found if checkpoint_problem(p) is None] if complete_only else found


def save_checkpoint(
    accelerator: Accelerator,
    path: Path,
    run_config: dict[str, Any],
    progress: dict[str, int],
    total_limit: int | None = None,
) -> Path:
    """Save Accelerate's state into the checkpoint folder `path` ([`checkpoint_path`]), atomically, on every process.

    The state goes into `.step_N.tmp` (stale temporary folders of killed saves are removed first); the main process
    adds `run_config.json` and `checkpoint.json` (the files and their sizes, and `progress`) and renames it `path`,
    replacing an older folder of the same name only once the new one is whole. With `total_limit`, only that many
    checkpoints are kept (the newest).
    """
    folder = path.parent
    partial = folder / f".{path.name}.tmp"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        for stale in folder.glob(f".{CHECKPOINT_PREFIX}*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        write_json_atomically(partial / "run_config.json", run_config)
        files = {str(f.relative_to(partial)): f.stat().st_size for f in sorted(partial.rglob("*")) if f.is_file()}
        manifest = {**progress, "num_processes": accelerator.num_processes, "files": files}
        write_json_atomically(partial / CHECKPOINT_MANIFEST, manifest)
        if path.exists():  # left by an earlier run at the same step: replaced only now that the new one is whole
            replaced = folder / f".{path.name}.old.tmp"
            os.replace(path, replaced)
            os.replace(partial, path)
            shutil.rmtree(replaced, ignore_errors=True)
        else:
            os.replace(partial, path)
        if total_limit:
            for old in list_checkpoints(folder.parent, complete_only=False)[:-total_limit]:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return path


def resolve_checkpoint(resume: str | None, output_dir: str | os.PathLike) -> Path | None:
    """The checkpoint `--resume_from_checkpoint` names: `latest` is the newest complete one under `output_dir`
    (incomplete ones are named in the log and skipped; none: start from scratch), else the folder given.

    Raises:
        FileNotFoundError: the folder given does not exist (the message names the flag).
        ValueError: the folder given is not a complete checkpoint ([`checkpoint_problem`] says why).
    """
    if not resume:
        return None
    if resume == "latest":
        for candidate in reversed(list_checkpoints(output_dir, complete_only=False)):
            problem = checkpoint_problem(candidate)
            if problem is None:
                return candidate
            logger.warning(f"skipping the incomplete checkpoint {candidate}: {problem}")
        logger.info(f"no complete checkpoint under {Path(output_dir) / CHECKPOINT_DIR}: starting from scratch")
        return None
    path = Path(resume)
    if not path.is_dir():
        raise FileNotFoundError(f"`--resume_from_checkpoint` {resume!r} is not a checkpoint folder.")
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ValueError(f"`--resume_from_checkpoint` {resume!r} is not a complete checkpoint: {problem}.")
    return path


__all__ = [
    "CHECKPOINT_DIR",
    "CHECKPOINT_MANIFEST",
    "CHECKPOINT_PREFIX",
    "LEGACY_CHECKPOINT_FILES",
    "checkpoint_path",
    "checkpoint_problem",
    "list_checkpoints",
    "resolve_checkpoint",
    "save_checkpoint",
]
