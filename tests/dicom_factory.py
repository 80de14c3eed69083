"""DICOM test files built with pydicom from the CC0 sample photo or synthetic pixels; no real patient data.

Every dataset carries the synthetic identity below, so tests can check it never leaks into exports.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from core.resources import sample_image_path

OP_8BIT = UID("1.2.840.10008.5.1.4.1.1.77.1.5.1")
OP_16BIT = UID("1.2.840.10008.5.1.4.1.1.77.1.5.2")
SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")
VL_PHOTOGRAPHIC = UID("1.2.840.10008.5.1.4.1.1.77.1.4")

PATIENT_ID = "SYN-0042"
PATIENT_NAME = "Synthetic^Testpatient"
STUDY_DATE = "20240131"


def sample_photo(side: int = 96) -> np.ndarray:
    """The bundled CC0 fundus photo, shrunk to ``side`` × ``side`` RGB uint8."""
    with Image.open(sample_image_path()) as img:
        return np.asarray(img.convert("RGB").resize((side, side), Image.Resampling.BOX)).copy()


def photograph(pixels: np.ndarray | Sequence[np.ndarray], sop_class: UID = OP_8BIT, *,
               photometric: str | None = None, laterality: str = "R", pixel_spacing: Sequence[float] | None = None,
               horizontal_fov: float | None = None, bits_stored: int | None = None,
               study_uid: str | None = None, **attributes: Any) -> Dataset:
    """An uncompressed (explicit VR little endian) dataset holding ``pixels`` (one frame or a list of frames).

    uint8 H×W×3 -> RGB, uint8/uint16 H×W -> MONOCHROME2 (``photometric`` overrides). ``attributes``
    are set last (e.g. ``Manufacturer="ACME"``).
    """
    frames = [np.asarray(pixels)] if isinstance(pixels, np.ndarray) else [np.asarray(f) for f in pixels]
    first = frames[0]
    color = first.ndim == 3
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID, ds.PatientName = PATIENT_ID, PATIENT_NAME
    ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
    ds.StudyDate, ds.StudyTime, ds.StudyID = STUDY_DATE, "101500", "1"
    ds.AccessionNumber, ds.ReferringPhysicianName = "", ""
    ds.Modality = "OP" if sop_class in (OP_8BIT, OP_16BIT) else ("XC" if sop_class == VL_PHOTOGRAPHIC else "OT")
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Manufacturer, ds.ManufacturerModelName = "Acme Optics", "FundusCam 1"
    if laterality:
        ds.ImageLaterality = laterality
    if pixel_spacing is not None:
        ds.PixelSpacing = [float(v) for v in pixel_spacing]
    if horizontal_fov is not None:
        ds.HorizontalFieldOfView = float(horizontal_fov)
    ds.Rows, ds.Columns = first.shape[:2]
    ds.SamplesPerPixel = 3 if color else 1
    ds.PhotometricInterpretation = photometric or ("RGB" if color else "MONOCHROME2")
    if color:
        ds.PlanarConfiguration = 0
    bits = 16 if first.dtype == np.uint16 else 8
    ds.BitsAllocated, ds.BitsStored = bits, bits_stored or bits
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, 0
    if sop_class in (OP_8BIT, OP_16BIT) or len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.PixelData = b"".join(np.ascontiguousarray(f).astype(f.dtype.newbyteorder("<")).tobytes() for f in frames)
    for key, value in attributes.items():
        setattr(ds, key, value)
    return ds


def with_transfer_syntax(ds: Dataset, syntax: UID) -> Dataset:
    """``ds`` re-encoded (a copy): uncompressed ones by how it is written, compressed ones by encoding its frames."""
    out = copy.deepcopy(ds)
    if syntax in (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian):
        out.file_meta.TransferSyntaxUID = syntax
        return out
    frames = _frames(ds)
    if syntax == JPEGBaseline8Bit:
        data = [_pillow_bytes(f, "JPEG", quality=95) for f in frames]
        if frames[0].ndim == 3:
            out.PhotometricInterpretation = "YBR_FULL_422"
    elif syntax == JPEG2000Lossless:
        data = [_pillow_bytes(f, "JPEG2000", irreversible=False, no_jp2=True) for f in frames]
    elif syntax in (RLELossless, JPEGLSLossless):
        out.compress(syntax, encoding_plugin="pydicom" if syntax == RLELossless else "pyjpegls")
        return out
    else:
        raise ValueError(f"no encoder here for {syntax.name}")
    out.PixelData = encapsulate(data)
    out["PixelData"].VR = "OB"
    out.file_meta.TransferSyntaxUID = syntax
    return out


def write(ds: Dataset, path: str | Path, *, preamble: bool = True) -> Path:
    """Save ``ds`` (a Part 10 file with preamble and meta header, or a bare dataset with ``preamble=False``)."""
    p = Path(path)
    syntax = ds.file_meta.TransferSyntaxUID
    if preamble:
        ds.save_as(p, enforce_file_format=True)
        return p
    bare = ds.copy()
    del bare.file_meta
    bare.save_as(p, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=syntax != ExplicitVRBigEndian)
    return p


def to_bytes(ds: Dataset, *, preamble: bool = True) -> bytes:
    """The file :func:`write` would write, as bytes."""
    buf = io.BytesIO()
    syntax = ds.file_meta.TransferSyntaxUID
    if preamble:
        ds.save_as(buf, enforce_file_format=True)
    else:
        bare = ds.copy()
        del bare.file_meta
        bare.save_as(buf, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=syntax != ExplicitVRBigEndian)
    return buf.getvalue()


def _frames(ds: Dataset) -> list[np.ndarray]:
    n = int(ds.get("NumberOfFrames", 1) or 1)
    dtype = np.uint16 if ds.BitsAllocated == 16 else np.uint8
    shape = (ds.Rows, ds.Columns, 3) if ds.SamplesPerPixel == 3 else (ds.Rows, ds.Columns)
    flat = np.frombuffer(ds.PixelData, dtype=np.dtype(dtype).newbyteorder("<"))
    return [f.astype(dtype) for f in flat.reshape(n, *shape)]


def _pillow_bytes(frame: np.ndarray, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format=fmt, **params)
    return buf.getvalue()
