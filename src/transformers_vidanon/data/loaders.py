"""Loaders of the video collections: UCF101, HMDB51, their privacy-labelled versions (VP-UCF101, VP-HMDB51,
PA-HMDB51 and the HMDB51 training videos outside it), VISPR images, and a generic folder of class sub-folders.

Every loader returns a `datasets.Dataset` (or, with `streaming=True`, a `datasets.IterableDataset`; with
`subset=None`, a `DatasetDict` of every split, checked disjoint) whose rows are **not decoded** and have the
columns of [`schema`]. Decoding happens on access through [`transforms.ClipTransform`].
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, IterableDataset

from ..video import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
)
from .labels import (
    LabelFileError,
    PrivacyLabels,
    load_privacy_labels,
    load_shipped_privacy_labels,
    read_hmdb51_split,
    read_pa_hmdb51_annotations,
    read_ucf101_class_index,
    read_ucf101_split,
    read_vispr_annotations,
    video_key,
)
from .schema import UNKNOWN_PRIVACY, build_dataset, dataset_metadata, finish_dataset
from .splits import SPLIT_ALIASES, canonical_split_name, check_disjoint_splits

logger = logging.getLogger(__name__)


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


def _record(path: Path, label: int, split: str, privacy_labels: list[float] = UNKNOWN_PRIVACY) -> dict[str, Any]:
    """One row of a loader's dataset (the columns of [`schema`]): the file `path`, its stem as `video_id`."""
    return {"video": str(path), "video_id": path.stem, "label": label, "privacy_labels": privacy_labels,
            "split": split}


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


def _official_splits(
    name: str,
    listing: Callable[[Path, int, str], tuple[list[str], list[tuple[str, str]], list[int]]],
    loader: Callable[..., Dataset],
    root: Path,
    split_dir: Path,
    split: int,
    subset: str | None,
    on_missing: str,
    streaming: bool,
    num_shards: int,
) -> Dataset | DatasetDict | IterableDataset:
    """The collection `name` (as errors write it) from its official split files, without privacy labels: the
    videos `listing` lists for one subset (`(class names, (class folder, file name) of each video, labels)`), found
    under `root`; or for `subset=None` a `DatasetDict` of `loader`'s train and test subsets."""
    if subset is None:
        splits = {s: loader(root, split_dir, split, s, on_missing) for s in ("train", "test")}
        return finish_dataset(DatasetDict(splits), streaming, num_shards)
    class_names, wanted, labels = listing(split_dir, split, subset)
    paths = _resolve_files(wanted, _FileIndex(root, VIDEO_EXTENSIONS), on_missing, f"{name} split {split} {subset}")
    split_name = subset if subset in ("train", "test") else "train"  # HMDB51's "all" is a training set
    records = [_record(path, label, split_name) for label, path in zip(labels, paths) if path is not None]
    metadata = {"dataset": name.lower(), "split_number": split, "subset": subset, "has_privacy_labels": False}
    return finish_dataset(build_dataset(records, class_names, metadata), streaming, num_shards)


def _ucf101_listing(split_dir: Path, split: int, subset: str) -> tuple[list[str], list[tuple[str, str]], list[int]]:
    class_names = read_ucf101_class_index(split_dir / "classInd.txt")
    entries = read_ucf101_split(split_dir, split=split, subset=subset)
    wanted = [(relative.split("/")[0], relative.split("/")[-1]) for relative, _ in entries]
    return class_names, wanted, [label for _, label in entries]


def _hmdb51_listing(split_dir: Path, split: int, subset: str) -> tuple[list[str], list[tuple[str, str]], list[int]]:
    class_names, entries = read_hmdb51_split(split_dir, split=split, subset=subset)
    label_of = {name: index for index, name in enumerate(class_names)}
    return class_names, entries, [label_of[class_name] for class_name, _ in entries]


def load_ucf101(
    root: str | os.PathLike, split_dir: str | os.PathLike, split: int = 1, subset: str | None = "train",
    on_missing: str = "raise", streaming: bool = False, num_shards: int = 1,
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
    return _official_splits("UCF101", _ucf101_listing, load_ucf101, Path(root), Path(split_dir), split, subset,
                            on_missing, streaming, num_shards)


def load_hmdb51(
    root: str | os.PathLike, split_dir: str | os.PathLike, split: int = 1, subset: str | None = "train",
    on_missing: str = "raise", streaming: bool = False, num_shards: int = 1,
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
    return _official_splits("HMDB51", _hmdb51_listing, load_hmdb51, Path(root), Path(split_dir), split, subset,
                            on_missing, streaming, num_shards)


def _privacy_version(
    loader: Callable[..., Dataset], name: str, summary: str
) -> Callable[..., Dataset | DatasetDict | IterableDataset]:
    """The loader of a privacy-labelled version `name` of a collection: `loader`'s videos joined with video-level
    privacy labels (matched on the file stem; default: the labels shipped as `name`)."""

    def load(
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
        privacy = _privacy_source(labels_path, name)
        if subset is None:
            splits = {
                s: load(root, split_dir, split, s, privacy, on_missing, on_missing_labels) for s in ("train", "test")
            }
            return finish_dataset(DatasetDict(splits), streaming, num_shards)
        plain = loader(root, split_dir, split=split, subset=subset, on_missing=on_missing)
        records = _attach_privacy(plain.to_list(), privacy, on_missing_labels, f"{name} split {split} {subset}")
        metadata = {
            **dataset_metadata(plain),
            "dataset": name,
            "has_privacy_labels": True,
            "privacy_label_source": os.path.basename(privacy.source),
        }
        return finish_dataset(build_dataset(records, plain.features["label"].names, metadata), streaming, num_shards)

    load.__name__ = load.__qualname__ = f"load_{name}"
    load.__doc__ = f"""{summary}

    Args:
        root, split_dir, split, subset, on_missing, streaming, num_shards: as in [`{loader.__name__}`].
        labels_path (`str`, `os.PathLike` or [`PrivacyLabels`], *optional*):
            a JSON or original pickle label file; `None` uses the labels shipped with the package.
        on_missing_labels (`str`, *optional*, defaults to `"raise"`): videos without labels: `"raise"` or `"skip"`.
    """
    return load


load_vp_ucf101 = _privacy_version(
    load_ucf101, "vp_ucf101", "VP-UCF101: [`load_ucf101`] joined with video-level privacy labels (matched on the file "
    "stem).",
)
load_vp_hmdb51 = _privacy_version(
    load_hmdb51, "vp_hmdb51",
    "VP-HMDB51: [`load_hmdb51`] (one split number, never a union of the three) joined with privacy labels.",
)


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
        _record(path, label_of[cls], "test", annotations[(cls, name)].tolist())
        for (cls, name), path in zip(wanted, paths)
        if path is not None
    ]
    dataset = build_dataset(
        records,
        names,
        {
            "dataset": "pa_hmdb51",
            "has_privacy_labels": True,
            "privacy_reduction": "positive if any annotated frame range is > 0",
        },
    )
    return finish_dataset(dataset, streaming, num_shards)


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
    plain = load_hmdb51(root, split_dir, split, subset, on_missing)
    class_names = plain.features["label"].names
    annotated = {video_key(name) for _, name in read_pa_hmdb51_annotations(annotation_path)}
    records = [{**r, "split": "train"} for r in plain.to_list() if video_key(r["video"]) not in annotated]
    if with_privacy_labels:
        records = _attach_privacy(
            records, _privacy_source(labels_path, "vp_hmdb51"), "raise", "HMDB51 minus PA-HMDB51"
        )
    dataset = build_dataset(
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
    return finish_dataset(dataset, streaming, num_shards)


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
        records.append(_record(path, -1, split, vector.tolist()))
    if missing:
        message = f"{len(missing)} VISPR {split} images are missing under {str(root)!r}: {missing[:5]}"
        if on_missing == "raise":
            raise FileNotFoundError(message + "; pass on_missing='skip' to leave them out")
        logger.warning("%s; leaving them out", message)
    dataset = build_dataset(
        records, [], {"dataset": "vispr", "subset": split, "has_privacy_labels": True, "static_images": True}
    )
    return finish_dataset(dataset, streaming, num_shards)


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
        records = [_record(file, label_of[cls], split_name) for cls, files in found.items() for file in files]
        datasets_by_split[split_name] = build_dataset(
            records,
            class_names,
            {"dataset": "videofolder", "subset": split_name, "has_privacy_labels": False},
        )
    if split_layout:
        return finish_dataset(DatasetDict(datasets_by_split), streaming, num_shards)
    return finish_dataset(datasets_by_split["train"], streaming, num_shards)
