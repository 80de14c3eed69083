"""Mask editing: brush segments, polygon fills, replacements, and exact undo through deltas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.edit.mask_ops import (
    MIN_RADIUS,
    agreement,
    capsule_spans,
    fill_polygon,
    manual_edit_region,
    merge_manual_edits,
    paint_segment,
    replace_delta,
    vessel_fraction,
)
from core.measure.metrics import mask_scores

BIG = (2336, 3504)  # a Canon CR-1 fundus photograph, rows x columns


def brute_capsule(shape, p0, p1, radius):
    """Pixels whose centre is within radius of the segment, and those too close to the edge to judge."""
    h, w = shape
    r = max(radius, MIN_RADIUS)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    ax, ay = p0
    bx, by = p1
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    t = np.zeros_like(xx) if ll == 0 else np.clip(((xx - ax) * dx + (yy - ay) * dy) / ll, 0, 1)
    dist = np.hypot(xx - ax - t * dx, yy - ay - t * dy)
    return dist <= r, np.abs(dist - r) < 1e-6


def brute_polygon(shape, points, rule="nonzero"):
    """Winding number of every pixel centre (slow, obviously right)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    wind = np.zeros(shape, int)
    pts = list(points)
    for (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1], strict=True):
        if ya == yb:
            continue
        crosses = (np.minimum(ya, yb) <= yy) & (yy < np.maximum(ya, yb))
        # Intersect from the lower end, so an edge and its reverse give bit-identical x (a polygon
        # folded onto one line then winds +1 and -1 at exactly the same place and encloses nothing).
        (x0, y0), (x1, y1) = sorted([(xa, ya), (xb, yb)], key=lambda p: p[1])
        with np.errstate(over="ignore"):  # a near-horizontal edge overflows only where it crosses no centre
            x_at = x0 + (yy - y0) * (x1 - x0) / (y1 - y0)
        wind += np.where(crosses & (x_at > xx), 1 if yb > ya else -1, 0)
    return wind != 0 if rule == "nonzero" else wind % 2 == 1


# --- brush ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p0", "p1", "radius"),
    [
        ((20.0, 20.0), (50.0, 20.0), 10),  # horizontal
        ((20.0, 5.0), (20.0, 55.0), 4),  # vertical
        ((3.3, 4.1), (57.9, 41.2), 6.5),  # diagonal, fractional
        ((30.0, 30.0), (30.0, 30.0), 7),  # a click
        ((-15.0, -8.0), (10.0, 70.0), 9),  # starts and ends outside the image
        ((12.5, 12.5), (12.5, 12.5), 0),  # smallest brush: one pixel
        ((12.0, 12.0), (12.0, 12.0), 0.1),  # on a pixel corner: still paints the pixel below
    ],
)
def test_brush_paints_the_pixels_within_radius_of_the_segment(p0, p1, radius):
    mask = np.zeros((48, 64), bool)
    delta = paint_segment(mask, p0, p1, radius, True)
    assert not mask.any(), "computing a delta must not modify the mask"
    expected, borderline = brute_capsule(mask.shape, p0, p1, radius)
    delta.apply(mask)
    assert np.array_equal(mask[~borderline], expected[~borderline])
    rows, cols = np.nonzero(mask)
    assert delta.box == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)


@settings(max_examples=60, deadline=None)
@given(
    st.tuples(st.floats(-20, 80), st.floats(-20, 60)),
    st.tuples(st.floats(-20, 80), st.floats(-20, 60)),
    st.floats(0, 15),
)
def test_brush_agrees_with_brute_force_everywhere(p0, p1, radius):
    shape = (40, 60)
    rows, c0, c1 = capsule_spans(shape, p0, p1, radius)
    got = np.zeros(shape, bool)
    for r, a, b in zip(rows, c0, c1, strict=True):
        got[r, a : b + 1] = True
    expected, borderline = brute_capsule(shape, p0, p1, radius)
    assert np.array_equal(got[~borderline], expected[~borderline])


def test_segment_outside_the_image_changes_nothing():
    mask = np.zeros((30, 30), bool)
    assert paint_segment(mask, (-50, -50), (-20, -40), 5, True) is None
    assert paint_segment(mask, (100, 10), (200, 10), 5, True) is None


def test_painting_vessel_over_vessel_is_no_change():
    mask = np.ones((30, 30), bool)
    assert paint_segment(mask, (5, 5), (20, 20), 3, True) is None


def test_eraser_then_undo_restores_exactly():
    rng = np.random.default_rng(1)
    mask = rng.random((50, 70)) < 0.3
    before = mask.copy()
    delta = paint_segment(mask, (10, 10), (60, 40), 6, False)
    delta.apply(mask)
    assert not mask[delta.box[0]:delta.box[2], delta.box[1]:delta.box[3]].all()
    delta.revert(mask)
    assert np.array_equal(mask, before)


def test_works_on_uint8_label_masks():
    mask = np.zeros((20, 20), np.uint8)
    paint_segment(mask, (10, 10), (10, 10), 3, 255).apply(mask)
    assert set(np.unique(mask)) == {0, 255}


def test_a_segment_on_a_large_mask_stores_only_its_footprint():
    mask = np.zeros(BIG, bool)
    delta = paint_segment(mask, (1000.0, 800.0), (1030.0, 800.0), 10, True)
    delta.apply(mask)
    painted = int(mask.sum())
    assert painted < 2 * (30 * 21 + math.pi * 100)
    assert delta.nbytes <= 20 * 8 + 2  # one run per row, one old and one new value
    assert delta.nbytes < mask.nbytes / 10000
    y0, x0, y1, x1 = delta.box
    assert (y1 - y0, x1 - x0) == (20, 50)


def test_a_long_diagonal_segment_computes_row_spans_not_its_bounding_box():
    rows, c0, c1 = capsule_spans(BIG, (0.0, 0.0), (2000.0, 2000.0), 10)
    covered = int((c1 - c0 + 1).sum())
    assert covered < 2000 * math.sqrt(2) * 21 * 1.1  # ~ length x diameter, not 2000 x 2000


def test_non_finite_points_are_refused():
    with pytest.raises(ValueError, match="finite"):
        paint_segment(np.zeros((5, 5), bool), (float("nan"), 1), (2, 2), 1, True)


def test_a_non_contiguous_mask_is_refused():
    with pytest.raises(ValueError, match="contiguous"):
        paint_segment(np.zeros((10, 10), bool)[:, ::2], (1, 1), (2, 2), 1, True)


# --- deltas and merging ---------------------------------------------------------------------


def test_merged_segments_of_one_drag_undo_and_redo_as_one():
    mask = np.zeros((60, 80), bool)
    original = mask.copy()
    path = [(5.0, 5.0), (20.0, 12.0), (35.0, 30.0), (30.0, 50.0), (70.0, 55.0)]
    merged = None
    for a, b in zip(path, path[1:], strict=False):
        d = paint_segment(mask, a, b, 4, True)
        d.apply(mask)
        merged = d if merged is None else merged.merge(d)
    final = mask.copy()
    merged.revert(mask)
    assert np.array_equal(mask, original)
    merged.apply(mask)
    assert np.array_equal(mask, final)
    rows, cols = np.nonzero(final)
    assert merged.box == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)


def test_merge_is_exact_when_parts_overlap_with_different_values():
    mask = np.zeros((40, 40), bool)
    first = paint_segment(mask, (5, 20), (35, 20), 6, True)
    first.apply(mask)
    second = paint_segment(mask, (20, 5), (20, 35), 6, False)  # crosses what the first painted
    second.apply(mask)
    final = mask.copy()
    both = first.merge(second)
    both.revert(mask)
    assert not mask.any()
    both.apply(mask)
    assert np.array_equal(mask, final)


def test_deltas_refuse_a_mask_of_another_size():
    mask = np.zeros((10, 10), bool)
    delta = paint_segment(mask, (5, 5), (5, 5), 2, True)
    with pytest.raises(ValueError, match="10x10"):
        delta.apply(np.zeros((10, 12), bool))
    with pytest.raises(ValueError, match="different sizes"):
        delta.merge(paint_segment(np.zeros((10, 12), bool), (5, 5), (5, 5), 2, True))


ops = st.lists(
    st.one_of(
        st.tuples(st.just("seg"), st.floats(-5, 45), st.floats(-5, 35), st.floats(-5, 45), st.floats(-5, 35),
                  st.floats(0, 6), st.booleans()),
        st.tuples(st.just("poly"), st.lists(st.tuples(st.floats(-5, 45), st.floats(-5, 35)), min_size=3, max_size=7),
                  st.booleans()),
        st.tuples(st.just("replace"), st.integers(0, 2**32 - 1)),
    ),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(ops, st.integers(0, 2**32 - 1))
def test_any_sequence_of_edits_reverts_exactly(sequence, seed):
    mask = np.random.default_rng(seed).random((30, 40)) < 0.2
    original = mask.copy()
    deltas = []
    for op in sequence:
        if op[0] == "seg":
            _, ax, ay, bx, by, r, v = op
            d = paint_segment(mask, (ax, ay), (bx, by), r, v)
        elif op[0] == "poly":
            d = fill_polygon(mask, op[1], op[2])
        else:
            d = replace_delta(mask, np.random.default_rng(op[1]).random(mask.shape) < 0.5)
        if d is not None:
            before = mask.copy()
            d.apply(mask)
            y0, x0, y1, x1 = d.box
            outside = np.ones(mask.shape, bool)
            outside[y0:y1, x0:x1] = False
            assert np.array_equal(mask[outside], before[outside]), "changes stay inside the dirty box"
            deltas.append(d)
    final = mask.copy()
    for d in reversed(deltas):
        d.revert(mask)
    assert np.array_equal(mask, original)
    if deltas:
        merged = deltas[0]
        for d in deltas[1:]:
            merged = merged.merge(d)
        merged.apply(mask)
        assert np.array_equal(mask, final)
        merged.revert(mask)
        assert np.array_equal(mask, original)


# --- polygon fill ---------------------------------------------------------------------------


def test_fill_rectangle():
    mask = np.zeros((20, 30), bool)
    delta = fill_polygon(mask, [(5, 4), (15, 4), (15, 10), (5, 10)], True)
    delta.apply(mask)
    expected = np.zeros_like(mask)
    expected[4:10, 5:15] = True
    assert np.array_equal(mask, expected)
    assert delta.box == (4, 5, 10, 15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 50), st.floats(-10, 40)), min_size=3, max_size=12),
       st.sampled_from(["nonzero", "evenodd"]))
def test_fill_agrees_with_the_winding_number(points, rule):
    mask = np.zeros((30, 40), bool)
    delta = fill_polygon(mask, points, True, rule=rule)
    if delta is not None:
        delta.apply(mask)
    # A pixel centre lying exactly on an edge is inside or outside by convention only; judge the rest.
    yy, xx = np.mgrid[0:30, 0:40] + 0.5
    on_edge = np.zeros(mask.shape, bool)
    for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1], strict=True):
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        t = np.zeros_like(xx) if ll == 0 else np.clip(((xx - ax) * dx + (yy - ay) * dy) / ll, 0, 1)
        on_edge |= np.hypot(xx - ax - t * dx, yy - ay - t * dy) < 1e-7
    expected = brute_polygon(mask.shape, points, rule)
    assert np.array_equal(mask[~on_edge], expected[~on_edge])


def test_a_lasso_drawn_twice_around_is_filled_by_nonzero_and_emptied_by_evenodd():
    square = [(2, 2), (18, 2), (18, 18), (2, 18)]
    twice = square + square
    mask = np.zeros((20, 20), bool)
    assert fill_polygon(mask, twice, True, rule="nonzero") is not None
    assert fill_polygon(mask, twice, True, rule="evenodd") is None


def test_fill_can_remove_a_region():
    mask = np.ones((20, 20), bool)
    fill_polygon(mask, [(0, 0), (10, 0), (0, 10)], False).apply(mask)
    assert not mask[1, 1] and mask[15, 15]


def test_degenerate_polygons_change_nothing():
    mask = np.zeros((20, 20), bool)
    assert fill_polygon(mask, [(1, 1), (5, 5)], True) is None  # two points
    assert fill_polygon(mask, [(1, 1), (10, 1), (19, 1)], True) is None  # no area
    assert fill_polygon(mask, [(30, 30), (40, 30), (40, 40)], True) is None  # off the image


def test_fill_covering_most_of_a_large_mask_stores_runs_of_rows():
    mask = np.zeros(BIG, bool)
    delta = fill_polygon(mask, [(100, 100), (3400, 100), (3400, 2200), (100, 2200)], True)
    assert len(delta.patches[0].starts) == 2100  # one run per row
    assert delta.nbytes < 2100 * 8 + 16


def test_scattered_changes_store_the_box_when_that_is_smaller():
    mask = np.random.default_rng(1).random((200, 300)) < 0.5
    noise = np.random.default_rng(2).random(mask.shape) < 0.5
    delta = replace_delta(mask, noise)
    assert delta.patches[0].starts is None  # 2 bytes per box pixel beat ~6 per changed pixel
    assert delta.nbytes <= 2 * mask.size
    delta.apply(mask)
    assert np.array_equal(mask, noise)


# --- whole-mask changes ----------------------------------------------------------------------


def test_replace_stores_only_the_changed_region():
    mask = np.zeros(BIG, bool)
    new = mask.copy()
    new[1000:1010, 2000:2040] = True
    delta = replace_delta(mask, new)
    assert delta.box == (1000, 2000, 1010, 2040)
    assert delta.nbytes <= 10 * 8 + 2
    delta.apply(mask)
    assert np.array_equal(mask, new)


def test_replace_with_an_equal_mask_is_no_change():
    mask = np.eye(8, dtype=bool)
    assert replace_delta(mask, mask.astype(np.uint8) * 255) is None


def test_replace_refuses_another_size_and_names_both():
    with pytest.raises(ValueError, match="8x6 but the image is 8x8"):
        replace_delta(np.zeros((8, 8), bool), np.zeros((6, 8), bool))


def test_clear_then_revert():
    rng = np.random.default_rng(3)
    mask = rng.random((64, 64)) < 0.4
    before = mask.copy()
    delta = replace_delta(mask, np.zeros_like(mask))
    delta.apply(mask)
    assert not mask.any()
    delta.revert(mask)
    assert np.array_equal(mask, before)


# --- re-running the model over manual edits -------------------------------------------------


def test_manual_edits_win_where_they_were_made():
    old_prediction = np.zeros((10, 10), bool)
    old_prediction[2, :] = True
    current = old_prediction.copy()
    current[2, 0:3] = False  # erased by hand
    current[7, 7] = True  # painted by hand
    new_prediction = np.zeros((10, 10), bool)
    new_prediction[5, :] = True
    edited = manual_edit_region(old_prediction, current)
    merged = merge_manual_edits(new_prediction, current, edited)
    assert not merged[2, 0:3].any() and merged[7, 7]
    assert merged[5].all()
    assert not merged[2, 3:].any(), "outside the edits the new prediction wins"


def test_merge_refuses_masks_of_different_sizes():
    with pytest.raises(ValueError, match="sizes differ"):
        merge_manual_edits(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 5)))


# --- measurements ---------------------------------------------------------------------------


def test_vessel_fraction_counts_inside_the_fov_only():
    mask = np.zeros((10, 10), bool)
    fov = np.zeros((10, 10), bool)
    fov[:5] = True
    mask[0, :5] = True
    mask[9, :] = True  # outside the FOV
    assert vessel_fraction(mask, fov) == pytest.approx(5 / 50)
    assert vessel_fraction(mask) == pytest.approx(15 / 100)
    assert vessel_fraction(mask, np.zeros_like(fov)) == 0.0


def test_agreement_is_core_metrics_inside_the_fov():
    rng = np.random.default_rng(5)
    mask = rng.random((40, 40)) < 0.2
    reference = (rng.random((40, 40)) < 0.2).astype(np.uint8) * 255
    fov = np.zeros((40, 40), bool)
    fov[5:35, 5:35] = True
    got = agreement(mask, reference, fov)
    assert got == mask_scores(mask, reference > 0, fov)
    assert agreement(mask, mask, fov).f1 == 1.0


def test_agreement_refuses_a_reference_of_another_size():
    with pytest.raises(ValueError, match="reference mask is 5x4 but the image is 4x4"):
        agreement(np.zeros((4, 4), bool), np.zeros((4, 5), bool))
