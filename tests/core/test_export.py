"""Export: files read back equal to what was exported, atomic writes, one overwrite question."""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core.io.export as export
from core.errors import ExportExistsError, ImageReadError, ImageWriteError
from core.io.export import (
    default_export_paths,
    export_all,
    export_mask,
    export_overlay,
    export_probability,
    export_sidecar,
    export_table,
    make_info,
    probability_to_uint16,
    read_mask,
    read_sidecar,
    render_overlay,
    uint16_to_probability,
)
from core.io.images import read_image
from core.io.outputs import OutputNames


@pytest.fixture
def mask(fundus: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random(fundus.shape[:2]) < 0.15


@pytest.fixture
def prob(fundus: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    p = rng.random(fundus.shape[:2]).astype(np.float32)
    p[0, 0], p[0, 1], p[0, 2] = 0.0, 1.0, 0.5
    return p


def test_default_names(tmp_path: Path):
    paths = default_export_paths(tmp_path, "01_test")
    assert [p.name for p in paths.all()] == ["01_test_mask.png", "01_test_prob.png", "01_test_overlay.png",
                                            "01_test_info.json"]
    assert default_export_paths(tmp_path, "a", ".jpg", ".csv").overlay.name == "a_overlay.jpg"
    with pytest.raises(ValueError, match="overlay format"):
        default_export_paths(tmp_path, "a", ".gif")


def test_output_names_are_the_file_contract(tmp_path: Path):
    names = OutputNames(tmp_path, "eye")
    assert (names.mask.name, names.prob.name) == ("eye_mask.png", "eye_prob.png")
    assert (names.overlay(".jpg").name, names.info(".csv").name) == ("eye_overlay.jpg", "eye_info.csv")
    assert default_export_paths(tmp_path, "eye").all() == [names.mask, names.prob, names.overlay(), names.info()]
    with pytest.raises(ValueError, match="sidecar format"):
        names.info(".xml")


def test_mask_reads_back_as_0_255_of_the_same_size_without_metadata(tmp_path: Path, mask: np.ndarray):
    path = export_mask(tmp_path / "m_mask.png", mask)
    back = read_image(path, mode=None)
    assert back.dtype == np.uint8 and back.shape == mask.shape
    assert set(np.unique(back)) <= {0, 255}
    assert np.array_equal(back == 255, mask)
    data = path.read_bytes()
    assert not any(chunk in data for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"pHYs"))
    assert read_mask(path, mask.shape).tolist() == mask.tolist()


def test_probability_is_16_bit_and_rounds_like_the_cli(tmp_path: Path, prob: np.ndarray):
    path = export_probability(tmp_path / "p_prob.png", prob)
    back = read_image(path, mode=None)
    assert back.dtype == np.uint16 and back.shape == prob.shape
    assert back[0, 0] == 0 and back[0, 1] == 65535 and back[0, 2] == 32768
    assert np.array_equal(back, np.rint(prob.astype(np.float64) * 65535).astype(np.uint16))
    assert np.abs(uint16_to_probability(back) - prob).max() <= 0.5 / 65535 + 1e-7


def test_probability_conversion_clips_and_refuses_nan():
    assert probability_to_uint16(np.array([-0.2, 1.7])).tolist() == [0, 65535]
    with pytest.raises(ValueError, match="NaN"):
        probability_to_uint16(np.array([0.1, np.nan]))


def test_overlay_blends_the_colour_over_vessels_only():
    image = np.full((4, 4, 3), 100, np.uint8)
    mask = np.zeros((4, 4), bool)
    mask[1, 2] = True
    out = render_overlay(image, mask, (255, 0, 0), 0.5)
    assert out[1, 2].tolist() == [178, 50, 50]
    assert (out[~mask] == 100).all()
    assert np.array_equal(render_overlay(image, mask, (255, 0, 0), 0.0), image)
    assert render_overlay(image[..., 0], mask).shape == (4, 4, 3)  # gray input


def test_overlay_of_a_crop_is_the_crop_of_the_overlay(fundus: np.ndarray, mask: np.ndarray):
    whole = render_overlay(fundus, mask, (0, 255, 0), 0.6)
    crop = render_overlay(fundus[10:40, 20:70], mask[10:40, 20:70], (0, 255, 0), 0.6)
    assert np.array_equal(crop, whole[10:40, 20:70])


def test_overlay_files_png_exact_and_jpeg_close(tmp_path: Path, fundus: np.ndarray, mask: np.ndarray):
    expected = render_overlay(fundus, mask, (255, 40, 40), 0.5)
    png = export_overlay(tmp_path / "o.png", fundus, mask)
    assert np.array_equal(read_image(png), expected)
    blob = np.zeros_like(mask)
    blob[20:60, 30:80] = True  # JPEG is for photographs: salt-and-pepper masks would blur
    jpg = export_overlay(tmp_path / "o.jpg", fundus, blob)
    assert np.abs(read_image(jpg).astype(int) - render_overlay(fundus, blob)).mean() < 8  # noisy synthetic image
    with pytest.raises(ImageWriteError, match=".png or .jpg"):
        export_overlay(tmp_path / "o.gif", fundus, mask)


def test_sidecar_json_and_csv(tmp_path: Path, mask: np.ndarray):
    fov = np.zeros(mask.shape, bool)
    fov[:, : mask.shape[1] // 2] = True
    info = make_info("/data/01_test.tif", mask, fov, model="UNet-16", model_path="/models/u.pt", threshold=0.42,
                     edited_by_hand=True)
    assert info.vessel_fraction == pytest.approx(mask[fov].mean(), abs=1e-6)
    data = json.loads(export_sidecar(tmp_path / "i.json", info).read_text())
    assert data["source"] == "/data/01_test.tif" and data["model"] == "UNet-16"
    assert data["model_path"] == "/models/u.pt" and data["threshold"] == 0.42
    assert data["edited_by_hand"] is True
    assert (data["width"], data["height"]) == (mask.shape[1], mask.shape[0])
    rows = list(csv.DictReader(export_sidecar(tmp_path / "i.csv", info).open()))
    assert len(rows) == 1 and rows[0]["threshold"] == "0.42" and rows[0]["edited_by_hand"] == "True"
    table = list(csv.DictReader(export_table(tmp_path / "all.csv", [info, info]).open()))
    assert len(table) == 2


def test_sidecar_is_versioned_with_room_for_measurements(tmp_path: Path, mask: np.ndarray):
    info = make_info("/data/01.tif", mask, None, model="m", model_path="m.pt", threshold=0.5, edited_by_hand=False)
    data = json.loads(export_sidecar(tmp_path / "i.json", info).read_text())
    assert (data["schema"], data["schema_version"]) == ("retinaseg.result", 1)
    assert list(data)[:2] == ["schema", "schema_version"] and data["measurements"] == {}
    assert read_sidecar(tmp_path / "i.json") == info


def test_csv_columns_are_the_sidecar_flattened_with_dotted_names(tmp_path: Path, mask: np.ndarray):
    base = make_info("01.tif", mask, None, model="m", model_path="m.pt", threshold=0.5, edited_by_hand=True)
    info = dataclasses.replace(base, measurements={"vessels": {"tortuosity": 1.25, "note": "ok"}})
    export_sidecar(tmp_path / "i.csv", info)
    header = (tmp_path / "i.csv").read_text().splitlines()[0].split(",")
    assert header == ["schema", "schema_version", "source", "model", "model_path", "threshold", "vessel_fraction",
                      "edited_by_hand", "width", "height", "exported_at", "measurements.vessels.tortuosity",
                      "measurements.vessels.note", "warnings"]
    assert read_sidecar(tmp_path / "i.csv") == info
    rows = list(csv.DictReader(export_table(tmp_path / "all.csv", [base, info]).open()))
    assert rows[0]["measurements.vessels.tortuosity"] == "" and rows[1]["measurements.vessels.tortuosity"] == "1.25"


def test_a_sidecar_from_a_newer_version_is_refused_and_an_unversioned_one_read(tmp_path: Path):
    fields = {"source": "a.png", "model": "m", "model_path": "m.pt", "threshold": 0.4, "vessel_fraction": 0.1,
              "edited_by_hand": False, "width": 3, "height": 2, "exported_at": "2025-01-01T00:00:00+00:00"}
    (tmp_path / "new.json").write_text(json.dumps({"schema": "retinaseg.result", "schema_version": 2, **fields}))
    with pytest.raises(ImageReadError, match="newer RetinaSeg.*version 2.*reads up to 1"):
        read_sidecar(tmp_path / "new.json")
    (tmp_path / "old.json").write_text(json.dumps(fields))  # written before sidecars had a schema
    assert read_sidecar(tmp_path / "old.json").threshold == 0.4
    (tmp_path / "other.json").write_text(json.dumps({"schema": "someone.else", **fields}))
    with pytest.raises(ImageReadError, match="not a RetinaSeg result sidecar"):
        read_sidecar(tmp_path / "other.json")


def test_everything_at_once_reads_back(tmp_path: Path, fundus: np.ndarray, mask: np.ndarray, prob: np.ndarray):
    paths = default_export_paths(tmp_path, "01")
    info = make_info("01.tif", mask, None, model="m", model_path="m.pt", threshold=0.5, edited_by_hand=False)
    written = export_all(paths, mask=mask, probability=prob, image=fundus, info=info)
    assert written == paths.all()
    assert np.array_equal(read_mask(paths.mask), mask)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.all())  # no temp files


def test_only_the_mask_when_nothing_else_is_given(tmp_path: Path, mask: np.ndarray):
    paths = default_export_paths(tmp_path, "x")
    assert export_all(paths, mask=mask) == [paths.mask]


def test_existing_files_are_listed_at_once_and_nothing_is_written(tmp_path: Path, fundus, mask, prob):
    paths = default_export_paths(tmp_path, "01")
    paths.mask.write_bytes(b"old mask")
    paths.overlay.write_bytes(b"old overlay")
    with pytest.raises(ExportExistsError) as info:
        export_all(paths, mask=mask, probability=prob, image=fundus)
    assert set(info.value.paths) == {paths.mask, paths.overlay}
    assert "2 files already exist" in str(info.value) and str(paths.overlay) in str(info.value)
    assert paths.mask.read_bytes() == b"old mask" and not paths.probability.exists()
    export_all(paths, mask=mask, probability=prob, image=fundus, overwrite=True)
    assert np.array_equal(read_mask(paths.mask), mask)


def test_single_file_exports_refuse_to_overwrite_unless_allowed(tmp_path: Path, mask: np.ndarray):
    target = tmp_path / "m.png"
    export_mask(target, mask)
    with pytest.raises(ExportExistsError, match="file already exists"):
        export_mask(target, mask)
    export_mask(target, ~mask, overwrite=True)
    assert np.array_equal(read_mask(target), ~mask)


def test_missing_folder_is_named(tmp_path: Path, mask: np.ndarray):
    with pytest.raises(ImageWriteError, match="missing.*does not exist"):
        export_mask(tmp_path / "missing" / "m.png", mask)


def test_read_only_folder_says_so(tmp_path: Path, mask: np.ndarray, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(export.os, "access", lambda path, mode: False)
    with pytest.raises(ImageWriteError, match="read-only; choose a folder you can write to"):
        export_mask(tmp_path / "m.png", mask)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_folder_on_disk(tmp_path: Path, mask: np.ndarray):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ImageWriteError, match="read-only"):
            export_mask(folder / "m.png", mask)
    finally:
        folder.chmod(0o755)


def test_a_full_disk_leaves_the_previous_file_intact(tmp_path: Path, mask: np.ndarray,
                                                      monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "m.png"
    export_mask(target, mask)
    before = target.read_bytes()

    def full_disk(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(ImageWriteError, match="m.png.*No space left"):
        export_mask(target, ~mask, overwrite=True)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]  # the temp file was removed


def test_sizes_are_checked_before_anything_is_written(tmp_path: Path, mask: np.ndarray):
    paths = default_export_paths(tmp_path, "01")
    with pytest.raises(ValueError, match="probability map is 3x2 but the mask is"):
        export_all(paths, mask=mask, probability=np.zeros((2, 3), np.float32))
    assert not any(tmp_path.iterdir())


def test_read_mask_accepts_0_1_files_and_refuses_another_size(tmp_path: Path):
    m = np.zeros((6, 8), np.uint8)
    m[2, 3] = 1
    Image.fromarray(m).save(tmp_path / "01.png")
    assert read_mask(tmp_path / "01.png").sum() == 1
    with pytest.raises(ImageReadError, match="mask is 8x6 but the image is 10x6"):
        read_mask(tmp_path / "01.png", (6, 10))


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_sidecar_warnings_round_trip(tmp_path: Path, mask: np.ndarray, suffix: str) -> None:
    from core.measure.plausibility import PlausibilityWarning

    found = [PlausibilityWarning("too_dark", "The image is too dark to judge (mean brightness 9 of 255)."),
             PlausibilityWarning("vessel_fraction_high", "40.0 % of the field of view is marked as vessel: check it.")]
    info = make_info("01.tif", mask, None, model="m", model_path="m.pt", threshold=0.5, edited_by_hand=False,
                     warnings=found)
    back = read_sidecar(export_sidecar(tmp_path / f"01_info{suffix}", info))
    assert back.warnings == tuple(w.as_dict() for w in found)
    clean = make_info("02.tif", mask, None, model="m", model_path="m.pt", threshold=0.5, edited_by_hand=False)
    assert read_sidecar(export_sidecar(tmp_path / f"02_info{suffix}", clean)).warnings == ()
