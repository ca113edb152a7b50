"""Metrics of the leakage protocol: action top-1, privacy cMAP and F1, chance levels, mask flicker.

Every function here works on plain arrays (numpy arrays, nested lists, or CPU torch tensors, which are
converted with ``numpy.asarray``) and returns Python floats or small frozen dataclasses, so that the
same numbers come out of the protocol, the tests and the ``evaluate`` modules shipped in
``evaluate_modules/`` (see :func:`load_metric`).

The privacy metrics follow the field's rule for unbalanced multi-label attributes: an attribute with no
positive example in the test set has no defined average precision (or F1), so it is **left out of the
mean and named** in the result's ``left_out`` field instead of silently scoring 0 or 1.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import evaluate

logger = logging.getLogger(__name__)

__all__ = [
    "EVALUATE_INPUT_KINDS",
    "EVALUATE_MODULES",
    "CMapResult",
    "F1Result",
    "SingleFrameCMapResult",
    "action_top1",
    "average_precision",
    "best_single_frame_cmap",
    "chance_cmap",
    "chance_f1",
    "chance_top1",
    "evaluate_metric_info",
    "load_metric",
    "mask_flicker_rate",
    "privacy_cmap",
    "privacy_f1",
]

#: Names of the ``evaluate`` modules kept in ``evaluate_modules/<name>/<name>.py``.
EVALUATE_MODULES: tuple[str, ...] = ("vidanon_accuracy", "privacy_cmap", "privacy_f1")

_EVALUATE_MODULES_DIR = Path(__file__).resolve().parent / "evaluate_modules"


# --------------------------------------------------------------------------------------------------
# Result containers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CMapResult:
    """Class-mean average precision over privacy attributes.

    Args:
        cmap (`float`): mean of ``per_attribute`` (``nan`` when every attribute was left out).
        per_attribute (`dict[str, float]`): average precision of each attribute that was scored.
        left_out (`tuple[str, ...]`): attributes with no positive example in the labels; they are not
            part of the mean.
    """

    cmap: float
    per_attribute: dict[str, float] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()

    def __float__(self) -> float:
        return float(self.cmap)


@dataclass(frozen=True)
class F1Result:
    """Mean per-attribute F1 over privacy attributes.

    Args:
        f1 (`float`): mean of ``per_attribute`` (``nan`` when every attribute was left out).
        per_attribute (`dict[str, float]`): F1 of each attribute that was scored.
        left_out (`tuple[str, ...]`): attributes with no positive example in the labels.
        threshold (`float`): probability threshold used to turn scores into decisions.
    """

    f1: float
    per_attribute: dict[str, float] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()
    threshold: float = 0.5

    def __float__(self) -> float:
        return float(self.f1)


@dataclass(frozen=True)
class SingleFrameCMapResult:
    """The strongest single-frame attacker: the frame position whose scores alone give the highest cMAP.

    Args:
        cmap (`float`): the best cMAP over frame positions.
        frame_index (`int`): the frame position reaching it.
        per_frame (`tuple[float, ...]`): the cMAP of every frame position, in order.
        left_out (`tuple[str, ...]`): attributes left out of every cMAP (no positive in the labels).
    """

    cmap: float
    frame_index: int
    per_frame: tuple[float, ...]
    left_out: tuple[str, ...] = ()

    def __float__(self) -> float:
        return float(self.cmap)


# --------------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------------


def _as_array(value: Any, name: str, dtype: type | None = None) -> np.ndarray:
    """Converts ``value`` (array, list or CPU tensor) to a numpy array, naming ``name`` on failure."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` cannot be read as a numeric array: {error}") from error
    if array.dtype == object:
        raise ValueError(f"`{name}` must be a rectangular numeric array, got ragged or non-numeric data.")
    return array


def _check_finite(array: np.ndarray, name: str) -> None:
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")


def _binary_labels(labels: Any, name: str = "labels") -> np.ndarray:
    """Returns ``labels`` as an integer 0/1 array, raising if any value is not 0 or 1."""
    array = _as_array(labels, name)
    _check_finite(array, name)
    if array.size and not np.all((array == 0) | (array == 1)):
        bad = np.unique(array[(array != 0) & (array != 1)])[:5]
        raise ValueError(f"`{name}` must be binary (0/1); found values such as {bad.tolist()}.")
    return array.astype(np.int64)


def _multilabel_inputs(
    scores: Any, labels: Any, attribute_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Validates a (N, A) score array against a (N, A) binary label array and names the A attributes."""
    scores_array = _as_array(scores, "scores", dtype=np.float64)
    labels_array = _binary_labels(labels)
    _check_finite(scores_array, "scores")
    if scores_array.ndim != 2:
        raise ValueError(f"`scores` must have shape (N, num_attributes), got {scores_array.shape}.")
    if labels_array.shape != scores_array.shape:
        raise ValueError(
            f"`labels` must have the same shape as `scores` {scores_array.shape}, got {labels_array.shape}."
        )
    if scores_array.shape[0] == 0:
        raise ValueError("`scores` and `labels` are empty: there is nothing to score.")
    names = _attribute_names(attribute_names, scores_array.shape[1])
    return scores_array, labels_array, names


def _attribute_names(attribute_names: Sequence[str] | None, num_attributes: int) -> list[str]:
    if attribute_names is None:
        return [f"attribute_{index}" for index in range(num_attributes)]
    names = [str(name) for name in attribute_names]
    if len(names) != num_attributes:
        raise ValueError(
            f"`attribute_names` has {len(names)} names but the scores have {num_attributes} attributes."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"`attribute_names` must be unique, got {names}.")
    return names


def _mean_or_nan(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _warn_left_out(metric: str, left_out: Sequence[str]) -> None:
    if left_out:
        logger.warning(
            "%s: attribute(s) %s have no positive example in the labels and are left out of the mean.",
            metric,
            ", ".join(left_out),
        )


# --------------------------------------------------------------------------------------------------
# Action
# --------------------------------------------------------------------------------------------------


def action_top1(probs_or_logits: Any, labels: Any) -> float:
    """Top-1 accuracy of action predictions.

    Args:
        probs_or_logits (`array-like` of shape `(N, num_classes)` or `(N,)`):
            class scores (probabilities or logits; only their argmax matters) or, when 1-D, predicted
            class ids.
        labels (`array-like` of shape `(N,)`): true class ids.

    Returns:
        `float`: the share of examples whose highest-scoring class is the true class, in [0, 1]. Ties
        are broken towards the lowest class id (``numpy.argmax``).
    """
    predictions = _as_array(probs_or_logits, "probs_or_logits")
    targets = _as_array(labels, "labels")
    _check_finite(predictions, "probs_or_logits")
    if targets.ndim != 1:
        raise ValueError(f"`labels` must have shape (N,), got {targets.shape}.")
    if predictions.ndim == 2:
        predicted = predictions.argmax(axis=1)
    elif predictions.ndim == 1:
        if not np.all(np.mod(predictions, 1) == 0):
            raise ValueError("1-D `probs_or_logits` must hold integer class ids.")
        predicted = predictions.astype(np.int64)
    else:
        raise ValueError(
            f"`probs_or_logits` must have shape (N, num_classes) or (N,), got {predictions.shape}."
        )
    if predicted.shape[0] != targets.shape[0]:
        raise ValueError(
            f"`probs_or_logits` has {predicted.shape[0]} examples but `labels` has {targets.shape[0]}."
        )
    if targets.shape[0] == 0:
        raise ValueError("`labels` is empty: there is nothing to score.")
    return float(np.mean(predicted == targets))


def chance_top1(labels: Any) -> float:
    """Top-1 accuracy of a blind action model: the share of the most frequent class in ``labels``.

    This is the best any constant guess can score (``1 / num_classes`` on a balanced test set).

    Args:
        labels (`array-like` of shape `(N,)`): true class ids of the test set.

    Returns:
        `float` in (0, 1].
    """
    targets = _as_array(labels, "labels")
    if targets.ndim != 1 or targets.shape[0] == 0:
        raise ValueError(f"`labels` must be a non-empty array of shape (N,), got shape {targets.shape}.")
    _, counts = np.unique(targets, return_counts=True)
    return float(counts.max() / targets.shape[0])


# --------------------------------------------------------------------------------------------------
# Privacy
# --------------------------------------------------------------------------------------------------


def average_precision(scores: Any, labels: Any) -> float:
    """Average precision of one binary attribute (same definition as scikit-learn's).

    AP = sum_n (R_n - R_{n-1}) * P_n over the distinct score thresholds in decreasing order, where P_n and
    R_n are precision and recall when every example scoring at least the n-th threshold is called
    positive (tied scores enter together); no interpolation.

    Args:
        scores (`array-like` of shape `(N,)`): higher means "more likely positive".
        labels (`array-like` of shape `(N,)`): 0/1 ground truth.

    Returns:
        `float` in [0, 1].

    Raises:
        ValueError: if shapes differ, values are not finite / binary, or there is no positive example
            (average precision is undefined then).
    """
    score_array = _as_array(scores, "scores", dtype=np.float64)
    label_array = _binary_labels(labels)
    _check_finite(score_array, "scores")
    if score_array.ndim != 1 or label_array.shape != score_array.shape:
        raise ValueError(
            f"`scores` and `labels` must both have shape (N,), "
            f"got {score_array.shape} and {label_array.shape}."
        )
    num_positive = int(label_array.sum())
    if num_positive == 0:
        raise ValueError("`labels` has no positive example: average precision is undefined.")
    order = np.argsort(-score_array, kind="mergesort")
    sorted_scores = score_array[order]
    sorted_labels = label_array[order]
    # last index of each run of equal scores: one threshold per distinct score
    threshold_ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    true_positives = np.cumsum(sorted_labels)[threshold_ends]
    predicted_positives = threshold_ends + 1
    precision = true_positives / predicted_positives
    recall = true_positives / num_positive
    recall_steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_steps * precision))


def privacy_cmap(scores: Any, labels: Any, attribute_names: Sequence[str] | None = None) -> CMapResult:
    """Class-mean average precision (cMAP) of a privacy attacker.

    Args:
        scores (`array-like` of shape `(N, num_attributes)`): attacker scores (logits or probabilities;
            AP depends only on their order).
        labels (`array-like` of shape `(N, num_attributes)`): 0/1 privacy labels.
        attribute_names (`Sequence[str]`, *optional*): names of the attributes (columns), used in the
            result; defaults to ``attribute_0``, ``attribute_1``, ...

    Returns:
        [`CMapResult`]: the mean AP over attributes that have at least one positive label, the AP of each
        of them, and the names of the attributes left out (no positive label, so AP is undefined).
    """
    score_array, label_array, names = _multilabel_inputs(scores, labels, attribute_names)
    per_attribute: dict[str, float] = {}
    left_out: list[str] = []
    for column, name in enumerate(names):
        if label_array[:, column].sum() == 0:
            left_out.append(name)
            continue
        per_attribute[name] = average_precision(score_array[:, column], label_array[:, column])
    _warn_left_out("privacy cMAP", left_out)
    return CMapResult(_mean_or_nan(list(per_attribute.values())), per_attribute, tuple(left_out))


def _f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    true_positive = int(np.sum(predicted & truth))
    denominator = int(predicted.sum() + truth.sum())
    return 2.0 * true_positive / denominator if denominator else 0.0


def privacy_f1(
    scores: Any,
    labels: Any,
    threshold: float = 0.5,
    scores_are_logits: bool = True,
    attribute_names: Sequence[str] | None = None,
) -> F1Result:
    """Mean per-attribute F1 of a privacy attacker at a probability threshold.

    Scores are turned into probabilities with a sigmoid (when ``scores_are_logits``), an attribute is
    predicted present when its probability is ``>= threshold``, and the F1 = 2 TP / (2 TP + FP + FN) of
    each attribute is averaged. An attribute with no positive label is left out of the mean and named,
    exactly as in [`privacy_cmap`] (its F1 would be 0 whatever the attacker does). An attribute with
    positives but no positive prediction scores 0.

    Args:
        scores (`array-like` of shape `(N, num_attributes)`): attacker logits, or probabilities when
            ``scores_are_logits=False``.
        labels (`array-like` of shape `(N, num_attributes)`): 0/1 privacy labels.
        threshold (`float`, *optional*, defaults to 0.5): probability threshold, in (0, 1).
        scores_are_logits (`bool`, *optional*, defaults to `True`): apply a sigmoid to ``scores`` first.
        attribute_names (`Sequence[str]`, *optional*): names of the attributes.

    Returns:
        [`F1Result`].
    """
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"`threshold` must lie strictly between 0 and 1, got {threshold}.")
    score_array, label_array, names = _multilabel_inputs(scores, labels, attribute_names)
    if scores_are_logits:
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * score_array))  # a sigmoid that cannot overflow
    else:
        if np.any(score_array < 0) or np.any(score_array > 1):
            raise ValueError(
                "`scores` must be probabilities in [0, 1] when `scores_are_logits=False`; "
                "pass `scores_are_logits=True` for logits."
            )
        probabilities = score_array
    predicted = probabilities >= threshold
    truth = label_array.astype(bool)
    per_attribute: dict[str, float] = {}
    left_out: list[str] = []
    for column, name in enumerate(names):
        if not truth[:, column].any():
            left_out.append(name)
            continue
        per_attribute[name] = _f1(predicted[:, column], truth[:, column])
    _warn_left_out("privacy F1", left_out)
    return F1Result(
        _mean_or_nan(list(per_attribute.values())), per_attribute, tuple(left_out), float(threshold)
    )


def chance_cmap(labels: Any, attribute_names: Sequence[str] | None = None) -> CMapResult:
    """cMAP of a blind attacker, one that gives every video the same scores.

    With all scores tied, the only threshold calls every video positive, so the AP of an attribute equals
    its positive prevalence in ``labels``. Attributes with no positive are left out as in
    [`privacy_cmap`]. An anonymizer is only as private as its attacker's distance to this number.

    Args:
        labels (`array-like` of shape `(N, num_attributes)`): 0/1 privacy labels of the test set.
        attribute_names (`Sequence[str]`, *optional*): names of the attributes.

    Returns:
        [`CMapResult`] whose ``per_attribute`` holds the prevalences.
    """
    label_array = _binary_labels(labels)
    return privacy_cmap(np.zeros(label_array.shape, dtype=np.float64), label_array, attribute_names)


def chance_f1(labels: Any, attribute_names: Sequence[str] | None = None) -> F1Result:
    """Mean F1 of the best blind attacker: the one that predicts every attribute present for every video.

    A constant decision rule scores F1 = 0 (always absent) or 2p / (1 + p) (always present), with p the
    positive prevalence, so the latter is the blind attacker's F1. Left-out rule as in [`privacy_f1`].

    Args:
        labels (`array-like` of shape `(N, num_attributes)`): 0/1 privacy labels of the test set.
        attribute_names (`Sequence[str]`, *optional*): names of the attributes.

    Returns:
        [`F1Result`].
    """
    label_array = _binary_labels(labels)
    return privacy_f1(
        np.ones(label_array.shape, dtype=np.float64),
        label_array,
        threshold=0.5,
        scores_are_logits=False,
        attribute_names=attribute_names,
    )


def best_single_frame_cmap(
    frame_scores: Any, labels: Any, attribute_names: Sequence[str] | None = None
) -> SingleFrameCMapResult:
    """cMAP of the strongest single-frame attacker.

    A per-frame attacker usually averages its logits over time; this asks instead what it can learn from
    one frame position alone (useful when an anonymizer hides a person in most frames but not in all).
    For each frame position t, the cMAP of ``frame_scores[:, t]`` is computed; the maximum is returned.

    Args:
        frame_scores (`array-like` of shape `(N, T, num_attributes)`): attacker scores per frame.
        labels (`array-like` of shape `(N, num_attributes)`): 0/1 privacy labels.
        attribute_names (`Sequence[str]`, *optional*): names of the attributes.

    Returns:
        [`SingleFrameCMapResult`] with the best cMAP, the frame position reaching it and every position's
        cMAP.
    """
    scores = _as_array(frame_scores, "frame_scores", dtype=np.float64)
    if scores.ndim != 3:
        raise ValueError(f"`frame_scores` must have shape (N, T, num_attributes), got {scores.shape}.")
    if scores.shape[1] == 0:
        raise ValueError("`frame_scores` has no frame positions (T = 0).")
    per_frame = [privacy_cmap(scores[:, t], labels, attribute_names) for t in range(scores.shape[1])]
    values = np.array([result.cmap for result in per_frame])
    if np.all(np.isnan(values)):
        return SingleFrameCMapResult(float("nan"), 0, tuple(values.tolist()), per_frame[0].left_out)
    best = int(np.nanargmax(values))
    return SingleFrameCMapResult(float(values[best]), best, tuple(values.tolist()), per_frame[0].left_out)


# --------------------------------------------------------------------------------------------------
# Temporal consistency
# --------------------------------------------------------------------------------------------------


def mask_flicker_rate(keep_mask: Any) -> float:
    """Share of tubelet positions whose keep state changes between consecutive time slots.

    For every video b, time slot t in [1, T') and spatial position (h, w), the mask is compared with the
    same position at t - 1; the result is the mean of "changed" over all these comparisons. 0 means the
    pruned region stands still in time (no flicker), 1 means every position toggles at every slot.

    Args:
        keep_mask (`array-like` of shape `(B, T', H', W')`): tubelet keep mask (1 = kept, 0 = pruned;
            values are binarised at 0.5).

    Returns:
        `float` in [0, 1].
    """
    mask = _as_array(keep_mask, "keep_mask", dtype=np.float64)
    _check_finite(mask, "keep_mask")
    if mask.ndim != 4:
        raise ValueError(f"`keep_mask` must have shape (B, T', H', W'), got {mask.shape}.")
    if mask.shape[1] < 2:
        raise ValueError(
            f"`keep_mask` needs at least 2 time slots to measure flicker, got shape {mask.shape}."
        )
    if mask.size == 0:
        raise ValueError(f"`keep_mask` is empty (shape {mask.shape}).")
    kept = mask > 0.5
    return float(np.mean(kept[:, 1:] != kept[:, :-1]))


# --------------------------------------------------------------------------------------------------
# evaluate modules
# --------------------------------------------------------------------------------------------------


def load_metric(name: str, **kwargs: Any) -> evaluate.EvaluationModule:
    """Loads one of the project's ``evaluate`` modules from the installed package (no Hub access).

    Args:
        name (`str`): one of ``"vidanon_accuracy"``, ``"privacy_cmap"``, ``"privacy_f1"``.
        **kwargs: passed to ``evaluate.load`` (``experiment_id``, ``keep_in_memory``, ``num_process``,
            ``process_id``, ...).

    Returns:
        `evaluate.EvaluationModule`: use ``add_batch(predictions=..., references=...)`` then
        ``compute(...)``, or ``compute(predictions=..., references=...)`` directly.
    """
    if name not in EVALUATE_MODULES:
        raise ValueError(f"Unknown metric {name!r}; available: {', '.join(EVALUATE_MODULES)}.")
    module_dir = _EVALUATE_MODULES_DIR / name
    if not (module_dir / f"{name}.py").is_file():
        raise FileNotFoundError(
            f"The evaluate module file {module_dir / (name + '.py')} is missing from the installed package."
        )
    import evaluate  # imported here: it pulls in `datasets`, which takes seconds

    return evaluate.load(str(module_dir), **kwargs)


#: The input kinds of the ``evaluate`` modules: one score per class or attribute, or one class id, per example.
EVALUATE_INPUT_KINDS: tuple[str, ...] = ("scores", "class_id")


def evaluate_metric_info(
    description: str, inputs_description: str, *formats: dict[str, str]
) -> evaluate.MetricInfo:
    """The ``evaluate.MetricInfo`` of one of the ``evaluate`` modules in ``evaluate_modules/``.

    Args:
        description (`str`): what the metric measures.
        inputs_description (`str`): its arguments and outputs.
        formats (`dict[str, str]`): the input formats it takes, each ``{column: kind}`` for the columns
            ``predictions`` and ``references``, a kind of `EVALUATE_INPUT_KINDS`; with several, ``evaluate`` takes
            the one that fits the inputs.
    """
    import datasets
    import evaluate

    def feature(column: str, kind: str):
        if kind == "scores":
            return datasets.Sequence(datasets.Value("float64"))
        if kind == "class_id":
            return datasets.Value("int64")
        raise ValueError(f"The input kind of {column!r} must be one of {EVALUATE_INPUT_KINDS}, got {kind!r}.")

    features = [datasets.Features({column: feature(column, kind) for column, kind in f.items()}) for f in formats]
    return evaluate.MetricInfo(
        description=description,
        citation="",
        inputs_description=inputs_description,
        features=features[0] if len(features) == 1 else features,
    )
