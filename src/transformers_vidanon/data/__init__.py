"""Video datasets as `datasets` objects.

- [`labels`]: label files of every collection and the privacy attributes;
- [`schema`]: the columns and metadata every loader's dataset has;
- [`splits`]: split names and split hygiene;
- [`collections`]: loaders of the public collections and of class-per-folder trees;
- [`manifests`]: datasets described by a CSV / JSON-lines manifest;
- [`transforms`]: lazy decoding of rows into clips ([`ClipTransform`]);
- [`collate`]: batches, and the bad videos left out of them;
- [`builders`]: the registry of named datasets the training and evaluation commands load;
- [`synth`]: the SynthPrivacy generator.

The names below are the loaders' public API.
"""

from .collate import BadVideoLog, collate_clips
from .collections import (
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
from .splits import SPLIT_ALIASES, SPLITS, SplitOverlapError, canonical_split_name, check_disjoint_splits
from .transforms import ClipTransform, apply_clip_transform

__all__ = [
    "MANIFEST_COLUMNS",
    "SPLITS",
    "SPLIT_ALIASES",
    "BadVideoLog",
    "ClipTransform",
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
