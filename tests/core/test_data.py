"""Dataset discovery and loading, on tiny fake DRIVE, CHASE_DB1 and HRF trees (and once on real DRIVE)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.io.datasets import (
    DATA_ENV,
    DRIVE_ENV,
    IGNORE_INDEX,
    default_data_root,
    find_drive,
    load_dataset,
    load_drive,
    split_train_val,
)
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


# --- the other datasets of the pool: CHASE_DB1 and HRF layouts -----------------------------------

def make_fake_chase(root: Path) -> Path:
    """CHASE_DB1's layout: Image_NNx.jpg + Image_NNx_1stHO.png, split files, no FOV masks."""
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(("Image_01L", "Image_01R", "Image_11L")):
        Image.fromarray(synthetic_fundus(48, 52, seed=i)).save(root / f"{name}.jpg", quality=95)
        vessels = np.zeros((48, 52), np.uint8)
        vessels[:, 20 + i] = 255
        Image.fromarray(vessels).save(root / f"{name}_1stHO.png")
    (root / "split-train.txt").write_text("Image_01L.jpg\nImage_01R.jpg\n")
    (root / "split-test.txt").write_text("Image_11L.jpg\n")
    return root


def make_fake_hrf(root: Path) -> Path:
    """HRF's layout: images/, manual1/ (one image lacks it: its vessels come from av/), mask/, split files."""
    for sub in ("images", "manual1", "mask", "av"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    fov = _disk(32, 40)
    for i, stem in enumerate(("01_h", "11_h")):
        Image.fromarray(synthetic_fundus(32, 40, seed=i)).save(root / "images" / f"{stem}.jpg", quality=95)
        Image.fromarray(fov.astype(np.uint8) * 255).save(root / "mask" / f"{stem}_mask.tif")
        av = np.zeros((32, 40, 3), np.uint8)
        av[:, 10, 0] = 255  # an artery
        av[:, 30, 2] = 255  # a vein
        Image.fromarray(av).save(root / "av" / f"{stem}_AVmanual.png")
    vessels = np.zeros((32, 40), np.uint8)
    vessels[:, 10] = 255
    Image.fromarray(vessels).save(root / "manual1" / "01_h.tif")
    (root / "split-train.txt").write_text("01_h.jpg\n11_h.jpg\n")
    (root / "split-test.txt").write_text("")
    return root


def test_chase_splits_come_from_its_split_files_and_its_fov_is_estimated(tmp_path: Path):
    root = make_fake_chase(tmp_path / "CHASE_DB1")
    train = load_dataset("chase", root, "training")
    assert [s.name for s in train] == ["Image_01L", "Image_01R"] and {s.dataset for s in train} == {"chase"}
    assert [s.name for s in load_dataset("chase", root, "test")] == ["Image_11L"]
    s = train[0]
    assert s.vessels.sum() == 48 and 0.3 < s.fov.mean() < 0.95, "the FOV is estimated from the dark border"


def test_hrf_takes_vessels_from_manual1_or_else_from_any_artery_vein_colour(tmp_path: Path):
    root = make_fake_hrf(tmp_path / "HRF")
    with_manual, from_av = load_dataset("hrf", root, "training")
    assert with_manual.vessels[:, 10].all() and not with_manual.vessels[:, 30].any()
    assert from_av.vessels[:, 10].all() and from_av.vessels[:, 30].all()
    assert np.array_equal(from_av.fov, _disk(32, 40))


def test_unknown_dataset_and_missing_split_file_are_named(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown dataset 'messidor'"):
        load_dataset("messidor", tmp_path, "training")
    with pytest.raises(FileNotFoundError, match="split-train.txt"):
        load_dataset("chase", tmp_path, "training")


def test_the_pool_root_comes_from_its_variable_or_beside_drive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(DRIVE_ENV, str(tmp_path / "pool" / "DRIVE"))
    assert default_data_root() == tmp_path / "pool"
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "elsewhere"))
    assert default_data_root() == tmp_path / "elsewhere"
