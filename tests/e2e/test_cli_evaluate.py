"""`retinaseg evaluate`: every dataset of the pool, one table each, a summary for all, JSON as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.io.datasets import DATA_ENV, DRIVE_ENV, load_dataset
from core.measure.evaluate import evaluate
from tests.conftest import synthetic_fundus

H, W = 96, 112


def _fundus_and_vessels(seed: int) -> tuple[np.ndarray, np.ndarray]:
    image = synthetic_fundus(H, W, seed)
    vessels = image[..., 1] < 70  # the dark "vessels" inside the disk
    vessels &= image[..., 0] > 60
    return image, vessels


def _mask(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.where(a, 255, 0).astype(np.uint8))


def make_chase(root: Path, names: tuple[str, ...] = ("Image_01L", "Image_02R")) -> Path:
    """A tiny dataset in CHASE_DB1's layout (no FOV masks) with a test split."""
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        image, vessels = _fundus_and_vessels(i)
        Image.fromarray(image).save(root / f"{name}.jpg", quality=95)
        _mask(vessels).save(root / f"{name}_1stHO.png")
    (root / "split-test.txt").write_text("".join(f"{n}.jpg\n" for n in names))
    return root


def make_hrf(root: Path, names: tuple[str, ...] = ("01_h",)) -> Path:
    """A tiny dataset in HRF's layout (images/, manual1/, mask/) with a test split."""
    for sub in ("images", "manual1", "mask"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        image, vessels = _fundus_and_vessels(10 + i)
        Image.fromarray(image).save(root / "images" / f"{name}.jpg", quality=95)
        _mask(vessels).save(root / "manual1" / f"{name}.tif")
        _mask(image.max(axis=2) > 20).save(root / "mask" / f"{name}_mask.tif")
    (root / "split-test.txt").write_text("".join(f"{n}.jpg\n" for n in names))
    return root


def make_drive(root: Path, numbers: tuple[str, ...] = ("01",)) -> Path:
    """A tiny dataset in DRIVE's layout (test/images, 1st_manual, mask)."""
    base = root / "test"
    for sub in ("images", "1st_manual", "mask"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(numbers):
        image, vessels = _fundus_and_vessels(20 + i)
        Image.fromarray(image).save(base / "images" / f"{n}_test.tif")
        _mask(vessels).save(base / "1st_manual" / f"{n}_manual1.gif")
        _mask(image.max(axis=2) > 20).save(base / "mask" / f"{n}_test_mask.gif")
    return root


def _evaluate(*args: str, model: Path) -> int:
    return main(["evaluate", *args, "--model", str(model), "--device", "cpu", "--precision", "fp32", "--no-tta"])


def test_a_chase_folder_is_scored_with_its_own_header_and_json(tmp_path: Path, tiny_checkpoint_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    chase = make_chase(tmp_path / "CHASE_DB1")
    out = tmp_path / "chase.json"
    assert _evaluate("--dataset", "chase", "--data", str(chase), "--json", str(out), model=tiny_checkpoint_path) == 0
    text = capsys.readouterr().out
    assert "CHASE_DB1 test: 2 images" in text and "pooled" in text
    saved = json.loads(out.read_text())
    assert saved["dataset"] == "chase" and saved["split"] == "test"
    assert set(saved["per_image"]) == {"Image_01L", "Image_02R"}

    from core.ml.inference import Segmenter

    direct = evaluate(Segmenter(tiny_checkpoint_path, device="cpu", precision="fp32", tta=False),
                      load_dataset("chase", chase, "test"))
    assert saved["pooled"]["f1"] == pytest.approx(direct.pooled.f1)
    assert saved["worst_image"]["name"] == direct.worst()[0]


def test_the_pool_folder_or_the_environment_finds_the_dataset(tmp_path: Path, tiny_checkpoint_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_chase(tmp_path / "CHASE_DB1")
    assert _evaluate("--dataset", "chase", "--data", str(tmp_path), "--limit", "1", model=tiny_checkpoint_path) == 0
    assert "CHASE_DB1 test: 1 images" in capsys.readouterr().out
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert _evaluate("--dataset", "chase", model=tiny_checkpoint_path) == 0
    assert "CHASE_DB1 test: 2 images" in capsys.readouterr().out


def test_all_scores_each_test_split_and_prints_one_summary(tmp_path: Path, tiny_checkpoint_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    make_drive(tmp_path / "DRIVE")
    make_chase(tmp_path / "CHASE_DB1")
    make_hrf(tmp_path / "HRF")
    out = tmp_path / "all.json"
    assert _evaluate("--dataset", "all", "--data", str(tmp_path), "--json", str(out), model=tiny_checkpoint_path) == 0
    text = capsys.readouterr().out
    summary = text[text.index("dataset "):].splitlines()[:5]
    assert [row.split()[0] for row in summary[2:]] == ["DRIVE", "CHASE_DB1", "HRF"]
    saved = json.loads(out.read_text())
    assert set(saved) == {"drive", "chase", "hrf"}
    for row, name in zip(summary[2:], ("drive", "chase", "hrf"), strict=True):
        f1, worst_name = float(row.split()[2]), row.split()[-1]
        assert f1 == pytest.approx(saved[name]["pooled"]["f1"], abs=5e-5)
        assert worst_name == saved[name]["worst_image"]["name"]


def test_a_missing_dataset_is_named_before_any_work(tmp_path: Path, tiny_checkpoint_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    make_chase(tmp_path / "CHASE_DB1")
    assert _evaluate("--dataset", "all", "--data", str(tmp_path), model=tiny_checkpoint_path) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "DRIVE" in err


def test_without_data_or_environment_it_says_where_to_point(tiny_checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.delenv(DRIVE_ENV, raising=False)
    assert _evaluate("--dataset", "hrf", model=tiny_checkpoint_path) == 2
    assert DATA_ENV in capsys.readouterr().err


def test_a_drive_folder_alone_still_means_drive(drive_root: Path, tiny_checkpoint_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _evaluate("--data", str(drive_root), "--limit", "2", model=tiny_checkpoint_path) == 0
    text = capsys.readouterr().out
    assert "DRIVE test: 2 images" in text
    assert [line.split()[0] for line in text.splitlines()[3:5]] == ["01", "02"]
