"""Usage errors exit 2 with one line, before any work, as the README promises: a device that is not a
choice or not on this machine, an output "folder" that is a file, options that cannot go together."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.cli import build_parser, main
from core.predict.devices import DEVICE_CHOICES
from tests.conftest import synthetic_fundus

REPO = Path(__file__).resolve().parents[2]


def retinaseg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_fundus(40, 48, seed=i)).save(folder / f"eye{i}.png")
    return folder


def _device_choices(parser: argparse.ArgumentParser) -> dict[str, tuple[str, ...] | None]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = {}
    for name, command in sub.choices.items():
        for action in command._actions:
            if "--device" in action.option_strings:
                found[name] = tuple(action.choices) if action.choices else None
    return found


def test_every_device_option_offers_the_devices_the_gui_offers() -> None:
    commands = ["segment", "cohort", "measure", "train", "evaluate", "info"]
    assert _device_choices(build_parser()) == dict.fromkeys(commands, DEVICE_CHOICES)


@pytest.mark.parametrize("device", ["gpu", "foo", "CUDA"])
def test_a_device_that_is_no_choice_is_a_usage_error(device: str, images: Path, tmp_path: Path) -> None:
    proc = retinaseg("segment", str(images), "-o", str(tmp_path / "out"), "--device", device)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1] == (f"retinaseg segment: error: argument --device: invalid choice: "
                                            f"'{device}' (choose from {', '.join(map(repr, DEVICE_CHOICES))})")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["segment", "evaluate", "info", "train"])
def test_a_device_this_machine_lacks_is_a_usage_error_before_any_work(command: str, images: Path, tmp_path: Path,
                                                                      monkeypatch, capsys) -> None:
    monkeypatch.setattr("core.ml.devices.available_devices", lambda: {"cpu": "CPU"})
    monkeypatch.setattr("core.ml.inference.Segmenter.__init__", lambda *a, **k: pytest.fail("model loaded"))
    monkeypatch.setattr("core.ml.train.train", lambda *a, **k: pytest.fail("training started"))
    rest = {"segment": [str(images), "-o", str(tmp_path / "out")], "evaluate": ["--data", str(tmp_path)],
            "info": [], "train": ["--data", str(tmp_path), "--out", str(tmp_path / "run")]}[command]
    assert main([command, *rest, "--device", "cuda"]) == 2
    assert capsys.readouterr().err == ("error: --device cuda: this machine has no CUDA device (it has: cpu); "
                                       "use --device auto or one of those\n")
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()


def test_a_missing_gpu_is_one_line_from_a_real_process(images: Path, tmp_path: Path) -> None:
    from core.ml.devices import available_devices

    missing = [d for d in ("cuda", "mps") if d not in available_devices()]
    if not missing:
        pytest.skip("this machine has both CUDA and MPS: no device is missing")
    proc = retinaseg("segment", str(images), "-o", str(tmp_path / "out"), "--device", missing[0])
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: --device {missing[0]}: this machine has no ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_an_output_folder_that_is_a_file_is_a_usage_error(images: Path, tmp_path: Path) -> None:
    notes = tmp_path / "somefile.txt"
    notes.write_text("keep me")
    for out, said in ((notes, f"{notes} is a file, not a folder"),
                      (notes / "masks", f"{notes / 'masks'}: {notes} is a file, not a folder")):
        proc = retinaseg("segment", str(images), "-o", str(out), "--device", "cpu")
        assert proc.returncode == 2
        assert proc.stderr == f"error: {said} (-o names the output folder, created if missing)\n"
    assert notes.read_text() == "keep me"


def test_a_fov_file_for_several_images_is_a_usage_error(images: Path, tmp_path: Path, capsys) -> None:
    rc = main(["segment", str(images), "-o", str(tmp_path / "out"), "--fov", str(images / "eye0.png")])
    assert rc == 2
    assert capsys.readouterr().err == "error: --fov applies to a single input image\n"
