"""Running ``segment`` again over the same folder resumes it: complete outputs are skipped (not failures),
partial ones are redone, and per-image lines show progress when stderr is a pipe or a log file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import synthetic_fundus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(synthetic_fundus(40 + i, 48, seed=i)).save(folder / f"eye{i}.png")
    return folder


def segment(images: Path, out: Path, model: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "segment", str(images), "-o", str(out), "--model", str(model),
                           "--device", "cpu", "--save-prob", *extra], capture_output=True, text=True, timeout=180,
                          cwd=REPO)


def test_a_rerun_skips_what_is_done_and_redoes_what_is_partial(images: Path, tmp_path: Path,
                                                                tiny_checkpoint_path: Path) -> None:
    out = tmp_path / "out"
    first = segment(images, out, tiny_checkpoint_path)
    assert first.returncode == 0 and first.stdout == "3 segmented, 0 failed\n", first.stderr
    done = {p.name: p.read_bytes() for p in out.iterdir()}

    again = segment(images, out, tiny_checkpoint_path)
    assert again.returncode == 0, again.stderr + again.stdout
    assert again.stdout == "0 segmented, 3 skipped (outputs exist; --overwrite to replace), 0 failed\n"
    assert [line for line in again.stderr.splitlines() if line.startswith("[")] == [
        f"[{i + 1}/3] skipped {images / f'eye{i}.png'} (exists; --overwrite to replace)" for i in range(3)]
    assert "FAILED" not in again.stderr + again.stdout

    cut = out / "eye1_mask.png"  # a copy cut short, say: not complete, so redone
    cut.write_bytes(done["eye1_mask.png"][:60])
    (out / "eye2_prob.png").unlink()  # an output missing: the job is redone as a whole
    resumed = segment(images, out, tiny_checkpoint_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "2 segmented, 1 skipped (outputs exist; --overwrite to replace), 0 failed\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == done


def test_piped_stderr_gets_one_line_per_image(images: Path, tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    noise = images / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48, 3), np.uint8)).save(noise)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    proc = segment(images, tmp_path / "out", tiny_checkpoint_path)
    assert proc.returncode == 1  # broken.png
    lines = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 5, proc.stderr
    assert lines[0].startswith(f"[1/5] FAILED {images / 'broken.png'}: ")
    for i, line in enumerate(lines[1:4]):
        assert re.fullmatch(rf"\[{i + 2}/5\] {re.escape(str(images / f'eye{i}.png'))}: "
                            r"\d+\.\d s, vessel fraction \d+\.\d%(, warnings: [a-z_, ]+)?", line), line
    assert re.fullmatch(rf"\[5/5\] {re.escape(str(noise))}: \d+\.\d s, vessel fraction \d+\.\d%, warnings: .*noisy.*",
                        lines[4]), lines[4]
    after = proc.stderr.splitlines()[proc.stderr.splitlines().index(lines[4]) + 1]
    assert after.startswith(f"WARNING {noise}: "), "each warning's message follows its image's line"
    assert "\r" not in proc.stderr, "no progress bar redraws in a log"
