"""``retinaseg finetune``: a usable model from corrected masks, usage errors before any work, and a killed
run that leaves the old model file whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.adapt.corrections import (
    BLEND_ALONE,
    BLEND_WITH_CONSISTENCY,
    BLEND_WITH_CONSISTENCY_FOUR_IMAGES,
    BLEND_WITH_CONSISTENCY_ONE_IMAGE,
    FinetuneSettings,
)
from core.cli import build_parser, main
from core.ml.checkpoint import load_checkpoint
from tests.conftest import synthetic_fundus

REPO = Path(__file__).resolve().parents[2]
#: Steps bound the run (minutes is generous), so a busy machine changes its duration, not its result.
QUICK = ["--minutes", "30", "--max-steps", "60", "--lr", "0.05", "--blend", "1"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def corrected(tmp_path: Path) -> tuple[Path, Path]:
    """Three photographs in one folder, their corrected masks (0/255, as `segment` writes them) in another."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(3):
        image = synthetic_fundus(96, 112, seed=i)
        Image.fromarray(image).save(images / f"eye{i}.png")
        vessels = (image[..., 0] > 60) & (image[..., 0] < 155)
        Image.fromarray(np.where(vessels, 255, 0).astype(np.uint8)).save(masks / f"eye{i}_mask.png")
    return images, masks


def test_finetune_writes_a_model_that_loads_and_segments(corrected: tuple[Path, Path], tmp_path: Path,
                                                         tiny_checkpoint_path: Path, capsys):
    images, masks = corrected
    new = tmp_path / "new.pt"

    code = main(["finetune", "--images", str(images), "--masks", str(masks), "--base", str(tiny_checkpoint_path),
                 "--out", str(new), "--no-hold-out", "--max-steps", "10", "--lr", "0.05", "--blend", "1"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "nothing held out (not asked for): no before/after check" in out and f"saved {new}" in out
    assert "eye2:" in out and "pixels wrong before" in out
    card = load_checkpoint(new).metrics["finetune"]
    assert card["base"]["file"] == tiny_checkpoint_path.name and card["steps"] == 10
    assert [i["name"] for i in card["images"]] == ["eye0", "eye1", "eye2"]

    seg = tmp_path / "seg"
    assert main(["segment", str(images / "eye0.png"), "-o", str(seg), "--model", str(new), "--device", "cpu"]) == 0
    mask = np.asarray(Image.open(seg / "eye0_mask.png"))
    assert mask.shape == (96, 112) and set(np.unique(mask)) <= {0, 255}


@pytest.mark.slow
def test_finetune_checks_the_new_model_on_the_held_out_image(corrected: tuple[Path, Path], tmp_path: Path,
                                                             tiny_checkpoint_path: Path, capsys):
    images, masks = corrected

    code = main(["finetune", "--images", str(images), "--masks", str(masks), "--base", str(tiny_checkpoint_path),
                 "--out", str(tmp_path / "new.pt"), *QUICK])

    out = capsys.readouterr().out
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.startswith("held out eye2: F1 against your correction"))
    before, after = (float(w) for w in line.replace(",", "").split() if w[0].isdigit())
    assert after > before + 0.2, line
    assert not any(x.startswith("eye2:") for x in out.splitlines()), "the held-out image was not trained on"


def test_images_without_masks_are_a_usage_error_naming_them(corrected: tuple[Path, Path], tmp_path: Path,
                                                            tiny_checkpoint_path: Path, capsys):
    images, masks = corrected
    (masks / "eye0_mask.png").unlink()
    (masks / "eye2_mask.png").unlink()

    code = main(["finetune", "--images", str(images), "--masks", str(masks), "--base", str(tiny_checkpoint_path),
                 "--out", str(tmp_path / "new.pt"), *QUICK])

    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: 2 image(s) without a corrected mask (expected <stem>_mask.png): eye0.png, eye2.png"]
    assert not (tmp_path / "new.pt").exists()


def test_an_existing_output_needs_overwrite_and_is_refused_before_any_work(
        corrected: tuple[Path, Path], tmp_path: Path, tiny_checkpoint_path: Path, capsys):
    images, masks = corrected
    old = tmp_path / "new.pt"
    old.write_bytes(b"the user's previous model")

    code = main(["finetune", "--images", str(images), "--masks", str(masks), "--base", str(tiny_checkpoint_path),
                 "--out", str(old), *QUICK])

    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: {old} already exists: use --overwrite to replace it"
    assert old.read_bytes() == b"the user's previous model"


def test_a_diverged_run_saves_nothing_and_says_why(corrected: tuple[Path, Path], tmp_path: Path,
                                                   tiny_checkpoint_path: Path, capsys):
    images, masks = corrected
    new = tmp_path / "new.pt"

    code = main(["finetune", "--images", str(images), "--masks", str(masks), "--base", str(tiny_checkpoint_path),
                 "--out", str(new), "--lr", "1e9", "--max-steps", "20"])

    assert code == 1
    err = capsys.readouterr().err
    assert "error: not saved: " in err and "nothing was kept" in err
    assert not new.exists()


def test_the_help_states_the_settings_defaults():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = sub.choices["finetune"].format_help()
    d = FinetuneSettings()
    for shown in (f"(default: {d.minutes:g})", f"(default: {d.max_steps})", f"(default: {d.lr:g})",
                  f"(default: {d.seed})", f"(default: {BLEND_WITH_CONSISTENCY:g} where --consistency applies",
                  f"{BLEND_WITH_CONSISTENCY_ONE_IMAGE:g} there with one, "
                  f"{BLEND_WITH_CONSISTENCY_FOUR_IMAGES:g} with four or more; else {BLEND_ALONE:g})"):
        assert shown in " ".join(text.split()), shown


@pytest.mark.slow
def test_a_killed_run_leaves_the_old_model_whole(corrected: tuple[Path, Path], tmp_path: Path,
                                                 tiny_checkpoint_path: Path):
    images, masks = corrected
    out = tmp_path / "model.pt"
    out.write_bytes(tiny_checkpoint_path.read_bytes())
    old = out.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "finetune", "--images", str(images), "--masks", str(masks),
         "--base", str(tiny_checkpoint_path), "--out", str(out), "--overwrite", "--minutes", "10",
         "--max-steps", "100000"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the images are loaded, before the first step
        assert line.startswith("fine-tuning "), line
        time.sleep(3)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.read_bytes() == old, "the old model is untouched by a run killed mid-way"
    assert load_checkpoint(out).arch == load_checkpoint(tiny_checkpoint_path).arch
