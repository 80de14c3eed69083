"""The installation self-test: it passes on a working install and says what is wrong otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import core.selftest as selftest
from core.resources import sample_image_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_default_model(monkeypatch: pytest.MonkeyPatch, tiny_checkpoint_path: Path) -> Path:
    """The tiny random model stands in for the shipped one; any vessel fraction is 'plausible'."""
    monkeypatch.setattr(selftest, "default_model_path", lambda: tiny_checkpoint_path)
    monkeypatch.setattr(selftest, "VESSEL_FRACTION_RANGE", (0.0, 1.0))
    return tiny_checkpoint_path


def test_passes_with_a_working_model_and_reports_timings(tiny_default_model: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert selftest.main([]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("self-test OK")
    assert "\n" not in out
    assert "model load" in out and "segmentation" in out and "total" in out


def test_run_self_test_returns_ok_and_message(tiny_default_model: Path) -> None:
    ok, message = selftest.run_self_test(device="cpu")
    assert ok, message
    assert "CPU" in message


def test_accepts_the_launchers_self_test_flag(tiny_default_model: Path) -> None:
    assert selftest.main(["--self-test"]) == 0


def test_missing_model_exits_1_naming_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "models" / "vessels_unet16.pt"
    monkeypatch.setattr(selftest, "default_model_path", lambda: missing)
    assert selftest.main([]) == 1
    err = capsys.readouterr().err
    assert "self-test FAILED" in err
    assert str(missing) in err


def test_damaged_model_is_reported_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    ok, message = selftest.run_self_test(model_path=bad)
    assert not ok
    assert "loading the model" in message and "bad.pt" in message


def test_missing_sample_is_reported(tiny_checkpoint_path: Path, tmp_path: Path) -> None:
    ok, message = selftest.run_self_test(model_path=tiny_checkpoint_path, image_path=tmp_path / "gone.jpg")
    assert not ok
    assert "gone.jpg" in message


def test_implausible_mask_fails(tiny_checkpoint_path: Path) -> None:
    # No vessel fraction can lie in an empty range: the check must reject the mask.
    ok, message = selftest.run_self_test(model_path=tiny_checkpoint_path, vessel_range=(2.0, 3.0))
    assert not ok
    assert "implausible mask" in message


def test_check_plausible_rejects_non_finite_probabilities() -> None:
    prob = np.full((40, 40), 0.1, np.float32)
    prob[3, 4] = np.nan
    with pytest.raises(selftest.SelfTestFailure, match="NaN"):
        selftest.check_plausible(prob, np.ones((40, 40), bool), 0.5)


def test_check_plausible_measures_vessels_inside_the_fov_only() -> None:
    prob = np.zeros((10, 10), np.float32)
    fov = np.zeros((10, 10), bool)
    fov[:, :5] = True
    prob[:1, :5] = 0.9  # 5 of 50 FOV pixels
    prob[:, 5:] = 1.0  # outside the FOV: ignored
    assert selftest.check_plausible(prob, fov, 0.5, (0.0, 1.0)) == pytest.approx(0.1)


def test_reduce_image_keeps_aspect_and_small_images() -> None:
    small = np.zeros((100, 80, 3), np.uint8)
    assert selftest.reduce_image(small) is small
    big = np.zeros((1000, 1500, 3), np.uint8)
    assert selftest.reduce_image(big, side=300).shape == (200, 300, 3)


def test_self_test_does_not_import_qt(tiny_checkpoint_path: Path) -> None:
    """The bundle's --self-test must run on machines without a display or Qt platform plugins."""
    code = (
        "import sys, core.selftest as s\n"
        f"ok, msg = s.run_self_test(model_path={str(tiny_checkpoint_path)!r}, vessel_range=(0.0, 1.0))\n"
        "assert ok, msg\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "assert not qt, qt\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_sample_image_is_shipped() -> None:
    assert sample_image_path().is_file()
