"""``retinaseg segment --info``: the sidecar and stderr carry the plausibility warnings; the exit status does not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.io.images import write_image
from core.resources import resource_path


def sidecar(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_noise_image_warns_in_the_sidecar_and_on_stderr(tmp_path: Path, tiny_checkpoint_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    noise = write_image(tmp_path / "noise.png", np.random.default_rng(0).integers(0, 256, (96, 96, 3), np.uint8))
    rc = main(["segment", str(noise), "-o", str(tmp_path / "out"), "--info", "--model", str(tiny_checkpoint_path),
               "--device", "cpu"])
    assert rc == 0  # a warning is no failure
    doc = sidecar(tmp_path / "out" / "noise_info.json")
    assert doc["schema"] == "retinaseg.result" and doc["model"] == "tiny.pt"
    assert "noisy" in [w["code"] for w in doc["warnings"]]
    err = capsys.readouterr().err
    for w in doc["warnings"]:
        assert f"WARNING {noise}: {w['message']}" in err
    assert (tmp_path / "out" / "noise_mask.png").is_file()


def test_the_sample_with_the_shipped_model_gives_no_warning(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    sample = resource_path("samples", "fundus_cc0.jpg")
    assert main(["segment", str(sample), "-o", str(tmp_path), "--info", "--device", "cpu"]) == 0
    doc = sidecar(tmp_path / "fundus_cc0_info.json")
    assert doc["warnings"] == [] and 0.03 < doc["vessel_fraction"] < 0.25
    assert "WARNING" not in capsys.readouterr().err


def test_without_info_no_sidecar_is_written(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    image = write_image(tmp_path / "gray.png", np.full((64, 64, 3), 128, np.uint8))
    assert main(["segment", str(image), "-o", str(tmp_path / "out"), "--model", str(tiny_checkpoint_path),
                 "--device", "cpu"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gray_mask.png"]
