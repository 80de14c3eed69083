"""Placing the optic disc by hand: what a press grabs, what a drag makes, and that the hand is recorded."""

from __future__ import annotations

import numpy as np
import pytest

from core.edit.disc import MIN_DIAMETER, MOVE, RESIZE, dragged, grab, placed
from core.measure.optic_disc import OpticDisc

DISC = OpticDisc(100.0, 80.0, 40.0, 0.8, "detector")


@pytest.mark.parametrize(("point", "handle"), [
    ((100, 80), MOVE),  # the centre
    ((110, 80), MOVE),  # inside, away from the margin
    ((119, 80), RESIZE),  # 1 px inside the margin
    ((100, 102), RESIZE),  # 2 px outside it
    ((100, 110), None),  # outside
])
def test_a_press_grabs_the_margin_to_resize_and_the_inside_to_move(point, handle) -> None:  # noqa: ANN001
    assert grab(DISC, point, tolerance=3) == handle


def test_a_small_disc_stays_movable_from_inside_however_wide_the_tolerance() -> None:
    small = OpticDisc(10.0, 10.0, 12.0)
    assert grab(small, (11, 10), tolerance=20) == MOVE
    assert grab(small, (16, 10), tolerance=20) == RESIZE
    assert grab(None, (10, 10), tolerance=5) is None


def test_moving_keeps_the_size_follows_the_drag_and_says_hand() -> None:
    moved = dragged(DISC, MOVE, (110, 80), (130, 70), shape=(200, 300))
    assert (moved.x, moved.y, moved.diameter) == (120.0, 70.0, 40.0)
    assert moved.method == "hand" and moved.score == 1.0


def test_a_moved_centre_stays_on_the_image() -> None:
    moved = dragged(DISC, MOVE, (100, 80), (-500, 900), shape=(200, 300))
    assert (moved.x, moved.y) == (0.0, 200.0)


def test_resizing_puts_the_margin_under_the_cursor_and_never_below_the_minimum() -> None:
    bigger = dragged(DISC, RESIZE, (120, 80), (100, 110), shape=(200, 300))
    assert (bigger.x, bigger.y, bigger.diameter, bigger.method) == (100.0, 80.0, 60.0, "hand")
    assert dragged(DISC, RESIZE, (120, 80), (100, 80), shape=(200, 300)).diameter == MIN_DIAMETER


def test_an_unknown_handle_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="rotate"):
        dragged(DISC, "rotate", (0, 0), (1, 1), shape=(10, 10))


def test_a_placed_disc_is_sized_for_the_field_of_view() -> None:
    fov = np.zeros((100, 300), bool)
    fov[:, 50:250] = True  # 200 px wide
    disc = placed((60.5, 40.5), (100, 300), fov)
    assert (disc.x, disc.y, disc.method) == (60.5, 40.5, "hand")
    assert disc.diameter == pytest.approx(0.15 * 200)
    assert placed((1, 1), (100, 300)).diameter == pytest.approx(0.15 * 300)  # no FOV: the image's width
