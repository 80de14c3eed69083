"""Artery/vein labels follow hand edits of the vessel mask: painted vessels take the type of the typed vessel they
touch (a bridge between an artery and a vein is split), isolated strokes stay untyped, erased vessels lose their
type, and the labels' delta is computed before the vessel edit is applied and reads only the edit's box."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from core.edit.mask_ops import fill_polygon, paint_segment, replace_delta
from core.edit.typed_vessels import labels_following
from core.io.artery_vein import ARTERY, CROSSING, VEIN


def two_vessels() -> tuple[np.ndarray, np.ndarray]:
    """A 60×80 vessel mask with an artery (rows 10–12, columns 5–30) and a vein (rows 10–12, columns 50–75)."""
    vessels = np.zeros((60, 80), np.uint8)
    labels = np.zeros((60, 80), np.uint8)
    vessels[10:13, 5:31] = 1
    labels[10:13, 5:31] = ARTERY
    vessels[10:13, 50:76] = 1
    labels[10:13, 50:76] = VEIN
    return vessels, labels


def edit(vessels: np.ndarray, labels: np.ndarray, delta) -> np.ndarray:  # noqa: ANN001
    """Apply the vessel edit and the labels' change that follows it; the labels as they end up."""
    change = labels_following(labels, vessels, delta)
    delta.apply(vessels)
    if change is not None:
        change.apply(labels)
    assert not (labels[vessels == 0] != 0).any(), "a type off the vessels"
    return labels


def test_a_stroke_extending_an_artery_is_artery() -> None:
    vessels, labels = two_vessels()
    stroke = paint_segment(vessels, (30.5, 11.5), (30.5, 40.5), 1.0, 1)  # down from the artery's end
    labels = edit(vessels, labels, stroke)
    painted = vessels.astype(bool) & ~two_vessels()[0].astype(bool)
    assert painted.sum() > 50 and (labels[painted] == ARTERY).all()


def test_a_stroke_bridging_an_artery_and_a_vein_is_split_where_the_two_meet() -> None:
    vessels, labels = two_vessels()
    labels = edit(vessels, labels, paint_segment(vessels, (30.5, 11.5), (50.5, 11.5), 1.0, 1))
    assert (labels[10:13, 31:39] == ARTERY).all() and (labels[10:13, 42:50] == VEIN).all()
    assert set(np.unique(labels[10:13, 31:50])) == {ARTERY, VEIN}


def test_a_stroke_touching_no_typed_vessel_stays_untyped_and_the_labels_are_left_alone() -> None:
    vessels, labels = two_vessels()
    before = labels.copy()
    stroke = paint_segment(vessels, (10.5, 40.5), (40.5, 40.5), 2.0, 1)
    assert labels_following(labels, vessels, stroke) is None
    stroke.apply(vessels)
    np.testing.assert_array_equal(labels, before)


def test_untyped_vessel_joined_to_a_typed_one_takes_its_type_along_its_length() -> None:
    vessels, labels = two_vessels()
    untyped = paint_segment(vessels, (31.5, 40.5), (31.5, 50.5), 1.0, 1)  # drawn apart from the artery first
    labels = edit(vessels, labels, untyped)
    assert (labels[40:51, 31] == 0).all()
    labels = edit(vessels, labels, paint_segment(vessels, (30.5, 12.5), (30.5, 41.5), 1.0, 1))  # then joined
    assert (labels[12:51, 30:33][vessels[12:51, 30:33] != 0] == ARTERY).all()


def test_erased_vessel_pixels_lose_their_type_and_the_rest_keep_theirs() -> None:
    vessels, labels = two_vessels()
    labels = edit(vessels, labels, paint_segment(vessels, (15.5, 11.5), (20.5, 11.5), 2.0, 0))
    assert (labels[10:13, 14:22] == 0).all()
    assert (labels[10:13, 5:12] == ARTERY).all() and (labels[10:13, 50:76] == VEIN).all()


def test_a_crossing_gives_no_type_and_keeps_its_own() -> None:
    vessels, labels = two_vessels()
    labels[10:13, 24:31] = CROSSING  # the artery's end is a crossing: which of the two goes on is unknown
    labels = edit(vessels, labels, paint_segment(vessels, (30.5, 13.5), (30.5, 30.5), 1.0, 1))
    assert (labels[10:13, 24:31] == CROSSING).all()
    assert (labels[14:31, 29:32] == 0).all()


def test_the_change_undoes_exactly_and_is_no_bigger_than_the_edit() -> None:
    vessels, labels = two_vessels()
    before = labels.copy()
    stroke = paint_segment(vessels, (30.5, 11.5), (45.5, 30.5), 1.5, 1)
    change = labels_following(labels, vessels, stroke)
    assert change is not None
    y0, x0, y1, x1 = change.box
    sy0, sx0, sy1, sx1 = stroke.box
    assert sy0 - 2 <= y0 and sx0 - 2 <= x0 and y1 <= sy1 + 2 and x1 <= sx1 + 2
    change.apply(labels)
    change.revert(labels)
    np.testing.assert_array_equal(labels, before)


@pytest.mark.parametrize("seed", range(6))
def test_a_merged_or_dense_edit_is_read_as_apply_would_leave_it(seed: int) -> None:
    """Whatever form the vessel delta takes (merged brush segments and a lasso, a whole-mask replacement), the
    labels end on the edited vessels only, kept vessels keep their type, and painted pixels touching a typed
    vessel are typed."""
    rng = np.random.default_rng(seed)
    vessels, labels = two_vessels()
    stroke = paint_segment(vessels, (30.5, 11.5), tuple(rng.uniform(0, 60, 2)), 1.5, 1)
    stroke.apply(vessels)
    lasso = fill_polygon(vessels, [tuple(rng.uniform(0, 70, 2)) for _ in range(5)], int(rng.integers(0, 2)))
    stroke.revert(vessels)
    merged = stroke if lasso is None else stroke.merge(lasso)  # the lasso was computed after the stroke
    target = vessels.copy()
    merged.apply(target)
    kept = (vessels != 0) & (target != 0)
    touching = ndi.binary_dilation(kept & (labels != 0), np.ones((3, 3), bool)) & (target != 0) & (vessels == 0)
    for delta in (merged, replace_delta(vessels, target)):
        v = vessels.copy()
        lab = edit(v, labels.copy(), delta)
        np.testing.assert_array_equal(v, target)
        np.testing.assert_array_equal(lab[kept], labels[kept])
        assert (lab[touching] != 0).all()
