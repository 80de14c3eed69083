"""Artery/vein labels of a vessel mask from an artery/vein model's probabilities.

The vessel mask is whatever the user sees (the vessel model's result, possibly corrected by hand); the
artery/vein model says, per pixel, which of the two a vessel there is more likely to be. With
``consistent=True`` every vessel segment (see :mod:`core.edit.vessel_segments`) takes one type, so a vessel
does not flip colour along its length: by default (``tree``) its pixels' summed log-odds, weighed together
with the segments it runs on into at branchings and crossings (:mod:`core.predict.vessel_tree`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

from core.edit.vessel_segments import segment_map
from core.io.artery_vein import ARTERY, VEIN
from core.predict.prediction import Prediction

_EPS = 1e-4


def artery_log_odds(p_artery: np.ndarray, p_vein: np.ndarray) -> np.ndarray:
    """log(P(artery) / P(vein)) per pixel: positive where artery is more likely."""
    return np.log(np.asarray(p_artery, np.float32) + _EPS) - np.log(np.asarray(p_vein, np.float32) + _EPS)


#: Share of the typed vessel pixels that are artery in the training labels, the validation images left out
#: (DRIVE 0.448 ± 0.021 over 16 images, HRF 0.456 ± 0.038 over 20): arteries and veins come in about equal
#: numbers of vessels, and veins are wider.
ARTERY_SHARE = 0.45
#: How far from ARTERY_SHARE an image's typing may be before "banded" moves it (about two of DRIVE's
#: standard deviations, one and a half of HRF's).
SHARE_TOLERANCE = 0.05
#: Fewer segments than this are not balanced: the share is a whole fundus's, not a crop's or a fragment's.
MIN_BALANCED_SEGMENTS = 50
#: The most a per-image offset may move the log-odds.
MAX_OFFSET = 2.0
#: Strength of the joins along the tree, in log-odds per pixel (core.predict.vessel_tree); chosen on the
#: validation images from 0.3, 1, 2, 3, 5, 10 and unbounded.
TREE_STRENGTH = 3.0


def balanced_offset(segments: np.ndarray, log_odds: np.ndarray, share: float = ARTERY_SHARE,
                    tolerance: float = 0.0) -> float:
    """The log-odds offset that, taken from every pixel, types artery the segments holding ``share`` of the
    vessel pixels (within ``tolerance``: 0 when the unmoved typing is already that close). The segments are
    ranked by their mean log-odds, so only their order counts; at most ±MAX_OFFSET, and 0 for fewer than
    MIN_BALANCED_SEGMENTS segments."""
    count = int(segments.max())
    if count < MIN_BALANCED_SEGMENTS:
        return 0.0
    index = np.arange(1, count + 1)
    size = np.asarray(ndi.sum_labels(np.ones(segments.shape, np.float32), segments, index), np.float64)
    mean = np.asarray(ndi.sum_labels(log_odds, segments, index), np.float64) / np.maximum(size, 1)
    now = float(size[mean >= 0].sum() / max(size.sum(), 1.0))
    if abs(now - share) <= tolerance:
        return 0.0
    target = share - tolerance if now < share else share + tolerance
    order = np.argsort(-mean, kind="stable")
    cumulative = np.cumsum(size[order]) / max(float(size.sum()), 1.0)
    k = min(int(np.searchsorted(cumulative, target)), count - 1)
    # halfway to the next segment down, so that the k-th segment keeps its evidence and stays artery
    below = mean[order][k + 1] if k + 1 < count else mean[order][k] - 1.0
    return float(np.clip((mean[order][k] + below) / 2, -MAX_OFFSET, MAX_OFFSET))


def _segment_votes(segments: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    votes = np.asarray(ndi.sum_labels(log_odds, segments, np.arange(int(segments.max()) + 1)), np.float64)
    votes[0] = 0.0
    return votes


def _per_pixel(vessels: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    return log_odds


def _per_segment(vessels: np.ndarray, log_odds: np.ndarray, tolerance: float | None = None) -> np.ndarray:
    """Each segment's summed log-odds; with a ``tolerance``, after the per-image :func:`balanced_offset`."""
    segments = segment_map(vessels)
    if not segments.max():
        return log_odds
    if tolerance is not None:
        log_odds = log_odds - np.float32(balanced_offset(segments, log_odds, tolerance=tolerance))
    return _segment_votes(segments, log_odds).astype(np.float32)[segments]


def _along_tree(vessels: np.ndarray, log_odds: np.ndarray, tolerance: float | None = None) -> np.ndarray:
    """Segments typed together along the tree (core.predict.vessel_tree); the sign is the decision, the size
    the segment's own summed log-odds (at least 1)."""
    from core.predict.vessel_tree import segment_graph, tree_types

    graph = segment_graph(vessels)
    if not graph.count:
        return log_odds
    if tolerance is not None:
        log_odds = log_odds - np.float32(balanced_offset(graph.segments, log_odds, tolerance=tolerance))
    votes = _segment_votes(graph.segments, log_odds)
    artery = tree_types(graph, votes, TREE_STRENGTH)
    return (np.where(artery, 1.0, -1.0) * np.maximum(np.abs(votes), 1.0)).astype(np.float32)[graph.segments]


#: Ways of turning the model's per-pixel log-odds into the evidence that types each vessel pixel:
#: ``per_pixel``; ``per_segment``: each segment its pixels' summed log-odds; ``balanced``: per segment after
#: a per-image offset that types ARTERY_SHARE of the vessel pixels artery; ``banded``: the same, only for an
#: image whose typing is further than SHARE_TOLERANCE from that share, and only back to the band's edge;
#: ``tree``: per segment, joined along the vessel tree; ``balanced_tree`` and ``banded_tree`` combine them.
TYPINGS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "per_pixel": _per_pixel,
    "per_segment": _per_segment,
    "balanced": lambda vessels, log_odds: _per_segment(vessels, log_odds, 0.0),
    "banded": lambda vessels, log_odds: _per_segment(vessels, log_odds, SHARE_TOLERANCE),
    "tree": _along_tree,
    "balanced_tree": lambda vessels, log_odds: _along_tree(vessels, log_odds, 0.0),
    "banded_tree": lambda vessels, log_odds: _along_tree(vessels, log_odds, SHARE_TOLERANCE),
}
#: What the app, ``segment --av`` and the batch use: on the validation images the tree raised accuracy from
#: 0.879 to 0.895 (DRIVE) and 0.951 to 0.965 (HRF) over per segment (docs/artery_vein.md).
DEFAULT_TYPING = "tree"


def artery_evidence(vessels: np.ndarray, p_artery: np.ndarray, p_vein: np.ndarray,
                    consistent: bool = True, typing: str | None = None) -> np.ndarray:
    """Artery-against-vein evidence per pixel, positive for artery: the model's log-odds typed by ``typing``
    (a :data:`TYPINGS` name; by default :data:`DEFAULT_TYPING`, or ``per_pixel`` when not ``consistent``)."""
    name = typing or (DEFAULT_TYPING if consistent else "per_pixel")
    if name not in TYPINGS:
        raise ValueError(f"unknown artery/vein typing {name!r}; expected one of {', '.join(TYPINGS)}")
    return TYPINGS[name](np.asarray(vessels, bool), artery_log_odds(p_artery, p_vein))


def classify_vessels(vessels: np.ndarray, p_artery: np.ndarray, p_vein: np.ndarray,
                     consistent: bool = True, typing: str | None = None) -> np.ndarray:
    """uint8 label map (core.io.artery_vein values): ARTERY or VEIN on every vessel pixel, 0 elsewhere."""
    vessels = np.asarray(vessels, bool)
    evidence = artery_evidence(vessels, p_artery, p_vein, consistent, typing)
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
