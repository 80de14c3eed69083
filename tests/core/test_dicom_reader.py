"""DICOM photographs open like any image: every IOD, colour model and decodable transfer syntax; one frame
at a time; what the file says about patient, study, eye, device and scale in a typed record."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from pydicom import uid
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from core.errors import ImageReadError
from core.io.dicom_metadata import DicomInfo
from core.io.dicom_reader import DicomReader, codestream_size, decodable_transfer_syntaxes, frame_count, is_dicom_file
from core.io.images import READABLE_SUFFIXES, is_image_file, list_images, load_image, read_image
from core.io.pillow_reader import PillowReader
from tests import dicom_factory as F

PHOTO = F.sample_photo(64)
GRAY16 = (np.arange(48 * 64).reshape(48, 64) * 13 % 65536).astype(np.uint16)


def _write(tmp_path: Path, ds: Dataset, name: str = "eye.dcm", **kw) -> Path:  # type: ignore[no-untyped-def]
    return F.write(ds, tmp_path / name, **kw)


# --- every kind of photograph --------------------------------------------------------------------

@pytest.mark.parametrize("sop_class", [F.OP_8BIT, F.SECONDARY_CAPTURE, F.VL_PHOTOGRAPHIC], ids=lambda u: u.name)
def test_colour_photographs_of_every_iod_load_pixel_for_pixel(tmp_path: Path, sop_class: uid.UID):
    loaded = load_image(_write(tmp_path, F.photograph(PHOTO, sop_class)))
    assert loaded.pixels.dtype == np.uint8 and np.array_equal(loaded.pixels, PHOTO)
    assert loaded.metadata.format == "DICOM" and loaded.metadata.size == (64, 64)
    assert loaded.metadata.dicom is not None and loaded.metadata.dicom.sop_class_uid == sop_class


def test_ophthalmic_16_bit_gray_stays_16_bit(tmp_path: Path):
    loaded = load_image(_write(tmp_path, F.photograph(GRAY16, F.OP_16BIT)))
    assert loaded.pixels.dtype == np.uint16 and np.array_equal(loaded.pixels, GRAY16)
    eight = read_image(tmp_path / "eye.dcm", mode="L")
    assert eight.dtype == np.uint8 and abs(int(eight.max()) - round(int(GRAY16.max()) / 257)) <= 1


def test_fewer_bits_stored_are_stretched_to_the_full_range(tmp_path: Path):
    twelve = (GRAY16 >> 4).astype(np.uint16)  # 0..4095
    loaded = load_image(_write(tmp_path, F.photograph(twelve, F.OP_16BIT, bits_stored=12)))
    assert np.array_equal(loaded.pixels, (twelve.astype(np.uint64) * 65535 + 2047) // 4095)


def test_monochrome1_is_inverted_so_zero_is_black(tmp_path: Path):
    gray = PHOTO[..., 1]
    loaded = load_image(_write(tmp_path, F.photograph(gray, F.SECONDARY_CAPTURE, photometric="MONOCHROME1")))
    assert np.array_equal(loaded.pixels, 255 - gray)


def test_ybr_full_is_converted_to_rgb(tmp_path: Path):
    from pydicom.pixels import convert_color_space

    ybr = convert_color_space(PHOTO, "RGB", "YBR_FULL")
    loaded = load_image(_write(tmp_path, F.photograph(ybr, photometric="YBR_FULL")))
    assert np.abs(loaded.pixels.astype(int) - PHOTO).max() <= 2  # integer rounding of the colour transform


def test_palette_colour_is_expanded_to_rgb(tmp_path: Path):
    index = (np.arange(32 * 40).reshape(32, 40) % 4).astype(np.uint8)
    ds = F.photograph(index, F.SECONDARY_CAPTURE, photometric="PALETTE COLOR")
    lut = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint16) * 257  # 16-bit entries
    for channel, name in enumerate(("Red", "Green", "Blue")):
        setattr(ds, f"{name}PaletteColorLookupTableDescriptor", [4, 0, 16])
        setattr(ds, f"{name}PaletteColorLookupTableData", lut[:, channel].astype("<u2").tobytes())
    loaded = load_image(_write(tmp_path, ds))
    assert np.array_equal(loaded.pixels, (lut // 257).astype(np.uint8)[index])


@pytest.mark.parametrize("syntax", [uid.ImplicitVRLittleEndian, uid.ExplicitVRBigEndian, uid.RLELossless,
                                    uid.JPEGBaseline8Bit, uid.JPEG2000Lossless, uid.JPEGLSLossless],
                         ids=lambda u: u.name)
def test_every_decodable_transfer_syntax_loads(tmp_path: Path, syntax: uid.UID):
    loaded = load_image(_write(tmp_path, F.with_transfer_syntax(F.photograph(PHOTO), syntax)))
    tolerance = 48 if syntax == uid.JPEGBaseline8Bit else 0  # lossy, 4:2:0 chroma on a 64 px image
    assert loaded.pixels.shape == PHOTO.shape and np.abs(loaded.pixels.astype(int) - PHOTO).max() <= tolerance
    if syntax == uid.JPEGBaseline8Bit:  # YBR_FULL_422 in the file, RGB out, close on average
        assert np.abs(loaded.pixels.astype(int) - PHOTO).mean() < 5


def test_the_decodable_transfer_syntaxes_are_stated():
    found = decodable_transfer_syntaxes()
    for name in ("Explicit VR Little Endian", "RLE Lossless", "JPEG Baseline (Process 1)",
                 "JPEG 2000 Image Compression", "JPEG-LS Lossless Image Compression"):
        assert found[name], name
    assert "JPEG Lossless, Non-Hierarchical (Process 14)" in found  # known, and reported as it is


def test_a_bare_dataset_without_preamble_is_read_by_its_suffix(tmp_path: Path):
    for syntax in (uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian):
        path = _write(tmp_path, F.with_transfer_syntax(F.photograph(PHOTO), syntax), f"bare{syntax[-1]}.dcm",
                      preamble=False)
        assert np.array_equal(load_image(path).pixels, PHOTO)


# --- frames ---------------------------------------------------------------------------------------

def test_a_frame_of_a_multi_frame_file_is_chosen_and_the_first_is_the_default(tmp_path: Path):
    frames = [PHOTO, PHOTO[::-1].copy(), PHOTO[:, ::-1].copy()]
    for syntax in (uid.ExplicitVRLittleEndian, uid.JPEG2000Lossless):
        path = _write(tmp_path, F.with_transfer_syntax(F.photograph(frames), syntax), f"multi{syntax[-3:]}.dcm")
        assert frame_count(path) == 3
        assert np.array_equal(load_image(path).pixels, frames[0])
        second = load_image(path, frame=2)
        assert np.array_equal(second.pixels, frames[2]) and second.metadata.frame == 2
        with pytest.raises(ImageReadError, match=r"no frame 3 \(the file has 3\)"):
            load_image(path, frame=3)


# --- metadata -------------------------------------------------------------------------------------

def test_the_metadata_holds_patient_study_eye_device_and_scale(tmp_path: Path):
    ds = F.photograph(PHOTO, laterality="L", pixel_spacing=[0.0065, 0.0070], horizontal_fov=45.0,
                      Manufacturer="Acme Optics", ManufacturerModelName="FundusCam 2")
    meta = load_image(_write(tmp_path, ds)).metadata
    info = meta.dicom
    assert isinstance(info, DicomInfo)
    assert (info.patient_id, info.patient_name, info.study_date) == (F.PATIENT_ID, "Synthetic, Testpatient",
                                                                      "2024-01-31")
    assert (info.laterality, info.eye, info.device) == ("L", "left eye", "Acme Optics FundusCam 2")
    assert info.sop_class_name == "Ophthalmic Photography 8 Bit Image Storage" and info.modality == "OP"
    assert meta.pixel_spacing_mm == info.pixel_spacing_mm == (0.0065, 0.0070)
    assert info.horizontal_fov_deg == 45.0 and info.title() == "Left eye, 2024-01-31"
    assert info.transfer_syntax == "Explicit VR Little Endian" and info.number_of_frames == 1


def test_malformed_metadata_is_left_empty_not_refused(tmp_path: Path):
    ds = F.photograph(PHOTO, laterality="", StudyDate="2024", Laterality="r")
    ds.add_new(0x00280030, "LO", ["abc", "-1"])  # Pixel Spacing that is not two positive numbers
    ds.add_new(0x0022000C, "FL", float("nan"))  # Horizontal Field of View
    meta = load_image(_write(tmp_path, ds)).metadata
    assert meta.pixel_spacing_mm is None and meta.dicom is not None
    assert meta.dicom.horizontal_fov_deg is None and meta.dicom.study_date == ""
    assert meta.dicom.laterality == "R" and meta.dicom.title() == "Right eye"  # series Laterality, any case


def test_the_field_of_view_gives_the_biomarkers_a_scale_when_there_is_no_pixel_spacing(tmp_path: Path):
    from core.measure.biomarkers.scale import MICROMETRES_PER_DEGREE, resolve_scale

    info = load_image(_write(tmp_path, F.photograph(PHOTO, horizontal_fov=45.0))).metadata.dicom
    assert info is not None and info.pixel_spacing_mm is None
    scale = resolve_scale(info.pixel_spacing_mm, info.horizontal_fov_deg, 1000.0, None)
    assert scale.um_per_px == pytest.approx(45 * MICROMETRES_PER_DEGREE / 1000)


# --- found everywhere an image is found -----------------------------------------------------------

def test_dicom_files_are_listed_with_or_without_a_suffix(tmp_path: Path):
    _write(tmp_path, F.photograph(PHOTO), "a.dcm")
    _write(tmp_path, F.photograph(PHOTO), "IM000001")
    (tmp_path / "notes").write_text("not an image")
    assert [p.name for p in list_images(tmp_path)] == ["IM000001", "a.dcm"]
    assert is_image_file(tmp_path / "IM000001") and is_dicom_file(tmp_path / "IM000001")
    assert not is_dicom_file(tmp_path / "notes")
    assert np.array_equal(load_image(tmp_path / "IM000001").pixels, PHOTO)
    assert READABLE_SUFFIXES == DicomReader.suffixes + PillowReader.suffixes


def test_a_dicom_whose_preamble_looks_like_a_tiff_is_read_as_dicom(tmp_path: Path):
    ds = F.photograph(PHOTO)
    ds.preamble = b"II*\x00" + b"\x00" * 124
    meta = load_image(_write(tmp_path, ds, "dual.tif")).metadata
    assert meta.format == "DICOM"


# --- hostile files --------------------------------------------------------------------------------

def _refusal(path: Path) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and "Traceback" not in message
    return message


def test_a_huge_declared_size_is_refused_from_the_header(tmp_path: Path):
    ds = F.photograph(PHOTO[:2, :2])
    ds.Rows = ds.Columns = 30000
    start = time.perf_counter()
    assert "too large (30000x30000 = 900 MP; limit 150 MP)" in _refusal(_write(tmp_path, ds))
    assert time.perf_counter() - start < 2.0


def test_truncated_files_are_refused(tmp_path: Path):
    data = F.to_bytes(F.photograph(PHOTO))
    for cut in (140, 400, len(data) // 2, len(data) - 5):
        (tmp_path / f"cut{cut}.dcm").write_bytes(data[:cut])
        _refusal(tmp_path / f"cut{cut}.dcm")


def test_missing_pixel_data_is_refused_with_the_reason(tmp_path: Path):
    ds = F.photograph(PHOTO)
    del ds.PixelData
    assert "has no pixel data" in _refusal(_write(tmp_path, ds))


def test_a_wrong_transfer_syntax_is_refused(tmp_path: Path):
    from pydicom.encaps import encapsulate

    ds = F.photograph(PHOTO)
    ds.PixelData = encapsulate([PHOTO.tobytes()])  # says JPEG, holds raw pixels
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = uid.JPEGBaseline8Bit
    assert "frame 0 has no readable JPEG header" in _refusal(_write(tmp_path, ds, "liar.dcm"))
    private = F.photograph(PHOTO)
    private.file_meta.TransferSyntaxUID = uid.UID("1.2.3.4.5")
    private.save_as(tmp_path / "private.dcm", enforce_file_format=True, implicit_vr=False, little_endian=True)
    assert "1.2.3.4.5 is not an image encoding RetinaSeg can decode" in _refusal(tmp_path / "private.dcm")
    compressed = F.with_transfer_syntax(F.photograph(PHOTO), uid.JPEGBaseline8Bit)
    compressed.file_meta.TransferSyntaxUID = uid.JPEGLosslessSV1  # needs gdcm or pylibjpeg
    assert "which this installation cannot decode (readable: " in _refusal(_write(tmp_path, compressed, "sv1.dcm"))


def test_a_codestream_larger_than_its_header_is_refused_before_decoding(tmp_path: Path):
    small = F.photograph(PHOTO[:16, :16].copy())
    for syntax in (uid.JPEGLSLossless, uid.JPEG2000Lossless, uid.JPEGBaseline8Bit):
        ds = F.with_transfer_syntax(F.photograph(PHOTO), syntax)  # 64x64 frames
        ds.Rows = ds.Columns = 16  # the DICOM header claims less
        ds.PhotometricInterpretation = small.PhotometricInterpretation if syntax != uid.JPEGBaseline8Bit \
            else ds.PhotometricInterpretation
        assert "frame 0 is 64x64x3 but the header says 16x16x3" in _refusal(_write(tmp_path, ds, "big.dcm"))


def test_codestream_sizes_are_read_from_jpeg_and_jpeg_2000_headers():
    for syntax in (uid.JPEGBaseline8Bit, uid.JPEGLSLossless, uid.JPEG2000Lossless):
        ds = F.with_transfer_syntax(F.photograph(PHOTO[:20, :30].copy()), syntax)
        from pydicom.encaps import get_frame

        assert codestream_size(get_frame(ds.PixelData, 0)) == (20, 30, 3)
    assert codestream_size(b"\xff\xd8\xff\xda\x00\x02") is None and codestream_size(b"nonsense") is None


def test_malformed_sequences_are_refused_not_raised(tmp_path: Path):
    data = bytearray(F.to_bytes(F.photograph(PHOTO, ReferencedImageSequence=Sequence([Dataset()]))))
    at = data.find(b"\x08\x00\x40\x11")  # (0008,1140) Referenced Image Sequence
    assert at > 0
    data[at + 8:at + 12] = b"\xff\xff\xff\x7f"  # item list says it runs far past the end of the file
    (tmp_path / "seq.dcm").write_bytes(bytes(data))
    _refusal(tmp_path / "seq.dcm")


@pytest.mark.parametrize("what,expected", [
    ("dicomdir", "a DICOMDIR"), ("seg", "a DICOM Segmentation"), ("float", "floating-point data"),
    ("samples4", "samples per pixel do not fit"), ("bits32", "bits per sample"), ("rows_text", "Rows is"),
    ("photometric", "colour model HSV is not supported"),
])
def test_files_that_are_not_photographs_are_refused_with_the_reason(tmp_path: Path, what: str, expected: str):
    ds = F.photograph(PHOTO)
    if what == "dicomdir":
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = uid.UID("1.2.840.10008.1.3.10")
    elif what == "seg":
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = uid.UID("1.2.840.10008.5.1.4.1.1.66.4")
    elif what == "float":
        del ds.PixelData
        ds.add_new(0x7FE00008, "OF", np.zeros(4, np.float32).tobytes())
    elif what == "samples4":
        ds.SamplesPerPixel = 4
    elif what == "bits32":
        ds.BitsAllocated = ds.BitsStored = 32
    elif what == "rows_text":
        ds.add_new(0x00280010, "US", 0)
        ds["Rows"].VR = "LO"
        ds.Rows = "many"
    elif what == "photometric":
        ds.PhotometricInterpretation = "HSV"
    assert expected in _refusal(_write(tmp_path, ds))
