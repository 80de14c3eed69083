"""Typing a vessel mask's arteries and veins beyond one vote per segment: along the tree, and balanced."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import line

from core.io.artery_vein import ARTERY, VEIN
from core.predict.artery_vein import (
    DEFAULT_TYPING,
    MIN_BALANCED_SEGMENTS,
    TYPINGS,
    balanced_offset,
    classify_vessels,
    inconsistent_fraction,
)
from core.predict.vessel_tree import segment_graph, tree_types


def _draw(shape: tuple[int, int], lines: list[tuple[int, int, int, int]], width: int = 5) -> list[np.ndarray]:
    """One bool mask per line, each ``width`` px wide."""
    masks = []
    for r0, c0, r1, c1 in lines:
        m = np.zeros(shape, bool)
        m[line(r0, c0, r1, c1)] = True
        masks.append(ndi.binary_dilation(m, np.ones((width, width), bool)))
    return masks


def _probabilities(vessels: np.ndarray, log_odds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(artery), P(vein) with the given artery log-odds on the vessels (0.9 of the pixel is vessel)."""
    p = 1 / (1 + np.exp(-log_odds))
    return (np.where(vessels, 0.9 * p, 0).astype(np.float32),
            np.where(vessels, 0.9 * (1 - p), 0).astype(np.float32))


def _branching() -> tuple[np.ndarray, list[np.ndarray]]:
    """A trunk from the left that branches in two at (100, 90), each branch turning 30° from it."""
    trunk, up, down = _draw((200, 200), [(100, 10, 100, 90), (100, 90, 40, 190), (100, 90, 160, 190)])
    return trunk | up | down, [trunk, up & ~trunk, down & ~trunk & ~up]


def test_a_branch_the_model_calls_vein_takes_its_artery_trunk_type() -> None:
    vessels, (trunk, up, down) = _branching()
    log_odds = np.where(trunk | up, 2.0, 0.0)
    log_odds[down] = -0.5  # weakly vein: a mistyped branch of an artery
    p_artery, p_vein = _probabilities(vessels, log_odds)
    per_segment = classify_vessels(vessels, p_artery, p_vein, typing="per_segment")
    assert per_segment[160, 185] == VEIN
    along_tree = classify_vessels(vessels, p_artery, p_vein, typing="tree")
    assert (along_tree[vessels] == ARTERY).all()
    assert inconsistent_fraction(vessels, along_tree) == 0


def test_a_branch_with_strong_evidence_of_its_own_keeps_it() -> None:
    vessels, (trunk, up, down) = _branching()
    log_odds = np.where(vessels, 2.0, 0.0)
    log_odds[down] = -8.0  # a vein touching the artery's branching: the model is sure
    p_artery, p_vein = _probabilities(vessels, log_odds)
    along_tree = classify_vessels(vessels, p_artery, p_vein, typing="tree")
    assert along_tree[160, 185] == VEIN and along_tree[100, 20] == ARTERY


def _crossing() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An artery across (row 100) and a vein down (column 100), crossing in the middle."""
    across, down = _draw((200, 200), [(100, 5, 100, 195), (5, 100, 195, 100)], width=5)
    return across | down, across, down & ~across


def test_a_crossing_keeps_two_types_and_joins_each_vessel_across_it() -> None:
    vessels, artery, vein = _crossing()
    log_odds = np.where(artery, 1.5, 0.0)
    log_odds[vein] = -1.5
    log_odds[110:, 95:106] = 0.3  # the vein's lower arm looks a little like an artery
    p_artery, p_vein = _probabilities(vessels, log_odds)
    assert classify_vessels(vessels, p_artery, p_vein, typing="per_segment")[180, 100] == ARTERY
    labels = classify_vessels(vessels, p_artery, p_vein, typing="tree")
    assert labels[100, 10] == ARTERY and labels[100, 190] == ARTERY
    assert labels[10, 100] == VEIN and labels[180, 100] == VEIN
    graph = segment_graph(vessels)
    assert set(graph.arms.tolist()) == {4}
    joined = {tuple(sorted((int(graph.segments[p]), int(graph.segments[q])))) for p, q in
              (((100, 10), (100, 190)), ((10, 100), (190, 100)))}
    assert {tuple(map(int, j)) for j in graph.joins} == joined  # each vessel with itself, never with the other


def test_without_joins_or_strength_the_tree_is_the_segment_vote() -> None:
    vessels, _, _ = _crossing()
    graph = segment_graph(vessels)
    evidence = np.array([0.0, 5.0, -3.0, 2.0, -1.0])[: graph.count + 1]
    np.testing.assert_array_equal(tree_types(graph, evidence, 0.0)[1:], evidence[1:] >= 0)


def test_an_empty_mask_and_a_blob_type_without_error() -> None:
    for typing in TYPINGS:
        empty = np.zeros((20, 20), bool)
        assert (classify_vessels(empty, np.zeros((20, 20)), np.zeros((20, 20)), typing=typing) == 0).all()
        blob = empty.copy()
        blob[5:9, 5:9] = True
        labels = classify_vessels(blob, np.where(blob, 0.2, 0.0), np.where(blob, 0.7, 0.0), typing=typing)
        assert (labels[blob] == VEIN).all() and (labels[~blob] == 0).all()


def _many_vessels(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` separate short vessels (one segment each), and a segment number per pixel."""
    vessels = np.zeros((count * 6 + 4, 40), bool)
    for i in range(count):
        vessels[3 + 6 * i: 6 + 6 * i, 5:35] = True
    segments, _ = ndi.label(vessels)
    return vessels, segments


def test_balancing_types_the_prior_share_artery_by_the_model_ranking() -> None:
    vessels, segments = _many_vessels(MIN_BALANCED_SEGMENTS + 10)
    n = int(segments.max())
    ranking = np.linspace(-3.0, -0.5, n)  # every vessel looks like a vein; the top ones less so
    log_odds = np.where(vessels, ranking[np.maximum(segments - 1, 0)], 0.0).astype(np.float32)
    p_artery, p_vein = _probabilities(vessels, log_odds)
    assert (classify_vessels(vessels, p_artery, p_vein, typing="per_segment")[vessels] == VEIN).all()
    labels = classify_vessels(vessels, p_artery, p_vein, typing="balanced")
    artery = np.asarray(ndi.maximum(labels == ARTERY, segments, np.arange(1, n + 1)), bool)
    assert 0.4 <= artery.mean() <= 0.5
    assert artery[-1] and not artery[0]  # the ones the model found most artery-like
    banded = classify_vessels(vessels, p_artery, p_vein, typing="banded")
    share = (banded == ARTERY).sum() / vessels.sum()
    assert share == pytest.approx(0.40, abs=0.02)  # moved only back to the band's edge


def test_an_image_already_in_the_band_or_with_few_segments_is_not_moved() -> None:
    vessels, segments = _many_vessels(MIN_BALANCED_SEGMENTS + 10)
    n = int(segments.max())
    log_odds = np.where(vessels, np.linspace(-1, 1, n)[np.maximum(segments - 1, 0)] - 0.1, 0.0)
    assert balanced_offset(segments, log_odds, tolerance=0.05) == 0.0  # 0.45 of them artery: in the band
    few = np.where(segments <= MIN_BALANCED_SEGMENTS - 1, segments, 0)
    assert balanced_offset(few, np.where(few > 0, -3.0, 0.0)) == 0.0


def test_the_default_typing_is_one_of_the_typings_and_what_consistent_means() -> None:
    assert DEFAULT_TYPING in TYPINGS
    vessels, (trunk, up, down) = _branching()
    log_odds = np.where(trunk | up, 2.0, 0.0)
    log_odds[down] = -0.5
    p_artery, p_vein = _probabilities(vessels, log_odds)
    np.testing.assert_array_equal(classify_vessels(vessels, p_artery, p_vein),
                                  classify_vessels(vessels, p_artery, p_vein, typing=DEFAULT_TYPING))
    with pytest.raises(ValueError, match="unknown artery/vein typing"):
        classify_vessels(vessels, p_artery, p_vein, typing="nonsense")
