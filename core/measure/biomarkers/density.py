"""Vessel density, length and average width.

- **Vessel density**: vessel pixels inside the FOV / FOV pixels (a fraction).
- **Vessel length**: the summed length of the smoothed centrelines of every segment (px).
- **Average width**: vessel area / vessel length (px), the mean calibre over the whole tree; wide
  vessels weigh by their length, and branch points and vessel ends add a little area without length,
  so it reads slightly high (about +0.1 px on a straight 5-px vessel 200 px long).
"""

from __future__ import annotations

import numpy as np


def vessel_density(vessels: np.ndarray, fov: np.ndarray) -> float | None:
    """Fraction of the FOV covered by vessels; None for an empty FOV."""
    area = int(np.count_nonzero(fov))
    return int(np.count_nonzero(vessels & fov)) / area if area else None


def average_width(area_px: float, length_px: float) -> float | None:
    """Area / length, or None when there is no centreline to divide by."""
    return area_px / length_px if length_px > 0 else None
