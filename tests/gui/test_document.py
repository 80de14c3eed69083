"""ImageDocument: the mask is the probability map thresholded; re-thresholding needs no network."""

from __future__ import annotations

import numpy as np
import pytest

from gui.document.document import ImageDocument, PredictionInfo


def ramp(h: int = 6, w: int = 8) -> np.ndarray:
    return np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w)


def test_prediction_sets_mask_with_the_models_threshold(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8, 3), np.uint8))
    with qtbot.waitSignals([doc.predictionChanged, doc.maskChanged, doc.thresholdChanged]):
        doc.set_prediction(ramp(), threshold=0.7, info=PredictionInfo("m.pt", "CPU", 0.1))
    assert doc.threshold == pytest.approx(0.7)
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.7)
    assert doc.probability_u8.dtype == np.uint8 and doc.probability_u8.max() == 255


def test_user_threshold_survives_a_new_prediction(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(ramp(), threshold=0.7)
    doc.set_threshold(0.2)
    doc.set_prediction(ramp(), threshold=0.7)
    assert doc.threshold == pytest.approx(0.2)
    np.testing.assert_array_equal(doc.mask, ramp() >= 0.2)


def test_set_threshold_emits_once_and_validates(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(ramp(), threshold=0.5)
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
        doc.set_prediction(np.zeros((5, 8), np.float32))
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
    doc.set_prediction(ramp(), fov=fov, threshold=0.0)
    assert "p 0." in doc.describe_pixel(3, 2) and "(vessel)" in doc.describe_pixel(3, 2)
    assert doc.vessel_fraction() == pytest.approx(1.0)


def test_from_file_reads_16_bit_gray(tmp_path) -> None:
    from core.io.images import write_image

    path = write_image(tmp_path / "g16.png", np.full((5, 7), 4000, np.uint16))
    doc = ImageDocument.from_file(path)
    assert doc.image.dtype == np.uint16 and (doc.width, doc.height) == (7, 5) and doc.name == "g16.png"


def test_threshold_changes_are_undoable_and_one_drag_is_one_step(qtbot) -> None:
    doc = ImageDocument(np.zeros((6, 8), np.uint8))
    doc.set_prediction(ramp(), threshold=0.5)
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
    doc.set_prediction(ramp(), threshold=0.5)
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
