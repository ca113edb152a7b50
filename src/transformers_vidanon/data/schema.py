"""The columns every loader's dataset has, the metadata it records, and building it from records.

| column           | type                          | meaning                                                      |
|------------------|-------------------------------|--------------------------------------------------------------|
| `video`          | `string`                      | absolute path of the video (or image, for VISPR)             |
| `video_id`       | `string`                      | unique id of the video within the collection (the file stem) |
| `label`          | `ClassLabel`                  | action class (-1 where the collection has no action labels)  |
| `privacy_labels` | `Sequence(float32, length=5)` | 0/1 per attribute of `PRIVACY_ATTRIBUTES`; NaN = unknown     |
| `split`          | `string`                      | `train`, `val` or `test`                                     |

The attribute names and the origin of the rows are recorded as JSON in `dataset.info.description`
([`dataset_metadata`], [`privacy_attribute_names`]).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from datasets import ClassLabel, Dataset, DatasetDict, DatasetInfo, Features, IterableDataset, Value
from datasets import Sequence as SequenceFeature

from .labels import (
    PRIVACY_ATTRIBUTES,
)
from .splits import check_disjoint_splits

logger = logging.getLogger(__name__)


UNKNOWN_PRIVACY = [float("nan")] * len(PRIVACY_ATTRIBUTES)
"""`privacy_labels` of a row whose collection has no privacy labels."""

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


def build_dataset(records: list[dict[str, Any]], class_names: Sequence[str], metadata: Mapping[str, Any]) -> Dataset:
    """A `Dataset` of `records` with the [`video_features`] and `metadata` recorded in its description."""
    features = video_features(class_names)
    description = json.dumps({"privacy_attributes": list(PRIVACY_ATTRIBUTES), **metadata}, sort_keys=True)
    columns = {name: [record[name] for record in records] for name in features}
    return Dataset.from_dict(
        columns, features=features, info=DatasetInfo(description=description, features=features)
    )


def finish_dataset(
    result: Dataset | DatasetDict,
    streaming: bool,
    num_shards: int = 1,
) -> Dataset | DatasetDict | IterableDataset | Any:
    """A loader's result as returned: several splits checked disjoint; streamed when `streaming`."""
    if isinstance(result, DatasetDict):
        check_disjoint_splits(dict(result))
        if streaming:
            from datasets import IterableDatasetDict

            return IterableDatasetDict({name: to_iterable(ds, num_shards) for name, ds in result.items()})
        return result
    return to_iterable(result, num_shards) if streaming else result


def to_iterable(dataset: Dataset, num_shards: int) -> IterableDataset:
    """`dataset` as an `IterableDataset` of up to `num_shards` shards, keeping its metadata."""
    iterable = dataset.to_iterable_dataset(num_shards=max(1, min(num_shards, len(dataset))))
    iterable.info.description = dataset.info.description
    return iterable
