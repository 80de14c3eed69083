"""How clearly a found circle is a disc: its brightness relative to the ring of retina around it.

The mean of red+green (vessels filled) inside 0.8 radius is compared with each quadrant of the ring
from 1.25 to 2 radii; the median over the quadrants that lie mostly inside the FOV is the disc's
**contrast** in percent. A percentage means the same on every camera and exposure, unlike a contrast
in units of the image's own brightness spread (which shrinks on textured, reflex-rich photographs).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from core.measure.optic_disc.filters import fill_vessels
from core.measure.optic_disc.scale import WorkImage

#: Ring quadrants that must be at least this much inside the FOV to count.
MIN_QUADRANT_COVER = 0.3


def relative_contrast(work: WorkImage, x: float, y: float, radius: float, rim: int, fill: int) -> float | None:
    """Percent by which the disc at (x, y) (working px) outshines the median ring quadrant; None when
    no quadrant of the ring lies in the FOV. ``rim``: px of the FOV edge left out; ``fill``: vessel
    filling radius."""
    fov = ndi.binary_erosion(work.fov, iterations=max(1, rim))
    channel = fill_vessels(0.5 * (work.rgb[..., 0] + work.rgb[..., 1]), fov, fill)
    yy, xx = np.mgrid[: channel.shape[0], : channel.shape[1]]
    distance = np.hypot(xx - x, yy - y)
    inside = channel[(distance <= 0.8 * radius) & fov]
    if inside.size == 0:
        return None
    angle = np.arctan2(yy - y, xx - x)
    ring = (distance > 1.25 * radius) & (distance <= 2.0 * radius)
    quadrant_area = np.pi * (2.0 ** 2 - 1.25 ** 2) * radius ** 2 / 4
    brightness = inside.mean()
    contrasts = []
    for k in range(4):
        lo = -np.pi + k * np.pi / 2
        quadrant = ring & (angle >= lo) & (angle < lo + np.pi / 2) & fov
        if quadrant.sum() > MIN_QUADRANT_COVER * quadrant_area:
            around = float(channel[quadrant].mean())
            contrasts.append(100.0 * (brightness - around) / max(around, 1.0))
    return float(np.median(contrasts)) if contrasts else None
