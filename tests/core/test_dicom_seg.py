"""The vessel mask (and arteries and veins) of a DICOM photograph as a DICOM Segmentation: read back with
highdicom, pixel for pixel, referencing the source; written atomically; refused clearly where it cannot be."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import UID

from core.errors import ImageWriteError
from core.io.dicom_seg import (
    ARTERY_SEGMENT,
    VEIN_SEGMENT,
    VESSEL_SEGMENT,
    build_segmentation,
    export_dicom_seg,
    referenced_instances,
)
from core.io.export import default_export_paths, export_all
from core.io.outputs import OutputNames
from tests import dicom_factory as F

PHOTO = F.sample_photo(64)


def _masks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A vessel mask and arteries/veins that overlap where they cross."""
    vessel = PHOTO[..., 1] < np.percentile(PHOTO[..., 1], 15)
    left = np.zeros(vessel.shape, bool)
    left[:, :36] = True
    arteries, veins = vessel & left, vessel & (~left | (np.arange(64)[None, :] >= 30))
    return vessel, arteries, veins


def _read_back(path: Path, source_uid: str, segments: list[int]) -> np.ndarray:
    seg = hd.seg.segread(path)
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=[source_uid], segment_numbers=segments)
    return pixels[0].astype(bool)  # (rows, columns, segments)


@pytest.mark.parametrize("sop_class", [F.OP_8BIT, F.OP_16BIT, F.SECONDARY_CAPTURE, F.VL_PHOTOGRAPHIC],
                         ids=lambda u: u.name)
def test_the_seg_reads_back_pixel_for_pixel_and_references_its_source(tmp_path: Path, sop_class: UID):
    pixels = (PHOTO[..., 1].astype(np.uint16) * 257) if sop_class == F.OP_16BIT else PHOTO
    source = F.photograph(pixels, sop_class, pixel_spacing=[0.01, 0.01])
    src = F.write(source, tmp_path / "eye.dcm")
    vessel, arteries, veins = _masks()
    path = export_dicom_seg(tmp_path / "eye_seg.dcm", src, vessel, arteries, veins, model="vessels_unet16.pt")

    back = _read_back(path, source.SOPInstanceUID, [1, 2, 3])
    assert np.array_equal(back[..., 0], vessel)
    assert np.array_equal(back[..., 1], arteries) and np.array_equal(back[..., 2], veins)
    seg = dcmread(path)
    assert referenced_instances(seg) == [(str(sop_class), source.SOPInstanceUID)]
    assert seg.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4" and seg.Modality == "SEG"
    same = ("PatientID", "PatientName", "StudyInstanceUID", "StudyDate")
    assert [seg.get(k) for k in same] == [source.get(k) for k in same]
    assert seg.SeriesInstanceUID != source.SeriesInstanceUID
    assert "FrameOfReferenceUID" not in seg  # a photograph has none, and the SEG invents none


def test_segments_are_described_with_standard_codes(tmp_path: Path):
    src = F.write(F.photograph(PHOTO), tmp_path / "eye.dcm")
    vessel, arteries, veins = _masks()
    seg = hd.seg.segread(export_dicom_seg(tmp_path / "s.dcm", src, vessel, arteries, veins, edited_by_hand=True))
    found = {}
    for number in seg.get_segment_numbers():
        d = seg.get_segment_description(number)
        found[number] = (d.segment_label, d.segmented_property_type.value, d.segmented_property_type.scheme_designator,
                         d.segmented_property_category.value, d.algorithm_type.value)
    assert found == {
        1: (VESSEL_SEGMENT[0], "28758002", "SCT", "91723000", "SEMIAUTOMATIC"),
        2: (ARTERY_SEGMENT[0], "27988004", "SCT", "91723000", "SEMIAUTOMATIC"),
        3: (VEIN_SEGMENT[0], "85003000", "SCT", "91723000", "SEMIAUTOMATIC"),
    }


def test_a_vessel_only_seg_has_one_segment_and_an_empty_mask_is_kept(tmp_path: Path):
    source = F.photograph(PHOTO, F.SECONDARY_CAPTURE)
    src = F.write(source, tmp_path / "eye.dcm")
    path = export_dicom_seg(tmp_path / "s.dcm", src, np.zeros((64, 64), bool))
    assert list(hd.seg.segread(path).get_segment_numbers()) == [1]
    assert not _read_back(path, source.SOPInstanceUID, [1]).any()


def test_it_is_written_atomically_beside_the_other_exports(tmp_path: Path):
    source = F.photograph(PHOTO)
    src = F.write(source, tmp_path / "eye.dcm")
    vessel, _, _ = _masks()
    out = tmp_path / "out"
    out.mkdir()
    names = OutputNames(out, "eye")
    written = export_all(default_export_paths(out, "eye"), mask=vessel,
                         extra=[(names.seg, lambda p: export_dicom_seg(p, src, vessel, overwrite=True))])
    assert written == [names.mask, names.seg] and names.seg.name == "eye_seg.dcm"
    assert sorted(p.name for p in out.iterdir()) == ["eye_mask.png", "eye_seg.dcm"]  # no temp file left
    assert np.array_equal(_read_back(names.seg, source.SOPInstanceUID, [1])[..., 0], vessel)
    with pytest.raises(ImageWriteError, match="already exists"):
        export_dicom_seg(names.seg, src, vessel)


@pytest.mark.parametrize("why,expected", [
    ("plain", "eye.png: not a DICOM file"), ("size", "the mask is 10x10 but the source image is 64x64"),
    ("frames", "the source has 2 frames"), ("one_of_two", "arteries and veins are exported together"),
    ("incomplete", "not a DICOM image that can be referenced (no StudyInstanceUID)"),
])
def test_what_cannot_be_a_seg_is_refused_with_a_reason(tmp_path: Path, why: str, expected: str):
    vessel, arteries, _ = _masks()
    src = F.write(F.photograph([PHOTO, PHOTO] if why == "frames" else PHOTO), tmp_path / "eye.dcm")
    if why == "plain":
        src = tmp_path / "eye.png"
        src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    if why == "incomplete":
        ds = F.photograph(PHOTO)
        del ds.StudyInstanceUID
        src = F.write(ds, tmp_path / "eye.dcm")
    mask = np.zeros((10, 10), bool) if why == "size" else vessel
    with pytest.raises(ImageWriteError) as info:
        export_dicom_seg(tmp_path / "s.dcm", src, mask, arteries if why == "one_of_two" else None)
    assert expected in str(info.value) and str(info.value).startswith(f"{tmp_path / 's.dcm'}: ")
    assert not (tmp_path / "s.dcm").exists()


def test_stock_highdicom_refuses_the_ophthalmic_source_that_ours_accepts():
    """Why core.io.dicom_seg narrows highdicom: if this starts passing, the override can go."""
    source = F.photograph(PHOTO)
    vessel, _, _ = _masks()
    ours = build_segmentation(source, vessel)
    assert ours.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4"
    with pytest.raises(AttributeError, match="SharedFunctionalGroupsSequence"):
        hd.seg.Segmentation(
            source_images=[source], pixel_array=vessel, segmentation_type="BINARY",
            segment_descriptions=[hd.seg.SegmentDescription.from_dataset(ours.SegmentSequence[0])],
            series_instance_uid=hd.UID(), series_number=1, sop_instance_uid=hd.UID(), instance_number=1,
            manufacturer="x", manufacturer_model_name="x", software_versions="x", device_serial_number="x")
