"""Artery/vein labels that follow hand edits of the vessel mask they type.

Once the vessels are typed, a brush stroke or lasso fill that adds vessel pixels, or an eraser stroke or
cut that removes them, would leave the labels describing a mask that no longer exists. The labels' own
change is computed here from the vessel edit's delta, before that delta is applied, so the GUI can make
both one undo step:

* vessel pixels that are erased lose their type;
* vessel pixels that are painted in take the type of the typed vessel they touch, spread along the
  untyped vessel pixels connected to them (a flood from the touching artery and vein pixels, so a stroke
  that bridges an artery and a vein is split where the two floods meet); painted pixels that touch no
  typed vessel stay untyped (the vessel colour), for the artery and vein brushes.

The artery/vein model's own probabilities are not used: the document keeps only the labels' prediction
laid on the mask at the time of the labelling (zero off that mask), so the neighbours are the evidence.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from core.edit.mask_ops import Box, MaskDelta, Patch
from core.io.artery_vein import ARTERY, VEIN

_EIGHT = np.ones((3, 3), bool)


def labels_following(labels: np.ndarray, vessels: np.ndarray, vessel_delta: MaskDelta,
                     reach: int = 2) -> MaskDelta | None:
    """The delta that makes artery/vein ``labels`` follow ``vessel_delta``, an edit of ``vessels`` not yet
    applied; None when the labels need no change. Neither array is modified.

    The edit's box grown by ``reach`` px is read, and more only while a type spreads along untyped vessel
    beyond it: the cost follows the brush and what it joins, not the image.
    """
    if labels.shape != vessels.shape or vessel_delta.shape != labels.shape:
        raise ValueError(f"labels {labels.shape}, vessels {vessels.shape} and the edit {vessel_delta.shape} "
                         "must be of one image")
    window = _grown(vessel_delta.box, reach, labels.shape)
    while True:
        current, new, spilled = _follow_in(labels, vessels, vessel_delta, window)
        bigger = _grown(window, max(window[2] - window[0], window[3] - window[1]), labels.shape)
        if not spilled or bigger == window:
            return _delta(labels, window, current, new)
        window = bigger


def _grown(box: Box, by: int, shape: tuple[int, ...]) -> Box:
    y0, x0, y1, x1 = box
    return max(y0 - by, 0), max(x0 - by, 0), min(y1 + by, shape[0]), min(x1 + by, shape[1])


def _follow_in(labels: np.ndarray, vessels: np.ndarray, vessel_delta: MaskDelta,
               window: Box) -> tuple[np.ndarray, np.ndarray, bool]:
    """``labels[window]`` now and as they should become, and whether a type spread to the window's edge
    (where the image goes on: the untyped vessel it spreads along may go on too)."""
    wy0, wx0, wy1, wx1 = window
    before = vessels[wy0:wy1, wx0:wx1] != 0
    after = _after(vessels, vessel_delta, window) != 0
    current = labels[wy0:wy1, wx0:wx1]
    new = np.where(after, current, 0).astype(labels.dtype)  # erased vessels lose their type
    painted = after & ~before & (new == 0)
    if not painted.any():
        return current, new, False
    from skimage.segmentation import watershed  # loaded by then: the labelling's segments use skimage

    untyped = after & (new == 0)
    pieces, _ = ndi.label(untyped, structure=_EIGHT)
    reached = np.isin(pieces, np.unique(pieces[painted]))  # the untyped vessel connected to the edit
    typed = (new == ARTERY) | (new == VEIN)
    flooded = watershed(np.zeros(new.shape, np.uint8), markers=np.where(typed, new, 0).astype(np.int32),
                        mask=reached | typed, connectivity=2)
    spread = reached & (flooded != 0)
    new[reached] = flooded[reached]  # 0 where no typed vessel is reached: stays untyped
    h, w = labels.shape
    spilled = bool((wy0 > 0 and spread[0].any()) or (wy1 < h and spread[-1].any())
                   or (wx0 > 0 and spread[:, 0].any()) or (wx1 < w and spread[:, -1].any()))
    return current, new, spilled


def _after(mask: np.ndarray, delta: MaskDelta, window: Box) -> np.ndarray:
    """``mask[window]`` as it will be once ``delta`` is applied (the mask itself is not touched)."""
    y0, x0, y1, x1 = window
    out = mask[y0:y1, x0:x1].copy()
    width = mask.shape[1]
    for patch in delta.patches:  # in order: later patches overwrite earlier ones, as apply() does
        if patch.starts is None:
            py0, px0, py1, px1 = patch.box
            oy0, ox0, oy1, ox1 = max(py0, y0), max(px0, x0), min(py1, y1), min(px1, x1)
            if oy0 < oy1 and ox0 < ox1:
                out[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0] = patch.new[oy0 - py0:oy1 - py0, ox0 - px0:ox1 - px0]
            continue
        index = patch.indices()
        rows, cols = np.divmod(index, width)
        inside = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)
        values = np.broadcast_to(patch.new, index.shape)[inside]
        out[rows[inside] - y0, cols[inside] - x0] = values
    return out


def _delta(labels: np.ndarray, window: Box, current: np.ndarray, new: np.ndarray) -> MaskDelta | None:
    """The delta setting ``labels[window]`` (now ``current``) to ``new``: the changed pixels only."""
    rows, cols = np.nonzero(new != current)
    if rows.size == 0:
        return None
    wy0, wx0 = window[0], window[1]
    flat = (rows + wy0).astype(np.int64) * labels.shape[1] + (cols + wx0)
    box = (int(rows.min()) + wy0, int(cols.min()) + wx0, int(rows.max()) + wy0 + 1, int(cols.max()) + wx0 + 1)
    patch = Patch(box, flat, None, current[rows, cols].copy(), new[rows, cols].astype(labels.dtype))
    return MaskDelta(box, (labels.shape[0], labels.shape[1]), (patch,))
