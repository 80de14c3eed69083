"""The CLI end to end on synthetic images, with a tiny random-weight model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from tests.conftest import synthetic_fundus


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(synthetic_fundus(70, 90, seed=1)).save(folder / "eye1.png")
    Image.fromarray(synthetic_fundus(61, 47, seed=2)).save(folder / "eye2.jpg")
    return folder


def test_segment_writes_the_file_contract(images: Path, tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    out = tmp_path / "out"
    rc = main(["segment", str(images / "eye1.png"), str(images / "eye2.jpg"), "-o", str(out),
               "--model", str(tiny_checkpoint_path), "--save-prob", "--device", "cpu"])
    assert rc == 0
    mask = np.asarray(Image.open(out / "eye1_mask.png"))
    prob = Image.open(out / "eye1_prob.png")
    assert mask.shape == (70, 90) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    assert prob.mode.startswith("I;16") and prob.size == (90, 70)
    assert np.asarray(Image.open(out / "eye2_mask.png")).shape == (61, 47)
    # mask == prob >= model threshold (0.5), decoded from the 16-bit file
    p = np.asarray(prob).astype(np.float64) / 65535
    agree = ((p >= 0.5) == (mask == 255)).mean()
    assert agree > 0.999


def test_segment_never_replaces_another_images_mask_without_flag(images: Path, tmp_path: Path,
                                                                 tiny_checkpoint_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    Image.fromarray(np.zeros((12, 34), np.uint8)).save(out / "eye1_mask.png")  # an earlier eye1 of another size
    precious = (out / "eye1_mask.png").read_bytes()
    args = ["segment", str(images / "eye1.png"), "-o", str(out), "--model", str(tiny_checkpoint_path)]
    assert main(args) == 1
    assert (out / "eye1_mask.png").read_bytes() == precious
    assert main([*args, "--overwrite"]) == 0
    assert np.asarray(Image.open(out / "eye1_mask.png")).shape == (70, 90)


def test_one_bad_file_is_reported_and_skipped(images: Path, tmp_path: Path, tiny_checkpoint_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    out = tmp_path / "out"
    rc = main(["segment", str(images), "-o", str(out), "--model", str(tiny_checkpoint_path)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "broken.png" in captured.out and "2 segmented, 1 failed" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["eye1_mask.png", "eye2_mask.png"]


def test_bad_model_gives_a_clear_error(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint at all")
    rc = main(["segment", str(images), "-o", str(tmp_path / "o"), "--model", str(bogus)])
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bogus}: ") and "Traceback" not in err


def test_threshold_out_of_range_is_a_usage_error(images: Path, tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    rc = main(["segment", str(images), "-o", str(tmp_path / "o"), "--model", str(tiny_checkpoint_path),
               "--threshold", "1.5"])
    assert rc == 2


def test_console_script_entry_point_runs(tiny_checkpoint_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "core", "info", "--model", str(tiny_checkpoint_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"base_c": 4' in proc.stdout and "using: CPU" in proc.stdout


def test_workers_write_the_same_files_as_one_process(images: Path, tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    common = ["--model", str(tiny_checkpoint_path), "--save-prob", "--device", "cpu"]
    assert main(["segment", str(images), "-o", str(tmp_path / "one"), *common]) == 0
    assert main(["segment", str(images), "-o", str(tmp_path / "two"), "--workers", "2", *common]) == 0
    one = sorted((tmp_path / "one").iterdir())
    assert [p.name for p in one] == ["eye1_mask.png", "eye1_prob.png", "eye2_mask.png", "eye2_prob.png"]
    for p in one:
        assert p.read_bytes() == (tmp_path / "two" / p.name).read_bytes(), p.name
    assert main(["segment", str(images), "-o", str(tmp_path / "o"), *common, "--workers", "0"]) == 2


def test_two_inputs_with_one_name_write_once_and_report_the_second(images: Path, tmp_path: Path,
                                                                   tiny_checkpoint_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    Image.fromarray(synthetic_fundus(30, 30, seed=5)).save(other / "eye1.tif")
    out = tmp_path / "out"
    rc = main(["segment", str(images / "eye1.png"), str(other / "eye1.tif"), "-o", str(out),
               "--model", str(tiny_checkpoint_path)])
    text = capsys.readouterr().out
    assert rc == 1 and "1 segmented, 1 failed" in text
    assert f"FAILED {other / 'eye1.tif'}: same name as {images / 'eye1.png'}" in text
    assert np.asarray(Image.open(out / "eye1_mask.png")).shape == (70, 90), "the first one's mask"
