"""DICOM photographs in: Ophthalmic Photography 8/16 bit, Secondary Capture, VL Photographic and other images.

Pixels come out like every other reader's (H×W×3 uint8 colour, H×W uint8 or uint16 gray; ``mode`` "RGB"
or "L" converts), one frame at a time, with a :class:`~core.io.dicom_metadata.DicomInfo` in the metadata.

Decodable transfer syntaxes are those pydicom can decode with the packages installed: uncompressed
(implicit / explicit VR little endian, explicit big endian, deflated), RLE lossless (pydicom's own
decoder), JPEG baseline and extended (Pillow), JPEG 2000 (Pillow with OpenJPEG), JPEG-LS (pyjpegls, a
highdicom dependency). JPEG lossless (process 14) and HTJ2K need gdcm or pylibjpeg, which are not
installed, and are refused with a message saying so: :func:`decodable_transfer_syntaxes` lists them.

Hostile files (truncated, wrong transfer syntax, no pixel data, 30000×30000 declared, malformed
sequences, compressed frames whose own header disagrees with the DICOM one) are refused with one line
naming the file, like any other bad image; sizes are checked from the header before anything is decoded.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ImageReadError
from core.io.dicom_metadata import dicom_info, number_of_frames
from core.io.loaded import ImageMetadata, LoadedImage

SUFFIXES = (".dcm", ".dicom")
#: Part 10 files: a 128-byte preamble, then these four bytes.
MAGIC_OFFSET, MAGIC = 128, b"DICM"

_PHOTOMETRIC = {"MONOCHROME1": 1, "MONOCHROME2": 1, "PALETTE COLOR": 1, "RGB": 3, "YBR_FULL": 3,
                "YBR_FULL_422": 3, "YBR_ICT": 3, "YBR_RCT": 3}
#: Kinds of DICOM objects that carry no photograph, with what to tell the user.
_NOT_PHOTOGRAPHS = {
    "1.2.840.10008.1.3.10": "a DICOMDIR (the index of a DICOM disc or folder), not an image; open the image files "
                            "it lists",
    "1.2.840.10008.5.1.4.1.1.66.4": "a DICOM Segmentation (a result, such as RetinaSeg's own _seg.dcm), "
                                    "not a photograph",
}
_JPEG_FAMILY_PREFIX = "1.2.840.10008.1.2.4."
_JPEG_LS = ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81")
#: What a derived object (a DICOM SEG) needs from its source.
_REFERENCED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Rows", "Columns")
#: SOF markers of JPEG (all processes) and JPEG-LS (0xF7).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
#: What the decoders raise on damaged input (pydicom and its plugins use nearly every built-in type).
_DAMAGED = (ValueError, TypeError, KeyError, IndexError, AttributeError, LookupError, OSError, EOFError,
            RuntimeError, NotImplementedError, OverflowError, ZeroDivisionError, UnicodeError, struct.error,
            zlib.error)


@dataclass(frozen=True)
class _Header:
    """The pixel description the decoder will follow, checked before decoding."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    frames: int
    encapsulated: bool

    @property
    def maxval(self) -> int:
        return (1 << self.bits_stored) - 1


class DicomReader:
    """DICOM Part 10 files (and bare datasets named ``.dcm``): one frame of pixels plus :class:`DicomInfo`."""

    name = "dicom"
    suffixes = SUFFIXES

    def sniff(self, head: bytes) -> bool:
        return head[MAGIC_OFFSET:MAGIC_OFFSET + 4] == MAGIC

    def read(self, path: Path, *, frame: int, mode: str | None, max_pixels: int) -> LoadedImage:
        p = path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom warns about every odd value; we judge the result
                ds = _read_dataset(p)
                header = _check_header(ds, p, frame, max_pixels)
                if header.encapsulated:
                    _check_codestream(ds, header, frame, p)
                arr = _normalise(_decode(ds, frame), ds, header, p)
                info = dicom_info(ds)
        except ImageReadError:
            raise
        except MemoryError as exc:
            raise ImageReadError(f"{p}: not enough memory to read this image") from exc
        except RecursionError as exc:
            raise ImageReadError(f"{p}: DICOM file is damaged (sequences nested too deeply)") from exc
        except (PermissionError, FileNotFoundError, IsADirectoryError) as exc:
            raise ImageReadError(f"{p}: cannot read ({exc.strerror or exc})") from exc
        except _damaged() as exc:
            raise ImageReadError(f"{p}: DICOM file is damaged or truncated ({_one_line(exc)})") from exc
        pixels = _in_mode(arr, mode)
        meta = ImageMetadata(source=p, format="DICOM", size=(pixels.shape[1], pixels.shape[0]),
                             pixel_spacing_mm=info.pixel_spacing_mm, frame=frame, dicom=info)
        return LoadedImage(pixels, meta)


def is_dicom_file(path: str | Path) -> bool:
    """True for a file named like DICOM or starting like DICOM (it may still be refused when read)."""
    p = Path(path)
    if p.suffix.lower() in SUFFIXES:
        return True
    try:
        with open(p, "rb") as f:
            return DicomReader().sniff(f.read(MAGIC_OFFSET + 4))
    except OSError:
        return False


def frame_count(path: str | Path) -> int:
    """Frames of a DICOM image without decoding any (1 for anything unreadable: the read then says why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return number_of_frames(_read_dataset(Path(path), stop_before_pixels=True))
    except (ImageReadError, MemoryError, RecursionError, *_damaged()):
        return 1


def decodable_transfer_syntaxes() -> dict[str, bool]:
    """Every transfer syntax pydicom knows a decoder for -> whether this installation can decode it."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import AllTransferSyntaxes

    found = {}
    for uid in AllTransferSyntaxes:
        try:
            found[uid.name] = get_decoder(uid).is_available
        except NotImplementedError:  # e.g. MPEG video: no pixel decoder at all
            continue
    return found


def read_source_dataset(path: str | Path) -> Any:
    """The dataset of a DICOM image without its pixel data (what a DICOM Segmentation references)."""
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: file not found")
    if not is_dicom_file(p):
        raise ImageReadError(f"{p}: not a DICOM file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = _read_dataset(p, stop_before_pixels=True)
    except (MemoryError, RecursionError, *_damaged()) as exc:
        raise ImageReadError(f"{p}: not a readable DICOM file ({_one_line(exc)})") from exc
    missing = [k for k in _REFERENCED if k not in ds]
    if missing:
        raise ImageReadError(f"{p}: not a DICOM image that can be referenced (no {', '.join(missing)})")
    return ds


# --- reading and checking ------------------------------------------------------------------------

def _read_dataset(p: Path, stop_before_pixels: bool = False) -> Any:
    """The dataset; a file without the Part 10 preamble is read as a bare dataset (``force``)."""
    from pydicom import dcmread
    from pydicom.dataset import FileMetaDataset
    from pydicom.errors import InvalidDicomError
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    with _ClampedReader(io.FileIO(p, "rb")) as f:
        has_magic = f.read(MAGIC_OFFSET + 4)[MAGIC_OFFSET:] == MAGIC
        f.seek(0)
        try:
            ds = dcmread(f, force=not has_magic, stop_before_pixels=stop_before_pixels)
        except InvalidDicomError as exc:
            raise ImageReadError(f"{p}: not a DICOM file ({_one_line(exc)})") from exc
    if not has_magic and len(ds) == 0:
        raise ImageReadError(f"{p}: not a DICOM file")
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:  # bare datasets say nothing: take how it was read
        meta = FileMetaDataset(meta) if meta is not None else FileMetaDataset()
        implicit = getattr(ds, "is_implicit_VR", None)
        if implicit is None:
            implicit = bool(ds.original_encoding[0]) if ds.original_encoding[0] is not None else True
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.file_meta = meta
    return ds


def _damaged() -> tuple[type[BaseException], ...]:
    """:data:`_DAMAGED` and pydicom's own exceptions (not built-in subclasses), imported when needed."""
    from pydicom.errors import BytesLengthException, InvalidDicomError

    return (*_DAMAGED, BytesLengthException, InvalidDicomError)


class _ClampedReader(io.BufferedReader):
    """A file whose ``read(n)`` never asks for more than what is left: CPython allocates ``n`` bytes up
    front, so one element claiming 2 GB in a 1 kB file would cost 2 GB before pydicom saw the short read."""

    def __init__(self, raw: io.FileIO) -> None:
        super().__init__(raw)
        self._size = os.fstat(raw.fileno()).st_size

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and size > 0:
            size = min(size, max(0, self._size - self.tell()))
        return super().read(size)


def _check_header(ds: Any, p: Path, frame: int, max_pixels: int) -> _Header:
    """Everything the decoder will rely on, refused with a reason before any pixel is decoded."""
    from pydicom.pixels import get_decoder

    sop_class = str(ds.get("SOPClassUID", "") or ds.file_meta.get("MediaStorageSOPClassUID", "") or "")
    if sop_class in _NOT_PHOTOGRAPHS:
        raise ImageReadError(f"{p}: {_NOT_PHOTOGRAPHS[sop_class]}")
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise ImageReadError(f"{p}: holds floating-point data (a parametric map), not a photograph")
        kind = getattr(ds.get("SOPClassUID"), "name", "") or "DICOM file"
        raise ImageReadError(f"{p}: has no pixel data (a {kind} without an image)")
    rows, columns = _number(ds, "Rows", p), _number(ds, "Columns", p)
    if rows <= 0 or columns <= 0:
        raise ImageReadError(f"{p}: image has no pixels ({columns}x{rows})")
    if rows * columns > max_pixels:
        raise ImageReadError(f"{p}: image is too large ({columns}x{rows} = {rows * columns / 1e6:.0f} MP; "
                             f"limit {max_pixels / 1e6:.0f} MP)")
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    samples = _number(ds, "SamplesPerPixel", p, default=1)
    if photometric not in _PHOTOMETRIC:
        raise ImageReadError(f"{p}: colour model {photometric or '(none)'} is not supported "
                             f"(readable: {', '.join(_PHOTOMETRIC)})")
    if samples != _PHOTOMETRIC[photometric]:
        raise ImageReadError(f"{p}: {samples} samples per pixel do not fit the colour model {photometric}")
    bits_allocated = _number(ds, "BitsAllocated", p)
    bits_stored = _number(ds, "BitsStored", p, default=bits_allocated)
    if bits_allocated not in (1, 8, 16) or not 1 <= bits_stored <= bits_allocated:
        raise ImageReadError(f"{p}: {bits_stored} of {bits_allocated} bits per sample is not a photograph's "
                             "(readable: up to 16 bits)")
    frames = number_of_frames(ds)
    if frame >= frames:
        raise ImageReadError(f"{p}: no frame {frame} (the file has {frames})")
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise ImageReadError(f"{p}: transfer syntax {getattr(syntax, 'name', syntax)} is not an image encoding "
                             "RetinaSeg can decode") from None
    if not decoder.is_available:
        readable = ", ".join(name for name, ok in decodable_transfer_syntaxes().items() if ok)
        raise ImageReadError(f"{p}: compressed as {syntax.name}, which this installation cannot decode "
                             f"(readable: {readable})")
    return _Header(rows, columns, samples, bits_allocated, bits_stored, _number(ds, "PixelRepresentation", p, 0) == 1,
                   photometric, frames, bool(syntax.is_encapsulated))


def _number(ds: Any, keyword: str, p: Path, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    if isinstance(value, list | tuple) or value is None or str(value).strip() == "":
        if default is None:
            raise ImageReadError(f"{p}: DICOM file is damaged (no valid {keyword})")
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise ImageReadError(f"{p}: DICOM file is damaged ({keyword} is {str(value)[:40]!r})") from None


def _check_codestream(ds: Any, h: _Header, frame: int, p: Path) -> None:
    """The compressed frame's own header must describe the image the DICOM header describes.

    Decoders allocate by the codestream's header: a JPEG-LS frame declaring 60000×60000 inside a
    100×100 DICOM would otherwise cost gigabytes before failing.
    """
    from pydicom.encaps import get_frame

    syntax = str(ds.file_meta.TransferSyntaxUID)
    if not syntax.startswith(_JPEG_FAMILY_PREFIX):
        return  # RLE: decoded by the DICOM header's size
    data = get_frame(ds.PixelData, frame, number_of_frames=h.frames)
    size = codestream_size(data[:1 << 16])
    if size is None:
        raise ImageReadError(f"{p}: DICOM file is damaged (frame {frame} has no readable JPEG header)")
    if syntax in _JPEG_LS and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        # CharLS can spin for seconds on a cut stream (measured: 7 s for 80 bytes of a 12x10 image)
        raise ImageReadError(f"{p}: DICOM file is damaged (frame {frame} is cut short: no JPEG-LS end marker)")
    rows, columns, components = size
    if (rows, columns) != (h.rows, h.columns) or components != h.samples:
        raise ImageReadError(f"{p}: DICOM file is damaged (frame {frame} is {columns}x{rows}x{components} but the "
                             f"header says {h.columns}x{h.rows}x{h.samples})")


def codestream_size(data: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from a JPEG / JPEG-LS SOF or a JPEG 2000 SIZ marker; None if unreadable."""
    if data[:2] == b"\xff\xd8":
        pos = 2
        while pos + 4 <= len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
                pos += 2
                continue
            (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
            if marker in _SOF:
                if pos + 10 > len(data):
                    return None
                rows, columns = struct.unpack(">HH", data[pos + 5:pos + 9])
                return rows, columns, data[pos + 9]
            if marker == 0xDA or length < 2:  # start of scan before any frame header
                return None
            pos += 2 + length
        return None
    offset = _jp2_codestream_offset(data)
    if offset is None or data[offset:offset + 4] != b"\xff\x4f\xff\x51" or len(data) < offset + 42:
        return None
    x, y, x0, y0 = struct.unpack(">IIII", data[offset + 8:offset + 24])
    (components,) = struct.unpack(">H", data[offset + 40:offset + 42])
    if x <= x0 or y <= y0:
        return None
    return y - y0, x - x0, components


def _jp2_codestream_offset(data: bytes) -> int | None:
    """0 for a bare JPEG 2000 codestream; the start of the ``jp2c`` box's content in a JP2 file."""
    if data[:2] == b"\xff\x4f":
        return 0
    if data[4:8] != b"jP  ":
        return None
    pos = 0
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if data[pos + 4:pos + 8] == b"jp2c":
            return pos + 8
        if length < 8:
            return None
        pos += length
    return None


# --- decoding ------------------------------------------------------------------------------------

def _decode(ds: Any, frame: int) -> np.ndarray:
    from pydicom.pixels import pixel_array

    return pixel_array(ds, index=frame)  # YBR is converted to RGB


def _normalise(arr: np.ndarray, ds: Any, h: _Header, p: Path) -> np.ndarray:
    """Decoded frame -> H×W×3 uint8, H×W uint8 (8 bits or fewer) or H×W uint16 (full 16-bit range)."""
    expected = (h.rows, h.columns) if h.samples == 1 else (h.rows, h.columns, 3)
    if arr.shape != expected:
        raise ImageReadError(f"{p}: DICOM file is damaged (decoded {arr.shape}, expected {expected})")
    if h.photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = apply_color_lut(arr, ds)
        if rgb.shape != (h.rows, h.columns, 3):
            raise ImageReadError(f"{p}: DICOM file is damaged (its colour palette gives {rgb.shape})")
        top = 255 if rgb.dtype.itemsize == 1 else 65535
        return _rescale(np.clip(rgb, 0, top), top, 255, np.uint8)
    values = arr
    if h.signed:  # photographs are unsigned; a signed one is shifted so its lowest value is black
        values = values.astype(np.int32) + (1 << (h.bits_stored - 1))
    values = np.clip(values, 0, h.maxval)
    if h.photometric == "MONOCHROME1":  # 0 is white
        values = h.maxval - values
    if h.samples == 3 or h.bits_stored <= 8:
        return _rescale(values, h.maxval, 255, np.uint8)
    return _rescale(values, h.maxval, 65535, np.uint16)


def _rescale(values: np.ndarray, maxval: int, top: int, dtype: type) -> np.ndarray:
    """Integers in 0..maxval -> 0..top (rounded), a band of rows at a time (no whole-image uint32 copy)."""
    if maxval == top:
        return values.astype(dtype, copy=False)
    out = np.empty(values.shape, dtype)
    rows = max(1, (1 << 20) // max(1, int(np.prod(values.shape[1:]))))
    for y in range(0, values.shape[0], rows):
        band = values[y:y + rows].astype(np.uint64)
        out[y:y + rows] = (band * top + maxval // 2) // maxval
    return out


def _in_mode(arr: np.ndarray, mode: str | None) -> np.ndarray:
    """The pixels as ``mode`` asks: None keeps them, "RGB" gives H×W×3 uint8, "L" H×W uint8."""
    if mode is None:
        return arr
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be None, 'RGB' or 'L', got {mode!r}")
    eight = _rescale(arr, 65535, 255, np.uint8) if arr.dtype == np.uint16 else arr
    if mode == "RGB":
        return eight if eight.ndim == 3 else np.repeat(eight[:, :, None], 3, axis=2)
    if eight.ndim == 2:
        return eight
    from PIL import Image

    return np.asarray(Image.fromarray(eight, "RGB").convert("L")).copy()  # the luma Pillow uses for JPEGs


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
