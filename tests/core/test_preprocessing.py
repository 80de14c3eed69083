"""Preprocessing: the tutorial's fixed normalisation stays exact; per-image standardisation inside the FOV
removes what differs between cameras (casts, exposure, contrast); the working scale follows the recorded FOV."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import CheckpointError
from core.ml.preprocessing import MAX_UPSCALE, Preprocessing

MEAN, STD = (0.709, 0.381, 0.224), (0.127, 0.079, 0.043)


def _disk(h: int = 40, w: int = 50) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 2 - 2) ** 2


def _image(seed: int = 0, h: int = 40, w: int = 50) -> torch.Tensor:
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


def test_dataset_normalisation_is_the_tutorials_formula_whatever_the_fov():
    pre = Preprocessing(MEAN, STD)
    x = _image()
    expected = (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    assert torch.equal(pre.normalize(x), expected)
    assert torch.equal(pre.normalize(x[None], _disk())[0], expected)


def test_fov_standardisation_gives_zero_mean_unit_std_inside_and_zero_outside():
    pre = Preprocessing(MEAN, STD, normalization="fov")
    fov = _disk()
    out = pre.normalize(_image(), fov)
    inside = out[:, torch.from_numpy(fov)]
    assert inside.mean(1).abs().max() < 1e-5
    assert torch.allclose(inside.std(1), torch.ones(3), atol=1e-4)
    assert not out[:, ~torch.from_numpy(fov)].any()


def test_fov_standardisation_removes_a_colour_cast_and_an_exposure_change():
    pre = Preprocessing(MEAN, STD, normalization="fov")
    fov = _disk()
    x = _image()
    cast = (x * torch.tensor([1.3, 1.0, 0.5]).view(3, 1, 1) + torch.tensor([0.1, 0.05, 0.0]).view(3, 1, 1)) * 0.7
    assert torch.allclose(pre.normalize(cast, fov), pre.normalize(x, fov), atol=1e-4)


def test_a_flat_channel_is_not_blown_up_into_noise():
    pre = Preprocessing(MEAN, STD, normalization="fov")
    x = torch.full((3, 20, 20), 0.5)
    x[0] += torch.rand(20, 20) * 1e-4
    assert pre.normalize(x).abs().max() < 0.01


def test_an_exact_working_scale_when_the_tolerance_is_one():
    exact = Preprocessing(MEAN, STD, fov_diameter=800, normalization="fov", scale_tolerance=1.0)
    loose = Preprocessing(MEAN, STD, fov_diameter=800)
    fov = np.ones((700, 700), bool)
    assert exact.working_scale(fov) == pytest.approx(800 / 700)
    assert loose.working_scale(fov) == 1.0  # within the default 1.25 tolerance
    assert exact.working_scale(np.ones((100, 100), bool)) == MAX_UPSCALE


def test_large_images_are_reduced_to_the_large_fov_width_and_others_behave_as_before():
    banded = Preprocessing(MEAN, STD, fov_diameter=640, normalization="fov", scale_tolerance=1.0,
                           large_fov_diameter=800)
    exact = Preprocessing(MEAN, STD, fov_diameter=640, normalization="fov", scale_tolerance=1.0)
    large, middle, small = np.ones((3200, 3200), bool), np.ones((700, 700), bool), np.ones((400, 400), bool)
    assert banded.working_scale(large) == pytest.approx(800 / 3200)
    assert exact.working_scale(large) == pytest.approx(640 / 3200)
    assert banded.working_scale(middle) == 1.0  # between 640 and 800: kept
    assert exact.working_scale(middle) == pytest.approx(640 / 700)
    assert banded.working_scale(small) == exact.working_scale(small) == pytest.approx(640 / 400)
    assert banded.native_band() == (640, 800) and exact.native_band() is None
    assert Preprocessing.from_dict(banded.to_dict()) == banded
    assert "large_fov_diameter" not in exact.to_dict()


def test_with_a_tolerance_the_band_reaches_the_large_fov_width():
    pre = Preprocessing(MEAN, STD, fov_diameter=640, normalization="fov", large_fov_diameter=900)
    assert pre.native_band() == (512, 900)
    assert pre.working_scale(np.ones((850, 850), bool)) == 1.0
    assert pre.working_scale(np.ones((1800, 1800), bool)) == pytest.approx(0.5)


def test_a_large_fov_width_below_the_working_width_is_refused():
    with pytest.raises(CheckpointError, match="at least the working FOV"):
        Preprocessing(MEAN, STD, fov_diameter=640, normalization="fov", large_fov_diameter=600)
    with pytest.raises(CheckpointError):
        Preprocessing(MEAN, STD, large_fov_diameter=600)  # no working FOV at all


def test_round_trip_and_old_dicts_keep_their_meaning():
    new = Preprocessing(MEAN, STD, fov_diameter=800, normalization="fov", scale_tolerance=1.0)
    assert Preprocessing.from_dict(new.to_dict()) == new
    old = {"mean": list(MEAN), "std": list(STD), "channels": "RGB", "fov_diameter": 540}
    assert Preprocessing.from_dict(old).to_dict() == old, "format-1 preprocessing is written back unchanged"
    assert Preprocessing.from_dict(old).normalization == "dataset"


@pytest.mark.parametrize("bad", [{"normalization": "clahe"}, {"scale_tolerance": 0.5}, {"std": [0.1, 0.0, 0.1]},
                                 {"channels": "BGR"}])
def test_unusable_preprocessing_is_refused(bad: dict):
    d = {"mean": list(MEAN), "std": list(STD), "channels": "RGB", **bad}
    with pytest.raises(CheckpointError):
        Preprocessing.from_dict(d)


def _textured(h: int = 300, w: int = 320) -> torch.Tensor:
    """Fine random texture of a vessel's contrast on a mid-grey retina."""
    g = torch.Generator().manual_seed(3)
    return 0.4 + 0.3 * torch.rand(3, h, w, generator=g)


def test_local_standardisation_removes_uneven_light_that_the_global_one_keeps():
    fov = _disk(300, 320)
    x = _textured()
    yy, xx = torch.meshgrid(torch.arange(300.0), torch.arange(320.0), indexing="ij")
    shading = 1.0 - 0.6 * (((yy - 150) ** 2 + (xx - 160) ** 2) / 150**2).clamp(max=1)  # vignetting
    inside = torch.from_numpy(fov)
    errors = {}
    for mode in ("fov", "local"):
        pre = Preprocessing(MEAN, STD, normalization=mode)
        errors[mode] = float((pre.normalize(x * shading, fov) - pre.normalize(x, fov))[:, inside].abs().mean())
    assert errors["local"] < 0.25 * errors["fov"]


def test_local_standardisation_keeps_shape_and_batch_form_and_zero_outside():
    pre = Preprocessing(MEAN, STD, normalization="local")
    fov = _disk(60, 70)
    x = _image(h=60, w=70)
    out3, out4 = pre.normalize(x, fov), pre.normalize(x[None], fov)
    assert out3.shape == x.shape and out4.shape == (1, *x.shape)
    assert torch.allclose(out3, out4[0])
    assert not out3[:, ~torch.from_numpy(fov)].any() and torch.isfinite(out3).all()


def test_local_standardisation_of_a_flat_image_is_not_noise():
    pre = Preprocessing(MEAN, STD, normalization="local")
    assert pre.normalize(torch.full((3, 50, 50), 0.4)).abs().max() < 1e-3


def test_local_normalisation_round_trips_through_the_checkpoint_dict():
    pre = Preprocessing(MEAN, STD, fov_diameter=640, normalization="local", scale_tolerance=1.0)
    assert Preprocessing.from_dict(pre.to_dict()) == pre
