"""Metrics inside the FOV, checked against cases small enough to count by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.measure.metrics import (
    Accumulator,
    average_precision,
    confusion,
    mask_scores,
    roc_auc,
    scores_from_confusion,
)

# pred / truth on a 2x4 image: tp=2, fp=1, fn=1, tn=4
PRED = np.array([[1, 1, 1, 0], [0, 0, 0, 0]], bool)
TRUTH = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)


def test_confusion_counts_by_hand():
    assert confusion(PRED, TRUTH) == (2, 1, 1, 4)


def test_scores_by_hand():
    s = mask_scores(PRED, TRUTH)
    assert s.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))  # 2/3
    assert s.iou == pytest.approx(2 / 4)
    assert s.accuracy == pytest.approx(6 / 8)
    assert s.sensitivity == pytest.approx(2 / 3)
    assert s.specificity == pytest.approx(4 / 5)
    assert s.precision == pytest.approx(2 / 3)
    assert math.isnan(s.roc_auc) and math.isnan(s.pr_auc)


def test_f1_equals_dice():
    s = mask_scores(PRED, TRUTH)
    dice = 2 * np.sum(PRED & TRUTH) / (PRED.sum() + TRUTH.sum())
    assert s.f1 == pytest.approx(dice)


def test_pixels_outside_the_fov_are_not_counted():
    fov = np.ones_like(PRED)
    fov[0, 2] = False  # hides the false positive
    fov[1, :2] = False  # hides two true negatives
    assert confusion(PRED, TRUTH, fov) == (2, 0, 1, 2)
    # whatever lies outside the FOV has no effect
    pred2 = PRED.copy()
    pred2[~fov] = ~pred2[~fov]
    assert mask_scores(pred2, TRUTH, fov) == mask_scores(PRED, TRUTH, fov)


def test_undefined_ratios_are_nan_not_errors():
    s = scores_from_confusion(0, 0, 0, 5)
    assert math.isnan(s.f1) and math.isnan(s.sensitivity) and s.specificity == 1.0


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ"):
        confusion(PRED, TRUTH[:, :3])


def _pairwise_auc(prob: np.ndarray, truth: np.ndarray) -> float:
    """P(score of a vessel pixel > score of a background pixel), ties counting one half."""
    pos, neg = prob[truth], prob[~truth]
    total = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return total / (len(pos) * len(neg))


def test_roc_auc_by_hand():
    prob = np.array([0.9, 0.8, 0.7, 0.6])
    truth = np.array([1, 0, 1, 0], bool)
    assert roc_auc(prob, truth) == pytest.approx(3 / 4)  # pairs: (0.9>0.8, 0.9>0.6, 0.7<0.8, 0.7>0.6)


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_with_ties_matches_brute_force_pairs(seed: int):
    rng = np.random.default_rng(seed)
    prob = rng.integers(0, 6, 60) / 5.0  # six levels: many ties
    truth = rng.random(60) < 0.4
    assert roc_auc(prob, truth) == pytest.approx(_pairwise_auc(prob, truth), abs=1e-12)


def test_roc_auc_extremes_and_undefined():
    truth = np.array([0, 0, 1, 1], bool)
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), truth) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), truth) == 0.0
    assert roc_auc(np.full(4, 0.5), truth) == 0.5
    assert math.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1], bool)))


def test_average_precision_by_hand():
    prob = np.array([0.9, 0.8, 0.7, 0.6])
    truth = np.array([1, 0, 1, 0], bool)
    # recall steps of 1/2 at precision 1/1 and 2/3
    assert average_precision(prob, truth) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_average_precision_groups_ties():
    prob = np.array([0.9, 0.5, 0.5, 0.1])
    truth = np.array([1, 1, 0, 0], bool)
    # the tie group (one vessel, one background) is one step: precision 2/3 at recall 1
    assert average_precision(prob, truth) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert math.isnan(average_precision(prob, np.zeros(4, bool)))


def _images(n: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        truth = rng.random((20, 30)) < 0.2
        prob = np.clip(truth * 0.35 + rng.random((20, 30)) * 0.65, 0, 1).astype(np.float32)
        fov = np.ones((20, 30), bool)
        fov[:3] = False
        yield prob, truth, fov


@pytest.mark.parametrize("threshold", [0.5, 0.3, 0.6180, 0.0001])
def test_accumulator_pooled_scores_equal_mask_scores_of_all_pixels(threshold: float):
    acc = Accumulator()
    probs, truths = [], []
    for prob, truth, fov in _images():
        acc.add(prob, truth, fov)
        probs.append(prob[fov])
        truths.append(truth[fov])
    prob, truth = np.concatenate(probs), np.concatenate(truths)
    pooled = acc.scores(threshold)
    exact = mask_scores(prob >= threshold, truth)
    for name in ("f1", "iou", "accuracy", "sensitivity", "specificity", "precision"):
        assert getattr(pooled, name) == pytest.approx(getattr(exact, name), abs=1e-12), name


def test_accumulator_aucs_are_close_to_the_exact_ones():
    acc = Accumulator()
    probs, truths = [], []
    for prob, truth, fov in _images(seed=4):
        acc.add(prob, truth, fov)
        probs.append(prob[fov])
        truths.append(truth[fov])
    prob, truth = np.concatenate(probs), np.concatenate(truths)
    assert acc.roc_auc() == pytest.approx(roc_auc(prob, truth), abs=1e-3)
    assert acc.pr_auc() == pytest.approx(average_precision(prob, truth), abs=1e-3)
    s = acc.scores(0.5)
    assert s.roc_auc == acc.roc_auc() and s.pr_auc == acc.pr_auc()


def test_best_threshold_maximises_pooled_f1():
    acc = Accumulator()
    for prob, truth, fov in _images(seed=7):
        acc.add(prob, truth, fov)
    thr, f1 = acc.best_threshold()
    assert 0 < thr < 1
    assert acc.scores(thr).f1 == pytest.approx(f1)
    for other in np.linspace(0.01, 0.99, 50):
        assert acc.scores(float(other)).f1 <= f1 + 1e-12


def test_best_threshold_separates_separable_data():
    acc = Accumulator()
    acc.add(np.array([0.1, 0.2, 0.7, 0.8], np.float32), np.array([0, 0, 1, 1], bool))
    thr, f1 = acc.best_threshold()
    assert f1 == 1.0 and 0.2 < thr <= 0.7


def test_accumulator_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="differ"):
        Accumulator().add(np.zeros((2, 3)), np.zeros((3, 2), bool))


def test_accumulator_agrees_with_thresholding_at_every_bin_edge():
    """best_threshold() returns k / bins; a float32 map at or one step below it must land on the right side."""
    bins = 10_000
    edge = (np.arange(1, bins) / bins).astype(np.float32)
    prob = np.concatenate([np.nextafter(edge, np.float32(0)), edge])
    truth = np.arange(prob.size) >= edge.size  # vessel exactly at the edges, background just below
    acc = Accumulator(bins)
    acc.add(prob, truth)
    for k in (1, 7, 14, 17, 3000, 5000, 9999):
        pooled, exact = acc.scores(k / bins), mask_scores(prob >= k / bins, truth)
        assert (pooled.sensitivity, pooled.specificity) == (exact.sensitivity, exact.specificity), k


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=2, max_size=30))
def test_roc_auc_equals_pairwise_count_for_any_small_case(pairs):
    prob = np.array([p / 4 for p, _ in pairs])
    truth = np.array([t for _, t in pairs])
    assume(truth.any() and not truth.all())
    assert roc_auc(prob, truth) == pytest.approx(_pairwise_auc(prob, truth), abs=1e-12)
    acc = Accumulator(bins=8)
    acc.add(prob.astype(np.float32), truth)
    assert acc.roc_auc() == pytest.approx(_pairwise_auc(prob, truth), abs=1e-12), "bins that separate levels are exact"
