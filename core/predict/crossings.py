"""Crossings on typed vessels: where an artery and a vein touch, a small disk labelled crossing.

The artery/vein model has no crossing class, and the typing (core.predict.artery_vein) gives the two vessels
of a crossing their own types, so where an artery crosses a vein the two types touch in the middle of it. Each
place where they touch (touching pixels closer than two pixels to each other are one place) is marked: the
vessel pixels within ``radius_factor`` local vessel widths of its centre become crossing. An artery and a vein
also touch where the typing is wrong (a branch typed unlike its trunk), so some marks are no crossing; on the
masks the app types on the DRIVE training images about three in four marks are at a real crossing and seven in
ten crossings are marked (docs/artery_vein.md, ``benchmarks/av_crossings.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from core.io.artery_vein import ARTERY, CROSSING, VEIN

_EIGHT = np.ones((3, 3), bool)
#: Disk radius in local vessel widths; the best pixel overlap with the RITE crossings of the DRIVE training
#: images among 0.5, 0.75, 1 and 1.5 (docs/artery_vein.md).
RADIUS_FACTOR = 0.5
#: Contact pixels this close (Chebyshev, px) belong to one place.
PLACE_DISTANCE = 5
#: Margin (px) around a place within which its vessel width is measured: more than the widest vessel's half.
WIDTH_MARGIN = 32


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
    the width is the widest vessel there (twice the largest distance to the background).

    Everything after finding the contact pixels works on them or on small windows around each place, so a
    3504×2336 image costs tens of milliseconds, not seconds (the app recomputes this after every edit)."""
    artery, vein = labels == ARTERY, labels == VEIN
    contact = (artery & _grown(vein)) | (vein & _grown(artery))
    rows, cols = np.nonzero(contact)
    if rows.size == 0:
        return []
    points = np.column_stack([rows, cols])
    places = _places(points)
    vessel = labels != 0
    found = []
    for members in np.split(np.argsort(places, kind="stable"), np.flatnonzero(np.diff(np.sort(places))) + 1):
        r, c = rows[members], cols[members]
        found.append(Crossing(float(r.mean()), float(c.mean()), _widest(vessel, r, c), int(members.size)))
    return found


def _grown(mask: np.ndarray) -> np.ndarray:
    """``mask`` dilated by one pixel in all eight directions (two shifted ORs per axis)."""
    tall = mask.copy()
    tall[1:] |= mask[:-1]
    tall[:-1] |= mask[1:]
    wide = tall.copy()
    wide[:, 1:] |= tall[:, :-1]
    wide[:, :-1] |= tall[:, 1:]
    return wide


def _places(points: np.ndarray) -> np.ndarray:
    """A place index per contact pixel: pixels closer than two pixels to each other (Chebyshev distance
    ≤ 5 between pixels: their 2-pixel dilations touch) share a place, transitively."""
    pairs = cKDTree(points).query_pairs(PLACE_DISTANCE, p=np.inf, output_type="ndarray")
    n = len(points)
    graph = coo_matrix((np.ones(len(pairs), bool), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _widest(vessel: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Twice the largest distance to the background over the pixels (rows, cols) of ``vessel``, computed in a
    window around them wide enough for any vessel (a vessel wider than the margin reads as that wide)."""
    h, w = vessel.shape
    r0, r1 = max(int(rows.min()) - WIDTH_MARGIN, 0), min(int(rows.max()) + WIDTH_MARGIN + 1, h)
    c0, c1 = max(int(cols.min()) - WIDTH_MARGIN, 0), min(int(cols.max()) + WIDTH_MARGIN + 1, w)
    window = np.pad(vessel[r0:r1, c0:c1], 1, constant_values=False)
    inside = ndi.distance_transform_edt(window)[1:-1, 1:-1]
    return 2 * float(inside[rows - r0, cols - c0].max())


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
