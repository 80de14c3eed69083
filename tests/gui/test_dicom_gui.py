"""DICOM in the app: opened like any image (file, folder, drop), an info panel with what the file says, a
title without the patient, a frame chosen for multi-frame files, and an export with a DICOM SEG and no
identity in the sidecar unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from PySide6.QtWidgets import QInputDialog

import gui.main_window
from gui.dialogs.frame_choice import ask_frame
from gui.widgets.dicom_info import info_rows
from tests import dicom_factory as F
from tests.gui.conftest import FakeService
from tests.gui.test_main_window import segment_and_wait

PHOTO = F.sample_photo(96)


@pytest.fixture
def dicom_file(tmp_path: Path) -> Path:
    ds = F.photograph(PHOTO, laterality="R", pixel_spacing=[0.01, 0.01], horizontal_fov=45.0)
    return F.write(ds, tmp_path / "IM0001.dcm")


def test_a_dicom_file_opens_with_its_facts_in_the_panel_and_eye_and_date_in_the_title(make_window, dicom_file):  # noqa: ANN001
    window = make_window(FakeService())
    assert window.open_path(dicom_file)
    doc = window.document
    assert doc is not None and np.array_equal(doc.image, PHOTO)
    panel = window.dicom_info
    assert panel.isVisible()
    for shown in (F.PATIENT_ID, "Synthetic, Testpatient", "2024-01-31", "Right eye", "Acme Optics FundusCam 1",
                  "10.00 × 10.00 µm", "45°"):
        assert shown in panel.text(), shown
    title = window.windowTitle()
    assert title.startswith("Right eye, 2024-01-31") and F.PATIENT_ID not in title and "Synthetic" not in title
    assert "IM0001" not in title


def test_the_panel_hides_for_other_images(make_window, dicom_file, image_file):  # noqa: ANN001
    window = make_window(FakeService())
    window.open_path(dicom_file)
    window.open_path(image_file)
    assert not window.dicom_info.isVisible() and "eye.png" in window.windowTitle()


def test_folders_and_drops_take_dicom_files_too(make_window, dicom_file, image_file, tmp_path: Path):  # noqa: ANN001
    window = make_window(FakeService())
    F.write(F.photograph(PHOTO, laterality="L"), tmp_path / "IM0002")  # no suffix, as archives export them
    assert window.open_path(tmp_path)
    assert {p.name for p in window.session.paths} == {"IM0001.dcm", "IM0002", "eye.png"}
    assert window.open_paths([dicom_file, image_file])
    assert [p.name for p in window.session.paths] == ["IM0001.dcm", "eye.png"]


def test_the_frame_of_a_multi_frame_file_is_chosen(make_window, tmp_path: Path, monkeypatch):  # noqa: ANN001
    frames = [PHOTO, PHOTO[::-1].copy()]
    path = F.write(F.photograph(frames, laterality="L"), tmp_path / "stereo.dcm")
    asked = []
    monkeypatch.setattr(gui.main_window, "ask_frame", lambda _p, name, count: asked.append((name, count)) or 1)
    window = make_window(FakeService())
    window.headless = False  # headless runs take the first frame without asking
    assert window.open_path(path)
    assert asked == [("stereo.dcm", 2)]
    assert np.array_equal(window.document.image, frames[1]) and window.document.metadata.frame == 1
    assert window.windowTitle().startswith("Left eye, 2024-01-31, frame 2")
    assert "Frame" in window.dicom_info.text() and "2 of 2" in window.dicom_info.text()
    monkeypatch.setattr(gui.main_window, "ask_frame", lambda *_: None)  # Cancel
    assert not window.open_path(path)


def test_ask_frame_asks_only_when_there_is_a_choice(monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(QInputDialog, "getInt", lambda *_a, **_k: pytest.fail("asked for a single frame"))
    assert ask_frame(None, "one.dcm", 1) == 0
    monkeypatch.setattr(QInputDialog, "getInt", lambda *_a, **_k: (3, True))
    assert ask_frame(None, "three.dcm", 3) == 2
    monkeypatch.setattr(QInputDialog, "getInt", lambda *_a, **_k: (1, False))
    assert ask_frame(None, "three.dcm", 3) is None


def test_info_rows_leave_out_what_the_file_does_not_say():
    from core.io.dicom_metadata import DicomInfo

    assert info_rows(DicomInfo(laterality="L")) == [("Eye", "Left eye")]


def test_export_writes_a_seg_and_names_no_patient_unless_asked(qtbot, make_window, dicom_file, tmp_path: Path):  # noqa: ANN001
    window = make_window(FakeService())
    assert window.open_path(dicom_file)
    segment_and_wait(qtbot, window)
    out = tmp_path / "out"
    out.mkdir()
    assert window.export(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["IM0001_biomarkers.csv", "IM0001_info.json", "IM0001_mask.png",
                                                    "IM0001_overlay.png", "IM0001_prob.png", "IM0001_seg.dcm"]
    seg = hd.seg.segread(out / "IM0001_seg.dcm")
    source_uid = window.document.metadata.dicom.sop_instance_uid
    back = seg.get_pixels_by_source_instance(source_sop_instance_uids=[source_uid], segment_numbers=[1])
    assert np.array_equal(back[0, ..., 0].astype(bool), window.document.mask)
    text = (out / "IM0001_info.json").read_text()
    assert F.PATIENT_ID not in text and "Synthetic" not in text and json.loads(text)["dicom"]["study_ref"]

    window.act_identifiers.trigger()  # File > Include Patient Identifiers in Exports
    other = tmp_path / "other"
    other.mkdir()
    assert window.export(str(other))
    assert json.loads((other / "IM0001_info.json").read_text())["dicom"]["patient_id"] == F.PATIENT_ID
