"""`retinaseg calibrate` re-chooses the threshold and can set the band of FOV widths run at native size."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli import main
from core.ml.checkpoint import load_checkpoint, save_checkpoint
from core.ml.preprocessing import Preprocessing
from tests.core.test_data import make_fake_drive


@pytest.fixture
def validated_model(tiny_checkpoint_path: Path, tmp_path: Path) -> Path:
    ckpt = load_checkpoint(tiny_checkpoint_path)
    ckpt.preprocessing = Preprocessing((0.5,) * 3, (0.2,) * 3, fov_diameter=40, normalization="fov",
                                       scale_tolerance=1.0)
    ckpt.metrics["validation"] = {"images": ["22", "23"]}
    return save_checkpoint(ckpt, tmp_path / "trained.pt")


def test_the_working_band_is_chosen_with_the_threshold(validated_model: Path, tmp_path: Path, capsys) -> None:
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    out = tmp_path / "calibrated.pt"
    assert main(["calibrate", "--data", str(drive), "--model", str(validated_model), "--out", str(out),
                 "--large-fov-diameter", "50"]) == 0
    pre = load_checkpoint(out).preprocessing
    assert (pre.fov_diameter, pre.scale_tolerance, pre.large_fov_diameter) == (40, 1.0, 50)
    assert "40–50 px kept at their size, wider ones reduced to 50 px" in capsys.readouterr().out


def test_a_large_fov_width_outside_the_band_is_refused_with_a_message(validated_model: Path, tmp_path: Path,
                                                                      capsys) -> None:
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    out = tmp_path / "calibrated.pt"
    assert main(["calibrate", "--data", str(drive), "--model", str(validated_model), "--out", str(out),
                 "--large-fov-diameter", "30"]) != 0
    assert "large_fov_diameter 30 must be at least the working FOV diameter" in capsys.readouterr().err
    assert not out.exists()


def test_a_missing_output_folder_is_refused_before_any_work(validated_model: Path, tmp_path: Path,
                                                            capsys) -> None:
    out = tmp_path / "no such folder" / "calibrated.pt"
    assert main(["calibrate", "--data", str(tmp_path / "not a dataset"), "--model", str(validated_model),
                 "--out", str(out)]) == 2
    assert "no such folder for --out" in capsys.readouterr().err
    assert not out.parent.exists()
