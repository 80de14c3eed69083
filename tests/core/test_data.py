"""DRIVE discovery and loading, on a tiny fake DRIVE tree (and once on the real one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.io.datasets import IGNORE_INDEX, find_drive, load_drive, split_train_val
from tests.conftest import synthetic_fundus

H, W = 24, 20


def _disk(h: int = H, w: int = W) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= (min(h, w) * 0.45) ** 2


def make_fake_drive(root: Path, split: str = "training", numbers=(21, 22, 23)) -> Path:
    """DRIVE's layout: images/NN_<split>.tif, 1st_manual/NN_manual1.gif, mask/NN_<split>_mask.gif."""
    for sub in ("images", "1st_manual", "mask"):
        (root / split / sub).mkdir(parents=True, exist_ok=True)
    fov = _disk()
    for i, n in enumerate(numbers):
        Image.fromarray(synthetic_fundus(H, W, seed=i)).save(root / split / "images" / f"{n:02d}_{split}.tif")
        vessels = np.zeros((H, W), np.uint8)
        vessels[:, 3 + i] = 255  # a vertical 'vessel', partly outside the FOV
        Image.fromarray(vessels).convert("P").save(root / split / "1st_manual" / f"{n:02d}_manual1.gif")
        mask = Image.fromarray(fov.astype(np.uint8) * 255).convert("P")
        mask.save(root / split / "mask" / f"{n:02d}_{split}_mask.gif")
    return root


def test_find_drive_lists_every_image_with_its_label_and_mask(tmp_path: Path):
    make_fake_drive(tmp_path)
    files = find_drive(tmp_path, "training")
    assert [f.name for f in files] == ["21", "22", "23"]
    assert files[0].image.name == "21_training.tif"
    assert files[0].vessels.name == "21_manual1.gif"
    assert files[0].fov.name == "21_training_mask.gif"


def test_test_split_uses_its_own_names(tmp_path: Path):
    make_fake_drive(tmp_path, "test", numbers=(1, 2))
    assert [f.image.name for f in find_drive(tmp_path, "test")] == ["01_test.tif", "02_test.tif"]


def test_load_drive_reads_images_labels_and_fov(tmp_path: Path):
    make_fake_drive(tmp_path)
    samples = load_drive(tmp_path)
    assert len(samples) == 3
    s = samples[1]
    assert s.image.shape == (H, W, 3) and s.image.dtype == np.uint8
    assert s.vessels.dtype == bool and s.vessels.shape == (H, W)
    assert s.vessels[:, 4].all() and s.vessels.sum() == H
    assert np.array_equal(s.fov, _disk())


def test_targets_are_ignore_outside_the_fov(tmp_path: Path):
    make_fake_drive(tmp_path)
    s = load_drive(tmp_path)[0]
    t = s.target()
    assert t.dtype == np.uint8
    assert (t[~s.fov] == IGNORE_INDEX).all()
    assert set(np.unique(t[s.fov]).tolist()) == {0, 1}
    assert np.array_equal(t[s.fov] == 1, s.vessels[s.fov])
    assert s.target() is not t and (s.vessels.dtype == bool), "target() does not modify the sample"


def test_split_train_val_is_deterministic_and_disjoint(tmp_path: Path):
    make_fake_drive(tmp_path, numbers=tuple(range(21, 27)))
    samples = load_drive(tmp_path)
    train, val = split_train_val(samples, 2, seed=0)
    again_train, again_val = split_train_val(samples, 2, seed=0)
    assert [s.name for s in val] == [s.name for s in again_val]
    assert [s.name for s in train] == [s.name for s in again_train]
    assert len(val) == 2 and len(train) == 4
    assert not {s.name for s in train} & {s.name for s in val}
    other = {tuple(s.name for s in split_train_val(samples, 2, seed=k)[1]) for k in range(10)}
    assert len(other) > 1, "the seed changes the split"
    assert split_train_val(samples, 0)[1] == []


@pytest.mark.parametrize("val_count", [-1, 6, 7])
def test_split_train_val_refuses_impossible_counts(tmp_path: Path, val_count: int):
    make_fake_drive(tmp_path, numbers=tuple(range(21, 27)))
    with pytest.raises(ValueError, match="val_count"):
        split_train_val(load_drive(tmp_path), val_count)


def test_missing_label_is_named(tmp_path: Path):
    make_fake_drive(tmp_path)
    (tmp_path / "training" / "1st_manual" / "22_manual1.gif").unlink()
    with pytest.raises(FileNotFoundError, match="22_manual1.gif"):
        find_drive(tmp_path)


def test_missing_mask_is_named(tmp_path: Path):
    make_fake_drive(tmp_path)
    (tmp_path / "training" / "mask" / "23_training_mask.gif").unlink()
    with pytest.raises(FileNotFoundError, match="23_training_mask.gif"):
        find_drive(tmp_path)


def test_folder_that_is_not_drive_says_so(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="DRIVE folder"):
        find_drive(tmp_path)
    (tmp_path / "training" / "images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no \\*_training.tif"):
        find_drive(tmp_path)


def test_unknown_split_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown DRIVE split"):
        find_drive(tmp_path, "validation")


def test_label_of_a_different_size_is_refused(tmp_path: Path):
    make_fake_drive(tmp_path)
    Image.new("L", (W + 1, H)).save(tmp_path / "training" / "mask" / "21_training_mask.gif")
    with pytest.raises(ValueError, match="sizes differ"):
        load_drive(tmp_path)


@pytest.mark.drive
def test_real_drive_training_split_loads(drive_root: Path):
    samples = load_drive(drive_root, "training")
    assert len(samples) == 20
    assert [s.name for s in samples] == [str(n) for n in range(21, 41)]
    for s in samples:
        assert s.image.shape == (584, 565, 3) and s.image.dtype == np.uint8
        assert s.vessels.shape == s.fov.shape == (584, 565)
        assert 0.05 < s.vessels[s.fov].mean() < 0.2, "vessels cover roughly 12% of the FOV"
        assert 0.6 < s.fov.mean() < 0.8
        assert (s.target()[~s.fov] == IGNORE_INDEX).all()


@pytest.mark.drive
def test_real_drive_test_split_loads(drive_root: Path):
    files = find_drive(drive_root, "test")
    assert [f.name for f in files] == [f"{n:02d}" for n in range(1, 21)]
    s = load_drive(drive_root, "test")[0]
    assert s.image.shape == (584, 565, 3) and s.fov.shape == (584, 565)
