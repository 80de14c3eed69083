"""The disc's margin: the circle along which the image darkens most consistently outwards.

Near a located point, every circle (centre within a small search box, radius within the plausible
range) is scored by the mean outward fall of brightness across its rim, sampled at
:data:`ANGLES` angles with vessels filled first. The red channel is used: in green and blue the
bright cup inside the disc has the sharper edge, in red the disc margin does. The best score at each
radius makes a profile; of its peaks reaching :data:`OUTER_SHARE` of the highest, the outermost is
taken, because the cup's edge is a strong circle *inside* the disc's (a peak, not merely the largest
radius above the share, so the circle sits on the margin rather than outside it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from core.measure.optic_disc.filters import fill_vessels

#: FOV width (px) at which the margin is fitted.
FIT_WIDTH = 512
#: Radii tried, as fractions of the FOV width.
MIN_RADIUS, MAX_RADIUS = 0.03, 0.118
#: How far from the located point the centre may move (FOV fraction).
SEARCH = 0.047
ANGLES = 72
OUTER_SHARE = 0.7
#: Smoothing before the gradient and vessel filling radius (FOV fractions).
SMOOTH = 0.004
VESSEL_FILL = 0.008


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    radius: float
    #: Mean outward brightness fall across the rim, in percent per px at the fitting scale.
    edge: float


def fit_circle(channel: np.ndarray, fov: np.ndarray, x0: float, y0: float, width: float, step: float = 2.0) -> Circle:
    """Best margin circle near (``x0``, ``y0``) in ``channel`` (working scale, FOV ``width`` px wide)."""
    filled = ndi.gaussian_filter(fill_vessels(channel, fov, max(1, round(VESSEL_FILL * width))), SMOOTH * width)
    # Relative (log) brightness: the score is a contrast, comparable between channels and cameras.
    gy, gx = np.gradient(100.0 * np.log(np.maximum(filled, 1.0)))
    radii = np.arange(MIN_RADIUS * width, MAX_RADIUS * width + step, step, dtype=np.float32)
    offsets = np.arange(-SEARCH * width, SEARCH * width + step, step, dtype=np.float32)
    theta = np.linspace(0, 2 * np.pi, ANGLES, endpoint=False, dtype=np.float32)
    ux, uy = np.cos(theta), np.sin(theta)
    cx = x0 + offsets[None, :, None, None]
    cy = y0 + offsets[:, None, None, None]
    px = cx + radii[None, None, :, None] * ux
    py = cy + radii[None, None, :, None] * uy
    px, py = np.broadcast_arrays(px, py)
    coords = [py.ravel(), px.ravel()]
    outward = -(ndi.map_coordinates(gx, coords, order=1, mode="nearest").reshape(px.shape) * ux
                + ndi.map_coordinates(gy, coords, order=1, mode="nearest").reshape(px.shape) * uy)
    score = np.maximum(outward, 0).mean(axis=-1)  # rows: y offset, cols: x offset, then radius
    per_radius = score.max(axis=(0, 1))
    # A rising profile's last radius is no margin, only the edge of the search: peaks are interior.
    middle = per_radius[1:-1]
    peak = np.r_[False, (middle >= per_radius[:-2]) & (middle >= per_radius[2:]), False]
    candidates = np.nonzero(peak & (per_radius >= OUTER_SHARE * per_radius.max()))[0]
    k = int(candidates.max()) if candidates.size else int(np.argmax(per_radius))
    i, j = np.unravel_index(int(np.argmax(score[..., k])), score.shape[:2])
    return Circle(float(x0 + offsets[j]), float(y0 + offsets[i]), float(radii[k]), float(score[i, j, k]))
