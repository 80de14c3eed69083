"""Field-of-view estimation for images that come without a mask."""

from __future__ import annotations

import numpy as np
import pytest

from core.measure.fov import estimate_fov, fov_diameter
from tests.conftest import synthetic_fundus


def _disk(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(("h", "w"), [(584, 565), (300, 400), (97, 131)])
def test_disk_on_black_is_recovered(h: int, w: int):
    rng = np.random.default_rng(0)
    disk = _disk(h, w, h / 2, w / 2, min(h, w) * 0.46)
    image = np.zeros((h, w, 3), np.float32)
    image[disk] = (170, 80, 35)
    image += rng.normal(0, 6, image.shape)  # sensor noise, dark vessels would be similar
    image = np.clip(image, 0, 255).astype(np.uint8)
    fov = estimate_fov(image)
    assert fov.dtype == bool and fov.shape == (h, w)
    assert _iou(fov, disk) > 0.95


def test_disk_with_a_dim_rim_and_dark_vessels_is_recovered():
    image = synthetic_fundus(200, 240)
    truth = _disk(200, 240, 100, 120, 200 * 0.45)
    assert _iou(estimate_fov(image), truth) > 0.95


def test_fov_cut_by_the_image_edge_is_recovered():
    """Many cameras crop the top and bottom of the circle."""
    h, w = 300, 400
    disk = _disk(h, w, h / 2, w / 2, 180)
    image = np.where(disk[..., None], np.array([180, 90, 40], np.uint8), np.uint8(3))
    assert _iou(estimate_fov(image), disk) > 0.95


def test_fov_cut_on_all_four_sides_keeps_the_dark_corners_out():
    h, w = 300, 400
    disk = _disk(h, w, h / 2, w / 2, 0.56 * w)  # wider and taller than the image: only corners are dark
    image = np.where(disk[..., None], np.array([180, 90, 40], np.uint8), np.uint8(3))
    fov = estimate_fov(image)
    assert not fov[0, 0] and not fov[-1, -1] and not fov[0, -1] and not fov[-1, 0]
    assert _iou(fov, disk) > 0.98


def test_gray_and_16_bit_images_work():
    disk = _disk(120, 150, 60, 75, 55)
    gray = (disk * 150 + 5).astype(np.uint8)
    assert _iou(estimate_fov(gray), disk) > 0.95
    assert _iou(estimate_fov(gray.astype(np.uint16) * 257), disk) > 0.95


def test_image_without_a_dark_border_is_all_fov():
    rng = np.random.default_rng(1)
    crop = rng.integers(90, 200, (80, 100, 3), dtype=np.uint8)
    assert estimate_fov(crop).all()


@pytest.mark.parametrize("image", [np.zeros((30, 40, 3), np.uint8), np.zeros((1, 1), np.uint8),
                                   np.full((5, 7, 3), 200, np.uint8)])
def test_degenerate_images_are_all_fov(image: np.ndarray):
    fov = estimate_fov(image)
    assert fov.shape == image.shape[:2] and fov.all()


def test_fov_diameter_counts_columns():
    assert fov_diameter(_disk(100, 120, 50, 60, 40)) == 81
    assert fov_diameter(np.zeros((4, 4), bool)) == 0
