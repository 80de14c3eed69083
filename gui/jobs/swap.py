"""The swap click's job: the vessel segment under a click, with its artery and vein swapped.

Finding segments (core.edit.vessel_segments.segment_map) takes 1–3 s on a 3504×2336 image, so it runs in
the worker, and :class:`SegmentCache` keeps the last map while the vessel pixels stay the same: retyping
(brushes, swaps) does not move them, so only the first click after a change of the vessels waits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gui.jobs.runner import Job, JobProgress


class SegmentCache:
    """The segment map of the last vessel pixels seen. Used from the worker thread only."""

    def __init__(self) -> None:
        self._key: tuple[tuple[int, ...], bytes] | None = None
        self._segments: np.ndarray | None = None

    def segments(self, vessels: np.ndarray) -> np.ndarray:
        from core.edit.vessel_segments import segment_map

        key = (vessels.shape, np.packbits(vessels, axis=None).tobytes())
        if self._segments is None or key != self._key:
            self._segments, self._key = segment_map(vessels), key
        return self._segments


def swap_job(cache: SegmentCache, labels: np.ndarray, row: int, col: int, reach: int) -> Job:
    """A job returning ``labels`` (a copy the caller gave) with the segment at (row, col), or within
    ``reach`` px of it, swapped between artery and vein; None when no vessel is that close."""

    def run(_progress: JobProgress, _should_cancel: Callable[[], bool]) -> np.ndarray | None:
        from core.edit.artery_vein_ops import swapped_segment

        return swapped_segment(labels, row, col, cache.segments(labels != 0), reach)

    return run
