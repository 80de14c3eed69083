"""Artery/vein labels of a vessel mask from an artery/vein model's probabilities.

The vessel mask is whatever the user sees (the vessel model's result, possibly corrected by hand); the
artery/vein model says, per pixel, which of the two a vessel there is more likely to be. With
``consistent=True`` every vessel segment (see :mod:`core.edit.vessel_segments`) takes one type, the
majority of its pixels' evidence (summed log-odds), so a vessel does not flip colour along its length.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from core.edit.vessel_segments import segment_map
from core.io.artery_vein import ARTERY, VEIN
from core.predict.prediction import Prediction

_EPS = 1e-4


def artery_log_odds(p_artery: np.ndarray, p_vein: np.ndarray) -> np.ndarray:
    """log(P(artery) / P(vein)) per pixel: positive where artery is more likely."""
    return np.log(np.asarray(p_artery, np.float32) + _EPS) - np.log(np.asarray(p_vein, np.float32) + _EPS)


def artery_evidence(vessels: np.ndarray, p_artery: np.ndarray, p_vein: np.ndarray,
                    consistent: bool = True) -> np.ndarray:
    """Per pixel log-odds of artery against vein; with ``consistent`` each segment's sum over its pixels."""
    evidence = artery_log_odds(p_artery, p_vein)
    if consistent:
        segments = segment_map(vessels)
        count = int(segments.max())
        if count:
            votes = ndi.sum_labels(evidence, segments, index=np.arange(count + 1))
            evidence = np.asarray(votes, np.float32)[segments]
    return evidence


def classify_vessels(vessels: np.ndarray, p_artery: np.ndarray, p_vein: np.ndarray,
                     consistent: bool = True) -> np.ndarray:
    """uint8 label map (core.io.artery_vein values): ARTERY or VEIN on every vessel pixel, 0 elsewhere."""
    vessels = np.asarray(vessels, bool)
    evidence = artery_evidence(vessels, p_artery, p_vein, consistent)
    return np.where(vessels, np.where(evidence >= 0, ARTERY, VEIN), 0).astype(np.uint8)


def typed_prediction(vessels: np.ndarray, av: Prediction, consistent: bool = True) -> Prediction:
    """An artery/vein prediction that covers exactly ``vessels`` (the vessel mask the user sees, edited
    or not): P(artery) and P(vein) are 0 off the mask and split the whole probability on it by the
    (segment) evidence of ``av``, so decoding it at any vessel threshold in (0, 1] gives
    :func:`classify_vessels` of that mask, and hand edits are told apart from it as for vessels."""
    if av.task.name != "arteries_veins":
        raise ValueError(f"expected an artery/vein prediction, got {av.task.name!r}")
    m = np.asarray(vessels, bool)
    if m.shape != av.shape:
        raise ValueError(f"the vessel mask is {m.shape[1]}x{m.shape[0]} but the prediction is "
                         f"{av.shape[1]}x{av.shape[0]}")
    evidence = artery_evidence(m, av.probability("artery"), av.probability("vein"), consistent)
    p_artery = (1.0 / (1.0 + np.exp(-np.clip(evidence, -30, 30)))).astype(np.float32)
    # ties go to artery, as in classify_vessels
    p_artery = np.where(evidence >= 0, np.maximum(p_artery, 0.5), np.minimum(p_artery, np.nextafter(0.5, 0)))
    on = m.astype(np.float32)
    probabilities = np.stack([1.0 - on, on * p_artery, on * (1.0 - p_artery)]).astype(np.float32)
    return Prediction(probabilities, av.task, {"vessel": 0.5}, av.fov,
                      {**av.info, "vessel_mask": "given", "segment_consistent": consistent})


def inconsistent_fraction(vessels: np.ndarray, labels: np.ndarray, min_pixels: int = 10) -> float:
    """Fraction of vessel segments (with at least ``min_pixels`` pixels) whose pixels are not all one
    type among artery and vein: how often a vessel changes colour along its length."""
    segments = segment_map(vessels)
    count = int(segments.max())
    if count == 0:
        return 0.0
    index = np.arange(1, count + 1)
    size = ndi.sum_labels(np.ones(segments.shape), segments, index)
    arteries = ndi.sum_labels(labels == ARTERY, segments, index)
    veins = ndi.sum_labels(labels == VEIN, segments, index)
    counted = size >= min_pixels
    mixed = counted & (arteries > 0) & (veins > 0)
    return float(mixed.sum() / max(int(counted.sum()), 1))
