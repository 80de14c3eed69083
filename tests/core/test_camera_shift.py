"""Camera-shift perturbations: shape and dtype kept, deterministic, and each does what its name says."""

from __future__ import annotations

import numpy as np
import pytest

from core.measure.camera_shift import PERTURBATIONS, blur, gamma, gray, jpeg, noise, vignetting
from tests.conftest import synthetic_fundus


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return synthetic_fundus(120, 136, seed=3)


def _disk(image: np.ndarray) -> np.ndarray:
    return image.max(axis=2) > 30


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_shape_and_dtype_are_kept_and_a_seed_gives_one_result(name: str, image: np.ndarray) -> None:
    perturb = PERTURBATIONS[name]
    out = perturb(image, 7)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out, perturb(image, 7))
    assert not np.array_equal(out, image)
    assert np.array_equal(image, synthetic_fundus(120, 136, seed=3))  # the input is left alone


def test_old_film_yellows_and_flattens(image: np.ndarray) -> None:
    disk = _disk(image)
    out = PERTURBATIONS["old-film"](image, 0).astype(float)
    before = image.astype(float)
    assert out[disk][:, 0].mean() / out[disk][:, 2].mean() > 1.5 * before[disk][:, 0].mean() / before[disk][:, 2].mean()
    assert out[disk][:, 1].std() < 0.7 * before[disk][:, 1].std()
    assert out[~disk].mean() > before[~disk].mean() + 10  # the fog lifts the black border


def test_low_contrast_shrinks_the_spread_and_keeps_the_mean(image: np.ndarray) -> None:
    disk = _disk(image)
    out = PERTURBATIONS["low-contrast"](image, 0).astype(float)[disk]
    before = image.astype(float)[disk]
    assert out.std(axis=0) == pytest.approx(0.4 * before.std(axis=0), rel=0.05)
    assert out.mean(axis=0) == pytest.approx(before.mean(axis=0), abs=2)


def test_gamma_below_one_brightens_and_above_one_darkens(image: np.ndarray) -> None:
    mid = (image > 40) & (image < 215)
    assert (gamma(0.5)(image, 0)[mid] > image[mid]).all()
    assert (gamma(2.0)(image, 0)[mid] < image[mid]).all()


def _high_frequency_energy(image: np.ndarray) -> float:
    g = image[..., 1].astype(float)
    return float((np.diff(g, axis=0) ** 2).sum() + (np.diff(g, axis=1) ** 2).sum())


def test_blur_lowers_high_frequency_energy() -> None:
    drive_size = synthetic_fundus(584, 565, seed=1)
    assert _high_frequency_energy(blur(drive_size, 0)) < 0.5 * _high_frequency_energy(drive_size)


def test_blur_scales_with_the_image(image: np.ndarray) -> None:
    big = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)
    shrink = blur(big, 0)[::4, ::4]  # blurring 4× larger then sampling back ≈ the same blur at the small size
    assert np.abs(shrink.astype(float) - blur(image, 0).astype(float)).mean() < 6


def test_low_quality_jpeg_loses_detail_but_not_the_picture(image: np.ndarray) -> None:
    out = jpeg(image, 0).astype(float)
    error = np.abs(out - image.astype(float)).mean()
    assert 1 < error < 25
    assert np.abs(jpeg(image, 0, quality=95).astype(float) - image.astype(float)).mean() < error


def test_vignetting_darkens_the_edge_more_than_the_centre(image: np.ndarray) -> None:
    h, w = image.shape[:2]
    out = vignetting(image, 0).astype(float)
    ratio = out / np.maximum(image.astype(float), 1)
    centre = ratio[h // 2 - 3:h // 2 + 3, w // 2 - 3:w // 2 + 3].mean()
    lit = image.max(axis=2) > 100
    edge = ratio[lit & (np.hypot(*np.mgrid[0:h, 0:w] - np.array([h / 2, w / 2])[:, None, None]) > 0.4 * min(h, w))]
    assert centre > 0.95 and edge.mean() < 0.8


def test_exposure_scales_the_light(image: np.ndarray) -> None:
    disk = _disk(image)
    assert PERTURBATIONS["overexposed"](image, 0)[disk].mean() > 1.5 * image[disk].mean()
    assert PERTURBATIONS["underexposed"](image, 0)[disk].mean() == pytest.approx(0.35 * image[disk].mean(), rel=0.05)


def test_gray_has_three_equal_channels(image: np.ndarray) -> None:
    out = gray(image, 0)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_noise_depends_on_the_seed_and_has_its_strength(image: np.ndarray) -> None:
    flat = np.full((64, 64, 3), 128, np.uint8)
    a, b = noise(flat, 1), noise(flat, 2)
    assert not np.array_equal(a, b)
    assert a.astype(float).std() == pytest.approx(8.0, rel=0.1)
