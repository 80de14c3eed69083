"""DICOM through batch and the command line: folders of .dcm, suffix-less and UID-named files, --frame,
--dicom-seg beside the other outputs (and resumed like them), sidecars without identity unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest

from core.batch import plan, run_batch
from core.cli import main
from core.io.images import is_image_file, list_images, read_image, write_image
from core.io.outputs import input_stem
from tests import dicom_factory as F
from tests.conftest import synthetic_fundus
from tests.core.test_batch import GrayPredictor

PHOTO = synthetic_fundus(48, 56)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """What a PACS export looks like: a .dcm, a file without suffix, two files named by their UID, a PNG."""
    folder = tmp_path / "archive"
    folder.mkdir()
    F.write(F.photograph(PHOTO), folder / "eye.dcm")
    F.write(F.photograph(PHOTO[::-1].copy(), laterality="L"), folder / "IM0001")
    F.write(F.photograph(PHOTO), folder / "1.2.840.99.1.7")
    F.write(F.photograph([PHOTO, PHOTO[:, ::-1].copy()]), folder / "1.2.840.99.1.8")
    F.write(F.photograph(PHOTO), folder / "notes.txt")  # a DICOM under a foreign suffix is not guessed at
    write_image(folder / "plain.png", PHOTO)
    return folder


def test_uid_named_files_are_images_and_keep_their_whole_name_as_stem(archive: Path):
    assert is_image_file(archive / "1.2.840.99.1.7") and not is_image_file(archive / "notes.txt")
    assert [p.name for p in list_images(archive)] == ["1.2.840.99.1.7", "1.2.840.99.1.8", "IM0001", "eye.dcm",
                                                     "plain.png"]
    assert input_stem(archive / "1.2.840.99.1.7") == "1.2.840.99.1.7" and input_stem(archive / "eye.dcm") == "eye"


def test_a_batch_writes_a_seg_for_each_dicom_input_only(archive: Path, tmp_path: Path):
    out = tmp_path / "out"
    jobs = plan([archive], out, save_prob=False, overwrite=False, write_info=True, dicom_seg=True)
    assert not [j.refused for j in jobs.jobs if j.refused]  # two UID-named files of one series: no clash
    assert {j.source.name: j.seg is not None for j in jobs.jobs} == {
        "1.2.840.99.1.7": True, "1.2.840.99.1.8": True, "IM0001": True, "eye.dcm": True, "plain.png": False}
    summary = run_batch(jobs, GrayPredictor())
    failed = dict((p.name, why) for p, why in summary.failed)
    assert set(failed) == {"1.2.840.99.1.8"} and "2 frames" in failed["1.2.840.99.1.8"]  # stereo: no SEG
    for stem in ("eye", "IM0001", "1.2.840.99.1.7"):
        mask = read_image(out / f"{stem}_mask.png", mode="L") > 127
        seg = hd.seg.segread(out / f"{stem}_seg.dcm")
        source = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
        back = seg.get_pixels_by_source_instance(source_sop_instance_uids=[source], segment_numbers=[1])
        assert np.array_equal(back[0, ..., 0].astype(bool), mask)
    assert not (out / "plain_seg.dcm").exists() and (out / "plain_mask.png").exists()


def test_the_sidecar_of_a_dicom_input_names_no_patient_unless_asked(archive: Path, tmp_path: Path):
    for include, out in ((False, tmp_path / "a"), (True, tmp_path / "b")):
        run_batch(plan([archive / "IM0001"], out, save_prob=False, overwrite=False, write_info=True,
                       include_identifiers=include), GrayPredictor())
        text = (out / "IM0001_info.json").read_text()
        doc = json.loads(text)
        assert doc["dicom"]["laterality"] == "L" and doc["dicom"]["study_ref"]
        assert (F.PATIENT_ID in text) is include and ("Synthetic" in text) is include


def test_a_rerun_skips_complete_dicom_results_and_redoes_a_missing_seg(archive: Path, tmp_path: Path):
    out = tmp_path / "out"

    def run():  # type: ignore[no-untyped-def]
        return run_batch(plan([archive / "eye.dcm"], out, save_prob=False, overwrite=False, dicom_seg=True),
                         GrayPredictor())

    assert run().done and (out / "eye_seg.dcm").exists()
    again = run()
    assert not again.written  # complete: skipped
    (out / "eye_seg.dcm").unlink()
    third = run()
    assert out / "eye_seg.dcm" in third.written and out / "eye_mask.png" in third.written


def test_frame_chooses_the_frame_of_every_input(archive: Path, tmp_path: Path):
    out = tmp_path / "out"
    summary = run_batch(plan([archive / "1.2.840.99.1.8"], out, save_prob=True, overwrite=False, frame=1),
                        GrayPredictor())
    assert summary.ok
    prob = read_image(out / "1.2.840.99.1.8_prob.png", mode=None).astype(np.float64) / 65535
    assert np.allclose(prob, PHOTO[:, ::-1].mean(axis=2) / 255.0, atol=1e-4)  # the second frame's gray
    failed = run_batch(plan([archive / "eye.dcm"], tmp_path / "o2", save_prob=False, overwrite=False, frame=1),
                       GrayPredictor())
    assert "no frame 1 (the file has 1)" in failed.failed[0][1]


def test_the_command_line_takes_frame_dicom_seg_and_identifiers(archive: Path, tmp_path: Path,
                                                                 tiny_checkpoint_path: Path, capsys):  # noqa: ANN001
    out = tmp_path / "out"
    rc = main(["segment", str(archive / "eye.dcm"), str(archive / "plain.png"), "-o", str(out), "--model",
               str(tiny_checkpoint_path), "--device", "cpu", "--dicom-seg", "--info", "--frame", "0"])
    assert rc == 0
    assert "1 input(s) are not DICOM files; they get no _seg.dcm" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["eye_info.json", "eye_mask.png", "eye_seg.dcm",
                                                    "plain_info.json", "plain_mask.png"]
    assert F.PATIENT_ID not in (out / "eye_info.json").read_text()
    rc = main(["segment", str(archive / "eye.dcm"), "-o", str(tmp_path / "named"), "--model",
               str(tiny_checkpoint_path), "--device", "cpu", "--info", "--include-patient-identifiers"])
    assert rc == 0 and F.PATIENT_ID in (tmp_path / "named" / "eye_info.json").read_text()
    assert main(["segment", str(archive / "eye.dcm"), "-o", str(out), "--frame", "-1"]) == 2
    assert "--frame counts from 0" in capsys.readouterr().err
