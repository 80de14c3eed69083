"""Exports from a DICOM source carry no patient identity into PNG/JSON/CSV unless the user asks; the sidecar
links results by a pseudonymous study reference instead."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from core.io.dicom_privacy import pseudonym, sidecar_fields
from core.io.export import default_export_paths, export_all, export_sidecar, make_info, read_sidecar
from core.io.images import load_image
from tests import dicom_factory as F

PHOTO = F.sample_photo(64)
#: Everything of the synthetic patient that must not leak.
IDENTITY = (F.PATIENT_ID, "Synthetic", "Testpatient", F.STUDY_DATE, "2024-01-31", "19700101")


def _loaded(tmp_path: Path, folder: str = "Synthetic_Testpatient", study_uid: str = "1.2.3.4.5.6.7"):  # type: ignore[no-untyped-def]
    """A DICOM source in a folder named like a patient, as archives often name them."""
    (tmp_path / folder).mkdir(exist_ok=True)
    ds = F.photograph(PHOTO, laterality="L", pixel_spacing=[0.007, 0.007], horizontal_fov=45.0,
                      study_uid=study_uid)
    path = F.write(ds, tmp_path / folder / "IM0001.dcm")
    return path, load_image(path), ds


def _export(tmp_path: Path, include: bool) -> list[Path]:
    path, loaded, _ = _loaded(tmp_path)
    mask = loaded.pixels[..., 1] < 80
    info = make_info(path, mask, None, model="m", model_path="m.pt", threshold=0.5, edited_by_hand=False,
                     metadata=loaded.metadata, include_identifiers=include)
    out = tmp_path / "out"
    out.mkdir()
    written = export_all(default_export_paths(out, path.stem), mask=mask, probability=mask * 0.8,
                         image=loaded.pixels, info=info)
    return [*written, export_sidecar(out / "IM0001_info.csv", info)]


def _all_text(paths: list[Path]) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in paths)


def test_exports_from_dicom_carry_no_identity_by_default(tmp_path: Path):
    written = _export(tmp_path, include=False)
    assert {p.suffix for p in written} == {".png", ".json", ".csv"}
    text = _all_text(written)
    for secret in IDENTITY + ("1.2.3.4.5.6.7",):
        assert secret not in text, secret
    for png in (p for p in written if p.suffix == ".png"):
        with Image.open(png) as img:
            assert not {k: v for k, v in img.info.items() if k not in ("dpi",)}, img.info  # no text chunks at all


def test_the_sidecar_names_the_study_by_a_pseudonymous_reference(tmp_path: Path):
    written = _export(tmp_path, include=False)
    doc = json.loads(next(p for p in written if p.suffix == ".json").read_text())
    assert doc["source"] == "IM0001.dcm"  # no folders: they often carry the patient's name
    assert doc["dicom"]["study_ref"] == pseudonym("1.2.3.4.5.6.7") and len(doc["dicom"]["study_ref"]) == 16
    assert doc["dicom"]["laterality"] == "L" and doc["dicom"]["pixel_spacing_mm"] == [0.007, 0.007]
    assert doc["dicom"]["horizontal_fov_deg"] == 45.0 and doc["dicom"]["frame"] == 0
    assert "patient_id" not in doc["dicom"]
    back = read_sidecar(next(p for p in written if p.suffix == ".csv"))
    assert back.dicom["study_ref"] == doc["dicom"]["study_ref"] and back.source == "IM0001.dcm"


def test_the_study_reference_is_stable_and_differs_between_studies(tmp_path: Path):
    assert pseudonym("1.2.3") == pseudonym("1.2.3") != pseudonym("1.2.4")
    assert pseudonym("") == ""
    _, a, _ = _loaded(tmp_path, "a", "1.2.840.1")
    _, b, _ = _loaded(tmp_path, "b", "1.2.840.1")
    assert a.metadata.dicom is not None and b.metadata.dicom is not None
    assert sidecar_fields(a.metadata.dicom)["study_ref"] == sidecar_fields(b.metadata.dicom)["study_ref"]
    assert sidecar_fields(a.metadata.dicom)["image_ref"] != sidecar_fields(b.metadata.dicom)["image_ref"]


def test_identifiers_are_included_only_when_asked(tmp_path: Path):
    written = _export(tmp_path, include=True)
    doc = json.loads(next(p for p in written if p.suffix == ".json").read_text())
    assert doc["dicom"]["patient_id"] == F.PATIENT_ID and doc["dicom"]["patient_name"] == "Synthetic, Testpatient"
    assert doc["dicom"]["study_date"] == "2024-01-31" and doc["dicom"]["study_instance_uid"] == "1.2.3.4.5.6.7"
    assert doc["source"].endswith("Synthetic_Testpatient/IM0001.dcm")
    pngs = [p for p in written if p.suffix == ".png"]
    assert F.PATIENT_ID not in _all_text(pngs)  # pixels stay pixels even then


def test_sidecars_of_plain_images_are_unchanged(tmp_path: Path):
    info = make_info("/data/01.tif", np.zeros((4, 4), bool), None, model="m", model_path="m.pt", threshold=0.5,
                     edited_by_hand=False)
    assert "dicom" not in info.as_dict() and info.source == "/data/01.tif"
