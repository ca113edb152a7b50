"""The leakage protocol: freeze an anonymizer, train NEW models from scratch on its output, measure them.

For every method (a baseline, VidAnon at some setting, the random-pruning control):

1. anonymize the training clips and the test clips (5 uniform clips per test video) once;
2. for every seed, train from scratch on the anonymized training clips: a target action model, a per-frame privacy
   attacker (logits averaged over time) and a video-level privacy attacker;
3. report action top-1 (softmax averaged over the clips), privacy cMAP and F1 at 0.5 of each attacker, the best
   single-frame cMAP, and for pruning methods the mask flicker rate; chance levels beside them.

Only this measures leakage: the anonymizer's own privacy head is trained against it and says nothing about an
attacker who trains on its output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..pruning import apply_keep_mask
from . import fresh_models
from .baselines import get_baseline, oracle_pruning, random_pruning
from .metrics import (
    action_top1,
    best_single_frame_cmap,
    chance_cmap,
    chance_f1,
    chance_top1,
    mask_flicker_rate,
    privacy_cmap,
    privacy_f1,
)
from .report import BenchmarkResults, ChanceLevels, MethodResult

logger = logging.getLogger(__name__)

ATTACKERS = ("frame", "video")


class AnonymizedBatch(NamedTuple):
    """What an anonymizer returns for a batch `(B, T, C, H, W)`: the video, and its tubelet keep mask if any."""

    video: torch.Tensor
    keep_mask: torch.Tensor | None = None


Anonymizer = Callable[[torch.Tensor, "torch.Tensor | None"], AnonymizedBatch]
"""`(video (B, T, C, H, W) float in [0, 1], regions (B, T, H, W) bool or None) -> AnonymizedBatch`."""


@dataclass
class ProtocolData:
    """Clips of an evaluation, decoded once.

    Attributes:
        train_clips (`torch.Tensor` uint8): `(N, T, C, H, W)` or `(N, k, T, C, H, W)` training clips.
        train_labels (`torch.Tensor` `(N,)`): action labels.
        train_privacy (`torch.Tensor` `(N, A)`): privacy attributes.
        test_clips (`torch.Tensor` uint8): `(M, num_clips, T, C, H, W)`.
        test_labels, test_privacy: as for training.
        num_labels: number of action classes.
        privacy_names: attribute names.
        train_regions / test_regions (`torch.Tensor` bool, *optional*): person regions shaped like the clips without
            the channel axis (`(N, [k,] T, H, W)`), for the blackening baseline.
        train_privacy_regions / test_privacy_regions (`torch.Tensor` bool, *optional*): privacy regions (the union of
            the attribute regions), shaped likewise, for the oracle baselines.
    """

    train_clips: torch.Tensor
    train_labels: torch.Tensor
    train_privacy: torch.Tensor
    test_clips: torch.Tensor
    test_labels: torch.Tensor
    test_privacy: torch.Tensor
    num_labels: int
    privacy_names: tuple[str, ...]
    train_regions: torch.Tensor | None = None
    test_regions: torch.Tensor | None = None
    train_privacy_regions: torch.Tensor | None = None
    test_privacy_regions: torch.Tensor | None = None

    def regions(self, kind: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """`(train, test)` regions of a kind: `"person"` (blackening) or `"privacy"` (the oracle)."""
        if kind == "person":
            return self.train_regions, self.test_regions
        if kind == "privacy":
            return self.train_privacy_regions, self.test_privacy_regions
        raise ValueError(f"region kind must be 'person' or 'privacy', got {kind!r}.")


@dataclass
class ProtocolConfig:
    """How fresh models are trained and how many.

    Attributes:
        seeds: one fresh model of each kind per seed; every figure is a mean with its spread.
        attackers: which privacy attackers to train (`"frame"`, `"video"`).
        fresh: sizes and training settings of the fresh models ([`fresh_models.FreshModelConfig`]).
        action_model / frame_attacker_model / video_attacker_model: any transformers model name, path or config
            for the fresh models instead of the small defaults.
        batch_size: clips per anonymization batch.
        progress: tqdm bars.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    attackers: tuple[str, ...] = ATTACKERS
    fresh: fresh_models.FreshModelConfig = field(default_factory=fresh_models.FreshModelConfig)
    action_model: object = None
    frame_attacker_model: object = None
    video_attacker_model: object = None
    batch_size: int = 32
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("`seeds` must name at least one seed.")
        unknown = set(self.attackers) - set(ATTACKERS)
        if unknown:
            raise ValueError(f"`attackers` must be among {ATTACKERS}, got {sorted(unknown)}.")


# ------------------------------------------------------------------------------------------------------------------
# Anonymizers
# ------------------------------------------------------------------------------------------------------------------
def baseline_anonymizer(name: str, **options) -> Anonymizer:
    """A baseline by name (raw, down2, down4, blackening, strongblur) as an [`Anonymizer`]."""
    baseline = get_baseline(name, **options)

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        return AnonymizedBatch(baseline(video, regions=regions))

    return anonymize


def vidanon_anonymizer(model, **pruning) -> Anonymizer:
    """A trained VidAnon model as an [`Anonymizer`] (frozen, eval mode).

    Clips of another size than the model's are resized for scoring and the keep mask is upsampled back (nearest),
    so the anonymized clip keeps its resolution. `pruning` (keep_rate, lambda_priv, temporal_consistency) is
    applied with `model.set_pruning` for this anonymizer's calls only.
    """
    model.eval()
    size = model.config.image_size

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        previous = (model.config.keep_rate, model.config.lambda_priv, model.config.temporal_consistency)
        model.set_pruning(**pruning)
        try:
            scored = video
            if video.shape[-1] != size or video.shape[-2] != size:
                flat = F.interpolate(video.flatten(0, 1), size=(size, size), mode="bilinear", antialias=True,
                                     align_corners=False)
                scored = flat.clamp(0, 1).view(*video.shape[:3], size, size)
            with torch.no_grad():
                keep_mask = model.anonymize(scored.to(next(model.parameters()).dtype)).keep_mask.float()
        finally:
            model.set_pruning(*previous)
        return AnonymizedBatch(apply_keep_mask(video, keep_mask, model.config.anonymization_fill_value), keep_mask)

    return anonymize


def oracle_anonymizer(tubelet_size: int, grid_size: int, tube: bool = False, fill_value: float = 0.0) -> Anonymizer:
    """The oracle: prune every tubelet touching a privacy region, on a `grid_size x grid_size` grid of
    `tubelet_size`-frame tubelets (`tube`: one spatial mask per clip). Evaluate it with `needs_regions="privacy"`."""

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        out = oracle_pruning(video, regions, tubelet_size=tubelet_size, grid_size=grid_size, tube=tube,
                             fill_value=fill_value)
        return AnonymizedBatch(out.anonymized_pixel_values, out.keep_mask)

    return anonymize


def random_pruning_anonymizer(model_config, seed: int = 0) -> Anonymizer:
    """The control: drop as many tubelets as VidAnon does (its keep schedule), chosen uniformly at random."""
    generator = torch.Generator().manual_seed(seed)

    def anonymize(video: torch.Tensor, regions: torch.Tensor | None = None) -> AnonymizedBatch:
        out = random_pruning(
            video, keep_rate_schedule=model_config.keep_rates(), fuse_pruned_tokens=model_config.fuse_pruned_tokens,
            tubelet_size=model_config.tubelet_size, patch_size=_patch_for(video, model_config), generator=generator,
            fill_value=model_config.anonymization_fill_value,
        )
        return AnonymizedBatch(out.anonymized_pixel_values, out.keep_mask)

    return anonymize


def _patch_for(video: torch.Tensor, model_config) -> int:
    """The pixel patch size giving the model's tubelet grid on this video's resolution."""
    grid = model_config.image_size // model_config.patch_size
    if video.shape[-1] % grid:
        raise ValueError(f"video width {video.shape[-1]} is not a multiple of the model's grid ({grid} tubelets).")
    return video.shape[-1] // grid


def anonymize_clips(
    clips: torch.Tensor,
    anonymizer: Anonymizer,
    regions: torch.Tensor | None = None,
    batch_size: int = 32,
    description: str = "anonymizing",
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run an anonymizer over uint8 clips `(N, [k,] T, C, H, W)`; returns uint8 clips of the same shape and the
    keep masks `(N * k, T', H', W')` (or None)."""
    lead = clips.shape[:-4]
    flat = clips.reshape(-1, *clips.shape[-4:])
    flat_regions = regions.reshape(-1, *regions.shape[-3:]) if regions is not None else None
    outputs, masks = [], []
    for start in tqdm(range(0, flat.shape[0], batch_size), desc=description, disable=not progress, leave=False):
        video = flat[start : start + batch_size].float() / 255.0
        region = flat_regions[start : start + batch_size] if flat_regions is not None else None
        result = anonymizer(video, region)
        outputs.append((result.video.clamp(0, 1) * 255.0).round().to(torch.uint8))
        if result.keep_mask is not None:
            masks.append(result.keep_mask.detach().cpu())
    anonymized = torch.cat(outputs).reshape(*lead, *clips.shape[-4:])
    return anonymized, torch.cat(masks) if masks else None


# ------------------------------------------------------------------------------------------------------------------
# The protocol
# ------------------------------------------------------------------------------------------------------------------
def chance_levels(data: ProtocolData) -> ChanceLevels:
    """What blind models score on the test set."""
    names = list(data.privacy_names)
    return ChanceLevels(
        action_top1=chance_top1(data.test_labels.numpy()),
        cmap=float(chance_cmap(data.test_privacy.numpy(), names).cmap),
        f1=float(chance_f1(data.test_privacy.numpy(), names).f1),
    )


def evaluate_method(
    name: str,
    anonymizer: Anonymizer,
    data: ProtocolData,
    config: ProtocolConfig | None = None,
    needs_regions: bool | str = False,
    extra: dict | None = None,
) -> MethodResult:
    """Anonymize once, train fresh models with every seed, measure them.

    `needs_regions`: False, True or `"person"` (person regions: blackening), or `"privacy"` (privacy regions: the
    oracle).

    Raises:
        ValueError: the method needs regions and the data has none.
    """
    config = config or ProtocolConfig()
    regions = (None, None)
    if needs_regions:
        kind = "person" if needs_regions is True else needs_regions
        regions = data.regions(kind)
        if regions[0] is None or regions[1] is None:
            raise ValueError(f"method {name!r} needs {kind} regions (boxes or masks) and the data has none.")
    train, train_masks = anonymize_clips(data.train_clips, anonymizer, regions[0], config.batch_size,
                                         f"{name}: anonymizing train", config.progress)
    test, test_masks = anonymize_clips(data.test_clips, anonymizer, regions[1], config.batch_size,
                                       f"{name}: anonymizing test", config.progress)
    names = list(data.privacy_names)
    result = MethodResult(name=name, extra=dict(extra or {}))
    if test_masks is not None:
        masks = torch.cat([train_masks, test_masks])
        result.extra["keep_fraction"] = float(masks.float().mean())
    fresh = config.fresh
    chance = float(chance_cmap(data.test_privacy.numpy(), names).cmap)
    for seed in tqdm(config.seeds, desc=f"{name}: fresh models", disable=not config.progress, leave=False):
        action = fresh_models.train_action_model(train, data.train_labels, data.num_labels, seed=seed, config=fresh,
                                                 model_name_or_config=config.action_model)
        result.action_top1.append(action_top1(fresh_models.predict_action(action, test).numpy(), data.test_labels.numpy()))
        result.chance_cmap.append(chance)
        if "frame" in config.attackers:
            attacker = fresh_models.train_frame_attacker(train, data.train_privacy, seed=seed, config=fresh,
                                                         model_name_or_config=config.frame_attacker_model)
            prediction = fresh_models.predict_frame_attacker(attacker, test)
            logits = prediction.logits.numpy()
            result.frame_cmap.append(float(privacy_cmap(logits, data.test_privacy.numpy(), names).cmap))
            result.frame_f1.append(float(privacy_f1(logits, data.test_privacy.numpy(), attribute_names=names).f1))
            single = best_single_frame_cmap(prediction.flat_frame_logits().numpy(), data.test_privacy.numpy(), names)
            result.best_single_frame_cmap.append(float(single.cmap))
        if "video" in config.attackers:
            attacker = fresh_models.train_video_attacker(train, data.train_privacy, seed=seed, config=fresh,
                                                         model_name_or_config=config.video_attacker_model)
            logits = fresh_models.predict_video_attacker(attacker, test).numpy()
            result.video_cmap.append(float(privacy_cmap(logits, data.test_privacy.numpy(), names).cmap))
            result.video_f1.append(float(privacy_f1(logits, data.test_privacy.numpy(), attribute_names=names).f1))
        if test_masks is not None:
            result.flicker_rate.append(mask_flicker_rate(test_masks))
    logger.info("%s: %s", name, {k: round(v["mean"], 4) for k, v in result.summary().items()})
    return result


def run_protocol(
    methods: Sequence[tuple[str, Anonymizer, bool]],
    data: ProtocolData,
    config: ProtocolConfig | None = None,
    dataset: str = "",
    metadata: dict | None = None,
) -> BenchmarkResults:
    """Evaluate several methods `(name, anonymizer, needs_regions)` on the same data and seeds."""
    config = config or ProtocolConfig()
    results = [
        evaluate_method(name, anonymizer, data, config, needs_regions)
        for name, anonymizer, needs_regions in tqdm(methods, desc="methods", disable=not config.progress)
    ]
    return BenchmarkResults(methods=results, chance=chance_levels(data), dataset=dataset, metadata=dict(metadata or {}))


def _clip_regions(manifest, clipset) -> tuple[torch.Tensor, torch.Tensor]:
    """Person and privacy region masks `(N, k, T, H, W)` of a SynthPrivacy `ClipSet`, aligned with its decoded
    frames; the privacy region is the union of the five attribute regions. Each region file is read once."""
    from ..data.synth import PRIVACY_ATTRIBUTES, synth_region_files

    files = synth_region_files(manifest)
    person, privacy = [], []
    for video_id, frame_indices in zip(clipset.video_ids, clipset.frame_indices):
        with np.load(files[video_id]) as archive:
            person.append(torch.from_numpy(archive["actor"].astype(bool))[frame_indices])  # (k, T, H, W)
            union = np.logical_or.reduce([archive[name].astype(bool) for name in PRIVACY_ATTRIBUTES])
            privacy.append(torch.from_numpy(union)[frame_indices])
    return torch.stack(person), torch.stack(privacy)


def synth_protocol_data(
    manifest,
    num_frames: int = 16,
    frame_stride: int = 2,
    train_clips_per_video: int = 1,
    test_clips_per_video: int = 5,
    test_split: str = "test",
    progress: bool = True,
) -> ProtocolData:
    """SynthPrivacy clips for the protocol: train split for the fresh models, `test_split` to measure them; the
    actor masks serve the blackening baseline."""
    from ..data.synth import load_synth_clips

    train = load_synth_clips(manifest, "train", num_frames, frame_stride, train_clips_per_video, progress=progress)
    test = load_synth_clips(manifest, test_split, num_frames, frame_stride, test_clips_per_video, progress=progress)
    train_regions, train_privacy_regions = _clip_regions(manifest, train)
    if train.clips.dim() == 5:
        train_regions, train_privacy_regions = train_regions[:, 0], train_privacy_regions[:, 0]
    test_regions, test_privacy_regions = _clip_regions(manifest, test)
    return ProtocolData(
        train_clips=train.clips, train_labels=train.labels, train_privacy=train.privacy_labels,
        test_clips=test.multi_clip(), test_labels=test.labels, test_privacy=test.privacy_labels,
        num_labels=len(train.action_names), privacy_names=tuple(train.privacy_names),
        train_regions=train_regions, test_regions=test_regions,
        train_privacy_regions=train_privacy_regions, test_privacy_regions=test_privacy_regions,
    )


def datasets_protocol_data(
    train_dataset,
    test_dataset,
    num_frames: int = 16,
    frame_stride: int = 2,
    image_size: int = 112,
    test_clips_per_video: int = 5,
    boxes: dict | None = None,
    backend: str = "auto",
    progress: bool = True,
) -> ProtocolData:
    """Decode two loader datasets (rows with `video`, `label`, `privacy_labels`) into protocol clips.

    Clips are deterministic (evaluation sampling: uniform windows, shorter-side resize, centre crop): one per
    training video, `test_clips_per_video` per test video. With `boxes` (`{video_id: {frame: [[x0, y0, x1, y1]]}}`,
    in source-frame pixels) person regions are rasterised at the decoded frames for the blackening baseline.
    """
    from ..data.labels import PRIVACY_ATTRIBUTES
    from ..data.loaders import make_clip_transform
    from ..video_io import uniform_clip_indices, video_info
    from .baselines import boxes_to_masks

    def decode(dataset, clips: int, what: str):
        transform = make_clip_transform("eval", num_frames=num_frames, frame_stride=frame_stride,
                                        image_size=image_size, num_clips=clips, backend=backend)
        pixels, labels, privacy, regions = [], [], [], []
        for row in tqdm(dataset, desc=f"decoding {what}", disable=not progress):
            clip = transform.load(row["video"])  # (clips, T, C, H, W) in [0, 1]
            pixels.append((clip * 255).round().to(torch.uint8))
            labels.append(int(row["label"]))
            privacy.append(torch.as_tensor(row["privacy_labels"], dtype=torch.float32))
            if boxes is not None:
                video_id = row.get("video_id") or str(row["video"])
                if video_id not in boxes:
                    raise ValueError(f"the boxes file has no entry for video {video_id!r} ({row['video']}).")
                info = video_info(row["video"])
                indices = uniform_clip_indices(info.num_frames, num_frames, frame_stride, clips)
                regions.append(torch.stack([
                    _boxes_for_clip(boxes_to_masks, boxes[video_id], window, info, image_size) for window in indices
                ]))
        stacked = torch.stack(pixels)
        return stacked, torch.tensor(labels), torch.stack(privacy), torch.stack(regions) if regions else None

    train_clips, train_labels, train_privacy, train_regions = decode(train_dataset, 1, "train")
    test_clips, test_labels, test_privacy, test_regions = decode(test_dataset, test_clips_per_video, "test")
    if not torch.isfinite(test_privacy).all() or not torch.isfinite(train_privacy).all():
        raise ValueError("every video needs its privacy labels for the leakage protocol; some are unknown (NaN).")
    names = train_dataset.features["label"].names if hasattr(train_dataset, "features") else None
    return ProtocolData(
        train_clips=train_clips[:, 0], train_labels=train_labels, train_privacy=train_privacy,
        test_clips=test_clips, test_labels=test_labels, test_privacy=test_privacy,
        num_labels=len(names) if names else int(max(train_labels.max(), test_labels.max())) + 1,
        privacy_names=tuple(PRIVACY_ATTRIBUTES),
        train_regions=train_regions[:, 0] if train_regions is not None else None, test_regions=test_regions,
    )


def _boxes_for_clip(boxes_to_masks, video_boxes, window, info, image_size: int) -> torch.Tensor:
    """Masks `(T, image_size, image_size)` of one clip: boxes rasterised at source size, then resized and
    centre-cropped as the frames were."""
    masks = boxes_to_masks(video_boxes, len(window), info.height, info.width, frame_indices=[int(i) for i in window])
    scale = image_size / min(info.height, info.width)
    height, width = max(image_size, round(info.height * scale)), max(image_size, round(info.width * scale))
    resized = F.interpolate(masks[:, None].float(), size=(height, width), mode="nearest")[:, 0] > 0.5
    top, left = (height - image_size) // 2, (width - image_size) // 2
    return resized[:, top : top + image_size, left : left + image_size]
