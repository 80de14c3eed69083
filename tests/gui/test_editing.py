"""Correcting a mask by hand: brush, eraser, lasso, Clear, undo/redo, and what re-thresholding or
re-segmenting does to edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent

import gui.dialogs.prompts
from core.edit.task_result import MaskSource
from core.io.images import write_image
from gui.canvas.tools import Tool
from tests.gui.conftest import FakeService, step_and_wait

SEGMENT_TIMEOUT = 60_000
NO_MOD = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def segment_and_wait(qtbot, window) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.segmentFinished, timeout=SEGMENT_TIMEOUT) as blocker:
        assert window.segment() is not None
    assert blocker.args[0], blocker.args


def send(canvas, kind: QEvent.Type, scene_xy: tuple[float, float], modifiers=NO_MOD) -> None:  # noqa: ANN001
    """A left-button mouse event at image point ``scene_xy``, delivered to the canvas handlers."""
    pos = canvas.mapFromScene(QPointF(*scene_xy))
    button = Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    if kind == QEvent.Type.MouseMove:
        button = Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), button, buttons, modifiers)
    {QEvent.Type.MouseButtonPress: canvas.mousePressEvent, QEvent.Type.MouseMove: canvas.mouseMoveEvent,
     QEvent.Type.MouseButtonRelease: canvas.mouseReleaseEvent}[kind](event)


def drag(canvas, points: list[tuple[float, float]], modifiers=NO_MOD) -> None:  # noqa: ANN001
    send(canvas, QEvent.Type.MouseButtonPress, points[0], modifiers)
    for p in points[1:]:
        send(canvas, QEvent.Type.MouseMove, p, modifiers)
    send(canvas, QEvent.Type.MouseButtonRelease, points[-1], modifiers)


@pytest.fixture
def window(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    """A window showing eye.png (96×112) segmented by the fake model (a ramp: mask = lower right)."""
    w = make_window(FakeService())
    assert w.open_path(image_file)
    segment_and_wait(qtbot, w)
    w.canvas.zoom_100()
    w.canvas.centerOn(56, 48)
    return w


def test_a_brush_drag_is_one_undo_step_that_undoes_and_redoes_exactly(window) -> None:  # noqa: ANN001
    doc = window.document
    before = doc.mask.copy()
    assert not window.isWindowModified()

    drag(window.canvas, [(10, 10), (20, 12), (30, 14), (40, 16)])

    after = doc.mask.copy()
    assert after[12, 20] and after[16, 40] and not before[12, 20]
    assert doc.undo_stack.count() == 1  # four segments merged into one step
    assert doc.undo_stack.undoText() == "Paint"
    assert window.isWindowModified() and "[*]" in window.windowTitle()
    assert window.canvas.mask_layer.image.pixelColor(20, 12).alpha() > 0  # shown at once

    window.editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.mask, before)
    assert window.canvas.mask_layer.image.pixelColor(20, 12).alpha() == 0
    assert not window.isWindowModified()
    window.editing.act_redo.trigger()
    np.testing.assert_array_equal(doc.mask, after)


def test_two_drags_are_two_steps(window) -> None:  # noqa: ANN001
    drag(window.canvas, [(10, 10), (30, 10)])
    drag(window.canvas, [(10, 30), (30, 30)])
    assert window.document.undo_stack.count() == 2


def test_eraser_and_shift_for_the_opposite_tool(window) -> None:  # noqa: ANN001
    doc = window.document
    assert doc.mask[90, 100]  # the ramp model marks the lower right as vessel
    window.editing.tool_actions[Tool.ERASER].trigger()
    drag(window.canvas, [(100, 90), (105, 90)])
    assert not doc.mask[90, 100]
    drag(window.canvas, [(10, 10), (12, 10)], SHIFT)  # Shift turns the eraser into the brush
    assert doc.mask[10, 10]
    assert window.editing.tools.tool == Tool.ERASER  # only while held
    assert [doc.undo_stack.text(i) for i in range(2)] == ["Erase", "Paint"]


def test_lasso_fills_and_cuts_a_closed_region(window) -> None:  # noqa: ANN001
    doc = window.document
    window.editing.tool_actions[Tool.LASSO_ADD].trigger()
    drag(window.canvas, [(10, 10), (30, 10), (30, 30), (10, 30)])
    assert doc.mask[12:28, 12:28].all()
    assert not doc.mask[5, 5] and not doc.mask[12, 35]
    assert doc.undo_stack.undoText() == "Fill region"

    window.editing.tool_actions[Tool.LASSO_REMOVE].trigger()
    drag(window.canvas, [(15, 15), (25, 15), (25, 25), (15, 25)])
    assert not doc.mask[17:23, 17:23].any() and doc.mask[12, 12]
    window.editing.act_undo.trigger()
    assert doc.mask[17:23, 17:23].all()


def test_clear_is_undoable_and_the_cleared_mask_ignores_the_threshold(window) -> None:  # noqa: ANN001
    doc = window.document
    before = doc.mask.copy()
    window.editing.act_clear.trigger()
    assert not doc.mask.any() and doc.mask_source == MaskSource.EMPTY
    doc.set_threshold(0.2)  # the user's own mask: the slider does not refill it
    assert not doc.mask.any()
    window.editing.act_undo.trigger()
    window.editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.mask, before)
    assert doc.mask_source == MaskSource.MODEL and doc.threshold == pytest.approx(0.5)


def test_brush_size_keys_and_outline_follow_the_zoom(window) -> None:  # noqa: ANN001
    tools = window.editing.tools
    size = tools.size
    window.editing.act_bigger.trigger()
    assert tools.size > size and window.editing.panel.slider.value() == tools.size
    window.editing.act_smaller.trigger()
    window.editing.act_smaller.trigger()
    assert tools.size < size
    assert window.editing.act_bigger.shortcut().toString() == "]"
    assert window.editing.act_smaller.shortcut().toString() == "["
    send(window.canvas, QEvent.Type.MouseMove, (40, 40))
    outline = window.canvas.tool_input.outline
    assert outline.isVisible()
    assert outline.rect().width() == pytest.approx(tools.size)  # in image pixels: scales with the zoom
    assert outline.rect().center().x() == pytest.approx(40, abs=1)


def test_threshold_change_keeps_manual_edits_and_is_one_undo_step(window) -> None:  # noqa: ANN001
    doc = window.document
    drag(window.canvas, [(5, 5), (15, 5)])  # vessel where the model says background
    window.editing.tool_actions[Tool.ERASER].trigger()
    drag(window.canvas, [(100, 90), (104, 90)])  # background where the model says vessel
    edited = doc.mask.copy()
    steps = doc.undo_stack.count()

    for v in (450, 400, 350, 300):  # one slider drag
        window.threshold.slider.setValue(v)

    assert doc.threshold == pytest.approx(0.3)
    assert doc.undo_stack.count() == steps + 1
    model = doc.probability >= 0.3
    assert doc.mask[5, 10] and not doc.mask[90, 102]  # the edits won
    untouched = edited == (doc.probability >= 0.5)
    np.testing.assert_array_equal(doc.mask[untouched], model[untouched])  # re-thresholded elsewhere
    window.editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.mask, edited)
    assert doc.threshold == pytest.approx(0.5) and window.threshold.spin.value() == pytest.approx(0.5)


@pytest.mark.parametrize("answer", ["replace", "keep", "cancel"])
def test_resegmenting_an_edited_mask_asks_replace_keep_or_cancel(qtbot, window, monkeypatch,  # noqa: ANN001
                                                                 answer: str) -> None:
    doc = window.document
    window.headless = False
    asked = []
    monkeypatch.setattr(gui.dialogs.prompts, "ask_rerun", lambda _parent, name: asked.append(name) or answer)
    drag(window.canvas, [(5, 5), (15, 5)])
    edited = doc.mask.copy()
    model = doc.probability >= doc.threshold
    steps = doc.undo_stack.count()

    segment_and_wait(qtbot, window)

    assert asked == ["eye.png"]
    if answer == "replace":
        np.testing.assert_array_equal(doc.mask, model)
        assert doc.undo_stack.count() == steps + 1
        window.editing.act_undo.trigger()  # applying a prediction is undoable too
    # keep: the fake model answers the same, so edits + model = the edited mask (and no new step)
    np.testing.assert_array_equal(doc.mask, edited)
    window.headless = True


def test_keep_edits_merges_a_different_prediction(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    doc = window.document
    window.headless = False
    monkeypatch.setattr(gui.dialogs.prompts, "ask_rerun", lambda *_: "keep")
    drag(window.canvas, [(5, 5), (15, 5)])  # vessel by hand, where the model says background
    window.editing.tool_actions[Tool.ERASER].trigger()
    drag(window.canvas, [(100, 90), (104, 90)])  # background by hand
    window.threshold.slider.setValue(200)
    window.service.predictors[-1].probability = lambda h, w: np.full((h, w), 0.9, np.float32)

    segment_and_wait(qtbot, window)

    assert doc.mask[5, 10] and not doc.mask[90, 102]  # the edits won
    assert doc.mask[50, 50] and doc.mask[2, 60]  # the new prediction everywhere else
    window.headless = True


def test_no_question_when_the_mask_was_not_edited(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    window.headless = False
    monkeypatch.setattr(gui.dialogs.prompts, "ask_rerun", lambda *_: pytest.fail("asked without edits"))
    window.threshold.slider.setValue(300)  # a threshold change is not a manual edit
    segment_and_wait(qtbot, window)
    np.testing.assert_array_equal(window.document.mask, window.document.probability >= 0.3)
    window.headless = True


def test_start_from_a_mask_file_and_refuse_another_size(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    doc = window.document
    m = np.zeros((96, 112), np.uint8)
    m[40:50, 40:60] = 255
    good = write_image(tmp_path / "mine.png", m)
    bad = write_image(tmp_path / "small.png", np.zeros((50, 50), np.uint8))

    assert window.editing.load_mask_file(str(good))
    np.testing.assert_array_equal(doc.mask, m > 0)
    assert doc.mask_source == MaskSource.FILE
    before = doc.mask.copy()
    with qtbot.waitSignal(window.errorShown) as err:
        assert not window.editing.load_mask_file(str(bad))
    assert "50x50" in err.args[0] and "112x96" in err.args[0]
    np.testing.assert_array_equal(doc.mask, before)
    window.editing.act_from_model.trigger()
    np.testing.assert_array_equal(doc.mask, doc.probability >= doc.threshold)
    window.editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.mask, before)


def test_drawing_on_an_unsegmented_image_starts_an_empty_mask(make_window, image_file: Path) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    window.open_path(image_file)
    window.canvas.zoom_100()
    doc = window.document
    assert doc.mask is None
    drag(window.canvas, [(20, 20), (30, 20)])
    assert doc.mask is not None and doc.mask.shape == (96, 112) and doc.mask.dtype == np.uint8
    assert doc.mask[20, 25] and doc.mask.sum() < 400  # a 12 px brush, 10 px long
    assert doc.mask_source == MaskSource.EMPTY
    window.editing.act_undo.trigger()
    assert not doc.mask.any()


def test_reference_mask_shows_agreement_inside_the_fov(window, tmp_path: Path) -> None:  # noqa: ANN001
    doc = window.document
    assert not window.editing.agreement.isVisibleTo(window)
    ref = write_image(tmp_path / "manual.png", (doc.mask * 255).astype(np.uint8))
    assert window.editing.load_reference_file(str(ref))
    text = window.editing.agreement.text()
    assert "manual.png" in text and "F1/Dice 1.000" in text and "Se 1.000" in text and "Sp 1.000" in text
    window.editing.act_clear.trigger()
    window.editing.agreement.refresh()  # the readout is throttled while painting
    assert "F1/Dice 0.000" in window.editing.agreement.text()


def test_edit_history_survives_switching_images(qtbot, make_window, image_folder: Path) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    window.open_path(image_folder)
    window.canvas.zoom_100()
    first = window.document
    drag(window.canvas, [(20, 20), (30, 20)])
    step_and_wait(qtbot, window, 1)  # b.png is read in the worker
    assert window.document is not first and not window.isWindowModified()
    assert not window.editing.act_undo.isEnabled()
    window.step(-1)
    assert window.document is first and window.isWindowModified()
    window.editing.act_undo.trigger()
    assert not first.mask.any()


def test_brush_size_is_remembered(make_window, settings, image_file: Path) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    assert window.open_path(image_file)
    window.editing.tools.set_size(33)
    window.close()
    assert settings.brush_size_for("small") == 33
    again = make_window(FakeService())
    assert again.open_path(image_file) and again.editing.tools.size == 33
