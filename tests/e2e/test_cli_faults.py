"""The CLI under faults: a GPU that fails mid-batch, an unwritable output folder, a file that is not an image."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.errors import DeviceFailure
from core.io import images as imageio
from core.ml.inference import Segmenter
from tests.conftest import synthetic_fundus


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(synthetic_fundus(40, 50, seed=i)).save(folder / f"eye{i}.png")
    return folder


def test_gpu_out_of_memory_mid_batch_is_one_clear_line_and_finished_files_stay(
        images: Path, tmp_path: Path, tiny_checkpoint_path: Path, monkeypatch, capsys):
    real_predict = Segmenter.predict
    calls = []

    def predict(self, image, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise DeviceFailure("the GPU ran out of memory (CUDA out of memory); try the CPU")
        return real_predict(self, image, *args, **kwargs)

    monkeypatch.setattr(Segmenter, "predict", predict)
    out = tmp_path / "out"
    rc = main(["segment", str(images), "-o", str(out), "--model", str(tiny_checkpoint_path)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "error: " in err and "ran out of memory" in err and "--device cpu" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["eye0_mask.png"], "the finished image is kept, nothing partial"
    assert np.asarray(Image.open(out / "eye0_mask.png")).shape == (40, 50)


def test_disk_full_during_a_batch_reports_every_file_and_exits_1(images: Path, tmp_path: Path,
                                                                 tiny_checkpoint_path: Path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(imageio.os, "fsync", full)
    out = tmp_path / "out"
    rc = main(["segment", str(images), "-o", str(out), "--model", str(tiny_checkpoint_path)])
    text = capsys.readouterr()
    assert rc == 1
    assert "0 segmented, 3 failed" in text.out and text.out.count("No space left on device") == 3
    assert list(out.iterdir()) == []


def test_unwritable_output_folder_is_one_clear_line_before_any_work(images: Path, tmp_path: Path,
                                                                    tiny_checkpoint_path: Path, monkeypatch, capsys):
    monkeypatch.setattr("core.io.export.os.access", lambda path, mode: False)
    monkeypatch.setattr(Segmenter, "predict", lambda *a, **k: pytest.fail("segmented although nothing can be saved"))
    rc = main(["segment", str(images), "-o", str(tmp_path / "out"), "--model", str(tiny_checkpoint_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "read-only; choose a folder you can write to" in err and "Traceback" not in err
