"""load_image: pixels with what the file says about them, and the reader registry that picks the decoder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ImageReadError, ImageWriteError
from core.io.dicom_reader import DicomReader
from core.io.images import READABLE_SUFFIXES, is_image_file, list_images, load_image, read_image, write_image
from core.io.loaded import ImageMetadata, LoadedImage
from core.io.pillow_reader import UNKNOWN_FORMAT, PillowReader
from core.io.readers import ReaderRegistry
from core.io.writers import WRITERS


def _gradient(h: int = 20, w: int = 30) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([xx * 255 // w, yy * 255 // h, (xx + yy) * 127 // (h + w)]).astype(np.uint8)


# --- metadata ------------------------------------------------------------------------------------

def test_metadata_names_the_source_format_size_and_frame(tmp_path: Path):
    path = write_image(tmp_path / "eye.png", _gradient(20, 30))
    loaded = load_image(path)
    assert loaded.metadata == ImageMetadata(source=path, format="PNG", size=(30, 20))
    assert loaded.metadata.pixel_spacing_mm is None and loaded.metadata.orientation == 1
    assert np.array_equal(loaded.pixels, _gradient(20, 30))


def test_photographs_keep_gray_and_16_bit_as_they_are(tmp_path: Path):
    deep = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    assert load_image(write_image(tmp_path / "deep.png", deep)).pixels.dtype == np.uint16
    gray = load_image(write_image(tmp_path / "gray.png", deep.astype(np.uint8)))
    assert gray.pixels.shape == (3, 4) and gray.pixels.dtype == np.uint8
    assert load_image(tmp_path / "gray.png", mode="RGB").pixels.shape == (3, 4, 3)


def test_loaded_image_is_frozen(tmp_path: Path):
    loaded = load_image(write_image(tmp_path / "eye.png", _gradient()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.pixels = np.zeros(1)  # type: ignore[misc]


def test_exif_orientation_is_applied_and_recorded(tmp_path: Path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(_gradient(20, 30)).save(tmp_path / "portrait.jpg", exif=exif.tobytes())
    meta = load_image(tmp_path / "portrait.jpg").metadata
    assert (meta.format, meta.orientation, meta.size) == ("JPEG", 6, (20, 30))


def test_tiff_with_a_resolution_unit_gives_pixel_spacing(tmp_path: Path):
    Image.fromarray(_gradient()).save(tmp_path / "scan.tif", resolution_unit="cm", x_resolution=100, y_resolution=50)
    meta = load_image(tmp_path / "scan.tif").metadata
    assert meta.format == "TIFF"
    assert meta.pixel_spacing_mm == pytest.approx((0.2, 0.1))  # (vertical, horizontal): 50 and 100 px per cm


def test_tiff_resolution_without_a_unit_gives_no_spacing(tmp_path: Path):
    """Pillow reports such a file as 100 dpi; the file never said inches."""
    Image.fromarray(_gradient()).save(tmp_path / "scan.tif", x_resolution=100, y_resolution=50)
    assert load_image(tmp_path / "scan.tif").metadata.pixel_spacing_mm is None


def test_jpeg_without_a_resolution_unit_gives_no_spacing(tmp_path: Path):
    Image.fromarray(_gradient()).save(tmp_path / "eye.jpg")  # JFIF density 1:1, no unit
    assert load_image(tmp_path / "eye.jpg").metadata.pixel_spacing_mm is None


def test_jpeg_spacing_follows_the_orientation(tmp_path: Path):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_gradient()).save(tmp_path / "eye.jpg", dpi=(100, 50), exif=exif.tobytes())
    # stored: 50 dpi vertically, 100 horizontally; displayed turned by 90 degrees
    assert load_image(tmp_path / "eye.jpg").metadata.pixel_spacing_mm == pytest.approx((25.4 / 100, 25.4 / 50))


def test_png_physical_resolution_gives_spacing(tmp_path: Path):
    Image.fromarray(_gradient()).save(tmp_path / "eye.png", dpi=(254, 254))
    assert load_image(tmp_path / "eye.png").metadata.pixel_spacing_mm == pytest.approx((0.1, 0.1), rel=1e-3)


def test_a_later_frame_can_be_read(tmp_path: Path):
    first, second = _gradient(20, 30), _gradient(10, 12)
    Image.fromarray(first).save(tmp_path / "pages.tif", save_all=True, append_images=[Image.fromarray(second)])
    loaded = load_image(tmp_path / "pages.tif", frame=1)
    assert np.array_equal(loaded.pixels, second) and loaded.metadata.frame == 1
    with pytest.raises(ImageReadError, match="no frame 2 \\(the file has 2\\)"):
        load_image(tmp_path / "pages.tif", frame=2)
    with pytest.raises(ImageReadError, match="no frame -1"):
        load_image(tmp_path / "pages.tif", frame=-1)


# --- the reader registry -------------------------------------------------------------------------

def test_a_png_without_a_suffix_is_recognised_by_its_first_bytes(tmp_path: Path):
    write_image(tmp_path / "eye.png", _gradient()).rename(tmp_path / "IM000001")
    (tmp_path / "README").write_text("not an image")
    loaded = load_image(tmp_path / "IM000001")
    assert loaded.metadata.format == "PNG" and np.array_equal(loaded.pixels, _gradient())
    assert is_image_file(tmp_path / "IM000001") and not is_image_file(tmp_path / "README")
    assert [p.name for p in list_images(tmp_path)] == ["IM000001"]


def test_the_content_wins_over_a_wrong_suffix(tmp_path: Path):
    write_image(tmp_path / "eye.png", _gradient()).rename(tmp_path / "eye.jpg")
    assert load_image(tmp_path / "eye.jpg").metadata.format == "PNG"


@pytest.mark.parametrize("name", ["blob", "blob.xyz", "blob.png"])
def test_an_unknown_format_is_refused_with_the_clear_message(tmp_path: Path, name: str):
    (tmp_path / name).write_bytes(b"\x00\x01 definitely not an image " * 40)
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / name)
    assert str(info.value) == f"{tmp_path / name}: {UNKNOWN_FORMAT}"


def test_suffix_lists_derive_from_the_registered_readers():
    assert READABLE_SUFFIXES == DicomReader.suffixes + PillowReader.suffixes
    assert {".png", ".tif", ".tiff", ".jpg", ".jpeg"} <= set(READABLE_SUFFIXES)


class _FakeDicomReader:
    """What a DICOM reader looks like to the registry: 128 bytes of preamble, then 'DICM'."""

    name = "dicom"
    suffixes = (".dcm",)

    def sniff(self, head: bytes) -> bool:
        return head[128:132] == b"DICM"

    def read(self, path: Path, *, frame: int, mode: str | None, max_pixels: int) -> LoadedImage:
        meta = ImageMetadata(source=path, format="DICOM", size=(2, 1), pixel_spacing_mm=(0.01, 0.01),
                             frame=frame, extra={"Modality": "OP"})
        return LoadedImage(np.zeros((1, 2), np.uint16), meta)


def test_a_new_format_is_one_reader_in_the_registry(tmp_path: Path):
    registry = ReaderRegistry([_FakeDicomReader(), PillowReader()], unknown_message=UNKNOWN_FORMAT)
    (tmp_path / "IM0001").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    loaded = registry.read(tmp_path / "IM0001", frame=0, mode=None, max_pixels=10**6)
    assert loaded.metadata.format == "DICOM" and loaded.metadata.extra["Modality"] == "OP"
    assert registry.suffixes[0] == ".dcm" and registry.recognises(tmp_path / "IM0001")
    write_image(tmp_path / "eye.png", _gradient())
    assert registry.read(tmp_path / "eye.png", frame=0, mode=None, max_pixels=10**6).metadata.format == "PNG"


# --- the writer registry -------------------------------------------------------------------------

def test_writers_are_found_by_suffix_whatever_its_case(tmp_path: Path):
    assert {".png", ".tif", ".tiff", ".jpg", ".jpeg"} <= set(WRITERS.suffixes)
    assert load_image(write_image(tmp_path / "a.PNG", _gradient())).metadata.format == "PNG"
    with pytest.raises(ImageWriteError, match="unknown image format '.xyz'"):
        write_image(tmp_path / "a.xyz", _gradient())
    assert not (tmp_path / "a.xyz").exists()
