"""``retinaseg segment --av`` with the shipped models on the sample photograph: ``<stem>_av.png`` in the
datasets' colours on exactly the vessel mask, the optic disc and the labels' summary in the sidecar, the mask
and probability files byte-identical to a run without ``--av``, reruns that judge the labels too, worker
processes that give the same files, and a wrong artery/vein model refused in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.io.images import read_image
from core.resources import default_artery_vein_model_path, default_model_path, sample_image_path

REPO = Path(__file__).resolve().parents[2]
RED, BLUE, GREEN, BLACK = (255, 0, 0), (0, 0, 255), (0, 255, 0), (0, 0, 0)

pytestmark = pytest.mark.skipif(not (default_artery_vein_model_path().is_file() and default_model_path().is_file()),
                                reason="the shipped vessel and artery/vein models are needed")


def segment(inputs: list[Path], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "segment", *map(str, inputs), "-o", str(out),
                           "--device", "cpu", "--save-prob", *extra],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CC0 sample photograph at half size (705 px; the models resize every FOV to their own width)."""
    folder = tmp_path_factory.mktemp("in")
    image = Image.open(sample_image_path()).convert("RGB")
    image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS).save(folder / "eye.png")
    return folder / "eye.png"


@pytest.fixture(scope="module")
def runs(photo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The photo segmented without and with --av: (plain output folder, --av output folder, --av's stderr)."""
    plain, typed = tmp_path_factory.mktemp("plain"), tmp_path_factory.mktemp("av")
    first = segment([photo], plain)
    assert first.returncode == 0, first.stderr
    second = segment([photo], typed, "--av")
    assert second.returncode == 0, second.stderr
    return plain, typed, second.stderr


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_av_types_the_vessel_mask_and_leaves_the_mask_and_probability_files_alone(runs: tuple[Path, Path, str]
                                                                                  ) -> None:
    plain, typed, stderr = runs
    assert sorted(_bytes(plain)) == ["eye_mask.png", "eye_prob.png"]
    assert sorted(_bytes(typed)) == ["eye_av.png", "eye_info.json", "eye_mask.png", "eye_prob.png"]
    for name in ("eye_mask.png", "eye_prob.png"):
        assert (plain / name).read_bytes() == (typed / name).read_bytes(), f"{name} changed with --av"
    assert "artery/vein model: " in stderr and "arteries_veins_unet16.pt" in stderr
    assert "note: --av writes <stem>_info.json too" in stderr

    vessel = read_image(typed / "eye_mask.png", mode=None) == 255
    rgb = read_image(typed / "eye_av.png", mode=None)
    assert rgb.shape == (*vessel.shape, 3) and rgb.dtype == np.uint8
    colours = {tuple(int(v) for v in c) for c in np.unique(rgb.reshape(-1, 3), axis=0)}
    assert colours <= {RED, BLUE, GREEN, BLACK} and {RED, BLUE} <= colours
    np.testing.assert_array_equal(rgb.any(axis=2), vessel)

    info = json.loads((typed / "eye_info.json").read_text())
    summary = info["measurements"]["arteries_veins"]
    assert summary["model"] == "arteries_veins_unet16.pt" and summary["edited_by_hand"] is False
    assert summary["artery_pixels"] == int((rgb == RED).all(axis=2).sum())
    assert summary["vein_pixels"] == int((rgb == BLUE).all(axis=2).sum())
    assert GREEN in colours and summary["crossing_pixels"] == int((rgb == GREEN).all(axis=2).sum())  # marked
    assert 0.2 < summary["artery_share"] < 0.8  # both kinds, neither swallowing the tree
    disc = info["measurements"]["optic_disc"]
    assert disc["method"] == "detector" and 0 < disc["x"] < vessel.shape[1] and 0 < disc["y"] < vessel.shape[0]
    assert 0.05 * vessel.shape[1] < disc["diameter"] < 0.35 * vessel.shape[1]


@pytest.mark.slow  # three more runs of both models (about 20 s on 2 idle cores)
def test_a_rerun_with_av_skips_what_is_complete_and_redoes_damaged_labels(runs: tuple[Path, Path, str],
                                                                           photo: Path, tmp_path: Path) -> None:
    plain, typed, _ = runs
    out = tmp_path / "out"
    shutil.copytree(typed, out)
    good = _bytes(out)
    again = segment([photo], out, "--av")
    assert again.returncode == 0 and "0 segmented, 1 skipped" in again.stdout, again.stderr + again.stdout

    (out / "eye_av.png").write_bytes(good["eye_av.png"][:100])  # a copy cut short
    redone = segment([photo], out, "--av")
    assert redone.returncode == 0 and redone.stdout.startswith("1 segmented, 0 failed"), redone.stderr
    assert {k: v for k, v in _bytes(out).items() if k != "eye_info.json"} == \
        {k: v for k, v in good.items() if k != "eye_info.json"}

    without = tmp_path / "without"  # a folder a run without --av left: --av completes it, mask untouched
    shutil.copytree(plain, without)
    completed = segment([photo], without, "--av")
    assert completed.returncode == 0 and completed.stdout.startswith("1 segmented"), completed.stderr
    assert (without / "eye_av.png").read_bytes() == good["eye_av.png"]
    assert (without / "eye_mask.png").read_bytes() == good["eye_mask.png"]


def test_a_wrong_artery_vein_model_is_refused_in_one_line(photo: Path, tmp_path: Path) -> None:
    wrong = segment([photo], tmp_path / "out", "--av", "--av-model", str(default_model_path()))
    assert wrong.returncode == 1
    assert "error: vessels_unet16.pt is a vessels model, not an artery/vein model" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not (tmp_path / "out" / "eye_mask.png").exists()
    alone = segment([photo], tmp_path / "out", "--av-model", str(default_artery_vein_model_path()))
    assert alone.returncode == 2 and "--av-model chooses the model of --av" in alone.stderr


@pytest.mark.slow
def test_worker_processes_write_the_same_files(runs: tuple[Path, Path, str], photo: Path, tmp_path: Path) -> None:
    _, typed, _ = runs
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photo, folder / "eye.png")
    Image.open(photo).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "left.png")
    proc = segment([folder], tmp_path / "out", "--av", "--workers", "2")
    assert proc.returncode == 0 and proc.stdout.startswith("2 segmented, 0 failed"), proc.stderr
    for name in ("eye_mask.png", "eye_prob.png", "eye_av.png"):
        assert (tmp_path / "out" / name).read_bytes() == (typed / name).read_bytes(), name
    assert (tmp_path / "out" / "left_av.png").is_file()
