"""Offline: no CLI flow opens a network connection (or even resolves a host name).

Sockets are blocked in-process (monkeypatch) for segment / evaluate / train / info, and in a
separate ``python -m core segment`` whose ``sitecustomize`` blocks them before anything is
imported. Every attempt is recorded, so a swallowed exception cannot hide one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.resources import default_model_path
from tests.conftest import synthetic_fundus
from tests.core.test_data import make_fake_drive
from tests.offline import offline_env

REPO = Path(__file__).resolve().parents[2]


def test_the_guard_catches_a_connection_attempt(no_network: list[str]):
    import urllib.request

    with pytest.raises(OSError):
        urllib.request.urlopen("http://example.com", timeout=1)
    assert no_network and no_network[0].startswith(("getaddrinfo", "create_connection"))


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_fundus(50, 60, seed=i)).save(folder / f"eye{i}.png")
    return folder


def test_segment_evaluate_train_info_stay_offline(no_network: list[str], images: Path, tmp_path: Path,
                                                   tiny_checkpoint_path: Path):
    model = ["--model", str(tiny_checkpoint_path), "--device", "cpu"]
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    make_fake_drive(drive, "test", numbers=(1, 2))

    assert main(["segment", str(images), "-o", str(tmp_path / "out"), "--save-prob", *model]) == 0
    assert main(["evaluate", "--data", str(drive), "--split", "test", "--json", str(tmp_path / "ev.json"), *model]) == 0
    assert main(["info", *model]) == 0
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "run"), "--base-c", "4", "--epochs", "1",
                 "--steps-per-epoch", "1", "--batch-size", "2", "--crop", "32", "--val-count", "1",
                 "--device", "cpu"]) == 0

    assert no_network == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "eye0_mask.png", "eye0_prob.png", "eye1_mask.png", "eye1_prob.png"]
    assert "f1" in json.dumps(json.loads((tmp_path / "ev.json").read_text())).lower()
    assert (tmp_path / "run" / "best.pt").is_file()


def test_the_default_model_stays_offline(no_network: list[str], images: Path, tmp_path: Path):
    if not default_model_path().is_file():
        pytest.skip(f"the default model {default_model_path()} is not shipped in this checkout")
    assert main(["info", "--device", "cpu"]) == 0
    assert main(["segment", str(images / "eye0.png"), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert no_network == []


def _run_blocked(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env, log = offline_env(tmp_path, REPO)
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    return proc, log.read_text().split() if log.exists() else []


def test_the_subprocess_guard_catches_a_connection_attempt(tmp_path: Path):
    proc, attempts = _run_blocked(tmp_path, "-c", "import urllib.request; urllib.request.urlopen('http://example.com')")
    assert proc.returncode != 0 and "network blocked" in proc.stderr
    assert attempts


def test_python_m_core_segment_stays_offline(tmp_path: Path, images: Path, tiny_checkpoint_path: Path):
    out = tmp_path / "out"
    proc, attempts = _run_blocked(tmp_path, "-m", "core", "segment", str(images), "-o", str(out), "--save-prob",
                                  "--model", str(tiny_checkpoint_path), "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert attempts == []
    mask = np.asarray(Image.open(out / "eye0_mask.png"))
    assert mask.shape == (50, 60)
