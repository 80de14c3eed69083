"""The optic disc in the app: found in the worker, drawn with zones B and C, placed, dragged and resized
with the disc tool (one undo step per drag), exported and recovered as placed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gui.dialogs.prompts
from core.measure.optic_disc import DiscNotFound, OpticDisc
from gui.canvas.tools import Tool
from tests.gui.conftest import FakeService
from tests.gui.test_editing import drag, segment_and_wait

ZOOM = 4.0
#: image pixels a point may move on its way through the view (mouse positions are whole screen pixels)
ON_SCREEN = 1 / ZOOM


@pytest.fixture
def window(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    """eye.png (96×112) segmented, no disc yet, the disc tool chosen, at 400 % around (50, 40)."""
    w = make_window(FakeService())
    w.autosave.idle_ms = 50
    assert w.open_path(image_file)
    segment_and_wait(qtbot, w)
    w.canvas.set_zoom(ZOOM)
    w.canvas.centerOn(50, 40)
    w.editing.tool_actions[Tool.DISC].trigger()
    return w


def disc_of(window) -> OpticDisc:  # noqa: ANN001
    disc = window.document.disc_circle
    assert disc is not None
    return disc


def test_a_click_places_a_disc_by_hand_and_the_layer_draws_its_zones(window) -> None:  # noqa: ANN001
    doc = window.document
    drag(window.canvas, [(50, 40)])
    disc = disc_of(window)
    assert (disc.x, disc.y) == pytest.approx((50, 40), abs=ON_SCREEN)
    assert disc.method == "hand" and disc.diameter > 0
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Place optic disc"
    layer = window.canvas.layer("disc")
    assert layer.shown()
    d = disc.diameter
    assert layer.margin.rect().width() == pytest.approx(d)
    assert layer.zone_c.rect().width() == pytest.approx(2 * (d / 2 + 2 * d))  # zone C ends 2 DD from the margin
    assert layer.zone_b.path().boundingRect().width() == pytest.approx(2 * (d / 2 + d))  # zone B ends 1 DD out
    window.av.act_show_disc.trigger()  # View > Optic Disc and Zones (Shift+D)
    assert not layer.shown()


def test_dragging_the_inside_moves_it_in_one_undo_step(window) -> None:  # noqa: ANN001
    doc = window.document
    drag(window.canvas, [(50, 40)])
    placed = disc_of(window)
    drag(window.canvas, [(51, 41), (53, 42), (55, 44)])
    moved = disc_of(window)
    assert (moved.x - placed.x, moved.y - placed.y) == pytest.approx((4, 3), abs=2 * ON_SCREEN)
    assert moved.diameter == placed.diameter
    assert doc.undo_stack.count() == 2 and doc.undo_stack.undoText() == "Move optic disc"
    window.editing.act_undo.trigger()
    assert disc_of(window) == placed
    window.editing.act_undo.trigger()
    assert doc.disc is None and not window.canvas.layer("disc").shown()
    window.editing.act_redo.trigger()
    window.editing.act_redo.trigger()
    assert disc_of(window) == moved


def test_dragging_the_margin_resizes_it(window) -> None:  # noqa: ANN001
    drag(window.canvas, [(50, 40)])
    placed = disc_of(window)
    x, y, r = placed.x, placed.y, placed.radius
    drag(window.canvas, [(x + r, y), (x + r + 3, y), (x + r + 5, y)])
    resized = disc_of(window)
    assert (resized.x, resized.y) == (x, y) and resized.diameter == pytest.approx(2 * (r + 5), abs=2 * ON_SCREEN)
    assert window.document.undo_stack.undoText() == "Resize optic disc"


def test_a_found_disc_is_replaced_by_the_next_finding_but_a_hand_placed_one_stays(qtbot, window) -> None:  # noqa: ANN001
    doc = window.document
    found = OpticDisc(30.0, 30.0, 14.0, 0.7, "detector")
    assert doc.adopt_found_disc(found) and doc.disc == found and doc.undo_stack.count() == 0  # first: no step
    assert doc.adopt_found_disc(DiscNotFound("no spot")) and doc.undo_stack.undoText() == "Find optic disc"
    drag(window.canvas, [(50, 40)])
    hand = disc_of(window)
    assert not doc.adopt_found_disc(found) and doc.disc == hand
    with qtbot.waitSignal(window.av.message, timeout=60_000, check_params_cb=lambda text, _ms: "eye.png:" in text):
        window.av.act_find_disc.trigger()  # Segment > Find Optic Disc, in the worker
    assert doc.disc == hand and "placed by hand stays" in window.status.message_text()


def test_the_sidecar_says_where_the_disc_is_and_that_a_hand_placed_it(window, tmp_path: Path) -> None:  # noqa: ANN001
    drag(window.canvas, [(50, 40)])
    drag(window.canvas, [(50, 40), (60, 45)])
    assert window.export(str(tmp_path))
    disc = json.loads((tmp_path / "eye_info.json").read_text())["measurements"]["optic_disc"]
    assert disc == disc_of(window).as_dict()
    assert disc["method"] == "hand" and (disc["x"], disc["y"]) == pytest.approx((60, 45), abs=2 * ON_SCREEN)


def test_the_disc_is_autosaved_and_recovered(qtbot, window, make_window, monkeypatch) -> None:  # noqa: ANN001
    drag(window.canvas, [(50, 40)])
    with qtbot.waitSignal(window.autosave.saved, timeout=5000):
        drag(window.canvas, [(50, 40), (60, 45)])
    expected = disc_of(window)
    again = make_window(FakeService())
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda *_: "recover")
    [doc] = again.offer_recovery()
    assert doc.disc_circle.as_dict() == expected.as_dict()
    assert doc.undo_stack.undoText() == "Recover autosaved optic disc"
    assert again.canvas.layer("disc").shown()


def test_a_moved_disc_counts_as_a_hand_edit_a_found_one_does_not(window) -> None:  # noqa: ANN001
    from gui.document.unsaved import unsaved_changes

    doc = window.document
    doc.adopt_found_disc(OpticDisc(30.0, 30.0, 14.0, 0.7, "detector"))
    assert not doc.modified  # a first finding, like a first result, is no edit
    drag(window.canvas, [(30, 30), (34, 30)])
    assert unsaved_changes(doc).hand_edits and window.isWindowModified()


def test_the_cursor_says_what_a_press_would_do(window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QEvent, Qt

    from tests.gui.test_editing import send

    drag(window.canvas, [(50, 40)])
    disc = disc_of(window)
    cursor = window.canvas.viewport().cursor

    for point, shape in (((disc.x, disc.y), Qt.CursorShape.SizeAllCursor),
                         ((disc.x + disc.radius, disc.y), Qt.CursorShape.SizeHorCursor),
                         ((disc.x, disc.y + disc.radius), Qt.CursorShape.SizeVerCursor),
                         ((disc.x + 3 * disc.radius, disc.y), Qt.CursorShape.CrossCursor)):
        send(window.canvas, QEvent.Type.MouseMove, point)
        assert cursor().shape() == shape, point
    window.editing.tools.set_tool(Tool.SWAP)
    send(window.canvas, QEvent.Type.MouseMove, (10, 10))
    assert cursor().shape() == Qt.CursorShape.CrossCursor  # no artery/vein labels yet: nothing to pick
    window.document.replace_labels("arteries_veins", window.document.mask.copy(), "labels")
    send(window.canvas, QEvent.Type.MouseMove, (10, 10))
    assert cursor().shape() == Qt.CursorShape.PointingHandCursor
