"""Vessel segments: the pieces of a vessel mask between branch and crossing points.

Each vessel pixel belongs to the segment of its nearest centreline pixel, where the centreline is
scikit-image's skeleton of the mask with its branch points (pixels with three or more skeleton
neighbours, and their neighbours) removed. A segment is the unit an artery/vein label should not change
along, and what a click on "swap artery/vein for this segment" acts on.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

_EIGHT = np.ones((3, 3), bool)


def _box(vessels: np.ndarray) -> tuple[slice, slice]:
    """The mask's bounding box with a 1-px margin (the skeleton needs background around it)."""
    rows, cols = np.flatnonzero(vessels.any(1)), np.flatnonzero(vessels.any(0))
    return slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(cols[0] - 1, 0), cols[-1] + 2)


def _cut_skeleton(mask: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    skeleton = skeletonize(mask)
    neighbours = ndi.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    branch = skeleton & (neighbours >= 3)
    junctions = skeleton & ndi.binary_dilation(branch, _EIGHT)
    labels, count = ndi.label(skeleton & ~junctions, structure=_EIGHT)
    return labels, count, junctions


def centreline_pieces(vessels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask's skeleton cut at its branch points: int32 H×W piece numbers (1…N, the numbers of
    :func:`segment_map`) on the skeleton between branch points, and the bool H×W junction pixels (the
    skeleton at and beside branch points, where pieces meet)."""
    vessels = np.asarray(vessels, bool)
    pieces, junctions = np.zeros(vessels.shape, np.int32), np.zeros(vessels.shape, bool)
    if vessels.any():
        box = _box(vessels)
        pieces[box], _, junctions[box] = _cut_skeleton(vessels[box])
    return pieces, junctions


def segment_map(vessels: np.ndarray, pieces: np.ndarray | None = None) -> np.ndarray:
    """int32 H×W: the segment number (1…N) of every vessel pixel, 0 elsewhere. ``pieces``: the mask's
    :func:`centreline_pieces`, when the caller has them already (the skeleton is not computed again)."""
    vessels = np.asarray(vessels, bool)
    out = np.zeros(vessels.shape, np.int32)
    if not vessels.any():
        return out
    box = _box(vessels)
    mask = vessels[box]
    if pieces is None:
        labels, count, _ = _cut_skeleton(mask)
    else:
        labels = np.asarray(pieces[box], np.int32)
        count = int(labels.max())
    if count == 0:  # blobs or tiny specks: each connected piece of the mask is one segment
        labels, count = ndi.label(mask, structure=_EIGHT)
        out[box] = labels
        return out
    _, (ri, ci) = ndi.distance_transform_edt(labels == 0, return_indices=True)
    out[box] = np.where(mask, labels[ri, ci], 0)
    return out


def segment_at(segments: np.ndarray, row: int, col: int, radius: int = 3) -> int:
    """The segment under (row, col), or the nearest one within ``radius`` px (a click beside a thin
    vessel still finds it); 0 when none is that close."""
    h, w = segments.shape
    if not (0 <= row < h and 0 <= col < w):
        return 0
    if segments[row, col]:
        return int(segments[row, col])
    r0, r1, c0, c1 = max(row - radius, 0), min(row + radius + 1, h), max(col - radius, 0), min(col + radius + 1, w)
    window = segments[r0:r1, c0:c1]
    ys, xs = np.nonzero(window)
    if ys.size == 0:
        return 0
    nearest = int(np.argmin((ys + r0 - row) ** 2 + (xs + c0 - col) ** 2))
    return int(window[ys[nearest], xs[nearest]])
