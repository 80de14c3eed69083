"""The edit/threshold policy of a document, Qt-free: results per task, label masks, changes as deltas.

A change is computed, then applied (the GUI pushes it as an undo command whose redo applies it);
reverting it must restore pixels and state exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.edit.document_state import DocumentState
from core.edit.task_result import MaskChange, MaskSource, TaskResult, as_labels
from core.predict.tasks import BACKGROUND, VESSEL, VesselTask
from tests.predictions import vessel_prediction


def ramp(h: int = 6, w: int = 8) -> np.ndarray:
    return np.linspace(0, 1, h * w, dtype=np.float32).reshape(h, w)


def labels(p: np.ndarray, t: float) -> np.ndarray:
    return (p >= t).astype(np.uint8)


def segmented(threshold: float = 0.5) -> TaskResult:
    result = TaskResult(VesselTask())
    assert result.adopt(vessel_prediction(ramp(), threshold)) is None  # the first mask: nothing to undo
    return result


def apply(result: TaskResult, change: MaskChange | None) -> MaskChange:
    assert change is not None
    result.apply(change)
    return change


def test_before_any_prediction_the_threshold_is_the_default_and_there_is_no_mask() -> None:
    result = TaskResult(VesselTask())
    assert result.thresholds == {"vessel": 0.5} and result.mask is None and result.model_mask() is None
    assert not result.has_manual_edits


def test_the_first_prediction_sets_a_label_mask_at_the_models_threshold() -> None:
    result = segmented(0.7)
    assert result.thresholds == {"vessel": pytest.approx(0.7)} and result.source == MaskSource.MODEL
    assert result.mask.dtype == np.uint8 and set(np.unique(result.mask)) == {BACKGROUND, VESSEL}
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.7))


def test_a_threshold_the_user_chose_survives_a_new_prediction() -> None:
    result = segmented(0.7)
    apply(result, result.change_thresholds({"vessel": 0.2}))
    assert result.adopt(vessel_prediction(ramp(), 0.7)) is None  # the same mask and state: nothing to undo
    assert result.thresholds["vessel"] == pytest.approx(0.2)
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.2))


def test_a_threshold_change_re_decodes_and_reverts_exactly() -> None:
    result = segmented(0.5)
    change = apply(result, result.change_thresholds({"vessel": 0.3}))
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.3))
    result.revert(change)
    assert result.thresholds["vessel"] == pytest.approx(0.5)
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.5))


def test_thresholds_are_validated_and_an_unchanged_one_is_no_change() -> None:
    result = segmented(0.5)
    assert result.change_thresholds({"vessel": 0.5}) is None
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            result.change_thresholds({"vessel": bad})
    with pytest.raises(KeyError, match="artery"):
        result.change_thresholds({"artery": 0.4})


def test_without_a_prediction_a_threshold_is_just_remembered() -> None:
    result = TaskResult(VesselTask())
    assert result.change_thresholds({"vessel": 0.3}) is None
    assert result.thresholds["vessel"] == pytest.approx(0.3) and result.mask is None


def test_hand_edits_survive_a_threshold_change() -> None:
    result = segmented(0.5)
    apply(result, MaskChange(result.paint((0.5, 0.5), (0.5, 0.5), 0.5, VESSEL), result.state, result.state, "Paint"))
    assert result.has_manual_edits
    painted = result.mask.copy()
    change = apply(result, result.change_thresholds({"vessel": 0.9}))
    assert result.mask[0, 0] == VESSEL  # the edit stays
    np.testing.assert_array_equal(result.mask[1:], labels(ramp(), 0.9)[1:])  # re-thresholded elsewhere
    result.revert(change)
    np.testing.assert_array_equal(result.mask, painted)  # no stale pixels written back


def test_an_edit_undone_by_hand_no_longer_counts() -> None:
    result = segmented(0.5)
    delta = result.paint((0.5, 0.5), (0.5, 0.5), 0.5, VESSEL)
    delta.apply(result.mask)
    delta.revert(result.mask)
    assert not result.has_manual_edits and not result.edited_region().any()


def test_a_mask_of_the_users_own_is_not_changed_by_the_threshold() -> None:
    result = segmented(0.5)
    apply(result, result.clear())
    assert result.source == MaskSource.EMPTY and not result.mask.any() and not result.has_manual_edits
    change = apply(result, result.change_thresholds({"vessel": 0.1}))
    assert change.delta is None and not result.mask.any()  # the state alone changes
    assert result.thresholds["vessel"] == pytest.approx(0.1)


def test_clear_then_start_from_the_model_reverts_to_every_earlier_state() -> None:
    result = segmented(0.5)
    cleared = apply(result, result.clear())
    back = apply(result, result.start_from_model())
    assert result.source == MaskSource.MODEL
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.5))
    result.revert(back)
    assert result.source == MaskSource.EMPTY and not result.mask.any()
    result.revert(cleared)
    assert result.source == MaskSource.MODEL
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.5))


def test_start_from_the_model_needs_a_prediction() -> None:
    result = TaskResult(VesselTask())
    result.ensure_mask((6, 8))
    with pytest.raises(ValueError, match="Segment"):
        result.start_from_model()


def test_a_new_prediction_replaces_the_mask_or_keeps_the_edits() -> None:
    result = segmented(0.5)
    delta = result.fill([(0, 0), (3, 0), (3, 2), (0, 2)], VESSEL)  # top left 3×2 vessel by hand
    delta.apply(result.mask)
    edited = result.mask.copy()
    new = vessel_prediction(1.0 - ramp(), 0.5)
    kept = result.adopt(new, keep_edits=True)
    assert kept is not None and kept.text == "Apply new prediction, keep edits"
    result.apply(kept)
    hand = edited != labels(ramp(), 0.5)
    np.testing.assert_array_equal(result.mask[hand], edited[hand])
    np.testing.assert_array_equal(result.mask[~hand], labels(1.0 - ramp(), 0.5)[~hand])
    result.revert(kept)
    np.testing.assert_array_equal(result.mask, edited)
    replaced = result.adopt(new)
    result.apply(replaced)
    np.testing.assert_array_equal(result.mask, labels(1.0 - ramp(), 0.5))


def test_keeping_edits_of_a_loaded_mask_adds_its_vessels_to_the_prediction() -> None:
    result = segmented(0.5)
    loaded = np.zeros((6, 8), np.uint8)
    loaded[0, 0] = 255  # a 0/255 mask file
    apply(result, result.replace(loaded, MaskSource.FILE, "Load mask file"))
    assert result.mask[0, 0] == VESSEL and result.has_manual_edits
    apply(result, result.adopt(vessel_prediction(ramp(), 0.5), keep_edits=True))
    expected = labels(ramp(), 0.5)
    expected[0, 0] = VESSEL
    np.testing.assert_array_equal(result.mask, expected)
    assert result.source == MaskSource.MODEL


def test_an_empty_mask_drawn_by_hand_becomes_the_users_work_once_painted() -> None:
    result = TaskResult(VesselTask())
    assert result.ensure_mask((6, 8)) and not result.ensure_mask((6, 8))
    assert result.source == MaskSource.EMPTY and not result.has_manual_edits
    result.paint((2, 2), (2, 2), 1, VESSEL).apply(result.mask)
    assert result.has_manual_edits


def test_a_replacement_of_another_size_is_refused_with_both_sizes() -> None:
    result = segmented()
    with pytest.raises(ValueError, match="5x4.*8x6"):
        result.replace(np.zeros((4, 5), np.uint8), MaskSource.FILE, "Load mask file")


def test_consecutive_threshold_changes_merge_into_one_change() -> None:
    result = segmented(0.5)
    first = apply(result, result.change_thresholds({"vessel": 0.4}))
    second = apply(result, result.change_thresholds({"vessel": 0.3}))
    merged = first.merge(second)
    result.revert(merged)
    assert result.thresholds["vessel"] == pytest.approx(0.5)
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.5))
    result.apply(merged)
    np.testing.assert_array_equal(result.mask, labels(ramp(), 0.3))


def test_label_files_become_labels_of_the_task() -> None:
    assert as_labels(np.array([[0, 255, 7]]), VesselTask()).tolist() == [[0, 1, 1]]
    assert as_labels(np.array([[False, True]]), VesselTask()).dtype == np.uint8


def test_the_document_holds_one_result_per_task_and_the_prediction_fov() -> None:
    state = DocumentState((6, 8))
    fov = np.zeros((6, 8), bool)
    fov[:, :4] = True
    assert state.labelled_fraction("vessels") is None
    state.adopt(vessel_prediction(ramp(), 0.0, fov))
    assert set(state.results) == {"vessels"} and state.result("vessels").prediction is not None
    np.testing.assert_array_equal(state.fov, fov)
    assert state.labelled_fraction("vessels") == pytest.approx(1.0)


def test_the_document_refuses_arrays_of_another_size() -> None:
    state = DocumentState((6, 8))
    with pytest.raises(ValueError, match="8x5 but the image is 8x6"):
        state.adopt(vessel_prediction(np.zeros((5, 8), np.float32)))
    with pytest.raises(ValueError, match="FOV"):
        state.set_fov(np.ones((6, 7), bool))
    with pytest.raises(ValueError, match="unknown task"):
        state.result("no such task")
