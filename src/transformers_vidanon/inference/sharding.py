"""Anonymization past one process: a folder sharded over `accelerate launch` processes, and a `datasets` route.

**Processes, GPUs, nodes.** `vidanon anonymize` is an Accelerate program: launched with several processes it
shards the folder's videos over them (video `i` of the sorted list goes to process `i % num_processes`, so every
file has exactly one owner), each process on its own device, and the main process gathers the summary:

```bash
accelerate launch --multi_gpu --num_processes 8 -m transformers_vidanon.cli anonymize IN --model M --output OUT
# several nodes: add --num_machines N --machine_rank R --main_process_ip HOST on each node
```

Every output is written atomically (an interrupted file leaves nothing behind), so a rerun skips the finished
files and does the rest. The main process writes `OUT/anonymize_summary.json`: every video with the process that
wrote it, skipped it or failed on it.

**Collections on the Hub.** [`anonymize_dataset`] maps a `datasets.Dataset` whose column holds video files
(paths, or `Video(decode=False)` dicts) to anonymized mp4 files, batched, in `num_proc` worker processes, each
loading the model once:

```python
from datasets import load_dataset
from transformers_vidanon.inference.sharding import anonymize_dataset

dataset = load_dataset("org/videos", split="train").cast_column("video", Video(decode=False))
dataset = anonymize_dataset(dataset, "org/vidanon", "anonymized/", video_column="video", num_proc=4)
dataset["anonymized_video"]  # paths of the mp4 files
```
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fileutils import write_text_atomically
from .anonymize import FolderReport, anonymize_files, anonymize_video, folder_targets
from .loading import load_anonymizer
from .options import DEFAULT_BATCH_SIZE, AnonymizeOptions

logger = logging.getLogger(__name__)

SUMMARY_NAME = "anonymize_summary.json"


def launched_processes() -> int:
    """How many processes this run has (`WORLD_SIZE`, set by `accelerate launch` and `torchrun`; 1 otherwise)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def process_state() -> Any:
    """Accelerate's `PartialState` of this process (the process group is set up on first use; CPU-only machines
    use gloo)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def default_device() -> str:
    """This process's device: its own GPU under `accelerate launch`, else CUDA when there is one, else the CPU."""
    import torch

    if launched_processes() > 1:
        return str(process_state().device)
    return "cuda" if torch.cuda.is_available() else "cpu"


def shard(items: list[Any], index: int, count: int) -> list[Any]:
    """The items of process `index` out of `count`: every `count`-th one, starting at `index` (disjoint shards that
    cover the list, sizes differing by at most one)."""
    if not 0 <= index < count:
        raise ValueError(f"process index {index} is outside 0..{count - 1}.")
    return items[index::count]


@dataclass
class ShardedFolderReport(FolderReport):
    """A [`FolderReport`] for the whole folder (on the main process; on the others, their own shard), with who did
    what (`owners`: input path -> process index)."""

    owners: dict[Path, int] = field(default_factory=dict)


def anonymize_folder_sharded(
    model: Any, processor: Any | None, input_dir: str | os.PathLike, output_dir: str | os.PathLike,
    options: AnonymizeOptions | None = None, *, preview_dir: str | os.PathLike | None = None, overwrite: bool = False,
    recursive: bool = True, process_index: int | None = None, num_processes: int | None = None,
) -> ShardedFolderReport:
    """`anonymize.anonymize_folder` over this process's shard of the folder, the summary gathered on the main one.

    Arguments as in `anonymize.anonymize_folder`; `process_index` / `num_processes` default to Accelerate's (one
    process: the whole folder), and then the main process gathers every process's report and writes
    `output_dir/anonymize_summary.json` (atomically). Given explicitly, they select a shard and nothing is gathered
    (process 0 writes the summary of its own shard). `options.stop` and `options.on_event` are as in
    `anonymize.anonymize_files`; a stopped process raises `stopping.RunStopped` before the gathering and writes no
    summary.

    Returns:
        [`ShardedFolderReport`]: the whole folder's on the main process, this shard's on the others.
    """
    options = AnonymizeOptions() if options is None else options
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    state = None
    if num_processes is None:
        num_processes = launched_processes()
        if num_processes > 1:
            state = process_state()
            process_index, num_processes = state.process_index, state.num_processes
    process_index = 0 if process_index is None else process_index
    targets = folder_targets(input_dir, output_dir, recursive)  # sorted: the same list on every process
    mine = shard(list(targets.items()), process_index, num_processes)
    logger.info("Process %d of %d: %d of the %d videos.", process_index, num_processes, len(mine), len(targets))
    report = ShardedFolderReport(owners={path: process_index for _, path in mine})
    anonymize_files(model, processor, mine, report, input_dir, options, preview_dir=preview_dir, overwrite=overwrite)
    options.stop.check()  # a stopped process neither gathers nor writes the summary

    if state is not None:
        from accelerate.utils import gather_object

        everyone = gather_object([report])  # one report per process, in process order, on every process
        if state.is_main_process:
            report = ShardedFolderReport()
            for part in everyone:
                report.reports += part.reports
                report.failures += part.failures
                report.skipped += part.skipped
                report.owners.update(part.owners)
            _write_summary(output_dir / SUMMARY_NAME, report, num_processes)
        # every process leaves together and closes the process group itself: a process that exits while a peer still
        # holds the group open can be aborted by the group's own threads at shutdown (a failed launch)
        state.wait_for_everyone()
        state.destroy_process_group()
        return report
    if process_index == 0:
        _write_summary(output_dir / SUMMARY_NAME, report, num_processes)
    return report


def _write_summary(path: Path, report: ShardedFolderReport, num_processes: int) -> None:
    rows = [{"input": str(r.input_path), "output": str(r.output_path), "status": "written",
             "process": report.owners.get(r.input_path), "kept_fraction": r.kept_fraction} for r in report.reports]
    rows += [{"input": str(p), "status": "skipped", "process": report.owners.get(p)} for p in report.skipped]
    rows += [{"input": str(p), "status": "failed", "reason": reason, "process": report.owners.get(p)}
             for p, reason in report.failures]
    summary = {
        "num_processes": num_processes,
        "written": len(report.reports), "skipped": len(report.skipped), "failed": len(report.failures),
        "videos": sorted(rows, key=lambda row: row["input"]),
    }
    write_text_atomically(path, json.dumps(summary, indent=2))


# ----------------------------------------------------------------------------------------------------------------------
# datasets
# ----------------------------------------------------------------------------------------------------------------------
_WORKER_MODELS: dict[tuple[str, str, bool], tuple[Any, Any]] = {}


def _worker_model(model: str, device: str, trust_remote_code: bool) -> tuple[Any, Any]:
    """The model of this worker process, loaded on its first batch and kept for the next ones."""
    key = (model, device, trust_remote_code)
    if key not in _WORKER_MODELS:
        _WORKER_MODELS[key] = load_anonymizer(model, device=device, trust_remote_code=trust_remote_code)
    return _WORKER_MODELS[key]


def _video_path(value: Any) -> str:
    if isinstance(value, (str, os.PathLike)):
        return str(value)
    if isinstance(value, dict) and value.get("path"):
        return str(value["path"])
    raise ValueError(f"a video column must hold file paths or `Video(decode=False)` dicts with a path, got {value!r}.")


def _anonymize_batch(
    batch: dict[str, list[Any]],
    indices: list[int],
    *,
    model: str,
    output_dir: str,
    video_column: str,
    output_column: str,
    device: str,
    trust_remote_code: bool,
    clip_batch_size: int,
    overwrite: bool,
) -> dict[str, list[Any]]:
    anonymizer, processor = _worker_model(model, device, trust_remote_code)
    outputs, kept = [], []
    for index, value in zip(indices, batch[video_column]):
        source = Path(_video_path(value))
        target = Path(output_dir) / f"{index:08d}-{source.stem}.mp4"  # the row index keeps names unique
        if target.exists() and not overwrite:
            outputs.append(str(target))
            kept.append(None)
            continue
        report = anonymize_video(anonymizer, processor, source, target, AnonymizeOptions(batch_size=clip_batch_size))
        outputs.append(str(report.output_path))
        kept.append(report.kept_fraction)
    return {output_column: outputs, f"{output_column}_kept_fraction": kept}


def anonymize_dataset(
    dataset: Any,
    model: str | os.PathLike,
    output_dir: str | os.PathLike,
    video_column: str = "video",
    output_column: str = "anonymized_video",
    batch_size: int = 8,
    num_proc: int | None = None,
    device: str = "cpu",
    trust_remote_code: bool = False,
    clip_batch_size: int = DEFAULT_BATCH_SIZE,
    overwrite: bool = False,
) -> Any:
    """Anonymize the videos of a `datasets.Dataset` with `Dataset.map` (batched, optionally in `num_proc` processes).

    Args:
        dataset (`datasets.Dataset`): its `video_column` holds video file paths or `Video(decode=False)` dicts.
        model (`str` or `os.PathLike`): a checkpoint folder or Hub id (every worker loads it once).
        output_dir (`str` or `os.PathLike`): where the mp4 files go, named `{row index:08d}-{input name}.mp4`.
        video_column (`str`, *optional*, defaults to `"video"`): the input column.
        output_column (`str`, *optional*, defaults to `"anonymized_video"`): the new column of output paths; a
            `{output_column}_kept_fraction` column holds the share of pixels kept (`None` for an output that existed).
        batch_size (`int`, *optional*, defaults to 8): rows per `map` batch.
        num_proc (`int`, *optional*): worker processes of `map`.
        device (`str`, *optional*, defaults to `"cpu"`): where the workers run the model.
        trust_remote_code (`bool`, *optional*, defaults to `False`): load the model through the checkpoint's code.
        clip_batch_size (`int`, *optional*, defaults to 4): clips per forward pass.
        overwrite (`bool`, *optional*, defaults to `False`): re-anonymize rows whose output exists (by default a
            rerun skips them).

    Returns:
        `datasets.Dataset`: the dataset with the two new columns.
    """
    if video_column not in dataset.column_names:
        raise ValueError(f"the dataset has no column {video_column!r}; it has {dataset.column_names}.")
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    options = {"model": str(model), "output_dir": str(output_dir), "video_column": video_column,
               "output_column": output_column, "device": device, "trust_remote_code": trust_remote_code,
               "clip_batch_size": clip_batch_size, "overwrite": overwrite}
    return dataset.map(_anonymize_batch, batched=True, batch_size=batch_size, with_indices=True, num_proc=num_proc,
                       fn_kwargs=options, desc="anonymize")


__all__ = [
    "SUMMARY_NAME",
    "ShardedFolderReport",
    "anonymize_dataset",
    "anonymize_folder_sharded",
    "default_device",
    "launched_processes",
    "shard",
]
