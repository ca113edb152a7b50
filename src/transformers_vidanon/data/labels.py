"""Label and split files of the video datasets: parsers that return plain Python/numpy values.

Privacy labels are 5 binary attributes per video, always in the order of [`PRIVACY_ATTRIBUTES`]:
`skin_color, face, gender, nudity, relationship`.

Files read here:

- VP-UCF101 / VP-HMDB51 privacy labels: the JSON files shipped in `data/labels/`
  (`{"attributes": [...5 names], "labels": {"<class>/<file>.mp4": [0/1 x 5]}}`) or the original Python pickles
  `{path: int64 array (1, 5)}`, read through a restricted unpickler that only admits numpy arrays, dtypes and
  plain containers ([`load_privacy_labels`]). Keys are matched to videos on the file stem, so labels keyed
  `.mp4` apply to `.avi` videos.
- UCF101 splits: `classInd.txt` (`"<1-based id> <Class>"`), `trainlist0N.txt` (`"<Class>/<file>.avi <id>"`),
  `testlist0N.txt` (`"<Class>/<file>.avi"`).
- HMDB51 splits: `<class>_test_splitN.txt`, lines `"<file>.avi <tag>"` with tag 1 (train), 2 (test), 0 (unused).
- PA-HMDB51 annotations ([`read_pa_hmdb51_annotations`], layout documented there).
- VISPR annotations ([`read_vispr_annotations`], layout and attribute mapping documented there).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..configuration_vidanon import DEFAULT_PRIVACY_LABEL_NAMES

logger = logging.getLogger(__name__)

PRIVACY_ATTRIBUTES: tuple[str, ...] = tuple(DEFAULT_PRIVACY_LABEL_NAMES)
SHIPPED_PRIVACY_LABELS: dict[str, str] = {
    "vp_ucf101": "vp_ucf101_privacy_labels.json",
    "vp_hmdb51": "vp_hmdb51_privacy_labels.json",
}
SUBSETS: tuple[str, ...] = ("train", "test")


class LabelFileError(ValueError):
    """A label or split file is missing something or malformed; the message names the file (and line)."""


class UnsafePickleError(LabelFileError):
    """A pickle file refers to a Python object outside the admitted numpy arrays, dtypes and plain containers."""


# ---------------------------------------------------------------------------------------------------------------
# Privacy labels (VP-UCF101, VP-HMDB51)
# ---------------------------------------------------------------------------------------------------------------


def video_key(path: str | os.PathLike) -> str:
    """Matching key of a video: its file name without extension (`"a/b/v_X_g01_c01.avi"` -> `"v_X_g01_c01"`)."""
    return Path(str(path).replace("\\", "/")).stem


@dataclass
class PrivacyLabels:
    """Video-level privacy labels, looked up by file stem.

    Attributes:
        attributes (`tuple[str, ...]`): attribute names, in the order of the label vectors.
        labels (`dict[str, np.ndarray]`): float32 vectors of shape `(len(attributes),)`, keyed by the file's own
            keys (`"<class>/<file>.mp4"` for the shipped files).
        source (`str`): where they were read from.
    """

    attributes: tuple[str, ...]
    labels: dict[str, np.ndarray]
    source: str = ""
    _by_stem: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for key in self.labels:
            stem = video_key(key)
            # a stem shared by two keys is ambiguous on its own: remember it, and resolve it with the class
            self._by_stem[stem] = None if stem in self._by_stem else key

    def __len__(self) -> int:
        return len(self.labels)

    def get(self, path: str | os.PathLike, class_name: str | None = None) -> np.ndarray | None:
        """Labels of a video, or `None` if it has none.

        Args:
            path (`str` or `os.PathLike`): the video (any extension; only the stem and folder are used).
            class_name (`str`, *optional*): the video's class folder, to tell apart equal stems.

        Returns:
            `np.ndarray` of shape `(len(attributes),)`, float32, or `None`.
        """
        stem = video_key(path)
        if stem not in self._by_stem:
            return None
        key = self._by_stem[stem]
        if key is None:  # ambiguous stem: require the class folder to match too
            class_name = class_name or Path(str(path)).parent.name
            for candidate in self.labels:
                if video_key(candidate) == stem and Path(candidate).parent.name == class_name:
                    return self.labels[candidate]
            return None
        return self.labels[key]


MAX_PICKLED_ARRAY_BYTES = 1 << 20
"""Largest array a label pickle may build (a label vector is 5 values): checked before anything is allocated."""


def _bounded_array_class(source: str) -> type:
    """`numpy.ndarray` as a label pickle may call it: shape and dtype are bounded before memory is allocated.

    A pickle can call `numpy.ndarray(shape)` directly (a few bytes that allocate gigabytes); arrays built by
    `_reconstruct` + `__setstate__` carry their data in the file and are bounded by its size.
    """

    class BoundedArray(np.ndarray):
        def __new__(cls, shape, dtype=float, *args, **kwargs):
            try:
                dims = (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
                itemsize = np.dtype(dtype).itemsize
            except (TypeError, ValueError, OverflowError) as error:
                raise LabelFileError(f"{source!r} is not a valid label pickle: bad array shape or dtype ({error})")
            if any(d < 0 for d in dims):
                raise LabelFileError(f"{source!r} is not a valid label pickle: negative array shape {dims}")
            size = int(np.prod(dims, dtype=object)) * max(1, itemsize)
            if size > MAX_PICKLED_ARRAY_BYTES:
                raise LabelFileError(
                    f"refusing to load {source!r}: it builds an array of shape {dims} and dtype {np.dtype(dtype)} "
                    f"({size} bytes), more than the {MAX_PICKLED_ARRAY_BYTES} bytes a label array may have"
                )
            return np.ndarray.__new__(np.ndarray, dims, dtype, *args, **kwargs)

    return BoundedArray


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals numpy arrays need; anything else raises. Arrays are size-bounded."""

    _ALLOWED: frozenset[tuple[str, str]] = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("_codecs", "encode"),  # protocol-2 pickles store array bytes as latin-1 text
            ("collections", "OrderedDict"),
            ("builtins", "set"),
            ("builtins", "frozenset"),
        }
    )

    def __init__(self, file, source: str) -> None:
        super().__init__(file)
        self._source = source
        self._array_class = _bounded_array_class(source)

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise UnsafePickleError(
                f"refusing to load {self._source!r}: it refers to {module}.{name}, and only numpy arrays, dtypes "
                "and plain containers are admitted in label pickles"
            )
        if (module, name) == ("numpy", "ndarray"):
            return self._array_class
        if module.startswith("numpy.core."):  # pickles written by numpy 1.x
            module = "numpy._core." + module[len("numpy.core.") :]
        if module.startswith("numpy._core.") and not hasattr(np, "_core"):  # running on numpy 1.x
            module = "numpy.core." + module[len("numpy._core.") :]
        return super().find_class(module, name)


def restricted_pickle_load(path: str | os.PathLike):
    """Load a pickle that may only contain numpy arrays/dtypes/scalars and plain containers.

    Args:
        path (`str` or `os.PathLike`): the pickle file.

    Returns:
        The unpickled object.

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle refers to any other Python object (e.g. `os.system`).
        LabelFileError: the file is not a valid pickle, or builds an array above `MAX_PICKLED_ARRAY_BYTES`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"privacy label file not found: {str(path)!r}")
    with open(path, "rb") as handle:
        try:
            return _NumpyOnlyUnpickler(handle, str(path)).load()
        except LabelFileError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                MemoryError, OverflowError, RecursionError) as error:
            raise LabelFileError(f"{str(path)!r} is not a valid label pickle: {type(error).__name__}: {error}") from None


def _as_label_vector(value, source: str, key: str, num_attributes: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size != num_attributes:
        raise LabelFileError(
            f"{source!r}: labels of {key!r} have {array.size} values, expected {num_attributes}."
        )
    if not np.all((array == 0) | (array == 1)):
        raise LabelFileError(f"{source!r}: labels of {key!r} must be 0/1, got {array.tolist()}.")
    return array.astype(np.float32)


def load_privacy_labels(path: str | os.PathLike) -> PrivacyLabels:
    """Read video-level privacy labels from a JSON file or an original label pickle.

    JSON: `{"attributes": [5 names], "labels": {key: [5 x 0/1]}}` (the shipped files), or a plain
    `{key: [5 x 0/1]}` mapping in the order of [`PRIVACY_ATTRIBUTES`]. Pickle (`.pkl`, `.pickle`):
    `{key: int array of shape (1, 5) or (5,)}`, read by [`restricted_pickle_load`].

    Args:
        path (`str` or `os.PathLike`): the label file.

    Returns:
        [`PrivacyLabels`].

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: a pickle refers to anything but numpy arrays and plain containers.
        LabelFileError: malformed content (wrong number of attributes, values other than 0/1, unknown names).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"privacy label file not found: {source!r}")
    if path.suffix.lower() in (".pkl", ".pickle"):
        raw = restricted_pickle_load(path)
        attributes = PRIVACY_ATTRIBUTES
        mapping = raw
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise LabelFileError(f"{source!r} is not valid JSON: {error}") from error
        if isinstance(raw, dict) and "labels" in raw:
            attributes = tuple(raw.get("attributes", PRIVACY_ATTRIBUTES))
            mapping = raw["labels"]
        else:
            attributes, mapping = PRIVACY_ATTRIBUTES, raw
    if not isinstance(mapping, Mapping) or not mapping:
        raise LabelFileError(
            f"{source!r} must map video paths to label vectors; got {type(mapping).__name__}."
        )
    if set(attributes) != set(PRIVACY_ATTRIBUTES) or len(attributes) != len(PRIVACY_ATTRIBUTES):
        raise LabelFileError(f"{source!r}: attributes {list(attributes)} are not {list(PRIVACY_ATTRIBUTES)}.")
    order = [attributes.index(name) for name in PRIVACY_ATTRIBUTES]
    labels = {
        str(key): _as_label_vector(value, source, str(key), len(attributes))[order]
        for key, value in mapping.items()
    }
    return PrivacyLabels(attributes=PRIVACY_ATTRIBUTES, labels=labels, source=source)


def shipped_privacy_labels_path(name: str) -> Path:
    """Path of a label file shipped with the package: `"vp_ucf101"` or `"vp_hmdb51"`."""
    if name not in SHIPPED_PRIVACY_LABELS:
        raise ValueError(
            f"unknown shipped privacy labels {name!r}; available: {sorted(SHIPPED_PRIVACY_LABELS)}."
        )
    return Path(str(resources.files("transformers_vidanon.data") / "labels" / SHIPPED_PRIVACY_LABELS[name]))


def load_shipped_privacy_labels(name: str) -> PrivacyLabels:
    """The VP-UCF101 (`"vp_ucf101"`) or VP-HMDB51 (`"vp_hmdb51"`) labels shipped with the package."""
    return load_privacy_labels(shipped_privacy_labels_path(name))


# ---------------------------------------------------------------------------------------------------------------
# Split files
# ---------------------------------------------------------------------------------------------------------------


def _read_lines(path: Path, what: str) -> list[tuple[int, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {str(path)!r}")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]


def _check_split_number(split: int) -> None:
    if split not in (1, 2, 3):
        raise ValueError(f"`split` must be 1, 2 or 3 (the official splits), got {split!r}.")


def _check_subset(subset: str, allowed: Iterable[str] = SUBSETS) -> None:
    allowed = tuple(allowed)
    if subset not in allowed:
        raise ValueError(f"`subset` must be one of {allowed}, got {subset!r}.")


def read_ucf101_class_index(path: str | os.PathLike) -> list[str]:
    """Read UCF101's `classInd.txt` (lines `"<1-based id> <ClassName>"`).

    Returns:
        `list[str]`: class names, position `i` holding the class of id `i + 1` (0-based labels).

    Raises:
        FileNotFoundError: no such file.
        LabelFileError: a malformed line, or ids that are not exactly 1..N.
    """
    path = Path(path)
    classes: dict[int, str] = {}
    for number, line in _read_lines(path, "UCF101 class index"):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise LabelFileError(f"{str(path)!r} line {number}: expected '<id> <ClassName>', got {line!r}.")
        class_id = int(parts[0])
        if class_id in classes:
            raise LabelFileError(f"{str(path)!r} line {number}: class id {class_id} appears twice.")
        classes[class_id] = parts[1]
    if sorted(classes) != list(range(1, len(classes) + 1)):
        raise LabelFileError(
            f"{str(path)!r}: class ids must be 1..{len(classes)}, got {sorted(classes)[:5]}..."
        )
    return [classes[i] for i in range(1, len(classes) + 1)]


def read_ucf101_split(
    split_dir: str | os.PathLike, split: int = 1, subset: str = "train"
) -> list[tuple[str, int]]:
    """Read one UCF101 split list.

    Args:
        split_dir (`str` or `os.PathLike`): folder with `classInd.txt`, `trainlist0N.txt`, `testlist0N.txt`.
        split (`int`, *optional*, defaults to 1): 1, 2 or 3.
        subset (`str`, *optional*, defaults to `"train"`): `"train"` or `"test"`.

    Returns:
        `list[tuple[str, int]]`: `("<Class>/<file>.avi", 0-based label)` per line, in file order. Test lines carry
        no id: their label comes from the class folder (matched to `classInd.txt` case-insensitively, as UCF101
        writes `HandstandPushups/v_HandStandPushups_...`).

    Raises:
        FileNotFoundError: a missing list file.
        LabelFileError: a malformed line, an unknown class, or an id that contradicts the folder.
    """
    _check_split_number(split)
    _check_subset(subset)
    split_dir = Path(split_dir)
    classes = read_ucf101_class_index(split_dir / "classInd.txt")
    by_folder = {name.lower(): index for index, name in enumerate(classes)}
    list_path = split_dir / f"{subset}list0{split}.txt"
    entries: list[tuple[str, int]] = []
    for number, line in _read_lines(list_path, f"UCF101 {subset} list"):
        parts = line.split()
        relative = parts[0].replace("\\", "/")
        folder = relative.split("/")[0] if "/" in relative else None
        if folder is None or len(parts) > 2:
            raise LabelFileError(
                f"{str(list_path)!r} line {number}: expected '<Class>/<file>[ <id>]', got {line!r}."
            )
        if folder.lower() not in by_folder:
            raise LabelFileError(
                f"{str(list_path)!r} line {number}: class folder {folder!r} is not in classInd.txt."
            )
        label = by_folder[folder.lower()]
        if len(parts) == 2 and (not parts[1].isdigit() or int(parts[1]) - 1 != label):
            raise LabelFileError(
                f"{str(list_path)!r} line {number}: id {parts[1]} does not match class folder {folder!r} "
                f"(id {label + 1} in classInd.txt)."
            )
        entries.append((relative, label))
    return entries


HMDB51_TAGS: dict[str, str] = {"train": "1", "test": "2", "unused": "0"}


def read_hmdb51_split(
    split_dir: str | os.PathLike,
    split: int = 1,
    subset: str = "train",
) -> tuple[list[str], list[tuple[str, str]]]:
    """Read one HMDB51 split from the 51 files `<class>_test_split<split>.txt`.

    Each line is `"<file>.avi <tag>"`, tag 1 = train, 2 = test, 0 = unused in this split. Only the files of the
    requested split number are read (never a union over the three splits, which would put the same video in
    train and test).

    Args:
        split_dir (`str` or `os.PathLike`): folder with the split files.
        split (`int`, *optional*, defaults to 1): 1, 2 or 3.
        subset (`str`, *optional*, defaults to `"train"`): `"train"`, `"test"`, `"unused"` or `"all"` (every listed
            video, whatever its tag).

    Returns:
        `(class_names, entries)`: the sorted class names (label = position), and `(class, file)` pairs in file
        order.

    Raises:
        FileNotFoundError: no split file for this split number.
        LabelFileError: a malformed line, or a video listed twice.
    """
    _check_split_number(split)
    _check_subset(subset, (*HMDB51_TAGS, "all"))
    split_dir = Path(split_dir)
    pattern = re.compile(rf"^(?P<cls>.+)_test_split{split}\.txt$")
    files = sorted(p for p in split_dir.glob(f"*_test_split{split}.txt") if pattern.match(p.name))
    if not files:
        raise FileNotFoundError(f"no HMDB51 split files '*_test_split{split}.txt' in {str(split_dir)!r}")
    class_names = [pattern.match(p.name).group("cls") for p in files]
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for class_name, list_path in zip(class_names, files):
        for number, line in _read_lines(list_path, "HMDB51 split file"):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise LabelFileError(
                    f"{str(list_path)!r} line {number}: expected '<file> 0|1|2', got {line!r}."
                )
            if parts[0] in seen:
                raise LabelFileError(f"{str(list_path)!r} line {number}: {parts[0]!r} is listed twice.")
            seen.add(parts[0])
            if subset == "all" or parts[1] == HMDB51_TAGS[subset]:
                entries.append((class_name, parts[0]))
    return class_names, entries


# ---------------------------------------------------------------------------------------------------------------
# PA-HMDB51
# ---------------------------------------------------------------------------------------------------------------


def _reduce_pa_attribute(spans, source: str, video: str, attribute: str) -> float:
    """1.0 if any annotated frame range has a value > 0, else 0.0."""
    if not isinstance(spans, list) or not spans:
        raise LabelFileError(f"{source!r}: {video!r} has no frame ranges for {attribute!r}.")
    positive = False
    for span in spans:
        if not isinstance(span, list) or len(span) != 3:
            raise LabelFileError(
                f"{source!r}: {video!r} {attribute!r}: each range must be [first_frame, last_frame, value], got {span!r}."
            )
        first, last, value = span
        if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last):
            raise LabelFileError(f"{source!r}: {video!r} {attribute!r}: invalid frame range {span!r}.")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, int) and v >= 0 for v in values):
            raise LabelFileError(
                f"{source!r}: {video!r} {attribute!r}: values must be integers >= 0, got {value!r}."
            )
        positive = positive or any(v > 0 for v in values)
    return 1.0 if positive else 0.0


def _parse_pa_class(mapping, source: str, class_name: str, out: dict[tuple[str, str], np.ndarray]) -> None:
    if not isinstance(mapping, dict):
        raise LabelFileError(f"{source!r}: class {class_name!r} must map video files to annotations.")
    for video, annotation in mapping.items():
        if not isinstance(annotation, dict):
            raise LabelFileError(f"{source!r}: annotation of {video!r} must be an object.")
        missing = [name for name in PRIVACY_ATTRIBUTES if name not in annotation]
        if missing:
            raise LabelFileError(f"{source!r}: {video!r} lacks attributes {missing}.")
        out[(class_name, video)] = np.array(
            [_reduce_pa_attribute(annotation[name], source, video, name) for name in PRIVACY_ATTRIBUTES],
            dtype=np.float32,
        )


def read_pa_hmdb51_annotations(path: str | os.PathLike) -> dict[tuple[str, str], np.ndarray]:
    """Read PA-HMDB51's frame-range privacy annotations and reduce them to video-level labels.

    Layout (the one PA-HMDB51 releases): one JSON file per action class, `<class>.json`, mapping each video file
    to, per attribute, a list of `[first_frame, last_frame, value]` ranges (inclusive); `value` is an integer or
    a list of integers (several people), and extra keys (`"review"`, `"note"`) are ignored:

    ```json
    {"<video>.avi": {"skin_color": [[0, 258, 1]], "face": [[0, 195, 2], [196, 258, 1]],
                     "gender": [[0, 258, [1, 2]]], "nudity": [[0, 258, 0]], "relationship": [[0, 258, 1]]}}
    ```

    `path` is either the folder of the per-class files, or one JSON file merging them as `{"<class>": {...}}`.

    Reduction: in PA-HMDB51 the value 0 means "not visible / none" for every attribute (skin colour invisible,
    face invisible, gender unidentifiable, no nudity, relationship unidentifiable) and values > 0 are levels of
    presence, so an attribute is positive for the video if **any** annotated frame range has a value > 0.

    Args:
        path (`str` or `os.PathLike`): folder of `<class>.json` files, or one merged JSON file.

    Returns:
        `dict[(class, video file), np.ndarray]`: float32 0/1 vectors in the order of [`PRIVACY_ATTRIBUTES`].

    Raises:
        FileNotFoundError: the path does not exist or the folder has no JSON file.
        LabelFileError: malformed content (the message names the file and the video).
    """
    path = Path(path)
    out: dict[tuple[str, str], np.ndarray] = {}
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise FileNotFoundError(f"no PA-HMDB51 annotation files (*.json) in {str(path)!r}")
        for file in files:
            _parse_pa_class(_read_json(file), str(file), file.stem, out)
    elif path.is_file():
        merged = _read_json(path)
        if not isinstance(merged, dict):
            raise LabelFileError(f"{str(path)!r} must map class names to per-video annotations.")
        for class_name, mapping in merged.items():
            _parse_pa_class(mapping, str(path), class_name, out)
    else:
        raise FileNotFoundError(f"PA-HMDB51 annotations not found: {str(path)!r}")
    if not out:
        raise LabelFileError(f"{str(path)!r} annotates no video.")
    return out


def read_jsonl(path: str | os.PathLike, with_line_numbers: bool = False) -> list:
    """The JSON objects of a JSON-lines file, one per non-empty line (`(line number, object)` pairs with
    `with_line_numbers`).

    Raises:
        FileNotFoundError: no file at `path`.
        LabelFileError: a line that is not a JSON object (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {str(path)!r}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise LabelFileError(f"{str(path)!r} line {number} is not JSON: {error}") from error
        if not isinstance(row, dict):
            raise LabelFileError(f"{str(path)!r} line {number}: expected a JSON object.")
        rows.append((number, row) if with_line_numbers else row)
    return rows


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LabelFileError(f"{str(path)!r} is not valid JSON: {error}") from error


# ---------------------------------------------------------------------------------------------------------------
# VISPR
# ---------------------------------------------------------------------------------------------------------------

# VISPR attribute ids -> our attributes (SPAct's seven VISPR attributes, merged where two describe one of ours).
VISPR_ATTRIBUTE_MAP: dict[str, tuple[str, ...]] = {
    "skin_color": ("a17_color",),
    "face": ("a9_face_complete", "a10_face_partial"),
    "gender": ("a4_gender",),
    "nudity": ("a12_semi_nudity", "a13_full_nudity"),
    "relationship": ("a64_rel_personal", "a65_rel_social"),
}


def read_vispr_annotations(
    annotation_dir: str | os.PathLike, split: str = "train"
) -> list[tuple[str, np.ndarray]]:
    """Read VISPR image annotations and map them to our five attributes.

    Layout (VISPR's release): `<annotation_dir>/<split>2017/*.json`, one file per image:
    `{"id": "2017_10002523", "image_path": "images/train2017/2017_10002523.jpg", "labels": ["a4_gender", ...]}`,
    where `image_path` is relative to the dataset root.

    Mapping ([`VISPR_ATTRIBUTE_MAP`]): skin_color <- a17_color; face <- a9_face_complete or a10_face_partial;
    gender <- a4_gender; nudity <- a12_semi_nudity or a13_full_nudity; relationship <- a64_rel_personal or
    a65_rel_social. The other VISPR attributes (age, tattoos, documents...) are not used.

    Args:
        annotation_dir (`str` or `os.PathLike`): the `annos` folder.
        split (`str`, *optional*, defaults to `"train"`): `"train"`, `"val"` or `"test"`.

    Returns:
        `list[(image_path, labels)]`: sorted by annotation file name; labels are float32 `(5,)` vectors.

    Raises:
        FileNotFoundError: no annotation folder for the split.
        LabelFileError: a file without `image_path` or `labels`.
    """
    _check_subset(split, ("train", "val", "test"))
    folder = Path(annotation_dir) / f"{split}2017"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no VISPR annotations (*.json) in {str(folder)!r}")
    out: list[tuple[str, np.ndarray]] = []
    for file in files:
        record = _read_json(file)
        if (
            not isinstance(record, dict)
            or "image_path" not in record
            or not isinstance(record.get("labels"), list)
        ):
            raise LabelFileError(f"{str(file)!r}: expected an object with 'image_path' and a 'labels' list.")
        present = set(record["labels"])
        vector = np.array(
            [float(any(tag in present for tag in VISPR_ATTRIBUTE_MAP[name])) for name in PRIVACY_ATTRIBUTES],
            dtype=np.float32,
        )
        out.append((str(record["image_path"]), vector))
    return out


__all__ = [
    "HMDB51_TAGS",
    "PRIVACY_ATTRIBUTES",
    "SHIPPED_PRIVACY_LABELS",
    "VISPR_ATTRIBUTE_MAP",
    "LabelFileError",
    "PrivacyLabels",
    "UnsafePickleError",
    "load_privacy_labels",
    "load_shipped_privacy_labels",
    "read_hmdb51_split",
    "read_pa_hmdb51_annotations",
    "read_ucf101_class_index",
    "read_ucf101_split",
    "read_vispr_annotations",
    "restricted_pickle_load",
    "shipped_privacy_labels_path",
    "video_key",
]
