"""Split names and split hygiene.

Split names are `train`, `val` and `test` ([`SPLITS`]); the manifest and video-folder loaders read `validation`,
`valid`, `dev` and `eval` as `val` ([`canonical_split_name`]). [`check_disjoint_splits`] raises
[`SplitOverlapError`] when two splits of one evaluation share a video (the same id, path or file content); every
loader that builds several splits calls it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from datasets import Dataset, IterableDataset

logger = logging.getLogger(__name__)


SPLITS: tuple[str, ...] = ("train", "val", "test")
"""The split names every loader writes in its `split` column."""
SPLIT_ALIASES: dict[str, str] = {"validation": "val", "valid": "val", "dev": "val", "eval": "val"}
"""Other names of the validation split, read as `val` by the manifest and video-folder loaders."""

def canonical_split_name(name: str) -> str:
    """`"train"`, `"val"` or `"test"` for a split name or one of its aliases (`SPLIT_ALIASES`); others unchanged."""
    lowered = str(name).strip().lower()
    lowered = SPLIT_ALIASES.get(lowered, lowered)
    return lowered if lowered in ("train", "val", "test") else str(name)


class SplitOverlapError(ValueError):
    """Two splits of one evaluation share videos; the message names them."""




def _column(dataset: Dataset | IterableDataset | Sequence[Mapping[str, Any]], name: str) -> list[str]:
    if isinstance(dataset, Dataset):
        return [str(v) for v in dataset.with_format(None)[name]] if name in dataset.column_names else []
    return [str(row[name]) for row in dataset if name in row]


def _file_digest(path: str, chunk_size: int = 1 << 20) -> str:
    import hashlib

    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _identical_files(paths_by_split: Mapping[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """Files with the same bytes in two splits: `(split, split) -> ["a.mp4 == b.mp4", ...]`.

    Sizes are compared first; only files whose size occurs in two splits are read and hashed.
    """
    sizes: dict[int, list[tuple[str, str]]] = {}
    for name, paths in paths_by_split.items():
        for path in paths:
            try:
                size = os.stat(path).st_size
            except OSError:  # not there (yet): the loaders report missing files themselves
                continue
            sizes.setdefault(size, []).append((name, path))
    found: dict[tuple[str, str], list[str]] = {}
    order = {name: index for index, name in enumerate(paths_by_split)}
    for candidates in sizes.values():
        if len({name for name, _ in candidates}) < 2:
            continue
        by_digest: dict[str, list[tuple[str, str]]] = {}
        for name, path in candidates:
            by_digest.setdefault(_file_digest(path), []).append((name, path))
        for same in by_digest.values():
            for i, (first, first_path) in enumerate(same):
                for second, second_path in same[i + 1 :]:
                    if first != second:
                        pair = tuple(sorted((first, second), key=order.get))
                        paths = (first_path, second_path) if pair[0] == first else (second_path, first_path)
                        found.setdefault(pair, []).append(f"{paths[0]} == {paths[1]}")
    return found


def check_disjoint_splits(
    splits: Mapping[str, Dataset | IterableDataset | Sequence[Mapping[str, Any]]],
    compare_content: bool = True,
) -> None:
    """Raise if two splits share a video: the same `video_id`, the same resolved `video` path, or (with
    `compare_content`) files with the same bytes under other names.

    Content is compared by size first; only files whose size occurs in two splits are hashed (BLAKE2b), so a
    collection of distinct videos costs one `stat` per file.

    Args:
        splits (`Mapping[str, Dataset]`): split name -> dataset (undecoded rows with `video` / `video_id`).
        compare_content (`bool`, *optional*, defaults to `True`): also look for byte-identical copies.

    Raises:
        SplitOverlapError: naming the splits and (up to 10 of) the shared videos.
    """
    names = list(splits)
    keys = {}
    for name in names:
        ids = set(_column(splits[name], "video_id"))
        paths = {os.path.realpath(p) for p in _column(splits[name], "video")}
        keys[name] = (ids, paths)
    copies = _identical_files({name: keys[name][1] for name in names}) if compare_content else {}
    problems = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            shared = sorted(keys[first][0] & keys[second][0]) + sorted(keys[first][1] & keys[second][1])
            same_paths = keys[first][1] & keys[second][1]
            shared += sorted(c for c in copies.get((first, second), []) if c.split(" == ")[0] not in same_paths)
            if shared:
                shared = list(dict.fromkeys(shared))
                problems.append(f"{first!r} and {second!r} share {len(shared)} videos: {shared[:10]}")
    if problems:
        raise SplitOverlapError(
            "splits of one evaluation must not share videos (by id, by path, or by content: 'a == b' are files "
            "with the same bytes); " + "; ".join(problems)
        )
