"""Crossings on typed vessels: where an artery and a vein touch, a small disk labelled crossing.

The artery/vein model has no crossing class, and segment voting (core.predict.artery_vein) gives the arms of
a crossing their own types, so where an artery crosses a vein the two types touch in the middle of it. Each
place where they touch (touching pixels closer than two pixels to each other are one place) is marked: the
vessel pixels within ``radius_factor`` local vessel widths of its centre become crossing. An artery and a vein
also touch where the typing is wrong (a branch typed unlike its trunk), so some marks are no crossing; on the
RITE labels of the DRIVE training images about two in three marks are at a real crossing and three in four
crossings are marked (docs/artery_vein.md, ``benchmarks/av_crossings.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from core.io.artery_vein import ARTERY, CROSSING, VEIN

_EIGHT = np.ones((3, 3), bool)
#: Disk radius in local vessel widths; the best pixel overlap with the RITE crossings of the DRIVE training
#: images among 0.5, 0.75, 1 and 1.5 (docs/artery_vein.md).
RADIUS_FACTOR = 0.5


@dataclass(frozen=True)
class Crossing:
    """A place where an artery and a vein touch: centre (row, column), the local vessel width (px) and how
    many pixels of the two types touch there."""

    row: float
    col: float
    width: float
    contact: int


def find_crossings(labels: np.ndarray) -> list[Crossing]:
    """Where the arteries and veins of ``labels`` (core.io.artery_vein values) touch, one entry per place;
    the width is the widest vessel there (twice the largest distance to the background)."""
    artery, vein = labels == ARTERY, labels == VEIN
    contact = (artery & ndi.binary_dilation(vein, _EIGHT)) | (vein & ndi.binary_dilation(artery, _EIGHT))
    if not contact.any():
        return []
    places, count = ndi.label(ndi.binary_dilation(contact, _EIGHT, iterations=2), structure=_EIGHT)
    at = np.where(contact, places, 0)
    index = np.arange(1, count + 1)
    pixels = ndi.sum_labels(contact, at, index)
    widths = 2 * np.asarray(ndi.maximum(ndi.distance_transform_edt(labels != 0), at, index), float)
    centres = ndi.center_of_mass(contact, at, index)
    return [Crossing(float(r), float(c), float(w), int(n))
            for (r, c), w, n in zip(centres, widths, pixels, strict=True)]


def mark_crossings(labels: np.ndarray, radius_factor: float = RADIUS_FACTOR) -> np.ndarray:
    """``labels`` with every place of :func:`find_crossings` marked: the vessel pixels within ``radius_factor``
    local vessel widths of its centre (at least one pixel) become CROSSING. A new uint8 array."""
    out = np.array(labels, np.uint8, copy=True)
    h, w = out.shape
    for crossing in find_crossings(out):
        radius = max(radius_factor * crossing.width, 1.0)
        r0, r1 = max(int(crossing.row - radius), 0), min(int(np.ceil(crossing.row + radius)) + 1, h)
        c0, c1 = max(int(crossing.col - radius), 0), min(int(np.ceil(crossing.col + radius)) + 1, w)
        rows, cols = np.ogrid[r0:r1, c0:c1]
        disk = (rows - crossing.row) ** 2 + (cols - crossing.col) ** 2 <= radius**2
        window = out[r0:r1, c0:c1]
        window[disk & (window != 0)] = CROSSING
    return out
