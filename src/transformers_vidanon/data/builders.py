"""The datasets of a named dataset ([`DataSource`]): train/validation for a training run (`build_training_data`,
from `DataArguments`), train/test for a leakage evaluation (`evaluation_splits`, for `vidanon evaluate`).

One function per question a training script asks: which videos, which labels, decoded how. The loaders in
`loaders.py` and `manifests.py` do the reading; this module picks the right ones for a dataset name and sets the
clip transform.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, concatenate_datasets

from ..processing_vidanon import ClipAugmentation
from . import loaders
from .labels import PRIVACY_ATTRIBUTES
from .manifests import load_manifest
from .schema import dataset_metadata
from .sources import DataSource
from .splits import SPLIT_ALIASES, check_disjoint_splits
from .synth import check_synth_world, generate_synth_privacy
from .transforms import ClipTransform, apply_clip_transform

logger = logging.getLogger(__name__)

DEFAULT_SYNTH_DIR = "outputs/synthprivacy"


@dataclass
class TrainingData:
    """Datasets of a run, with the transform already set.

    Attributes:
        train: examples `{"pixel_values" (T, C, H, W), "labels", "privacy_labels", "video_id"}` (random window,
            augmentation).
        eval: the same with `num_eval_clips` uniform clips per video (`(clips, T, C, H, W)`), or None.
        class_names: action names, index = label.
        privacy_attribute_names: the privacy attributes, in label order.
    """

    train: Dataset
    eval: Dataset | None
    class_names: list[str]
    privacy_attribute_names: list[str]


PRIVACY_LABELLED_DATASETS: tuple[str, ...] = ("synth", "vp_ucf101", "vp_hmdb51", "pa_hmdb51", "ucf101_vispr")
"""The named datasets with privacy labels (besides a manifest with the privacy columns)."""

EVALUATED_AS: dict[str, str] = {"ucf101_vispr": "vp_ucf101"}
"""Named datasets whose leakage evaluation reads the splits of another: `ucf101_vispr` trains on UCF101 videos (no
privacy labels) and VISPR images (no action), while the protocol trains every fresh model on videos that have both;
it is measured on VP-UCF101 (the same UCF101 split and `privacy_labels`), its validation set in training too."""


def ensure_synth(data_dir: str | None, num_videos: int, seed: int, image_size: int, num_frames: int,
                 world: int | None = 1) -> Path:
    """The SynthPrivacy manifest under `data_dir`, generated first (in `world`, 1 when None) when it is not there.

    A benchmark already there is used as it is (its number of videos, seed and sizes included) when it is of the
    world asked for; `world=None` takes whichever world it is of.

    Raises:
        ValueError: an unknown `world`, or a benchmark of another world under `data_dir` (both named).
    """
    folder = Path(data_dir or DEFAULT_SYNTH_DIR)
    manifest = folder / "manifest.jsonl"
    if manifest.is_file():
        if world is not None:
            check_synth_world(folder, world)
        return manifest
    world = 1 if world is None else world
    logger.info("generating SynthPrivacy (world %s, %d videos, seed %d) in %s", world, num_videos, seed, folder)
    # videos twice as long as a clip at stride 2, so random windows differ
    return generate_synth_privacy(folder, num_videos, seed, image_size=image_size, num_frames=max(32, 2 * num_frames),
                                  world=world)


def synth_manifest(source: DataSource, image_size: int, num_frames: int) -> Path:
    """The SynthPrivacy manifest of a `synth` source ([`ensure_synth`] with the source's settings)."""
    return ensure_synth(source.data_dir, source.synth_num_videos, source.synth_seed, image_size, num_frames,
                        world=source.synth_world)


def _listed_splits(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset | DatasetDict, str]:
    """The splits of a source that lists its own (`synth`, `manifest`, `videofolder`), and its name in errors."""
    if source.dataset == "videofolder":
        return loaders.load_videofolder(source.data_dir), f"video folder {source.data_dir!r}"
    if source.dataset == "synth":
        manifest = synth_manifest(source, image_size, num_frames)
    elif source.manifest is None:
        raise ValueError("dataset 'manifest' needs the manifest file (`manifest`).")
    else:
        manifest = Path(source.manifest)
    return load_manifest(manifest), f"manifest {str(manifest)!r}"


def _pick_splits(
    splits: Dataset | DatasetDict, what: str, order: tuple[str, str] = ("val", "test")
) -> tuple[Dataset, Dataset | None, str | None]:
    """`train`, the first split of `order` there is (`val`, else `test`, for training), and its name.

    Split names were made canonical by the loaders (`validation`, `valid`, `dev`, `eval` -> `val`); any other name
    is refused, naming the splits found, rather than dropped.
    """
    if isinstance(splits, Dataset):
        subset = dataset_metadata(splits).get("subset", "train")
        if subset != "train":
            raise ValueError(f"{what} has only the split {subset!r}: training needs a 'train' split.")
        return splits, None, None
    found = sorted(splits)
    unknown = [name for name in found if name not in ("train", "val", "test")]
    if unknown or "train" not in splits:
        raise ValueError(
            f"{what} has the splits {found}: the models train on 'train' and are measured on {order[0]!r} (else "
            f"{order[1]!r}); {sorted(SPLIT_ALIASES)} are read as 'val'. Rename "
            f"{unknown if unknown else 'one split to train'}."
        )
    other = next((name for name in order if name in splits), None)
    if other is not None:
        logger.info("%s: training on 'train' (%d videos), measuring on %r (%d videos)", what, len(splits["train"]),
                    other, len(splits[other]))
    return splits["train"], splits[other] if other else None, other


def _privacy_known(dataset: Dataset) -> np.ndarray:
    """Per row of a (not yet transformed) dataset, whether its privacy labels are known."""
    if len(dataset) == 0:
        return np.zeros(0, dtype=bool)
    values = np.asarray(dataset.with_format("numpy")["privacy_labels"], dtype=np.float32).reshape(len(dataset), -1)
    return np.isfinite(values).all(axis=-1)


def _listed_train_eval(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset, Dataset | None]:
    return _pick_splits(*_listed_splits(source, image_size, num_frames))[:2]


def _official(source: DataSource) -> dict:
    return {"root": source.data_dir, "split_dir": source.split_dir, "split": source.split}


def _train_test(loader, **options):
    """A builder from a collection loader taking `subset="train"/"test"` (and the official split files)."""

    def build(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset, Dataset | None]:
        extra = {key: getattr(source, value) for key, value in options.items()}
        return (loader(subset="train", **_official(source), **extra),
                loader(subset="test", **_official(source), **extra))

    return build


def _pa_hmdb51_splits(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset, Dataset | None]:
    train = loaders.hmdb51_minus_pa_hmdb51(annotation_path=source.pa_annotations, labels_path=source.privacy_labels,
                                           subset="all", **_official(source))
    return train, loaders.load_pa_hmdb51(source.data_dir, source.pa_annotations)


def _ucf101_vispr_splits(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset, Dataset | None]:
    # one stream of rows: UCF101 videos carry actions (privacy unknown), VISPR images carry privacy (action
    # unknown); the model's losses leave unknown labels out
    actions = loaders.load_ucf101(subset="train", **_official(source))
    privacy = loaders.load_vispr(source.vispr_dir, source.vispr_annotation_dir, split="train").cast(actions.features)
    test = loaders.load_vp_ucf101(subset="test", labels_path=source.privacy_labels, **_official(source))
    return concatenate_datasets([actions, privacy]), test


DATASET_BUILDERS: dict[str, Callable[[DataSource, int, int], tuple[Dataset, Dataset | None]]] = {
    "synth": _listed_train_eval,
    "manifest": _listed_train_eval,
    "videofolder": _listed_train_eval,
    "ucf101": _train_test(loaders.load_ucf101),
    "hmdb51": _train_test(loaders.load_hmdb51),
    "vp_ucf101": _train_test(loaders.load_vp_ucf101, labels_path="privacy_labels"),
    "vp_hmdb51": _train_test(loaders.load_vp_hmdb51, labels_path="privacy_labels"),
    "pa_hmdb51": _pa_hmdb51_splits,
    "ucf101_vispr": _ucf101_vispr_splits,
}
"""The registry: dataset name (`sources.DATASETS`) -> `(source, image_size, num_frames) -> (train, eval)`."""


def raw_splits(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset, Dataset | None]:
    """The untransformed (train, eval) datasets of `source` (`eval` is `None` where there is none)."""
    return DATASET_BUILDERS[source.dataset](source, image_size, num_frames)


def evaluation_splits(source: DataSource, image_size: int, num_frames: int) -> tuple[Dataset, Dataset, str]:
    """The untransformed (train, test, test split name) a leakage evaluation of `source` trains and measures on.

    A dataset that lists its splits (`synth`, `manifest`, `videofolder`) is measured on `test`, else on `val` (the
    name says which); the official collections on their test split; `ucf101_vispr` as [`EVALUATED_AS`] says. The
    fresh models train on action and privacy labels of every video, so every video must have both.

    Raises:
        ValueError: no split to measure on, or videos without privacy labels (both named, with the dataset).
    """
    evaluated = dataclasses.replace(source, dataset=EVALUATED_AS.get(source.dataset, source.dataset))
    if evaluated.dataset in ("synth", "manifest", "videofolder"):
        splits, listed = _listed_splits(evaluated, image_size, num_frames)
        train, test, test_split = _pick_splits(splits, listed, order=("test", "val"))
    else:
        (train, test), test_split = raw_splits(evaluated, image_size, num_frames), "test"
    what = f"dataset {source.dataset!r}" + (f" (evaluated as {evaluated.dataset!r})" if evaluated != source else "")
    if test is None:
        raise ValueError(f"{what} has no test (or val) split to measure on.")
    for split, dataset in (("train", train), (test_split, test)):
        known = _privacy_known(dataset)
        if not known.size:
            raise ValueError(f"{what} has no {split} videos.")
        if not known.all():
            raise ValueError(
                f"{what}: {int((~known).sum())} of the {len(dataset)} {split} videos have no privacy labels, and the "
                f"leakage protocol trains and measures its attackers on every video's: evaluate a dataset that has "
                f"them ({', '.join(PRIVACY_LABELLED_DATASETS)}, or a manifest with the columns "
                f"{list(PRIVACY_ATTRIBUTES)})."
            )
    return train, test, test_split


def build_training_data(
    data_args, image_size: int, num_frames: int, require_privacy_labels: bool = False
) -> TrainingData:
    """Datasets for a run: the loaders for `data_args.dataset`, split hygiene checked, transforms set.

    Args:
        data_args ([`DataArguments`]): which videos and labels.
        image_size (`int`): frame size of the clips.
        num_frames (`int`): frames per clip.
        require_privacy_labels (`bool`, *optional*, defaults to `False`): refuse a training set in which no video
            has privacy labels (an objective that trains against a privacy head would silently learn nothing).

    Raises:
        ValueError: unusable split names, no privacy labels where they are required, or splits sharing videos.
    """
    train, evaluation = raw_splits(data_args, image_size, num_frames)
    if require_privacy_labels and not _privacy_known(train).any():
        raise ValueError(
            f"the training set of dataset={data_args.dataset!r} has no privacy labels (every `privacy_labels` is "
            f"unknown), but the objective trains against the privacy attributes {list(PRIVACY_ATTRIBUTES)}: use a "
            f"privacy-labelled dataset (a manifest with these five columns, {', '.join(PRIVACY_LABELLED_DATASETS)})."
        )
    if evaluation is not None:
        check_disjoint_splits({"train": train, "eval": evaluation})
    if data_args.max_train_samples:
        train = train.select(range(min(len(train), data_args.max_train_samples)))
    if evaluation is not None and data_args.max_eval_samples:
        evaluation = evaluation.select(range(min(len(evaluation), data_args.max_eval_samples)))
    class_names = list(train.features["label"].names)
    if data_args.streaming:
        train = train.to_iterable_dataset(num_shards=max(1, data_args.num_workers)).shuffle(
            seed=data_args.synth_seed, buffer_size=data_args.shuffle_buffer_size
        )
    common = dict(num_frames=num_frames, frame_stride=data_args.frame_stride, image_size=image_size,
                  backend=data_args.video_backend, on_bad_video=data_args.on_bad_video,
                  decode_at_size=data_args.decode_at_size)
    augmentation = None
    if data_args.augment:
        augmentation = ClipAugmentation(image_size, flip_prob=0.5 if data_args.horizontal_flip else 0.0)
    train = apply_clip_transform(train, ClipTransform("train", augmentation=augmentation, **common))
    if evaluation is not None:
        evaluation = apply_clip_transform(
            evaluation, ClipTransform("eval", num_clips=data_args.num_eval_clips, **common)
        )
    return TrainingData(train, evaluation, class_names, list(PRIVACY_ATTRIBUTES))
