"""A brush restricted to a region: the artery and vein brushes retype vessel pixels and leave the rest."""

from __future__ import annotations

import numpy as np
import pytest

from core.edit.mask_ops import paint_segment


def test_painting_only_where_allowed_changes_nothing_else_and_undoes_exactly() -> None:
    labels = np.zeros((20, 30), np.uint8)
    vessels = np.zeros((20, 30), bool)
    vessels[8:12, :] = True
    labels[vessels] = 2  # a vein across the image
    delta = paint_segment(labels, (5, 10), (25, 10), 6, 1, where=vessels)
    assert delta is not None
    before = labels.copy()
    delta.apply(labels)
    assert (labels[vessels & (labels != 2)] == 1).all() and labels[10, 5:26].tolist() == [1] * 21
    assert not labels[~vessels].any()  # the background under the brush stays background
    delta.revert(labels)
    np.testing.assert_array_equal(labels, before)


def test_nothing_allowed_under_the_brush_is_no_change() -> None:
    labels = np.zeros((10, 10), np.uint8)
    assert paint_segment(labels, (5, 5), (5, 5), 3, 1, where=np.zeros((10, 10), bool)) is None


def test_a_region_of_another_size_is_refused_with_both_sizes() -> None:
    with pytest.raises(ValueError, match="9x10.*10x10"):
        paint_segment(np.zeros((10, 10), np.uint8), (1, 1), (2, 2), 1, 1, where=np.ones((10, 9), bool))
