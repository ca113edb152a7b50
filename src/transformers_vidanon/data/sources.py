"""Where the videos and labels of a named dataset are: [`DataSource`], the one description both the training run
(from its `DataArguments`) and `vidanon evaluate` hand to `builders.raw_splits`.

This module imports nothing heavy, so that command-line help can list [`DATASETS`].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

DATASETS: tuple[str, ...] = (
    "synth", "manifest", "videofolder", "ucf101", "hmdb51", "vp_ucf101", "vp_hmdb51", "pa_hmdb51", "ucf101_vispr",
)
"""The dataset names `builders.raw_splits` knows (its registry has one builder for each)."""


@dataclass(frozen=True)
class DataSource:
    """A named dataset and the files it is read from.

    Attributes:
        dataset: one of [`DATASETS`].
        data_dir: the dataset root (videos); for `synth`, where SynthPrivacy lives (generated if missing).
        manifest: the manifest file (CSV / JSONL) of `manifest`.
        split_dir / split: official split files and split index (UCF101, HMDB51 and their privacy versions).
        privacy_labels: a privacy label file (default: the shipped VP labels).
        pa_annotations: the PA-HMDB51 annotation JSON.
        vispr_dir / vispr_annotation_dir: VISPR images and annotations (`ucf101_vispr`).
        synth_num_videos / synth_seed: the SynthPrivacy set generated when `data_dir` has none.
    """

    dataset: str = "synth"
    data_dir: str | None = None
    manifest: str | None = None
    split_dir: str | None = None
    split: int = 1
    privacy_labels: str | None = None
    pa_annotations: str | None = None
    vispr_dir: str | None = None
    vispr_annotation_dir: str | None = None
    synth_num_videos: int = 360
    synth_seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {DATASETS}.")

    @classmethod
    def from_arguments(cls, arguments: Any) -> DataSource:
        """The source described by any object with these attribute names (the training run's `DataArguments`)."""
        return cls(**{f.name: getattr(arguments, f.name) for f in dataclasses.fields(cls) if hasattr(arguments, f.name)})
