"""Undo commands on a QUndoStack: exact undo/redo, one drag = one step, deltas instead of copies."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from core.edit.mask_ops import Box, fill_polygon, manual_edit_region, merge_manual_edits, paint_segment
from gui.document.commands import FillCommand, MaskTarget, ReplaceMaskCommand, StrokeCommand, next_stroke_id


class FakeDocument:
    """The smallest MaskTarget: a mask and a record of the dirty rectangles."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self.rects: list[Box] = []

    def mask_changed(self, rect: Box) -> None:
        self.rects.append(rect)


@pytest.fixture
def doc() -> FakeDocument:
    return FakeDocument((np.random.default_rng(0).random((80, 120)) < 0.1).astype(np.uint8))  # a label mask


@pytest.fixture
def stack(qtbot) -> QUndoStack:  # qtbot: a QApplication exists
    return QUndoStack()


def drag(doc: FakeDocument, stack: QUndoStack, path: list[tuple[float, float]], radius: float = 4,
         value: bool = True) -> int:
    """Push the segments of one mouse drag the way the canvas will."""
    stroke = next_stroke_id()
    for a, b in zip(path, path[1:], strict=False):
        delta = paint_segment(doc.mask, a, b, radius, value)
        if delta is not None:
            stack.push(StrokeCommand(doc, delta, stroke, "Paint" if value else "Erase"))
    return stroke


def test_document_protocol():
    assert isinstance(FakeDocument(np.zeros((2, 2), bool)), MaskTarget)


def test_stroke_undo_redo_restores_exact_arrays(doc: FakeDocument, stack: QUndoStack):
    before = doc.mask.copy()
    delta = paint_segment(doc.mask, (10, 10), (60, 40), 5, True)
    stack.push(StrokeCommand(doc, delta, next_stroke_id()))  # pushing applies
    after = doc.mask.copy()
    assert not np.array_equal(after, before)
    assert doc.rects == [delta.box]
    stack.undo()
    assert np.array_equal(doc.mask, before)
    stack.redo()
    assert np.array_equal(doc.mask, after)
    assert doc.rects == [delta.box] * 3
    assert stack.undoText() == "Paint"


def test_one_drag_is_one_undo_step(doc: FakeDocument, stack: QUndoStack):
    before = doc.mask.copy()
    drag(doc, stack, [(5, 5), (15, 8), (30, 20), (50, 25), (70, 60), (100, 70)])
    after = doc.mask.copy()
    assert stack.count() == 1
    stack.undo()
    assert np.array_equal(doc.mask, before)
    y0, x0, y1, x1 = doc.rects[-1]
    changed = np.argwhere(before != after)
    assert (changed.min(0) >= (y0, x0)).all() and (changed.max(0) < (y1, x1)).all()
    stack.redo()
    assert np.array_equal(doc.mask, after)


def test_two_drags_are_two_steps(doc: FakeDocument, stack: QUndoStack):
    start = doc.mask.copy()
    drag(doc, stack, [(5, 5), (40, 40)])
    middle = doc.mask.copy()
    drag(doc, stack, [(40, 5), (5, 40)], value=False)
    assert stack.count() == 2
    stack.undo()
    assert np.array_equal(doc.mask, middle)
    stack.undo()
    assert np.array_equal(doc.mask, start)


def test_strokes_on_another_document_never_merge(stack: QUndoStack):
    a, b = FakeDocument(np.zeros((20, 20), bool)), FakeDocument(np.zeros((20, 20), bool))
    stroke = next_stroke_id()
    stack.push(StrokeCommand(a, paint_segment(a.mask, (5, 5), (5, 5), 2, True), stroke))
    stack.push(StrokeCommand(b, paint_segment(b.mask, (5, 5), (5, 5), 2, True), stroke))
    assert stack.count() == 2


def test_saving_in_the_middle_of_a_drag_keeps_the_saved_state(doc: FakeDocument, stack: QUndoStack):
    stroke = next_stroke_id()
    stack.push(StrokeCommand(doc, paint_segment(doc.mask, (5, 5), (20, 5), 3, True), stroke))
    stack.setClean()
    saved = doc.mask.copy()
    stack.push(StrokeCommand(doc, paint_segment(doc.mask, (20, 5), (20, 30), 3, True), stroke))
    assert not stack.isClean()
    stack.undo()
    assert stack.isClean() and np.array_equal(doc.mask, saved)


def test_fill_add_and_remove(doc: FakeDocument, stack: QUndoStack):
    before = doc.mask.copy()
    region = [(20, 20), (60, 20), (60, 50), (20, 50)]
    stack.push(FillCommand(doc, fill_polygon(doc.mask, region, True)))
    assert doc.mask[20:50, 20:60].all()
    filled = doc.mask.copy()
    stack.push(FillCommand(doc, fill_polygon(doc.mask, region, False), "Cut region"))
    assert not doc.mask[20:50, 20:60].any()
    assert stack.count() == 2
    stack.undo()
    assert np.array_equal(doc.mask, filled)
    stack.undo()
    assert np.array_equal(doc.mask, before)


def test_clear_and_undo(doc: FakeDocument, stack: QUndoStack):
    before = doc.mask.copy()
    stack.push(ReplaceMaskCommand.create(doc, np.zeros_like(doc.mask), "Clear mask"))
    assert not doc.mask.any()
    stack.undo()
    assert np.array_equal(doc.mask, before)
    stack.redo()
    assert not doc.mask.any()
    assert ReplaceMaskCommand.create(doc, np.zeros_like(doc.mask), "Clear mask") is None  # nothing to do


def test_replace_prediction_keeping_manual_edits(doc: FakeDocument, stack: QUndoStack):
    old_prediction = doc.mask.copy()
    drag(doc, stack, [(10, 10), (100, 10)], radius=3)
    drag(doc, stack, [(10, 60), (100, 60)], radius=3, value=False)
    edited = doc.mask.copy()
    new_prediction = np.random.default_rng(9).random(doc.mask.shape) < 0.1
    merged = merge_manual_edits(new_prediction, doc.mask, manual_edit_region(old_prediction, doc.mask))
    stack.push(ReplaceMaskCommand.create(doc, merged, "Apply prediction (keep edits)"))
    by_hand = manual_edit_region(old_prediction, edited)
    assert by_hand[10].sum() > 50 and by_hand[60].any()
    assert np.array_equal(doc.mask[by_hand], edited[by_hand])
    assert np.array_equal(doc.mask[~by_hand], new_prediction[~by_hand])
    stack.undo()
    assert np.array_equal(doc.mask, edited)
    stack.undo()
    stack.undo()
    assert np.array_equal(doc.mask, old_prediction)
    for _ in range(3):
        stack.redo()
    assert np.array_equal(doc.mask, merged)


def test_load_mask_of_another_size_is_refused(doc: FakeDocument):
    with pytest.raises(ValueError, match="the image is 120x80"):
        ReplaceMaskCommand.create(doc, np.zeros((10, 10), bool), "Load mask")


def test_a_stroke_on_a_large_mask_stores_far_fewer_bytes_than_the_mask(stack: QUndoStack):
    doc = FakeDocument(np.zeros((2336, 3504), bool))
    xs = np.linspace(200, 3300, 120)
    ys = 1168 + 600 * np.sin(xs / 400)
    drag(doc, stack, list(zip(xs.tolist(), ys.tolist(), strict=True)), radius=10)
    assert stack.count() == 1
    command = stack.command(0)
    assert isinstance(command, StrokeCommand)
    painted = int(doc.mask.sum())
    assert command.nbytes < doc.mask.nbytes / 100
    assert command.nbytes < painted  # runs of pixels, not pixels
    stack.undo()
    assert not doc.mask.any()
