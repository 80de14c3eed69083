"""Field-of-view estimation for fundus photographs that come without a mask.

The FOV is the bright, roughly circular region surrounded by the camera's dark border.
"""

from __future__ import annotations

import numpy as np


def _box_blur(a: np.ndarray, radius: int) -> np.ndarray:
    """Mean filter with a (2r+1)² window via summed-area tables (edges replicate)."""
    if radius <= 0:
        return a.astype(np.float32)
    p = np.pad(a.astype(np.float64), radius + 1, mode="edge")
    s = p.cumsum(0).cumsum(1)
    k = 2 * radius + 1
    out = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
    h, w = a.shape
    return (out[:h, :w] / (k * k)).astype(np.float32)


def _fill_spans(mask: np.ndarray) -> np.ndarray:
    """Fill each row and each column between its first and last True pixel (FOVs are convex)."""
    def rows(m: np.ndarray) -> np.ndarray:
        any_ = m.any(1)
        first = np.argmax(m, 1)
        last = m.shape[1] - 1 - np.argmax(m[:, ::-1], 1)
        cols = np.arange(m.shape[1])
        return any_[:, None] & (cols[None, :] >= first[:, None]) & (cols[None, :] <= last[:, None])

    return rows(mask) & rows(mask.T).T


def estimate_fov(image: np.ndarray) -> np.ndarray:
    """Boolean H×W field of view: pixels clearly brighter than the dark border.

    Falls back to the whole image when no dark border is found (e.g. a crop inside the FOV).
    """
    img = np.asarray(image)
    gray = img.astype(np.float32)
    if gray.ndim == 3:
        # The red channel is bright across the whole retina; blue and green are dark near its rim.
        gray = gray[..., 0] if gray.shape[2] >= 3 else gray.mean(2)
    top = float(np.percentile(gray, 99)) if gray.size else 0.0
    h, w = gray.shape
    if top <= 0:
        return np.ones((h, w), bool)
    smooth = _box_blur(gray, max(1, min(h, w) // 200))
    border = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    # A low percentile, not the median: a circle cut on all four sides leaves only the corners dark.
    dark_level = float(np.percentile(border, 5))
    if dark_level > 0.35 * top:  # no dark border: the whole image is retina
        return np.ones((h, w), bool)
    mask = smooth > dark_level + 0.15 * (top - dark_level)
    if mask.mean() < 0.05:
        return np.ones((h, w), bool)
    return _fill_spans(mask)


def fov_diameter(fov: np.ndarray) -> int:
    """Width of the field of view in pixels (number of columns it touches)."""
    return int(np.count_nonzero(np.asarray(fov, bool).any(0)))
