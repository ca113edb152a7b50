"""Video datasets as `datasets` objects.

- [`labels`]: label files of every collection and the privacy attributes;
- [`schema`]: the columns and metadata every loader's dataset has;
- [`splits`]: split names and split hygiene;
- [`loaders`]: loaders of the public collections and of class-per-folder trees;
- [`manifests`]: datasets described by a CSV / JSON-lines manifest;
- [`transforms`]: lazy decoding of rows into clips ([`ClipTransform`]);
- [`collate`]: batches, and the bad videos left out of them;
- [`sources`]: the dataset names and where a dataset's files are ([`DataSource`]);
- [`builders`]: the registry of named datasets the training and evaluation commands load;
- [`synth`]: the SynthPrivacy generator.

The names below are the loaders' public API; they load on first use, so that importing a light module of
this package ([`sources`], [`labels`]) does not import `datasets` and torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_imports import lazy_attributes

# public name -> the module of this package that defines it
_LAZY_NAMES: dict[str, str] = {
    "BadVideoLog": "collate",
    "collate_clips": "collate",
    "hmdb51_minus_pa_hmdb51": "loaders",
    "load_hmdb51": "loaders",
    "load_pa_hmdb51": "loaders",
    "load_ucf101": "loaders",
    "load_videofolder": "loaders",
    "load_vispr": "loaders",
    "load_vp_hmdb51": "loaders",
    "load_vp_ucf101": "loaders",
    "MANIFEST_COLUMNS": "manifests",
    "load_manifest": "manifests",
    "dataset_metadata": "schema",
    "privacy_attribute_names": "schema",
    "video_features": "schema",
    "DATASETS": "sources",
    "DataSource": "sources",
    "SPLITS": "splits",
    "SPLIT_ALIASES": "splits",
    "SplitOverlapError": "splits",
    "canonical_split_name": "splits",
    "check_disjoint_splits": "splits",
    "ClipTransform": "transforms",
    "apply_clip_transform": "transforms",
}

if TYPE_CHECKING:
    from .collate import BadVideoLog, collate_clips
    from .loaders import (
        hmdb51_minus_pa_hmdb51,
        load_hmdb51,
        load_pa_hmdb51,
        load_ucf101,
        load_videofolder,
        load_vispr,
        load_vp_hmdb51,
        load_vp_ucf101,
    )
    from .manifests import MANIFEST_COLUMNS, load_manifest
    from .schema import dataset_metadata, privacy_attribute_names, video_features
    from .sources import DATASETS, DataSource
    from .splits import SPLIT_ALIASES, SPLITS, SplitOverlapError, canonical_split_name, check_disjoint_splits
    from .transforms import ClipTransform, apply_clip_transform


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY_NAMES, globals())


__all__ = [
    "DATASETS",
    "MANIFEST_COLUMNS",
    "SPLITS",
    "SPLIT_ALIASES",
    "BadVideoLog",
    "ClipTransform",
    "DataSource",
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
    "privacy_attribute_names",
    "video_features",
]
