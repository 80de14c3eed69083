"""Placing the optic disc by hand: what a press on the circle grabs, and the circle a drag makes.

Pure geometry on :class:`core.measure.optic_disc.OpticDisc` (image pixels, x column, y row); the GUI's
disc tool turns mouse positions into these calls and each drag into one undo step. A disc moved or
resized by hand says so (``method == "hand"``), which the sidecar records.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from core.edit.mask_ops import Point

if TYPE_CHECKING:  # imported where a disc is made: the detector's imports are slow and not needed here
    from core.measure.optic_disc import OpticDisc

#: The smallest diameter a drag can give a disc, in image pixels.
MIN_DIAMETER = 4.0
#: A disc placed by a click where there was none: this fraction of the FOV's width (about the size of
#: a real disc in any camera: 80 of DRIVE's 540 px).
PLACED_FRACTION = 0.15

MOVE, RESIZE = "move", "resize"


def grab(disc: OpticDisc | None, point: Point, tolerance: float) -> str | None:
    """What a press at ``point`` takes hold of: RESIZE within ``tolerance`` px of the margin (at most a third
    of the radius, so a small disc can still be moved from inside), MOVE inside the disc, None elsewhere (or
    without a disc)."""
    if disc is None:
        return None
    distance = math.hypot(point[0] - disc.x, point[1] - disc.y)
    if abs(distance - disc.radius) <= min(tolerance, disc.radius / 3):
        return RESIZE
    return MOVE if distance < disc.radius else None


def dragged(disc: OpticDisc, handle: str, start: Point, now: Point, shape: tuple[int, int]) -> OpticDisc:
    """``disc`` after a drag of ``handle`` from ``start`` to ``now``: moved by the drag (its centre kept on
    the image of ``shape`` = (height, width)), or resized so its margin passes through ``now``."""
    if handle == MOVE:
        h, w = shape
        x = min(max(disc.x + now[0] - start[0], 0.0), float(w))
        y = min(max(disc.y + now[1] - start[1], 0.0), float(h))
        return disc.moved(x, y)
    if handle == RESIZE:
        return disc.resized(max(2 * math.hypot(now[0] - disc.x, now[1] - disc.y), MIN_DIAMETER))
    raise ValueError(f"unknown disc handle {handle!r}; expected {MOVE!r} or {RESIZE!r}")


def placed(point: Point, shape: tuple[int, int], fov: np.ndarray | None = None) -> OpticDisc:
    """A disc placed by hand at ``point``, of a typical size for the image (see :data:`PLACED_FRACTION`)."""
    from core.measure.optic_disc import OpticDisc

    width = float(shape[1])
    if fov is not None and np.any(fov):
        columns = np.flatnonzero(np.asarray(fov).any(0))
        width = float(columns[-1] - columns[0] + 1)
    return OpticDisc(float(point[0]), float(point[1]), max(PLACED_FRACTION * width, MIN_DIAMETER), 1.0, "hand")
