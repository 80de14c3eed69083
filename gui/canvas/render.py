"""numpy -> QImage conversions and overlay colouring: pure functions, no widgets.

Overlays are 8-bit indexed images whose colour table carries colour and opacity: a label mask is
drawn by indexing a 256-entry table with its label values, so labels need no recolouring pass and a
threshold change only rebuilds the 1-byte-per-pixel mask.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtGui import QColor, QImage

HEATMAPS = ("Cividis", "Viridis", "Hot", "Gray")

# Anchor colours of each heat map, from p = 0 to p = 1 (interpolated linearly). Cividis (Nuñez et al. 2018)
# runs from dark blue to yellow and reads the same to people with red-green colour blindness.
_HEAT_ANCHORS: dict[str, list[tuple[int, int, int]]] = {
    "Cividis": [(0, 32, 77), (61, 78, 110), (124, 123, 120), (188, 175, 111), (255, 234, 70)],
    "Viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "Hot": [(40, 0, 0), (230, 30, 0), (255, 200, 0), (255, 255, 220)],
    "Gray": [(0, 0, 0), (255, 255, 255)],
}


def image_to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of ``image`` (gray or RGB/RGBA, uint8; gray uint16)."""
    a = np.ascontiguousarray(image)
    h, w = a.shape[:2]
    if a.ndim == 2 and a.dtype == np.uint16:
        fmt = QImage.Format.Format_Grayscale16
    elif a.ndim == 2:
        a = np.ascontiguousarray(a.astype(np.uint8, copy=False))
        fmt = QImage.Format.Format_Grayscale8
    elif a.ndim == 3 and a.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif a.ndim == 3 and a.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"cannot display an array of shape {a.shape}")
    if a.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot display an array of type {a.dtype}")
    return QImage(a.data, w, h, a.strides[0], fmt).copy()


def probability_to_u8(probability: np.ndarray) -> np.ndarray:
    """Probability in [0, 1] -> 0..255 (the index into a heat-map colour table)."""
    return (np.clip(probability, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _indexed(values: np.ndarray, table: list[int]) -> QImage:
    a = np.ascontiguousarray(values)
    h, w = a.shape
    img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Indexed8).copy()
    img.setColorTable(table)
    return img


def labels_color_table(colors: Mapping[int, QColor], opacity: float) -> list[int]:
    """256 colours indexed by label value: each label in ``colors`` at ``opacity`` (0..1), the rest
    (background, 0, included unless given) transparent."""
    table = [0] * 256
    for label, color in colors.items():
        c = QColor(color)
        c.setAlphaF(max(0.0, min(1.0, opacity)))
        table[int(label)] = c.rgba()
    return table


def labels_to_qimage(labels: np.ndarray, table: list[int]) -> QImage:
    """A label mask (uint8 H×W; bool is read as 0/1) as an indexed overlay coloured by ``table``."""
    m = np.asarray(labels)
    return _indexed(m.view(np.uint8) if m.dtype == np.bool_ else m.astype(np.uint8, copy=False), table)


def mask_to_qimage(mask: np.ndarray, color: QColor, opacity: float) -> QImage:
    """A binary mask (non-zero: vessel) as an indexed overlay: vessels in ``color``, the rest transparent."""
    m = np.asarray(mask)
    values = m.view(np.uint8) if m.dtype == np.bool_ else (m != 0).view(np.uint8)
    return labels_to_qimage(values, labels_color_table({1: color}, opacity))


def heat_color_table(name: str, opacity: float) -> list[int]:
    """256 colours of heat map ``name``; alpha rises with the probability so p = 0 is transparent."""
    t = np.arange(256) / 255.0
    rgb = heat_colors(name).astype(np.uint32)
    alpha = np.round(np.clip(opacity, 0.0, 1.0) * 255.0 * np.sqrt(t)).astype(np.uint32)
    argb = (alpha << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    return [int(v) for v in argb]


def heat_colors(name: str, n: int = 256) -> np.ndarray:
    """n×3 uint8: the opaque colours of heat map ``name`` from p = 0 to p = 1 (for a colour scale)."""
    anchors = np.asarray(_HEAT_ANCHORS.get(name, _HEAT_ANCHORS["Hot"]), np.float64)
    pos = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, n)
    return np.stack([np.interp(t, pos, anchors[:, k]) for k in range(3)], 1).round().astype(np.uint8)


def heat_to_qimage(probability_u8: np.ndarray, name: str, opacity: float) -> QImage:
    """Probability (as 0..255) as an indexed heat-map overlay."""
    return _indexed(probability_u8, heat_color_table(name, opacity))


def fov_outline(fov: np.ndarray, max_points: int = 1000) -> np.ndarray:
    """Closed outline of a (row-convex) FOV as an N×2 array of (x, y) image coordinates.

    Runs down the left edge of evenly spaced rows and back up the right edge (at most
    ``max_points`` points); empty when the FOV is empty or covers the whole image.
    """
    f = np.asarray(fov, bool)
    if f.size == 0 or f.all() or not f.any():
        return np.zeros((0, 2), np.float64)
    rows = np.flatnonzero(f.any(1))
    step = max(1, -(-2 * len(rows) // max(4, max_points)))
    rows = np.union1d(rows[::step], rows[-1:])
    sub = f[rows]
    left = np.argmax(sub, 1).astype(np.float64)
    right = (f.shape[1] - np.argmax(sub[:, ::-1], 1)).astype(np.float64)
    ys = rows.astype(np.float64) + 0.5
    pts_left = np.stack([left, ys], 1)
    pts_right = np.stack([right, ys], 1)[::-1]
    return np.concatenate([pts_left, pts_right])
