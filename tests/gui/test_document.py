"""ImageDocument: the Qt wiring of the document state (signals, undo stack, display caches).

The policy itself is specified Qt-free in tests/core/test_document_state.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from gui.document.document import ImageDocument, PredictionInfo
from tests.predictions import vessel_prediction


def ramp(h: int = 6, w: int = 8) -> np.ndarray:
    return np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w)


def test_prediction_sets_mask_with_the_models_threshold(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8, 3), np.uint8))
    with qtbot.waitSignals([doc.predictionChanged, doc.maskChanged, doc.thresholdChanged]):
        doc.set_prediction(vessel_prediction(ramp(), 0.7, model="m.pt", device="CPU", seconds=0.1))
    assert doc.threshold == pytest.approx(0.7) and doc.prediction_info == PredictionInfo("m.pt", "CPU", 0.1)
    assert doc.mask.dtype == np.uint8  # a label mask: 0 background, 1 vessel
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.7)
    assert doc.probability_u8.dtype == np.uint8 and doc.probability_u8.max() == 255


def test_display_arrays_computed_elsewhere_are_used_as_given(qtbot) -> None:
    from gui.document.display import DisplayArrays

    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    shown = DisplayArrays(np.full((6, 8), 7, np.uint8), np.array([[0.0, 0.0], [8.0, 0.0], [8.0, 6.0]]))
    with qtbot.waitSignal(doc.fovChanged):
        doc.set_prediction(vessel_prediction(ramp()), display=shown)
    assert doc.probability_u8 is shown.probability_u8 and doc.fov_outline is shown.fov_outline


def test_user_threshold_survives_a_new_prediction(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(vessel_prediction(ramp(), 0.7))
    doc.set_threshold(0.2)
    doc.set_prediction(vessel_prediction(ramp(), 0.7))
    assert doc.threshold == pytest.approx(0.2)
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.2)


def test_set_threshold_emits_once_and_validates(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(vessel_prediction(ramp(), 0.5))
    with qtbot.waitSignal(doc.maskChanged):
        doc.set_threshold(0.9)
    with qtbot.assertNotEmitted(doc.maskChanged):
        doc.set_threshold(0.9)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            doc.set_threshold(bad)


def test_shapes_must_match_the_image() -> None:
    doc = ImageDocument(np.zeros((6, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="8x6"):
        doc.set_prediction(vessel_prediction(np.zeros((5, 8), np.float32)))
    with pytest.raises(ValueError, match="FOV"):
        doc.set_fov(np.ones((6, 7), bool))


def test_describe_pixel_and_vessel_fraction() -> None:
    img = np.zeros((6, 8, 3), np.uint8)
    img[2, 3] = (10, 20, 30)
    doc = ImageDocument(img)
    assert doc.describe_pixel(3, 2) == "x 3, y 2   value 10 20 30"
    assert doc.describe_pixel(8, 0) == "" and doc.vessel_fraction() is None
    fov = np.zeros((6, 8), bool)
    fov[:, :4] = True
    doc.set_prediction(vessel_prediction(ramp(), 0.0, fov))
    assert "p 0." in doc.describe_pixel(3, 2) and "(vessel)" in doc.describe_pixel(3, 2)
    assert doc.vessel_fraction() == pytest.approx(1.0)


def test_from_file_reads_16_bit_gray(tmp_path) -> None:
    from core.io.images import write_image

    path = write_image(tmp_path / "g16.png", np.full((5, 7), 4000, np.uint16))
    doc = ImageDocument.from_file(path)
    assert doc.image.dtype == np.uint16 and (doc.width, doc.height) == (7, 5) and doc.name == "g16.png"


def test_threshold_changes_are_undoable_and_one_drag_is_one_step(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(vessel_prediction(ramp(), 0.5))
    assert doc.undo_stack.count() == 0 and not doc.modified  # the first prediction is not an edit
    for t in (0.45, 0.4, 0.3):
        doc.set_threshold(t)
    assert doc.undo_stack.count() == 1 and doc.modified
    doc.undo_stack.undo()
    assert doc.threshold == pytest.approx(0.5)
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.5)
    doc.undo_stack.redo()
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.3)


def test_edits_survive_a_threshold_change_and_undo_writes_no_stale_pixels(qtbot) -> None:
    from gui.document.commands import next_stroke_id

    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(vessel_prediction(ramp(), 0.5))
    doc.paint((0.5, 0.5), (0.5, 0.5), 0.5, True, next_stroke_id())  # pixel (0, 0): vessel by hand
    painted = doc.mask.copy()
    doc.set_threshold(0.9)
    assert doc.mask[0, 0]  # the edit stays
    np.testing.assert_array_equal(doc.mask[1:], (ramp() >= 0.9)[1:])
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.mask, painted)
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.5)


def test_threshold_without_a_prediction_is_just_remembered(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_threshold(0.3)
    assert doc.threshold == pytest.approx(0.3) and doc.undo_stack.count() == 0 and doc.mask is None


def test_undo_and_redo_announce_the_source_and_the_threshold(qtbot) -> None:
    from core.edit.task_result import MaskSource

    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(vessel_prediction(ramp(), 0.5))
    with qtbot.waitSignal(doc.sourceChanged) as changed:
        assert doc.clear_mask()
    assert changed.args == [MaskSource.EMPTY] and doc.mask_source == MaskSource.EMPTY
    with qtbot.waitSignal(doc.sourceChanged) as changed:
        doc.undo_stack.undo()
    assert changed.args == [MaskSource.MODEL]
    doc.set_threshold(0.8)
    with qtbot.waitSignals([doc.thresholdChanged, doc.maskChanged]):
        doc.undo_stack.undo()
    assert doc.threshold == pytest.approx(0.5)


def test_a_second_prediction_is_one_undo_step_that_may_keep_the_edits(qtbot) -> None:
    from gui.document.commands import next_stroke_id

    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(vessel_prediction(ramp(), 0.5))
    doc.paint((0.5, 0.5), (0.5, 0.5), 0.5, True, next_stroke_id())
    assert doc.has_manual_edits
    with qtbot.waitSignals([doc.predictionChanged, doc.maskChanged]):
        doc.set_prediction(vessel_prediction(np.zeros((6, 8), np.float32)), keep_edits=True)
    assert doc.mask.sum() == 1 and doc.mask[0, 0] == 1
    assert doc.undo_stack.undoText() == "Apply new prediction, keep edits"
    doc.undo_stack.undo()
    assert doc.mask[0, 0] == 1 and doc.mask.sum() == 1 + (ramp() >= 0.5).sum()
