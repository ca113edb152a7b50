"""Datasets described by a manifest file (CSV or JSON lines): the path a user with their own videos takes.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, IterableDataset

from .labels import (
    PRIVACY_ATTRIBUTES,
    LabelFileError,
    read_jsonl,
)
from .schema import UNKNOWN_PRIVACY, build_dataset, finish_dataset
from .splits import canonical_split_name

logger = logging.getLogger(__name__)


MANIFEST_COLUMNS: tuple[str, ...] = (
    "path", "video", "action", "label", "video_id", "split", "regions", "num_frames", "height", "width", "fps",
)
"""Manifest columns besides the privacy attributes (the last five are written by `vidanon synth`, and ignored)."""

def _read_manifest_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if suffix in (".jsonl", ".json"):
        return read_jsonl(path)
    raise ValueError(f"manifest {str(path)!r} must be .csv or .jsonl, got {suffix!r}.")


def _manifest_float(value: Any, path: Path, row: int, column: str) -> float:
    if value is None or value == "":
        return float("nan")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LabelFileError(f"{str(path)!r} row {row}: {column!r} must be 0 or 1, got {value!r}.") from None
    if number not in (0.0, 1.0):
        raise LabelFileError(f"{str(path)!r} row {row}: {column!r} must be 0 or 1, got {value!r}.")
    return number


def load_manifest(
    path: str | os.PathLike,
    split: str | None = None,
    root: str | os.PathLike | None = None,
    check_files: bool = True,
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset:
    """A collection described by a CSV or JSONL manifest, one row per video.

    Columns: `path` (or `video`; relative paths are resolved against `root`, default the manifest's folder),
    `action` (class name) and/or `label` (int), optional `video_id` (default: the file stem), optional `split`
    (default `"train"`; `validation`, `valid`, `dev` and `eval` are read as `val`), and the privacy attributes by
    name (`skin_color, face, gender, nudity, relationship`; all five or none; an empty cell is unknown = NaN).
    Any other column (but the ones `vidanon synth` adds: `regions, num_frames, height, width, fps`) is an error,
    so that a misspelt privacy column cannot switch the privacy labels off. Class names are ordered by `label` when given, else sorted.
    This is the format `vidanon synth` writes.

    Args:
        path (`str` or `os.PathLike`): the manifest (`.csv` or `.jsonl`).
        split (`str`, *optional*): keep only this split (a `Dataset`); `None` returns a `DatasetDict` of every
            split present (checked disjoint), or a `Dataset` if there is only one.
        root (`str` or `os.PathLike`, *optional*): base of relative paths.
        check_files (`bool`, *optional*, defaults to `True`): raise `FileNotFoundError` for listed files that do
            not exist.
        streaming, num_shards: as in [`load_ucf101`].

    Raises:
        FileNotFoundError: the manifest or (with `check_files`) a listed file does not exist.
        LabelFileError: missing or unknown columns, inconsistent `action`/`label` pairs, labels other than 0/1.
    """
    path = Path(path)
    rows = _read_manifest_rows(path)
    if not rows:
        raise LabelFileError(f"manifest {str(path)!r} has no rows.")
    columns = set().union(*(row.keys() for row in rows))
    path_column, has_privacy = _check_columns(path, columns)
    class_names = _class_names(path, rows, columns)
    records = _records(path, rows, Path(root) if root is not None else path.parent, path_column, class_names,
                       "label" in columns, has_privacy, check_files)
    present = has_privacy
    metadata = {"dataset": "manifest", "manifest": path.name, "has_privacy_labels": bool(present)}
    splits = sorted({record["split"] for record in records})
    if split is not None:
        split = canonical_split_name(split)
        if split not in splits:
            raise ValueError(f"split {split!r} is not in manifest {str(path)!r}; it has {splits}.")
        chosen = [record for record in records if record["split"] == split]
        return finish_dataset(build_dataset(chosen, class_names, {**metadata, "subset": split}), streaming, num_shards)
    if len(splits) == 1:
        return finish_dataset(build_dataset(records, class_names, {**metadata, "subset": splits[0]}), streaming, num_shards)
    result = DatasetDict(
        {
            name: build_dataset(
                [r for r in records if r["split"] == name], class_names, {**metadata, "subset": name}
            )
            for name in splits
        }
    )
    return finish_dataset(result, streaming, num_shards)


def _check_columns(path: Path, columns: set[str]) -> tuple[str, bool]:
    """The path column (`path` or `video`) and whether the privacy columns are there; refuses unknown columns."""
    path_column = "path" if "path" in columns else "video" if "video" in columns else None
    if path_column is None:
        raise LabelFileError(
            f"manifest {str(path)!r} needs a 'path' (or 'video') column; has {sorted(columns)}."
        )
    if "action" not in columns and "label" not in columns:
        raise LabelFileError(
            f"manifest {str(path)!r} needs an 'action' or 'label' column; has {sorted(columns)}."
        )
    unknown = sorted(columns - set(MANIFEST_COLUMNS) - set(PRIVACY_ATTRIBUTES))
    if unknown:
        # a misspelt privacy column would silently switch the privacy objective off: refuse every unknown name
        raise LabelFileError(
            f"manifest {str(path)!r} has unknown column(s) {unknown}; the privacy columns are "
            f"{list(PRIVACY_ATTRIBUTES)} (exactly these names, lower case) and the others {list(MANIFEST_COLUMNS)}."
        )
    present = [name for name in PRIVACY_ATTRIBUTES if name in columns]
    if present and len(present) != len(PRIVACY_ATTRIBUTES):
        missing = [name for name in PRIVACY_ATTRIBUTES if name not in columns]
        raise LabelFileError(f"manifest {str(path)!r} has privacy columns {present} but lacks {missing}.")
    return path_column, bool(present)


def _class_names(path: Path, rows: list[dict[str, Any]], columns: set[str]) -> list[str]:
    """Class names: from (label, action) pairs when both exist, else sorted action names, else the label ids."""
    if "label" not in columns:
        return sorted({str(row["action"]) for row in rows})
    pairs: dict[int, str] = {}
    for number, row in enumerate(rows, start=1):
        try:
            label = int(row["label"])
        except (KeyError, TypeError, ValueError):
            raise LabelFileError(f"{str(path)!r} row {number}: 'label' must be an integer.") from None
        name = str(row.get("action", label))
        if pairs.setdefault(label, name) != name:
            raise LabelFileError(
                f"{str(path)!r} row {number}: label {label} is {name!r} here but {pairs[label]!r} elsewhere."
            )
    if sorted(pairs) != list(range(len(pairs))):
        raise LabelFileError(
            f"{str(path)!r}: labels must be 0..{len(pairs) - 1}, got {sorted(pairs)[:10]}."
        )
    class_names = [pairs[i] for i in range(len(pairs))]
    if len(set(class_names)) != len(class_names):
        raise LabelFileError(f"{str(path)!r}: one action name has several labels: {class_names}.")
    return class_names


def _records(
    path: Path, rows: list[dict[str, Any]], base: Path, path_column: str, class_names: list[str], has_label: bool,
    has_privacy: bool, check_files: bool,
) -> list[dict[str, Any]]:
    """One dataset record per manifest row (paths resolved against `base`, splits made canonical)."""
    label_of = {name: index for index, name in enumerate(class_names)}
    records, missing_files = [], []
    for number, row in enumerate(rows, start=1):
        video = Path(str(row[path_column]))
        video = video if video.is_absolute() else base / video
        if check_files and not video.is_file():
            missing_files.append(str(video))
        label = int(row["label"]) if has_label else label_of[str(row["action"])]
        privacy = (
            [_manifest_float(row.get(name), path, number, name) for name in PRIVACY_ATTRIBUTES]
            if has_privacy
            else UNKNOWN_PRIVACY
        )
        records.append(
            {
                "video": str(video),
                "video_id": str(row.get("video_id") or video.stem),
                "label": label,
                "privacy_labels": privacy,
                "split": canonical_split_name(row.get("split") or "train"),
            }
        )
    if missing_files:
        raise FileNotFoundError(
            f"{len(missing_files)} files listed in {str(path)!r} do not exist: {missing_files[:5]}"
        )
    return records
