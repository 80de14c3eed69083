"""Augmentations keep image and target aligned, pad targets with the ignore label, and are seeded."""

from __future__ import annotations

import pytest
import torch

from core.io.datasets import IGNORE_INDEX
from core.ml.preprocessing import Preprocessing
from core.ml.transforms import (
    CaptureArtifacts,
    ColorJitter,
    Compose,
    Normalize,
    RandomCrop,
    RandomFlip,
    RandomRotate90,
    RandomScale,
    training_transforms,
)

MEAN, STD = (0.709, 0.381, 0.224), (0.127, 0.079, 0.043)


def _pair(h: int = 30, w: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """An image whose target is a function of the image, so any misalignment shows."""
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(3, h, w, generator=g)
    target = (image[0] > 0.5).long()
    target[:2] = IGNORE_INDEX
    return image, target


def _target_of(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    derived = (image[0] > 0.5).long()
    return torch.where(target == IGNORE_INDEX, target, derived)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", range(8))
def test_flips_and_rotations_keep_image_and_target_aligned(seed: int):
    image, target = _pair()
    out_image, out_target = Compose([RandomFlip(), RandomRotate90()])(image, target, _gen(seed))
    assert out_image.shape[1:] == out_target.shape
    assert torch.equal(_target_of(out_image, out_target), out_target)
    assert int((out_target == IGNORE_INDEX).sum()) == int((target == IGNORE_INDEX).sum())


def test_rotations_cover_both_orientations():
    image, target = _pair(30, 40)
    shapes = {tuple(RandomRotate90()(image, target, _gen(s))[1].shape) for s in range(20)}
    assert shapes == {(30, 40), (40, 30)}


def test_flip_with_p_one_flips_both_axes():
    image, target = _pair()
    out_image, out_target = RandomFlip(p=1.0)(image, target, _gen())
    assert torch.equal(out_image, image.flip(-1).flip(-2))
    assert torch.equal(out_target, target.flip(-1).flip(-2))


@pytest.mark.parametrize("seed", range(4))
def test_crop_has_the_requested_size_and_stays_aligned(seed: int):
    image, target = _pair(50, 60)
    out_image, out_target = RandomCrop(32)(image, target, _gen(seed))
    assert out_image.shape == (3, 32, 32) and out_target.shape == (32, 32)
    assert torch.equal(_target_of(out_image, out_target), out_target)


def test_crop_larger_than_the_image_pads_target_with_ignore_and_image_with_zero():
    image, target = _pair(20, 25)
    out_image, out_target = RandomCrop(32)(image, target, _gen())
    assert out_image.shape == (3, 32, 32) and out_target.shape == (32, 32)
    assert torch.equal(out_target[:20, :25], target)
    assert (out_target[20:] == IGNORE_INDEX).all() and (out_target[:, 25:] == IGNORE_INDEX).all()
    assert (out_image[:, 20:] == 0).all() and (out_image[:, :, 25:] == 0).all()


@pytest.mark.parametrize("seed", range(4))
def test_scale_resizes_image_and_target_together(seed: int):
    image, target = _pair(40, 50)
    out_image, out_target = RandomScale(0.5, 1.2)(image, target, _gen(seed))
    assert out_image.shape[1:] == out_target.shape
    h, w = out_target.shape
    assert 20 <= h <= 48 and 25 <= w <= 60
    assert abs(h / 40 - w / 50) < 0.03, "aspect ratio kept"
    assert set(out_target.unique().tolist()) <= {0, 1, IGNORE_INDEX}, "nearest: no invented labels"
    assert out_target.dtype == torch.long


@pytest.mark.parametrize("seed", range(6))
def test_color_jitter_leaves_target_alone_and_keeps_values_in_range(seed: int):
    image, target = _pair()
    out_image, out_target = ColorJitter()(image, target, _gen(seed))
    assert out_target is target or torch.equal(out_target, target)
    assert out_image.shape == image.shape
    assert out_image.min() >= 0.0 and out_image.max() <= 1.0
    assert not torch.equal(out_image, image)


def test_normalize_uses_mean_and_std():
    image = torch.tensor(MEAN).view(3, 1, 1).expand(3, 4, 4).clone()
    image[:, 0, 0] += torch.tensor(STD)
    out, _ = Normalize(Preprocessing(MEAN, STD))(image, torch.zeros(4, 4, dtype=torch.long), _gen())
    assert torch.allclose(out[:, 1:, 1:], torch.zeros(1))
    assert torch.allclose(out[:, 0, 0], torch.ones(3))


def test_training_recipe_is_deterministic_for_a_seed():
    image, target = _pair(70, 90)
    recipe = training_transforms(48, Preprocessing(MEAN, STD))
    a = recipe(image, target, _gen(3))
    b = recipe(image, target, _gen(3))
    c = recipe(image, target, _gen(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_training_recipe_output_shapes_and_labels():
    image, target = _pair(70, 90)
    for seed in range(5):
        out_image, out_target = training_transforms(48, Preprocessing(MEAN, STD))(image, target, _gen(seed))
        assert out_image.shape == (3, 48, 48) and out_target.shape == (48, 48)
        assert out_image.dtype == torch.float32 and out_target.dtype == torch.long
        assert set(out_target.unique().tolist()) <= {0, 1, IGNORE_INDEX}


FOV_PRE = Preprocessing((0.709, 0.381, 0.224), (0.127, 0.079, 0.043), "RGB", 640, "fov")


def standardized_crop() -> torch.Tensor:
    image = torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(1))
    image[:, :, :8] = 0  # outside the FOV, as standardisation leaves it
    return image


@pytest.mark.parametrize("seed", range(5))
def test_capture_artifacts_degrade_inside_the_fov_only_and_stay_finite(seed: int):
    image, target = standardized_crop(), torch.ones(64, 64, dtype=torch.long)
    out, same = CaptureArtifacts(FOV_PRE, p=1.0)(image, target, torch.Generator().manual_seed(seed))
    assert same is target and out.shape == image.shape and torch.isfinite(out).all()
    assert torch.equal(out[:, :, :8], image[:, :, :8])
    assert (out[:, :, 8:] - image[:, :, 8:]).abs().mean() > 0.05


def test_capture_artifacts_vignetting_darkens_away_from_its_centre():
    artifacts = CaptureArtifacts(FOV_PRE, p=1.0)
    gain = artifacts._falloff(torch.Size((64, 64)), torch.Generator().manual_seed(0))
    assert gain.shape == (64, 64) and float(gain.max()) <= 1.0 and float(gain.min()) >= 0.1
    assert float(gain.max() - gain.min()) > 0.01


def test_capture_artifacts_jpeg_round_trip_adds_blocks_but_keeps_the_picture():
    raw = torch.linspace(0, 1, 64).view(1, 1, -1).expand(3, 64, 64).contiguous()
    decoded = CaptureArtifacts._jpeg(raw, quality=10)
    assert decoded.shape == raw.shape
    assert 0 < float((decoded - raw).abs().mean()) < 0.1


def test_capture_artifacts_are_off_unless_asked():
    from core.ml.transforms import training_transforms

    plain = training_transforms(64, FOV_PRE, photometric=True)
    degraded = training_transforms(64, FOV_PRE, photometric=True, capture_artifacts=True)
    assert not any(isinstance(t, CaptureArtifacts) for t in plain.transforms)
    assert any(isinstance(t, CaptureArtifacts) for t in degraded.transforms)


def test_the_artifact_probability_reaches_the_capture_artifacts():
    recipe = training_transforms(64, FOV_PRE, photometric=True, capture_artifacts=True, artifact_probability=0.5)
    (artifacts,) = [t for t in recipe.transforms if isinstance(t, CaptureArtifacts)]
    assert artifacts.p == 0.5
