"""Classification metrics against values worked out by hand, and a brute-force ROC-AUC."""

import itertools

import numpy as np
import pytest

from auralab.metrics.classification import (
    accuracy,
    balanced_accuracy,
    classification_report,
    confusion_matrix,
    f1_per_class,
    macro_f1,
    per_class_accuracy,
    roc_auc_ovr,
    roc_auc_per_class,
)

# 3 classes, 6 items: true 0 0 1 1 2 2, predicted 0 1 1 1 0 2.
TARGET = np.array([0, 0, 1, 1, 2, 2])
PRED = np.array([0, 1, 1, 1, 0, 2])


def test_confusion_matrix_by_hand():
    assert confusion_matrix(PRED, TARGET).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_accuracies_by_hand():
    assert accuracy(PRED, TARGET) == pytest.approx(4 / 6)
    assert per_class_accuracy(PRED, TARGET).tolist() == [0.5, 1.0, 0.5]
    assert balanced_accuracy(PRED, TARGET) == pytest.approx(2 / 3)


def test_f1_by_hand():
    # class 0: TP 1, FP 1, FN 1 -> 0.5; class 1: TP 2, FP 1, FN 0 -> 0.8; class 2: 2/3.
    assert f1_per_class(PRED, TARGET) == pytest.approx([0.5, 0.8, 2 / 3])
    assert macro_f1(PRED, TARGET) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_scores_are_argmaxed():
    scores = np.eye(3)[PRED] * 0.7 + 0.1
    assert accuracy(scores, TARGET) == accuracy(PRED, TARGET)


def test_roc_auc_by_hand_with_a_tie():
    # positives 0.9 and 0.4 against negatives 0.3 0.4 0.2 0.1: 4 + 3 wins and one tie = 7.5 / 8
    s = np.array([0.9, 0.4, 0.3, 0.4, 0.2, 0.1])
    scores = np.stack([s, 1 - s], axis=1)
    target = np.array([0, 0, 1, 1, 1, 1])
    assert roc_auc_per_class(scores, target)[0] == pytest.approx(7.5 / 8)
    assert roc_auc_per_class(scores, target)[1] == pytest.approx(7.5 / 8)


def brute_force_auc(score: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = score[positive], score[~positive]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_roc_auc_matches_pair_counting():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random((60, 4)), 1)  # rounding makes many ties
    target = rng.integers(0, 4, 60)
    expected = [brute_force_auc(scores[:, c], target == c) for c in range(4)]
    assert roc_auc_per_class(scores, target) == pytest.approx(expected)
    assert roc_auc_ovr(scores, target) == pytest.approx(np.mean(expected))


def test_perfect_and_absent_classes():
    target = np.array([0, 0, 1, 1])
    scores = np.array([[0.9, 0.1, 0], [0.8, 0.2, 0], [0.1, 0.9, 0], [0.3, 0.7, 0]])
    report = classification_report(scores, target)
    assert report["accuracy"] == 1.0 and report["roc_auc"] == 1.0
    # class 2 never occurs: NaN per class, left out of the means instead of counted as 0
    assert report["per_class_accuracy"] == [1.0, 1.0, None]
    assert report["balanced_accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert report["confusion"] == [[2, 0, 0], [0, 2, 0], [0, 0, 0]]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="items"):
        accuracy(np.array([0, 1]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="shape"):
        roc_auc_per_class(np.array([0.1, 0.2]), np.array([0, 1]))
