"""Overlay colouring: pure numpy -> QImage functions."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from gui.canvas.render import (
    fov_outline,
    heat_color_table,
    heat_to_qimage,
    image_to_qimage,
    labels_color_table,
    labels_to_qimage,
    mask_to_qimage,
)


@pytest.mark.parametrize(("array", "fmt"), [
    (np.zeros((4, 5, 3), np.uint8), QImage.Format.Format_RGB888),
    (np.zeros((4, 5), np.uint8), QImage.Format.Format_Grayscale8),
    (np.zeros((4, 5), np.uint16), QImage.Format.Format_Grayscale16),
    (np.zeros((4, 5, 4), np.uint8), QImage.Format.Format_RGBA8888),
])
def test_image_to_qimage_formats(array: np.ndarray, fmt: QImage.Format) -> None:
    img = image_to_qimage(array)
    assert (img.width(), img.height(), img.format()) == (5, 4, fmt)


def test_image_to_qimage_keeps_pixels_of_odd_widths() -> None:
    a = np.random.default_rng(0).integers(0, 255, (3, 7, 3), dtype=np.uint8)
    img = image_to_qimage(a[:, 1:6])  # a non-contiguous view, 5 px wide (rows not 4-byte aligned)
    c = img.pixelColor(4, 2)
    assert (c.red(), c.green(), c.blue()) == tuple(a[2, 5])


def test_mask_colour_and_opacity() -> None:
    mask = np.zeros((3, 4), bool)
    mask[1, 2] = True
    img = mask_to_qimage(mask, QColor("#ff0000"), 0.5)
    assert img.pixelColor(0, 0).alpha() == 0
    c = img.pixelColor(2, 1)
    assert (c.red(), c.green(), c.blue()) == (255, 0, 0) and c.alpha() in (127, 128)


def test_label_values_index_the_colour_table() -> None:
    labels = np.array([[0, 1, 2, 3]], np.uint8)
    table = labels_color_table({1: QColor("#ff0000"), 2: QColor("#0000ff")}, 1.0)
    img = labels_to_qimage(labels, table)
    assert len(table) == 256 and img.pixelColor(0, 0).alpha() == 0 and img.pixelColor(3, 0).alpha() == 0
    assert img.pixelColor(1, 0).red() == 255 and img.pixelColor(2, 0).blue() == 255


def test_heat_map_is_transparent_at_zero_and_opaque_at_one() -> None:
    table = heat_color_table("Hot", 1.0)
    assert len(table) == 256 and table[0] >> 24 == 0 and table[255] >> 24 == 255
    img = heat_to_qimage(np.array([[0, 255]], np.uint8), "Viridis", 0.5)
    assert img.pixelColor(0, 0).alpha() == 0 and img.pixelColor(1, 0).alpha() in (127, 128)


def test_fov_outline_hugs_a_disk() -> None:
    yy, xx = np.mgrid[0:50, 0:60]
    disk = (yy - 25) ** 2 + (xx - 30) ** 2 <= 20 ** 2
    pts = fov_outline(disk)
    assert len(pts) > 20
    r = np.hypot(pts[:, 0] - 30.5, pts[:, 1] - 25.0)
    assert np.all(np.abs(r - 20) < 2.5)
    assert len(fov_outline(np.ones((5, 5), bool))) == 0 and len(fov_outline(np.zeros((5, 5), bool))) == 0
