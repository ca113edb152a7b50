"""Tests of the evaluation metrics and of the `evaluate` modules that wrap them."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, f1_score

from transformers_vidanon.metrics import (
    CMapResult,
    action_top1,
    average_precision,
    best_single_frame_cmap,
    chance_cmap,
    chance_f1,
    chance_top1,
    load_metric,
    mask_flicker_rate,
    privacy_cmap,
    privacy_f1,
)

NAMES = ["skin_color", "face", "gender", "nudity", "relationship"]


def _random_multilabel(seed: int, num: int = 64, prevalence=(0.9, 0.6, 0.9, 0.25, 0.25)):
    rng = np.random.default_rng(seed)
    labels = (rng.random((num, len(prevalence))) < np.array(prevalence)).astype(np.float32)
    # informative but noisy logits, with some exact ties (rounded) to exercise the tie handling
    logits = np.round(1.5 * (labels - 0.5) + rng.normal(size=labels.shape), 1)
    return logits, labels


# ----------------------------------------------------------------------------------------- action


def test_action_top1_matches_sklearn_on_logits_and_ids():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 7))
    labels = rng.integers(0, 7, size=200)
    expected = accuracy_score(labels, logits.argmax(1))
    assert action_top1(logits, labels) == pytest.approx(expected)
    assert action_top1(logits.argmax(1), labels) == pytest.approx(expected)
    assert action_top1(np.eye(3), [0, 1, 0]) == pytest.approx(2 / 3)


def test_chance_top1_is_the_majority_share():
    labels = np.array([2, 2, 0, 2, 1, 0, 2, 2])
    assert chance_top1(labels) == pytest.approx(5 / 8)
    assert chance_top1(labels) == pytest.approx(action_top1(np.full(8, 2), labels))
    assert chance_top1(np.arange(4)) == pytest.approx(0.25)


def test_action_top1_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="labels"):
        action_top1(np.zeros((4, 3)), [0, 1, 2])


# ----------------------------------------------------------------------------------------- AP and cMAP


@pytest.mark.parametrize("seed", range(6))
def test_average_precision_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=40)
    labels[0] = 1
    scores = rng.normal(size=40) if seed % 2 else rng.integers(0, 4, size=40).astype(float)  # heavy ties
    assert average_precision(scores, labels) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_average_precision_known_value():
    # ranking: pos(0.9), neg(0.8), pos(0.7): AP = 1 * 1/2 + 2/3 * 1/2
    assert average_precision([0.9, 0.8, 0.7], [1, 0, 1]) == pytest.approx(0.5 + 1 / 3)


def test_privacy_cmap_matches_sklearn_macro():
    logits, labels = _random_multilabel(1)
    result = privacy_cmap(logits, labels, attribute_names=NAMES)
    assert isinstance(result, CMapResult)
    assert result.left_out == ()
    assert result.cmap == pytest.approx(average_precision_score(labels, logits, average="macro"), abs=1e-12)
    for column, name in enumerate(NAMES):
        assert result.per_attribute[name] == pytest.approx(
            average_precision_score(labels[:, column], logits[:, column])
        )


def test_privacy_cmap_leaves_out_and_names_attribute_without_positive(caplog):
    logits, labels = _random_multilabel(2)
    labels[:, 3] = 0  # no "nudity" positive in this test set
    with caplog.at_level(logging.WARNING):
        result = privacy_cmap(logits, labels, attribute_names=NAMES)
    assert result.left_out == ("nudity",)
    assert "nudity" not in result.per_attribute
    kept = [0, 1, 2, 4]
    expected = np.mean([average_precision_score(labels[:, c], logits[:, c]) for c in kept])
    assert result.cmap == pytest.approx(expected)
    assert "nudity" in caplog.text


def test_privacy_cmap_input_errors():
    with pytest.raises(ValueError, match="binary"):
        privacy_cmap(np.zeros((3, 2)), [[0, 2], [1, 0], [0, 1]])
    with pytest.raises(ValueError, match="same shape"):
        privacy_cmap(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="attribute_names"):
        privacy_cmap(np.zeros((3, 2)), np.ones((3, 2)), attribute_names=["a"])
    with pytest.raises(ValueError, match="NaN"):
        privacy_cmap(np.full((3, 2), np.nan), np.ones((3, 2)))


# ----------------------------------------------------------------------------------------- F1


def test_privacy_f1_matches_sklearn_on_sigmoid_probabilities():
    logits, labels = _random_multilabel(3)
    result = privacy_f1(logits, labels, attribute_names=NAMES)
    predicted = (1 / (1 + np.exp(-logits)) >= 0.5).astype(int)
    assert result.f1 == pytest.approx(f1_score(labels, predicted, average="macro", zero_division=0))
    for column, name in enumerate(NAMES):
        assert result.per_attribute[name] == pytest.approx(f1_score(labels[:, column], predicted[:, column]))
    # probabilities give the same numbers as the logits they came from
    probabilities = 1 / (1 + np.exp(-logits))
    assert privacy_f1(probabilities, labels, scores_are_logits=False).f1 == pytest.approx(result.f1)


def test_privacy_f1_threshold_and_left_out():
    logits, labels = _random_multilabel(4)
    labels[:, 0] = 0
    result = privacy_f1(logits, labels, threshold=0.8, attribute_names=NAMES)
    assert result.left_out == ("skin_color",)
    predicted = (1 / (1 + np.exp(-logits)) >= 0.8).astype(int)
    expected = np.mean([f1_score(labels[:, c], predicted[:, c], zero_division=0) for c in range(1, 5)])
    assert result.f1 == pytest.approx(expected)
    with pytest.raises(ValueError, match="threshold"):
        privacy_f1(logits, labels, threshold=1.5)
    with pytest.raises(ValueError, match="probabilities"):
        privacy_f1(logits, labels, scores_are_logits=False)


# ----------------------------------------------------------------------------------------- chance levels


def test_chance_cmap_equals_mean_prevalence_and_a_constant_attacker():
    _, labels = _random_multilabel(5, num=500)
    labels[:, 4] = 0
    result = chance_cmap(labels, attribute_names=NAMES)
    assert result.left_out == ("relationship",)
    assert result.cmap == pytest.approx(labels[:, :4].mean(axis=0).mean())
    # it is what sklearn gives a blind attacker (all scores equal)
    constant = np.full(labels.shape[0], 0.3)
    assert result.per_attribute["face"] == pytest.approx(average_precision_score(labels[:, 1], constant))


def test_chance_f1_is_all_positive_f1():
    _, labels = _random_multilabel(6, num=300)
    prevalence = labels.mean(axis=0)
    assert chance_f1(labels).f1 == pytest.approx(np.mean(2 * prevalence / (1 + prevalence)))
    assert chance_f1(labels).f1 == pytest.approx(f1_score(labels, np.ones_like(labels), average="macro"))


def test_best_single_frame_cmap_finds_the_leaking_frame():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, size=(80, 5))
    labels[0] = 1
    frame_scores = rng.normal(size=(80, 6, 5))  # uninformative frames ...
    frame_scores[:, 4] = labels + 0.01 * rng.normal(size=labels.shape)  # ... except frame 4, which leaks all
    result = best_single_frame_cmap(frame_scores, labels)
    assert result.frame_index == 4
    assert result.cmap == pytest.approx(1.0)
    assert len(result.per_frame) == 6
    assert result.per_frame[0] == pytest.approx(privacy_cmap(frame_scores[:, 0], labels).cmap)
    assert max(result.per_frame[:4]) < 0.9


# ----------------------------------------------------------------------------------------- flicker


def test_mask_flicker_rate_constant_alternating_and_partial():
    rng = np.random.default_rng(8)
    spatial = rng.integers(0, 2, size=(2, 1, 3, 3)).astype(np.float32)
    constant = np.repeat(spatial, 5, axis=1)
    assert mask_flicker_rate(constant) == 0.0
    alternating = np.stack([spatial[:, 0], 1 - spatial[:, 0]] * 3, axis=1)  # (2, 6, 3, 3)
    assert mask_flicker_rate(alternating) == 1.0
    partial = np.zeros((1, 3, 2, 2))
    partial[0, 1, 0, 0] = 1  # one position on at t=1: changes at t=1 and t=2 -> 2 of 2*4 comparisons
    assert mask_flicker_rate(partial) == pytest.approx(2 / 8)
    with pytest.raises(ValueError, match="2 time slots"):
        mask_flicker_rate(np.ones((1, 1, 2, 2)))


# ----------------------------------------------------------------------------------------- evaluate modules


def test_evaluate_modules_loaded_by_path_give_the_same_numbers():
    logits, labels = _random_multilabel(9)
    labels[:, 3] = 0

    cmap_metric = load_metric("privacy_cmap")
    for start in range(0, len(labels), 16):  # batched, as a training loop would feed it
        cmap_metric.add_batch(predictions=logits[start : start + 16], references=labels[start : start + 16])
    cmap = cmap_metric.compute(attribute_names=NAMES)
    direct = privacy_cmap(logits, labels, attribute_names=NAMES)
    assert cmap["cmap"] == pytest.approx(direct.cmap, abs=1e-12)
    assert cmap["left_out"] == ["nudity"]
    assert cmap["per_attribute_ap"] == pytest.approx(direct.per_attribute)

    f1 = load_metric("privacy_f1").compute(predictions=logits, references=labels, threshold=0.6)
    assert f1["f1"] == pytest.approx(privacy_f1(logits, labels, threshold=0.6).f1)
    assert f1["left_out"] == ["attribute_3"]

    rng = np.random.default_rng(10)
    action_logits, action_labels = rng.normal(size=(50, 4)), rng.integers(0, 4, size=50)
    accuracy = load_metric("vidanon_accuracy")
    assert accuracy.compute(predictions=action_logits, references=action_labels)["accuracy"] == pytest.approx(
        accuracy_score(action_labels, action_logits.argmax(1))
    )
    assert accuracy.compute(predictions=[2, 1, 0], references=[2, 1, 1])["accuracy"] == pytest.approx(2 / 3)


def test_load_metric_unknown_name():
    with pytest.raises(ValueError, match="privacy_cmap"):
        load_metric("accuracy")
    assert math.isnan(privacy_cmap(np.zeros((2, 1)), np.zeros((2, 1))).cmap)
