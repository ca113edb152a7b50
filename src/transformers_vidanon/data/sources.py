"""Where the videos and labels of a named dataset are: [`DataSource`], the one declaration of a dataset's fields.

The training run's `DataArguments` are a `DataSource` with the clip-sampling fields added (`HfArgumentParser` makes
`--split_dir` and the other flags of `training/train.py` from these fields), and `vidanon evaluate` makes its
`--split-dir` and others from them with [`add_source_arguments`]. Training hands the source to `builders.raw_splits`,
the evaluation to `builders.evaluation_splits`.

This module imports nothing heavy, so that command-line help can list [`DATASETS`].
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DATASETS: tuple[str, ...] = (
    "synth", "manifest", "videofolder", "ucf101", "hmdb51", "vp_ucf101", "vp_hmdb51", "pa_hmdb51", "ucf101_vispr",
)
"""The dataset names `builders.raw_splits` knows (its registry has one builder for each)."""


@dataclass
class DataSource:
    """A named dataset and the files it is read from.

    Every field carries its help text in `metadata["help"]`: the training arguments and the `vidanon evaluate`
    flags are derived from these fields, so a field added here is a flag of both.
    """

    dataset: str = field(default="synth", metadata={"help": f"One of {DATASETS}."})
    data_dir: str | None = field(
        default=None,
        metadata={"help": "Dataset root (videos). For 'synth': where SynthPrivacy lives (generated if missing)."},
    )
    manifest: str | None = field(default=None, metadata={"help": "Manifest file (CSV/JSONL) for 'manifest'."})
    split_dir: str | None = field(
        default=None, metadata={"help": "Official split files folder (UCF101 / HMDB51 and their privacy versions)."}
    )
    split: int = field(default=1, metadata={"help": "Official split index (1-3)."})
    privacy_labels: str | None = field(
        default=None,
        metadata={"help": "Privacy label file (JSON or pickle) of 'vp_ucf101', 'vp_hmdb51', 'pa_hmdb51' (its "
                  "training videos) and 'ucf101_vispr' (its UCF101 videos); default: the shipped VP labels."},
    )
    pa_annotations: str | None = field(default=None, metadata={"help": "PA-HMDB51 annotation JSON ('pa_hmdb51')."})
    vispr_dir: str | None = field(default=None, metadata={"help": "VISPR image root ('ucf101_vispr')."})
    vispr_annotation_dir: str | None = field(
        default=None, metadata={"help": "VISPR annotation folder ('ucf101_vispr')."}
    )
    synth_num_videos: int = field(default=360, metadata={"help": "Videos to generate for 'synth' when missing."})
    synth_seed: int = field(default=0, metadata={"help": "Seed of the generated SynthPrivacy set."})
    synth_world: int = field(
        default=1,
        metadata={"help": "SynthPrivacy world (1 or 2) generated for 'synth' when missing; a set of another world "
                  "already in data_dir is refused."},
    )

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {DATASETS}.")

    @classmethod
    def from_arguments(cls, arguments: Any, **values: Any) -> DataSource:
        """The source described by any object with these attribute names (the training run's `DataArguments`, the
        namespace of `vidanon evaluate`'s flags), `values` replacing some; a field neither gives keeps its default."""
        given = {f.name: getattr(arguments, f.name) for f in dataclasses.fields(cls) if hasattr(arguments, f.name)}
        return cls(**{**given, **values})


def add_source_arguments(parser: argparse.ArgumentParser, skip: Iterable[str] = ()) -> None:
    """Add the fields of [`DataSource`] (but those in `skip`) to an argparse parser as `--dashed-name` flags, with
    their types, defaults and help; `DataSource.from_arguments(namespace)` reads them back."""
    hints = typing.get_type_hints(DataSource)
    for source_field in dataclasses.fields(DataSource):
        if source_field.name in skip:
            continue
        kind = next(a for a in (*typing.get_args(hints[source_field.name]), hints[source_field.name])
                    if a is not type(None))
        parser.add_argument(f"--{source_field.name.replace('_', '-')}", type=kind, default=source_field.default,
                            help=source_field.metadata["help"])
