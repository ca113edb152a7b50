"""Dataset loaders returning `datasets` objects, and the clip transform that decodes them lazily.

Every loader returns a `datasets.Dataset` (or, with `streaming=True`, a `datasets.IterableDataset`; with
`subset=None`, a `DatasetDict` of every split, checked disjoint) whose rows are **not decoded**:

| column           | type                          | meaning                                                      |
|------------------|-------------------------------|--------------------------------------------------------------|
| `video`          | `string`                      | absolute path of the video (or image, for VISPR)             |
| `video_id`       | `string`                      | unique id of the video within the collection (the file stem) |
| `label`          | `ClassLabel`                  | action class (-1 where the collection has no action labels)  |
| `privacy_labels` | `Sequence(float32, length=5)` | 0/1 per attribute of `PRIVACY_ATTRIBUTES`; NaN = unknown     |
| `split`          | `string`                      | `train`, `val` or `test`                                     |

The attribute names and the origin of the rows are recorded as JSON in `dataset.info.description`
([`dataset_metadata`], [`privacy_attribute_names`]).

Decoding happens on access, through [`make_clip_transform`] set with `dataset.with_transform(...)` (or
[`apply_clip_transform`], which also handles streaming datasets). Each example then is
`{"pixel_values": FloatTensor (T, C, H, W) in [0, 1] (evaluation: (num_clips, T, C, H, W)), "labels": int,
"privacy_labels": FloatTensor (5,), "video_id": str, "bad_video": None}`; batches are made by [`collate_clips`].

Bad files: with `on_bad_video="raise"` (default) a file that cannot be decoded raises [`VideoDecodeError`]
naming it. With `"skip"`, the example comes back with `pixel_values=None` and `bad_video=<path>` (and a logged
warning); [`collate_clips`] drops it and lists it under `skipped_videos`, so a DataLoader worker never dies from
one bad file; count them where batches arrive with [`BadVideoLog`].

Split hygiene: [`check_disjoint_splits`] raises when two splits of one evaluation share a video (the same id, path
or file content); every loader that builds several splits calls it. Split names are `train`, `val` and `test`; the
manifest and video-folder loaders read `validation`, `valid`, `dev` and `eval` as `val` ([`canonical_split_name`]).
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import ClassLabel, Dataset, DatasetDict, DatasetInfo, Features, IterableDataset, Value
from datasets import Sequence as SequenceFeature

from ..processing_vidanon import ClipAugmentation, clip_eval_transform, frames_to_clip
from ..video import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    SHORT_VIDEO_POLICIES,
    VIDEO_EXTENSIONS,
    VideoDecodeError,
    VideoFile,
    is_image_path,
    read_image,
    resolve_backend,
    training_indices,
    uniform_clip_indices,
)
from .labels import (
    PRIVACY_ATTRIBUTES,
    LabelFileError,
    PrivacyLabels,
    load_privacy_labels,
    load_shipped_privacy_labels,
    read_hmdb51_split,
    read_jsonl,
    read_pa_hmdb51_annotations,
    read_ucf101_class_index,
    read_ucf101_split,
    read_vispr_annotations,
    video_key,
)

logger = logging.getLogger(__name__)

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "validation", "test")
# other names of the validation split, read as "val" by the manifest and video-folder loaders
SPLIT_ALIASES: dict[str, str] = {"validation": "val", "valid": "val", "dev": "val", "eval": "val"}
# manifest columns besides the privacy attributes (the last five are written by `vidanon synth`, and ignored)
MANIFEST_COLUMNS: tuple[str, ...] = (
    "path", "video", "action", "label", "video_id", "split", "regions", "num_frames", "height", "width", "fps",
)
_UNKNOWN_PRIVACY = [float("nan")] * len(PRIVACY_ATTRIBUTES)


def canonical_split_name(name: str) -> str:
    """`"train"`, `"val"` or `"test"` for a split name or one of its aliases (`SPLIT_ALIASES`); others unchanged."""
    lowered = str(name).strip().lower()
    lowered = SPLIT_ALIASES.get(lowered, lowered)
    return lowered if lowered in ("train", "val", "test") else str(name)


class SplitOverlapError(ValueError):
    """Two splits of one evaluation share videos; the message names them."""


# ---------------------------------------------------------------------------------------------------------------
# Building datasets
# ---------------------------------------------------------------------------------------------------------------


def video_features(class_names: Sequence[str]) -> Features:
    """The `datasets.Features` of every loader's rows (see the module docstring)."""
    return Features(
        {
            "video": Value("string"),
            "video_id": Value("string"),
            "label": ClassLabel(names=list(class_names)),
            "privacy_labels": SequenceFeature(Value("float32"), length=len(PRIVACY_ATTRIBUTES)),
            "split": Value("string"),
        }
    )


def dataset_metadata(dataset: Dataset | IterableDataset) -> dict[str, Any]:
    """The JSON metadata a loader recorded in `dataset.info.description` (`{}` if none)."""
    try:
        metadata = json.loads(dataset.info.description or "{}")
    except json.JSONDecodeError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def privacy_attribute_names(dataset: Dataset | IterableDataset) -> tuple[str, ...]:
    """Names of the `privacy_labels` entries of a loader's dataset (`PRIVACY_ATTRIBUTES` if not recorded)."""
    return tuple(dataset_metadata(dataset).get("privacy_attributes", PRIVACY_ATTRIBUTES))


def _build(records: list[dict[str, Any]], class_names: Sequence[str], metadata: Mapping[str, Any]) -> Dataset:
    features = video_features(class_names)
    description = json.dumps({"privacy_attributes": list(PRIVACY_ATTRIBUTES), **metadata}, sort_keys=True)
    columns = {name: [record[name] for record in records] for name in features}
    return Dataset.from_dict(
        columns, features=features, info=DatasetInfo(description=description, features=features)
    )


def _finish(
    result: Dataset | DatasetDict,
    streaming: bool,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset | Any:
    if isinstance(result, DatasetDict):
        check_disjoint_splits(dict(result))
        if streaming:
            from datasets import IterableDatasetDict

            return IterableDatasetDict({name: _to_iterable(ds, num_shards) for name, ds in result.items()})
        return result
    return _to_iterable(result, num_shards) if streaming else result


def _to_iterable(dataset: Dataset, num_shards: int) -> IterableDataset:
    iterable = dataset.to_iterable_dataset(num_shards=max(1, min(num_shards, len(dataset))))
    iterable.info.description = dataset.info.description
    return iterable


class _FileIndex:
    """Index of the video files under a root: `(folder, stem) -> path`, folder matched case-insensitively."""

    def __init__(self, root: Path, extensions: Iterable[str]) -> None:
        if not root.is_dir():
            raise FileNotFoundError(f"dataset root not found: {str(root)!r}")
        self.root = root
        extensions = {e.lower() for e in extensions}
        self.by_folder: dict[tuple[str, str], Path] = {}
        self.by_stem: dict[str, Path | None] = {}
        for folder in sorted([root, *[p for p in root.iterdir() if p.is_dir()]]):
            label = "" if folder == root else folder.name.lower()
            with os.scandir(folder) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.is_file() and os.path.splitext(entry.name)[1].lower() in extensions:
                        path = Path(entry.path)
                        self.by_folder.setdefault((label, path.stem), path)
                        self.by_stem[path.stem] = None if path.stem in self.by_stem else path

    def find(self, folder: str, filename: str) -> Path | None:
        stem = video_key(filename)
        found = self.by_folder.get((folder.lower(), stem))
        return found if found is not None else self.by_stem.get(stem)


def _resolve_files(
    wanted: list[tuple[str, str]],
    index: _FileIndex,
    on_missing: str,
    what: str,
) -> list[Path | None]:
    if on_missing not in ("raise", "skip"):
        raise ValueError(f"`on_missing` must be 'raise' or 'skip', got {on_missing!r}.")
    paths = [index.find(folder, filename) for folder, filename in wanted]
    missing = [f"{folder}/{filename}" for (folder, filename), path in zip(wanted, paths) if path is None]
    if missing:
        message = (
            f"{len(missing)} of the {len(wanted)} {what} videos are not under {str(index.root)!r} "
            f"(matched by class folder and file stem, any of {VIDEO_EXTENSIONS}): {missing[:5]}"
        )
        if on_missing == "raise":
            raise FileNotFoundError(message + "; pass on_missing='skip' to leave them out")
        logger.warning("%s; leaving them out", message)
    return paths


def _privacy_source(labels: str | os.PathLike | PrivacyLabels | None, default: str) -> PrivacyLabels:
    if isinstance(labels, PrivacyLabels):
        return labels
    if labels is None:
        return load_shipped_privacy_labels(default)
    return load_privacy_labels(labels)


def _attach_privacy(
    records: list[dict[str, Any]],
    privacy: PrivacyLabels,
    on_missing_labels: str,
    what: str,
) -> list[dict[str, Any]]:
    if on_missing_labels not in ("raise", "skip"):
        raise ValueError(f"`on_missing_labels` must be 'raise' or 'skip', got {on_missing_labels!r}.")
    kept, unlabelled = [], []
    for record in records:
        vector = privacy.get(record["video"], class_name=Path(record["video"]).parent.name)
        if vector is None:
            unlabelled.append(record["video"])
            continue
        kept.append({**record, "privacy_labels": vector.tolist()})
    if unlabelled:
        message = (
            f"{len(unlabelled)} {what} videos have no privacy labels in {privacy.source!r}: {unlabelled[:5]}"
        )
        if on_missing_labels == "raise":
            raise LabelFileError(message + "; pass on_missing_labels='skip' to leave them out")
        logger.warning("%s; leaving them out", message)
    return kept


# ---------------------------------------------------------------------------------------------------------------
# UCF101 / HMDB51 and their privacy-labelled versions
# ---------------------------------------------------------------------------------------------------------------


def _ucf101_records(
    root: Path, split_dir: Path, split: int, subset: str, on_missing: str
) -> tuple[list, list]:
    class_names = read_ucf101_class_index(split_dir / "classInd.txt")
    entries = read_ucf101_split(split_dir, split=split, subset=subset)
    index = _FileIndex(root, VIDEO_EXTENSIONS)
    wanted = [(relative.split("/")[0], relative.split("/")[-1]) for relative, _ in entries]
    paths = _resolve_files(wanted, index, on_missing, f"UCF101 split {split} {subset}")
    records = [
        {
            "video": str(path),
            "video_id": path.stem,
            "label": label,
            "privacy_labels": _UNKNOWN_PRIVACY,
            "split": subset,
        }
        for (_, label), path in zip(entries, paths)
        if path is not None
    ]
    return class_names, records


def load_ucf101(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int = 1,
    subset: str | None = "train",
    on_missing: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset:
    """UCF101 from its video folder and official split lists (no privacy labels: `privacy_labels` is NaN).

    Args:
        root (`str` or `os.PathLike`): folder of `<Class>/v_<Class>_gXX_cYY.avi` (any video extension).
        split_dir (`str` or `os.PathLike`): folder of `classInd.txt`, `trainlist0N.txt`, `testlist0N.txt`.
        split (`int`, *optional*, defaults to 1): official split 1, 2 or 3.
        subset (`str`, *optional*, defaults to `"train"`): `"train"`, `"test"`, or `None` for a `DatasetDict` of both.
        on_missing (`str`, *optional*, defaults to `"raise"`): listed videos absent from `root`: `"raise"` or
            `"skip"` (logged).
        streaming (`bool`, *optional*, defaults to `False`): return an `IterableDataset`.
        num_shards (`int`, *optional*, defaults to 1): shards of the streaming dataset (one per DataLoader worker).

    Returns:
        `Dataset`, `DatasetDict` or `IterableDataset`; labels are 0-based `classInd.txt` ids.
    """
    root, split_dir = Path(root), Path(split_dir)
    if subset is None:
        return _finish(
            DatasetDict({s: load_ucf101(root, split_dir, split, s, on_missing) for s in ("train", "test")}),
            streaming,
            num_shards,
        )
    class_names, records = _ucf101_records(root, split_dir, split, subset, on_missing)
    dataset = _build(
        records,
        class_names,
        {"dataset": "ucf101", "split_number": split, "subset": subset, "has_privacy_labels": False},
    )
    return _finish(dataset, streaming, num_shards)


def _hmdb51_records(
    root: Path, split_dir: Path, split: int, subset: str, on_missing: str
) -> tuple[list, list]:
    class_names, entries = read_hmdb51_split(split_dir, split=split, subset=subset)
    label_of = {name: index for index, name in enumerate(class_names)}
    index = _FileIndex(root, VIDEO_EXTENSIONS)
    paths = _resolve_files(entries, index, on_missing, f"HMDB51 split {split} {subset}")
    split_name = subset if subset in ("train", "test") else "train"
    records = [
        {
            "video": str(path),
            "video_id": path.stem,
            "label": label_of[class_name],
            "privacy_labels": _UNKNOWN_PRIVACY,
            "split": split_name,
        }
        for (class_name, _), path in zip(entries, paths)
        if path is not None
    ]
    return class_names, records


def load_hmdb51(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int = 1,
    subset: str | None = "train",
    on_missing: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset:
    """HMDB51 from its video folder and the split files of ONE split number (no privacy labels: NaN).

    Args:
        root (`str` or `os.PathLike`): folder of `<class>/<name>.avi` (any video extension).
        split_dir (`str` or `os.PathLike`): folder of the `<class>_test_split<N>.txt` files.
        split (`int`, *optional*, defaults to 1): split number 1, 2 or 3; only its files are read.
        subset (`str`, *optional*, defaults to `"train"`): `"train"` (tag 1), `"test"` (tag 2), `"all"` (every
            listed video, tags 0, 1 and 2), or `None` for a `DatasetDict` of train and test.
        on_missing (`str`, *optional*, defaults to `"raise"`): `"raise"` or `"skip"` listed videos absent from `root`.
        streaming (`bool`, *optional*, defaults to `False`): return an `IterableDataset`.
        num_shards (`int`, *optional*, defaults to 1): shards of the streaming dataset.

    Returns:
        `Dataset`, `DatasetDict` or `IterableDataset`; labels index the sorted class names.
    """
    root, split_dir = Path(root), Path(split_dir)
    if subset is None:
        return _finish(
            DatasetDict({s: load_hmdb51(root, split_dir, split, s, on_missing) for s in ("train", "test")}),
            streaming,
            num_shards,
        )
    class_names, records = _hmdb51_records(root, split_dir, split, subset, on_missing)
    dataset = _build(
        records,
        class_names,
        {"dataset": "hmdb51", "split_number": split, "subset": subset, "has_privacy_labels": False},
    )
    return _finish(dataset, streaming, num_shards)


def _with_privacy(
    loader: Callable[..., Dataset],
    name: str,
    shipped: str,
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int,
    subset: str | None,
    labels_path: str | os.PathLike | PrivacyLabels | None,
    on_missing: str,
    on_missing_labels: str,
    streaming: bool,
    num_shards: int,
) -> Dataset | DatasetDict | IterableDataset:
    privacy = _privacy_source(labels_path, shipped)
    if subset is None:
        splits = {
            s: _with_privacy(
                loader,
                name,
                shipped,
                root,
                split_dir,
                split,
                s,
                privacy,
                on_missing,
                on_missing_labels,
                False,
                1,
            )
            for s in ("train", "test")
        }
        return _finish(DatasetDict(splits), streaming, num_shards)
    plain = loader(root, split_dir, split=split, subset=subset, on_missing=on_missing)
    records = _attach_privacy(plain.to_list(), privacy, on_missing_labels, f"{name} split {split} {subset}")
    metadata = {
        **dataset_metadata(plain),
        "dataset": name,
        "has_privacy_labels": True,
        "privacy_label_source": os.path.basename(privacy.source),
    }
    return _finish(_build(records, plain.features["label"].names, metadata), streaming, num_shards)


def load_vp_ucf101(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int = 1,
    subset: str | None = "train",
    labels_path: str | os.PathLike | PrivacyLabels | None = None,
    on_missing: str = "raise",
    on_missing_labels: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset:
    """VP-UCF101: [`load_ucf101`] joined with video-level privacy labels (matched on the file stem).

    Args:
        root, split_dir, split, subset, on_missing, streaming, num_shards: as in [`load_ucf101`].
        labels_path (`str`, `os.PathLike` or [`PrivacyLabels`], *optional*):
            a JSON or original pickle label file; `None` uses the labels shipped with the package.
        on_missing_labels (`str`, *optional*, defaults to `"raise"`): videos without labels: `"raise"` or `"skip"`.
    """
    return _with_privacy(
        load_ucf101,
        "vp_ucf101",
        "vp_ucf101",
        root,
        split_dir,
        split,
        subset,
        labels_path,
        on_missing,
        on_missing_labels,
        streaming,
        num_shards,
    )


def load_vp_hmdb51(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    split: int = 1,
    subset: str | None = "train",
    labels_path: str | os.PathLike | PrivacyLabels | None = None,
    on_missing: str = "raise",
    on_missing_labels: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset:
    """VP-HMDB51: [`load_hmdb51`] (one split number, never a union of the three) joined with privacy labels.

    Args:
        root, split_dir, split, subset, on_missing, streaming, num_shards: as in [`load_hmdb51`].
        labels_path (`str`, `os.PathLike` or [`PrivacyLabels`], *optional*):
            a JSON or original pickle label file; `None` uses the labels shipped with the package.
        on_missing_labels (`str`, *optional*, defaults to `"raise"`): videos without labels: `"raise"` or `"skip"`.
    """
    return _with_privacy(
        load_hmdb51,
        "vp_hmdb51",
        "vp_hmdb51",
        root,
        split_dir,
        split,
        subset,
        labels_path,
        on_missing,
        on_missing_labels,
        streaming,
        num_shards,
    )


# ---------------------------------------------------------------------------------------------------------------
# PA-HMDB51
# ---------------------------------------------------------------------------------------------------------------


def _hmdb51_class_names(root: Path, class_names: Sequence[str] | None) -> list[str]:
    if class_names is not None:
        return list(class_names)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root not found: {str(root)!r}")
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def load_pa_hmdb51(
    root: str | os.PathLike,
    annotation_path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    on_missing: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | IterableDataset:
    """PA-HMDB51 (evaluation only): the annotated HMDB51 videos with video-level privacy labels.

    Frame-range annotations are reduced to video level by `read_pa_hmdb51_annotations` (an attribute is positive
    if any annotated frame range shows it). Train on [`hmdb51_minus_pa_hmdb51`].

    Args:
        root (`str` or `os.PathLike`): the HMDB51 video folder (`<class>/<name>.avi`).
        annotation_path (`str` or `os.PathLike`): folder of PA-HMDB51's `<class>.json` files (or one merged file).
        class_names (`Sequence[str]`, *optional*): action classes in label order; defaults to the sorted class
            folders of `root` (HMDB51's 51 classes, the same labels as [`load_hmdb51`]).
        on_missing (`str`, *optional*, defaults to `"raise"`): `"raise"` or `"skip"` annotated videos absent
            from `root`.
        streaming, num_shards: as in [`load_ucf101`].

    Returns:
        `Dataset` (split `"test"`) or `IterableDataset`.
    """
    root = Path(root)
    names = _hmdb51_class_names(root, class_names)
    label_of = {name: index for index, name in enumerate(names)}
    annotations = read_pa_hmdb51_annotations(annotation_path)
    unknown = sorted({cls for cls, _ in annotations if cls not in label_of})
    if unknown:
        raise LabelFileError(
            f"PA-HMDB51 annotations in {str(annotation_path)!r} name classes not in "
            f"{str(root)!r}: {unknown[:5]}"
        )
    wanted = list(annotations)
    paths = _resolve_files(wanted, _FileIndex(root, VIDEO_EXTENSIONS), on_missing, "PA-HMDB51")
    records = [
        {
            "video": str(path),
            "video_id": path.stem,
            "label": label_of[cls],
            "privacy_labels": annotations[(cls, name)].tolist(),
            "split": "test",
        }
        for (cls, name), path in zip(wanted, paths)
        if path is not None
    ]
    dataset = _build(
        records,
        names,
        {
            "dataset": "pa_hmdb51",
            "has_privacy_labels": True,
            "privacy_reduction": "positive if any annotated frame range is > 0",
        },
    )
    return _finish(dataset, streaming, num_shards)


def hmdb51_minus_pa_hmdb51(
    root: str | os.PathLike,
    split_dir: str | os.PathLike,
    annotation_path: str | os.PathLike,
    split: int = 1,
    subset: str = "all",
    labels_path: str | os.PathLike | PrivacyLabels | None = None,
    with_privacy_labels: bool = True,
    on_missing: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | IterableDataset:
    """The training set of the PA-HMDB51 protocol: HMDB51 videos that are NOT in PA-HMDB51.

    The result is checked disjoint from [`load_pa_hmdb51`]'s videos (by id and path) before it is returned.

    Args:
        root, split_dir, split, on_missing, streaming, num_shards: as in [`load_hmdb51`].
        annotation_path (`str` or `os.PathLike`): PA-HMDB51 annotations (the videos to leave out).
        subset (`str`, *optional*, defaults to `"all"`): which videos of the split files to start from:
            `"all"`, `"train"` or `"test"`.
        labels_path (`str`, `os.PathLike` or [`PrivacyLabels`], *optional*): privacy labels for the training
            videos (`None`: the shipped VP-HMDB51 labels).
        with_privacy_labels (`bool`, *optional*, defaults to `True`): attach them (else NaN).

    Returns:
        `Dataset` (split `"train"`) or `IterableDataset`.
    """
    root, split_dir = Path(root), Path(split_dir)
    class_names, records = _hmdb51_records(root, split_dir, split, subset, on_missing)
    annotated = {video_key(name) for _, name in read_pa_hmdb51_annotations(annotation_path)}
    records = [{**r, "split": "train"} for r in records if video_key(r["video"]) not in annotated]
    if with_privacy_labels:
        records = _attach_privacy(
            records, _privacy_source(labels_path, "vp_hmdb51"), "raise", "HMDB51 minus PA-HMDB51"
        )
    dataset = _build(
        records,
        class_names,
        {
            "dataset": "hmdb51_minus_pa_hmdb51",
            "split_number": split,
            "subset": subset,
            "has_privacy_labels": with_privacy_labels,
        },
    )
    test = load_pa_hmdb51(root, annotation_path, class_names=class_names, on_missing="skip")
    check_disjoint_splits({"train": dataset, "test": test})
    return _finish(dataset, streaming, num_shards)


# ---------------------------------------------------------------------------------------------------------------
# VISPR
# ---------------------------------------------------------------------------------------------------------------


def load_vispr(
    root: str | os.PathLike,
    annotation_dir: str | os.PathLike,
    split: str = "train",
    on_missing: str = "raise",
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | IterableDataset:
    """VISPR images with privacy labels, to be served as static clips (the image repeated over time).

    The attribute mapping is `labels.VISPR_ATTRIBUTE_MAP` (documented in `read_vispr_annotations`). VISPR has no
    action labels: `label` is -1 for every row (use it only for the privacy branch).

    Args:
        root (`str` or `os.PathLike`): dataset root; annotation `image_path`s are relative to it.
        annotation_dir (`str` or `os.PathLike`): folder of `<split>2017/*.json`.
        split (`str`, *optional*, defaults to `"train"`): `"train"`, `"val"` or `"test"`.
        on_missing (`str`, *optional*, defaults to `"raise"`): `"raise"` or `"skip"` images absent from `root`.
        streaming, num_shards: as in [`load_ucf101`].

    Returns:
        `Dataset` or `IterableDataset`.
    """
    if on_missing not in ("raise", "skip"):
        raise ValueError(f"`on_missing` must be 'raise' or 'skip', got {on_missing!r}.")
    root = Path(root)
    records, missing = [], []
    for image_path, vector in read_vispr_annotations(annotation_dir, split):
        path = root / image_path
        if not path.is_file():
            missing.append(str(path))
            continue
        records.append(
            {
                "video": str(path),
                "video_id": path.stem,
                "label": -1,
                "privacy_labels": vector.tolist(),
                "split": split,
            }
        )
    if missing:
        message = f"{len(missing)} VISPR {split} images are missing under {str(root)!r}: {missing[:5]}"
        if on_missing == "raise":
            raise FileNotFoundError(message + "; pass on_missing='skip' to leave them out")
        logger.warning("%s; leaving them out", message)
    dataset = _build(
        records, [], {"dataset": "vispr", "subset": split, "has_privacy_labels": True, "static_images": True}
    )
    return _finish(dataset, streaming, num_shards)


# ---------------------------------------------------------------------------------------------------------------
# Generic collections
# ---------------------------------------------------------------------------------------------------------------


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
    base = Path(root) if root is not None else path.parent
    columns = set().union(*(row.keys() for row in rows))
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

    # class names: from (label, action) pairs when both exist, else sorted action names, else the label ids
    pairs: dict[int, str] = {}
    if "label" in columns:
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
    else:
        class_names = sorted({str(row["action"]) for row in rows})
    label_of = {name: index for index, name in enumerate(class_names)}

    records, missing_files = [], []
    for number, row in enumerate(rows, start=1):
        video = Path(str(row[path_column]))
        video = video if video.is_absolute() else base / video
        if check_files and not video.is_file():
            missing_files.append(str(video))
        label = int(row["label"]) if "label" in columns else label_of[str(row["action"])]
        privacy = (
            [_manifest_float(row.get(name), path, number, name) for name in PRIVACY_ATTRIBUTES]
            if present
            else _UNKNOWN_PRIVACY
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
    metadata = {"dataset": "manifest", "manifest": path.name, "has_privacy_labels": bool(present)}
    splits = sorted({record["split"] for record in records})
    if split is not None:
        split = canonical_split_name(split)
        if split not in splits:
            raise ValueError(f"split {split!r} is not in manifest {str(path)!r}; it has {splits}.")
        chosen = [record for record in records if record["split"] == split]
        return _finish(_build(chosen, class_names, {**metadata, "subset": split}), streaming, num_shards)
    if len(splits) == 1:
        return _finish(_build(records, class_names, {**metadata, "subset": splits[0]}), streaming, num_shards)
    result = DatasetDict(
        {
            name: _build(
                [r for r in records if r["split"] == name], class_names, {**metadata, "subset": name}
            )
            for name in splits
        }
    )
    return _finish(result, streaming, num_shards)


def load_videofolder(
    root: str | os.PathLike,
    extensions: Sequence[str] = VIDEO_EXTENSIONS + IMAGE_EXTENSIONS,
    streaming: bool = False,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset:
    """A folder of videos sorted into class folders: `<root>/<split>/<class>/<file>` or `<root>/<class>/<file>`.

    The split layout is used when every sub-folder of `root` is a split name (`train`, `val`, `test`, or an alias
    of `val`: `validation`, `valid`, `dev`, `eval`, read as `val`); it returns a `DatasetDict` checked disjoint. Class names are the sorted union over splits, so labels
    agree between splits. There are no privacy labels (NaN).

    Args:
        root (`str` or `os.PathLike`): the folder.
        extensions (`Sequence[str]`, *optional*): file extensions to take (videos and images by default).
        streaming, num_shards: as in [`load_ucf101`].

    Raises:
        FileNotFoundError: `root` does not exist or holds no matching file.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"video folder not found: {str(root)!r}")
    wanted = {e.lower() for e in extensions}
    top = sorted(p for p in root.iterdir() if p.is_dir())
    split_layout = bool(top) and all(canonical_split_name(p.name) in ("train", "val", "test") for p in top)
    split_dirs: dict[str, Path] = {"train": root}
    if split_layout:
        split_dirs = {}
        for folder in top:
            name = canonical_split_name(folder.name)
            if name in split_dirs:
                raise ValueError(
                    f"{str(root)!r} has two folders for split {name!r}: {split_dirs[name].name!r} and "
                    f"{folder.name!r} (aliases of one split: {sorted(SPLIT_ALIASES)})."
                )
            split_dirs[name] = folder

    def scan(folder: Path) -> dict[str, list[Path]]:
        found = {}
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            files = sorted(f for f in class_dir.iterdir() if f.is_file() and f.suffix.lower() in wanted)
            if files:
                found[class_dir.name] = files
        return found

    scanned = {name: scan(folder) for name, folder in split_dirs.items()}
    class_names = sorted(set().union(*(found.keys() for found in scanned.values())))
    if not class_names:
        raise FileNotFoundError(
            f"no files with extensions {sorted(wanted)} in class folders under {str(root)!r}"
        )
    label_of = {name: index for index, name in enumerate(class_names)}
    datasets_by_split = {}
    for split_name, found in scanned.items():
        records = [
            {
                "video": str(file),
                "video_id": file.stem,
                "label": label_of[cls],
                "privacy_labels": _UNKNOWN_PRIVACY,
                "split": split_name,
            }
            for cls, files in found.items()
            for file in files
        ]
        datasets_by_split[split_name] = _build(
            records,
            class_names,
            {"dataset": "videofolder", "subset": split_name, "has_privacy_labels": False},
        )
    if split_layout:
        return _finish(DatasetDict(datasets_by_split), streaming, num_shards)
    return _finish(datasets_by_split["train"], streaming, num_shards)


# ---------------------------------------------------------------------------------------------------------------
# Split hygiene
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Decoding: the clip transform, collation, bad-video accounting
# ---------------------------------------------------------------------------------------------------------------


class ClipTransform:
    """Decode rows of a loader's dataset into model inputs; use through [`make_clip_transform`]."""

    def __init__(
        self,
        mode: str = "train",
        num_frames: int = 16,
        frame_stride: int = 2,
        image_size: int | tuple[int, int] = 224,
        num_clips: int = 5,
        backend: str = "auto",
        augmentation: ClipAugmentation | str | None = "default",
        on_bad_video: str = "raise",
        short_video_policy: str = "loop",
        resize_to: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        if mode not in ("train", "eval"):
            raise ValueError(f"`mode` must be 'train' or 'eval', got {mode!r}.")
        if on_bad_video not in ("raise", "skip"):
            raise ValueError(f"`on_bad_video` must be 'raise' or 'skip', got {on_bad_video!r}.")
        if short_video_policy not in SHORT_VIDEO_POLICIES:
            raise ValueError(
                f"`short_video_policy` must be one of {SHORT_VIDEO_POLICIES}, got {short_video_policy!r}."
            )
        for name, value in {
            "num_frames": num_frames,
            "frame_stride": frame_stride,
            "num_clips": num_clips,
        }.items():
            if int(value) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {value}.")
        resolve_backend(backend)  # validates the name now rather than at the first example
        if augmentation == "default":
            augmentation = ClipAugmentation(image_size) if mode == "train" else None
        elif augmentation is not None and not isinstance(augmentation, ClipAugmentation):
            raise ValueError(
                f"`augmentation` must be 'default', None or a ClipAugmentation, got {augmentation!r}."
            )
        if mode == "eval" and augmentation is not None:
            raise ValueError(
                "`augmentation` must be None (or 'default') in 'eval' mode: evaluation is deterministic."
            )
        self.mode = mode
        self.num_frames = int(num_frames)
        self.frame_stride = int(frame_stride)
        self.image_size = image_size
        self.num_clips = int(num_clips)
        self.backend = backend
        self.augmentation = augmentation
        self.on_bad_video = on_bad_video
        self.short_video_policy = short_video_policy
        self.resize_to = resize_to
        self.max_pixels = max_pixels

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def _read(self, path: str, seed: int | None) -> np.ndarray:
        """Frames for one example: `(T, H, W, 3)` in train mode, `(num_clips * T, H, W, 3)` in eval mode."""
        if is_image_path(path):
            image = read_image(path, max_pixels=self.max_pixels)
            count = self.num_frames if self.mode == "train" else self.num_clips * self.num_frames
            return np.broadcast_to(image, (count, *image.shape))
        with VideoFile(path, backend=self.backend, max_pixels=self.max_pixels) as video:
            total = video.info.num_frames
            if self.mode == "train":
                indices = training_indices(
                    total,
                    self.num_frames,
                    self.frame_stride,
                    np.random.default_rng(seed),
                    self.short_video_policy,
                )
            else:
                indices = uniform_clip_indices(
                    total, self.num_frames, self.frame_stride, self.num_clips, self.short_video_policy
                ).reshape(-1)
            return video.get_frames(indices)

    def load(self, path: str, seed: int | None = None) -> torch.Tensor:
        """Decode and transform one file.

        Args:
            path (`str`): video or image file.
            seed (`int`, *optional*): seed of the training randomness (frame window and augmentation); `None`
                draws one from torch's global generator (seeded per DataLoader worker).

        Returns:
            `torch.FloatTensor` in [0, 1]: `(T, C, H, W)` in train mode, `(num_clips, T, C, H, W)` in eval mode.
        """
        if self.mode == "train" and seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        clip = frames_to_clip(np.ascontiguousarray(self._read(path, seed)))
        if self.mode == "eval":
            clip = clip_eval_transform(clip, self.image_size, self.resize_to)
            return clip.reshape(self.num_clips, self.num_frames, *clip.shape[1:])
        if self.augmentation is not None:
            return self.augmentation(clip, generator=torch.Generator().manual_seed(seed))
        return clip_eval_transform(clip, self.image_size, self.resize_to)

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {
            "pixel_values": [],
            "labels": [],
            "privacy_labels": [],
            "video_id": [],
            "bad_video": [],
        }
        for index, path in enumerate(batch["video"]):
            try:
                pixel_values, bad = self.load(path), None
            except (VideoDecodeError, OSError) as error:
                if self.on_bad_video == "raise":
                    raise
                logger.warning("skipping a bad video: %s", error)
                pixel_values, bad = None, str(path)
            out["pixel_values"].append(pixel_values)
            out["labels"].append(int(batch["label"][index]) if "label" in batch else -1)
            privacy = batch["privacy_labels"][index] if "privacy_labels" in batch else _UNKNOWN_PRIVACY
            out["privacy_labels"].append(torch.as_tensor(privacy, dtype=torch.float32))
            out["video_id"].append(batch["video_id"][index] if "video_id" in batch else Path(path).stem)
            out["bad_video"].append(bad)
        return out


def make_clip_transform(
    mode: str = "train",
    num_frames: int = 16,
    frame_stride: int = 2,
    image_size: int | tuple[int, int] = 224,
    num_clips: int = 5,
    backend: str = "auto",
    augmentation: ClipAugmentation | str | None = "default",
    on_bad_video: str = "raise",
    short_video_policy: str = "loop",
    resize_to: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> ClipTransform:
    """The transform to set on a loader's dataset: `dataset.with_transform(make_clip_transform(...))`.

    Train mode: one random window (`video.training_indices`) and `augmentation`; eval mode: `num_clips`
    evenly spread windows (`video.uniform_clip_indices`), shorter-side resize and centre crop. Images (VISPR)
    become static clips. Training randomness is drawn from torch's global generator, which DataLoader seeds
    differently in every worker and epoch: `torch.manual_seed` makes a run reproducible.

    Args:
        mode (`str`, *optional*, defaults to `"train"`): `"train"` or `"eval"`.
        num_frames (`int`, *optional*, defaults to 16): frames per clip.
        frame_stride (`int`, *optional*, defaults to 2): distance between sampled frames.
        image_size (`int` or `tuple[int, int]`, *optional*, defaults to 224): output frame size.
        num_clips (`int`, *optional*, defaults to 5): clips per video in eval mode.
        backend (`str`, *optional*, defaults to `"auto"`): video decoder, `"decord"`, `"pyav"` or `"auto"`.
        augmentation ([`ClipAugmentation`], `"default"` or `None`, *optional*, defaults to `"default"`):
            train-mode augmentation; `"default"` is `ClipAugmentation(image_size)`, `None` uses the evaluation
            resize and crop (still with a random window). Must be `None`/`"default"` in eval mode.
        on_bad_video (`str`, *optional*, defaults to `"raise"`): `"raise"` or `"skip"` (see the module docstring).
        short_video_policy (`str`, *optional*, defaults to `"loop"`): `"loop"` or `"pad"`, see `video_io`.
        resize_to (`int`, *optional*): shorter side before the centre crop (default: the crop's shorter side).
        max_pixels (`int`, *optional*, defaults to `video.DEFAULT_MAX_PIXELS`): refuse larger frames.

    Returns:
        [`ClipTransform`]: a picklable callable from a batch of rows to
        `{"pixel_values", "labels", "privacy_labels", "video_id", "bad_video"}` lists.
    """
    return ClipTransform(
        mode,
        num_frames,
        frame_stride,
        image_size,
        num_clips,
        backend,
        augmentation,
        on_bad_video,
        short_video_policy,
        resize_to,
        max_pixels,
    )


def apply_clip_transform(
    dataset: Dataset | IterableDataset,
    transform: ClipTransform,
) -> Dataset | IterableDataset:
    """Set `transform` on a dataset: `with_transform` for a `Dataset`, a lazy `map` for an `IterableDataset`."""
    if isinstance(dataset, IterableDataset):
        columns = list(dataset.features) if dataset.features is not None else None
        return dataset.map(transform, batched=True, batch_size=1, remove_columns=columns)
    return dataset.with_transform(transform)


def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack decoded examples into a batch, dropping the ones a `"skip"` transform could not decode.

    Args:
        batch (`list[dict]`): examples from [`ClipTransform`].

    Returns:
        `dict` with `pixel_values` (`(B, T, C, H, W)` or `(B, num_clips, T, C, H, W)`), `labels` (`(B,)` long),
        `privacy_labels` (`(B, 5)` float), `video_id` (`list[str]`) and `skipped_videos` (`list[str]`, the paths
        left out). If every example was bad, `B` is 0 and `pixel_values` is an empty tensor.
    """
    good = [example for example in batch if example.get("pixel_values") is not None]
    skipped = [str(example.get("bad_video")) for example in batch if example.get("pixel_values") is None]
    if not good:
        return {
            "pixel_values": torch.empty(0),
            "labels": torch.empty(0, dtype=torch.long),
            "privacy_labels": torch.empty(0, len(PRIVACY_ATTRIBUTES)),
            "video_id": [],
            "skipped_videos": skipped,
        }
    return {
        "pixel_values": torch.stack([example["pixel_values"] for example in good]),
        "labels": torch.tensor([int(example["labels"]) for example in good], dtype=torch.long),
        "privacy_labels": torch.stack(
            [torch.as_tensor(example["privacy_labels"], dtype=torch.float32) for example in good]
        ),
        "video_id": [example["video_id"] for example in good],
        "skipped_videos": skipped,
    }


class BadVideoLog:
    """Counts the videos left out by `on_bad_video="skip"`, in the process that consumes the batches.

    Transforms run inside DataLoader workers, so the count is taken from the batches (`skipped_videos`, filled by
    [`collate_clips`]) where they arrive:

    ```python
    >>> log = BadVideoLog()
    >>> for batch in log.watch(loader):  # doctest: +SKIP
    ...     train_step(batch)
    >>> log.count, log.paths  # doctest: +SKIP
    ```

    Attributes:
        paths (`list[str]`): the skipped files, in the order seen (a file skipped in several epochs repeats).
    """

    def __init__(self) -> None:
        self.paths: list[str] = []

    @property
    def count(self) -> int:
        """Number of skipped examples."""
        return len(self.paths)

    def record_batch(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        """Record the `skipped_videos` of a collated batch; returns the batch unchanged."""
        self.paths.extend(batch.get("skipped_videos", []))
        return batch

    def watch(self, batches: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Yield the batches of a loader, recording what each one skipped."""
        for batch in batches:
            yield self.record_batch(batch)

    def __repr__(self) -> str:
        return f"BadVideoLog(count={self.count}, paths={self.paths[:5]}{'...' if self.count > 5 else ''})"


class CrossDatasetPairs:
    """Paired batches from two datasets: action batches from one, privacy batches from another.

    The cross-dataset protocol of VITA and SPAct (e.g. actions from UCF101, privacy from VISPR): each step gets
    `{"action": batch, "privacy": batch}`. An epoch is one pass over the action data; the privacy loader starts
    over whenever it runs out.

    Args:
        action_dataset (`Dataset` or `IterableDataset`): decoded (transformed) action examples.
        privacy_dataset (`Dataset` or `IterableDataset`): decoded examples with privacy labels.
        batch_size (`int`, *optional*, defaults to 8): action batch size.
        privacy_batch_size (`int`, *optional*): privacy batch size (defaults to `batch_size`).
        shuffle (`bool`, *optional*, defaults to `True`): shuffle map-style datasets.
        num_workers (`int`, *optional*, defaults to 0): DataLoader workers for each of the two loaders.
        drop_last (`bool`, *optional*, defaults to `True`): drop incomplete last batches.
        seed (`int`, *optional*): seed of the shuffling.
        collate_fn (`Callable`, *optional*, defaults to [`collate_clips`]): batch collation.

    Attributes:
        action_loader, privacy_loader (`torch.utils.data.DataLoader`): the two loaders (to `prepare` them with
        accelerate, for instance).
    """

    def __init__(
        self,
        action_dataset: Dataset | IterableDataset,
        privacy_dataset: Dataset | IterableDataset,
        batch_size: int = 8,
        privacy_batch_size: int | None = None,
        shuffle: bool = True,
        num_workers: int = 0,
        drop_last: bool = True,
        seed: int | None = None,
        collate_fn: Callable[[list[dict[str, Any]]], dict[str, Any]] = collate_clips,
    ) -> None:
        from torch.utils.data import DataLoader

        def loader(dataset, size: int, offset: int) -> DataLoader:
            iterable = isinstance(dataset, (IterableDataset, torch.utils.data.IterableDataset))
            generator = torch.Generator().manual_seed(seed + offset) if seed is not None else None
            return DataLoader(
                dataset,
                batch_size=size,
                shuffle=shuffle and not iterable,
                num_workers=num_workers,
                drop_last=drop_last,
                collate_fn=collate_fn,
                generator=generator,
            )

        self.action_loader = loader(action_dataset, batch_size, 0)
        self.privacy_loader = loader(privacy_dataset, privacy_batch_size or batch_size, 1)

    def __len__(self) -> int:
        return len(self.action_loader)

    def __iter__(self) -> Iterator[dict[str, dict[str, Any]]]:
        privacy_iterator = iter(self.privacy_loader)
        for action_batch in self.action_loader:
            try:
                privacy_batch = next(privacy_iterator)
            except StopIteration:
                privacy_iterator = iter(self.privacy_loader)
                try:
                    privacy_batch = next(privacy_iterator)
                except StopIteration:
                    raise ValueError(
                        "the privacy dataset yields no batch (empty, or smaller than the batch size with drop_last)"
                    ) from None
            yield {"action": action_batch, "privacy": privacy_batch}


__all__ = [
    "MANIFEST_COLUMNS",
    "SPLIT_ALIASES",
    "SPLIT_NAMES",
    "BadVideoLog",
    "ClipTransform",
    "CrossDatasetPairs",
    "SplitOverlapError",
    "apply_clip_transform",
    "canonical_split_name",
    "check_disjoint_splits",
    "collate_clips",
    "dataset_metadata",
    "hmdb51_minus_pa_hmdb51",
    "load_hmdb51",
    "load_manifest",
    "load_pa_hmdb51",
    "load_ucf101",
    "load_videofolder",
    "load_vispr",
    "load_vp_hmdb51",
    "load_vp_ucf101",
    "make_clip_transform",
    "privacy_attribute_names",
    "video_features",
]
