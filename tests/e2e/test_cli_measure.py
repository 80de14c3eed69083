"""``retinaseg measure`` end to end: synthetic photographs with the masks `segment` would write beside them
(or a tiny random-weight model), one CSV row per image, failures as rows that say why."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from core import __version__
from core.batch.measure_image import table_columns
from core.cli import main
from core.io.artery_vein import rgb_from_labels
from core.measure.biomarkers import SCHEMA_VERSION
from tests.conftest import synthetic_fundus
from tests.core.test_biomarker_invariance import Scene, synthetic_scene


def photograph(scene: Scene, seed: int = 0) -> np.ndarray:
    """An RGB fundus photograph of ``scene``: orange retina in a black border, a bright optic disc, the
    vessels drawn darker."""
    h, w = scene.vessels.shape
    rows, cols = np.mgrid[0:h, 0:w]
    image = np.zeros((h, w, 3), np.float32)
    image[scene.fov] = (190, 85, 40)
    glow = np.clip((scene.disc.diameter / 2 + 2 - np.hypot(rows - scene.disc.y, cols - scene.disc.x)) / 4, 0, 1)
    image += glow[..., None] * (np.array([250, 215, 150], np.float32) - image)
    image *= 1 - 0.45 * ndi.gaussian_filter(scene.vessels.astype(np.float32), 0.7)[..., None]
    image[~scene.fov] = 0
    image += np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return synthetic_scene(600)


@pytest.fixture
def study(tmp_path: Path, scene: Scene) -> tuple[Path, Path]:
    """``images/`` with eye1.png (masks and labels in ``masks/``), eye2.png (mask only, mirrored eye) and
    eye3.png (no mask at all)."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    Image.fromarray(photograph(scene)).save(images / "eye1.png")
    Image.fromarray((scene.vessels * 255).astype(np.uint8)).save(masks / "eye1_mask.png")
    Image.fromarray(rgb_from_labels(scene.labels)).save(masks / "eye1_av.png")
    Image.fromarray(np.fliplr(photograph(scene, seed=1))).save(images / "eye2.png")
    Image.fromarray(np.fliplr(scene.vessels * 255).astype(np.uint8)).save(masks / "eye2_mask.png")
    Image.fromarray(photograph(scene, seed=2)).save(images / "eye3.png")
    return images, masks


def read_table(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = {Path(r["image"]).name: r for r in reader}
        return list(reader.fieldnames or []), rows


def test_measure_reads_the_masks_segment_wrote(study: tuple[Path, Path], scene: Scene, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = study
    out = tmp_path / "results.csv"
    rc = main(["measure", str(images), "-o", str(out), "--masks", str(masks), "--field-angle", "45"])
    assert rc == 1  # eye3 has no mask: the run goes on and says so in its exit status
    columns, rows = read_table(out)
    assert columns == table_columns()
    assert list(rows) == ["eye1.png", "eye2.png", "eye3.png"]
    eye1 = rows["eye1.png"]
    assert eye1["status"] == "ok" and eye1["error"] == ""
    assert eye1["schema_version"] == str(SCHEMA_VERSION) and eye1["program_version"] == __version__
    assert eye1["vessel_mask"] == str(masks / "eye1_mask.png") and eye1["av_labels"] == str(masks / "eye1_av.png")
    assert eye1["vessel_model"] == "" and eye1["av_model"] == ""  # nothing was segmented
    # the numbers are the masks': vessel density is the vessel share of the FOV the image shows
    fov_share = scene.vessels.sum() / scene.fov.sum()
    assert float(eye1["vessel_density"]) == pytest.approx(fov_share, rel=0.02)
    assert eye1["scale_source"] == "field_angle" and float(eye1["scale_um_per_px"]) == pytest.approx(
        45 * 288 / float(eye1["fov_diameter_px"]))
    # the disc found on the photograph, and the calibres around it from the labels
    assert float(eye1["disc_x"]) == pytest.approx(scene.disc.x, abs=3)
    assert float(eye1["disc_diameter_px"]) == pytest.approx(scene.disc.diameter, rel=0.1)
    assert eye1["crae_zone_b_missing"] == "" and 0.4 < float(eye1["avr_zone_b"]) < 0.9
    assert float(eye1["crae_zone_b_um"]) == pytest.approx(float(eye1["crae_zone_b_px"]) *
                                                         float(eye1["scale_um_per_px"]))
    assert eye1["crae_hubbard_zone_b_um"] != ""
    # eye2: no labels file, so no per-tree figures, each saying why; the tree of all vessels is measured
    eye2 = rows["eye2.png"]
    assert eye2["status"] == "ok" and eye2["av_missing"] == f"no eye2_av.png in {masks}"
    assert eye2["crae_zone_b_missing"] == "no artery/vein labels" and eye2["crae_zone_b_um"] == ""
    assert float(eye2["vessel_density"]) == pytest.approx(float(eye1["vessel_density"]), rel=0.01)
    # eye3: a failed row with the reason, every biomarker empty
    eye3 = rows["eye3.png"]
    assert eye3["status"] == "failed" and eye3["error"] == f"no vessel mask eye3_mask.png in {masks}"
    assert eye3["vessel_density"] == "" and eye3["vessel_density_missing"] == "image not measured"
    log = capsys.readouterr()
    assert "eye3.png: FAILED: no vessel mask eye3_mask.png" in log.err
    assert "measured 2 of 3 images (1 failed" in log.out
    assert not (tmp_path / "results.csv.part").exists()


def test_a_bad_image_or_a_missing_file_is_a_failed_row(study: tuple[Path, Path], tmp_path: Path) -> None:
    images, masks = study
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    (images / "notes.txt").write_text("not an image")
    (masks / "small_mask.png").write_bytes((masks / "eye1_mask.png").read_bytes())
    Image.fromarray(synthetic_fundus(70, 90)).save(images / "small.png")  # its "mask" is another image's
    out = tmp_path / "t.csv"
    rc = main(["measure", str(images / "broken.png"), str(images / "notes.txt"), str(images / "gone.png"),
               str(images / "small.png"), str(images / "eye1.png"), "-o", str(out), "--masks", str(masks)])
    assert rc == 1
    _, rows = read_table(out)
    assert [r["status"] for r in rows.values()] == ["failed", "failed", "failed", "failed", "ok"]
    assert rows["notes.txt"]["error"] == "not an image file name (.txt)"
    assert rows["gone.png"]["error"] == "file not found"
    assert rows["small.png"]["error"] == "small_mask.png is 600×600 px but the image 90×70: not this image's mask"
    broken = rows["broken.png"]["error"]
    assert broken and "\n" not in broken and "Traceback" not in broken
    # without a scale from the file or the camera, the disc convention gives one (1800 µm per disc)
    assert rows["eye1.png"]["scale_source"] == "disc_convention"


def test_without_masks_it_segments_with_both_models(study: tuple[Path, Path], tmp_path: Path,
                                                    tiny_checkpoint_path: Path, av_checkpoint_path: Path) -> None:
    images, _ = study
    out = tmp_path / "segmented.csv"
    rc = main(["measure", str(images / "eye1.png"), "-o", str(out), "--model", str(tiny_checkpoint_path),
               "--av-model", str(av_checkpoint_path), "--device", "cpu"])
    assert rc == 0
    _, rows = read_table(out)
    row = rows["eye1.png"]
    assert row["status"] == "ok" and row["vessel_mask"] == "model" and row["av_labels"] == "model"
    assert row["vessel_model"] == "tiny.pt" and len(row["vessel_model_sha256"]) == 16
    assert row["av_model"] == "tiny_av.pt" and row["av_model_sha256"] != row["vessel_model_sha256"]
    assert row["vessel_density"] != "" or row["vessel_density_missing"] != ""  # random weights: either way, said


def test_an_existing_table_is_kept_unless_overwrite(study: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = study
    out = tmp_path / "results.csv"
    out.write_text("precious\n")
    args = ["measure", str(images / "eye1.png"), "-o", str(out), "--masks", str(masks)]
    assert main(args) == 2
    assert out.read_text() == "precious\n"
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert read_table(out)[1]["eye1.png"]["status"] == "ok"


@pytest.mark.parametrize("extra, message", [
    (["--model", "x.pt"], "with --masks nothing is segmented"),
    (["--field-angle", "-3"], "--field-angle is the camera's field of view in degrees"),
])
def test_options_that_cannot_work_are_refused_up_front(study: tuple[Path, Path], tmp_path: Path, extra: list[str],
                                                       message: str, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks = study
    out = tmp_path / "never.csv"
    assert main(["measure", str(images), "-o", str(out), "--masks", str(masks), *extra]) == 2
    assert message in capsys.readouterr().err and not out.exists()


@pytest.fixture(scope="module")
def av_checkpoint_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight artery/vein UNet (classes background, artery, vein)."""
    import torch

    from core.ml.checkpoint import model_checkpoint, save_checkpoint
    from core.ml.model import UNet
    from core.ml.preprocessing import Preprocessing

    torch.manual_seed(1)
    ckpt = model_checkpoint(UNet(3, 3, True, 4).eval(), Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1)),
                            classes=("background", "artery", "vein"), thresholds={"vessel": 0.5},
                            trained_on="nothing (random test weights)")
    return save_checkpoint(ckpt, tmp_path_factory.mktemp("models") / "tiny_av.pt")
