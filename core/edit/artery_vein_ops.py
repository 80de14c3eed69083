"""Hand corrections of artery/vein labels that act on whole vessel segments."""

from __future__ import annotations

import numpy as np

from core.edit.vessel_segments import segment_at, segment_map
from core.io.artery_vein import ARTERY, VEIN


def swapped_segment(labels: np.ndarray, row: int, col: int, segments: np.ndarray | None = None,
                    radius: int = 3) -> np.ndarray | None:
    """``labels`` with the vessel segment at (row, col) (or within ``radius`` px of it) swapped between
    artery and vein; other labels (crossing, uncertain) on it stay. None when no segment is there.
    ``segments``: :func:`segment_map` of ``labels != 0``, when the caller keeps one."""
    if segments is None:
        segments = segment_map(labels != 0)
    number = segment_at(segments, row, col, radius)
    if number == 0:
        return None
    on = segments == number
    out = labels.copy()
    out[on & (labels == ARTERY)] = VEIN
    out[on & (labels == VEIN)] = ARTERY
    return out
