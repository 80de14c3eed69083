"""Vessel segments and segment-consistent artery/vein typing."""

from __future__ import annotations

import numpy as np

from core.edit.vessel_segments import segment_at, segment_map
from core.io.artery_vein import ARTERY, VEIN
from core.predict.artery_vein import classify_vessels, inconsistent_fraction


def _cross() -> np.ndarray:
    """Two 3-px-wide vessels crossing at the centre of a 61×61 image."""
    m = np.zeros((61, 61), bool)
    m[29:32, 2:59] = True
    m[2:59, 29:32] = True
    return m


def test_a_crossing_splits_two_vessels_into_four_segments() -> None:
    segments = segment_map(_cross())
    assert segments.max() == 4
    assert (segments > 0).sum() == _cross().sum()  # every vessel pixel has a segment
    assert len({segments[30, 5], segments[30, 55], segments[5, 30], segments[55, 30]}) == 4


def test_an_empty_mask_has_no_segments_and_a_blob_is_one() -> None:
    assert segment_map(np.zeros((10, 10), bool)).max() == 0
    blob = np.zeros((10, 10), bool)
    blob[4:6, 4:6] = True
    assert segment_map(blob).max() == 1


def test_a_click_beside_a_thin_vessel_finds_it_and_far_away_finds_none() -> None:
    segments = segment_map(_cross())
    assert segment_at(segments, 27, 10) == segments[30, 10]  # 2 px above the vessel
    assert segment_at(segments, 10, 10) == 0
    assert segment_at(segments, -1, 500) == 0


def test_segment_typing_takes_the_majority_and_removes_flips() -> None:
    vessels = _cross()
    p_artery = np.where(vessels, 0.2, 0.0).astype(np.float32)
    p_vein = np.where(vessels, 0.7, 0.0).astype(np.float32)
    p_artery[29:32, 2:25] = 0.8  # the left arm is mostly artery ...
    p_vein[29:32, 2:25] = 0.1
    p_artery[29:32, 10:12], p_vein[29:32, 10:12] = 0.1, 0.8  # ... with a short flip inside it
    per_pixel = classify_vessels(vessels, p_artery, p_vein, consistent=False)
    per_segment = classify_vessels(vessels, p_artery, p_vein, typing="per_segment")
    assert per_pixel[30, 11] == VEIN and per_segment[30, 11] == ARTERY
    assert per_segment[30, 55] == VEIN and (per_segment[~vessels] == 0).all()
    assert inconsistent_fraction(vessels, per_pixel) > 0
    assert inconsistent_fraction(vessels, per_segment) == 0


def test_a_typed_prediction_decodes_to_the_given_mask_typed_by_segment() -> None:
    from core.predict.artery_vein import typed_prediction
    from core.predict.prediction import Prediction
    from core.predict.tasks import get_task

    vessels = _cross()
    p_artery = np.where(vessels, 0.2, 0.05).astype(np.float32)
    p_artery[29:32, 2:25] = 0.7
    p_vein = np.where(vessels, 0.6, 0.05).astype(np.float32)
    p_vein[29:32, 2:25] = 0.1
    background = 1 - p_artery - p_vein
    av = Prediction(np.stack([background, p_artery, p_vein]), get_task("arteries_veins"), {"vessel": 0.5},
                    np.ones(vessels.shape, bool))
    edited = vessels.copy()
    edited[0:2, 0:10] = True  # a stroke the model never saw
    typed = typed_prediction(edited, av)
    expected = classify_vessels(edited, p_artery, p_vein, consistent=True)
    for t in (0.05, 0.5, 0.99):
        np.testing.assert_array_equal(typed.decode({"vessel": t}), expected)
    assert typed.decode()[30, 5] == ARTERY and typed.decode()[55, 30] == VEIN


def test_swapping_a_segment_changes_only_that_segment() -> None:
    from core.edit.artery_vein_ops import swapped_segment

    vessels = _cross()
    labels = np.where(vessels, VEIN, 0).astype(np.uint8)
    labels[29:32, 2:25] = ARTERY
    out = swapped_segment(labels, 28, 10)  # a click just above the left arm
    assert out is not None
    assert (out[29:32, 2:25] == VEIN).all()
    assert out[55, 30] == VEIN and out[30, 55] == VEIN
    assert swapped_segment(labels, 5, 5) is None
    np.testing.assert_array_equal(swapped_segment(out, 30, 10), labels)  # swapping twice is a no-op
