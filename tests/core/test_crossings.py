"""Crossings are marked where an artery and a vein touch: one small disk per place, on vessel pixels only, the
rest of the labels untouched; vessels of one type, or apart, get none."""

from __future__ import annotations

import numpy as np

from core.io.artery_vein import ARTERY, CROSSING, VEIN
from core.predict.crossings import find_crossings, mark_crossings


def crossing_at(labels: np.ndarray, row: int, col: int, width: int = 5) -> None:
    """An artery (horizontal) crossing a vein (vertical) at (row, col), typed as segment voting types it: the
    crossing's middle split between the arms (the artery's left arm, the vein's arms, the artery's right arm)."""
    half = width // 2
    labels[row - half:row + half + 1, col - 30:col + 31] = ARTERY
    labels[row - 30:row + 31, col - half:col + half + 1] = VEIN
    labels[row - half:row + half + 1, col - 30:col] = ARTERY


def test_an_artery_crossing_a_vein_is_one_crossing_at_its_middle() -> None:
    labels = np.zeros((100, 100), np.uint8)
    crossing_at(labels, 50, 50)
    [found] = find_crossings(labels)
    assert abs(found.row - 50) <= 3 and abs(found.col - 50) <= 3
    assert 5 <= found.width <= 9  # the 5-px vessels, up to √2 wider where they cross
    marked = mark_crossings(labels)
    assert marked[50, 50] == CROSSING and marked.dtype == np.uint8
    changed = marked != labels
    assert (marked[changed] == CROSSING).all() and (labels[changed] != 0).all()  # vessel pixels only
    rows, cols = np.nonzero(changed)
    assert np.hypot(rows - found.row, cols - found.col).max() <= 0.5 * found.width + 1e-9  # a small disk
    assert (marked[50, 22:40] == ARTERY).all() and (marked[22:40, 50] == VEIN).all()  # the arms keep their type


def test_two_crossings_are_two_marks() -> None:
    labels = np.zeros((100, 200), np.uint8)
    crossing_at(labels, 50, 50)
    crossing_at(labels, 50, 140)
    assert sorted(round(c.col / 10) for c in find_crossings(labels)) == [5, 14]


def test_vessels_of_one_type_or_apart_have_no_crossing() -> None:
    labels = np.zeros((100, 100), np.uint8)
    labels[48:53, 10:90] = ARTERY
    labels[10:90, 48:53] = ARTERY  # an artery crossing an artery: no artery/vein contact
    labels[70:75, 10:40] = VEIN  # a vein apart
    assert find_crossings(labels) == []
    np.testing.assert_array_equal(mark_crossings(labels), labels)
    assert find_crossings(np.zeros((5, 5), np.uint8)) == []
