"""What a DICOM photograph says about itself, as one typed record (:class:`DicomInfo`).

Read from a pydicom ``Dataset`` by :func:`dicom_info`, defensively: a value that is missing or malformed
(a pixel spacing of ``"abc"``, a date of ``"2024"``) is left empty, never a reason to refuse the image.
The record rides in :class:`core.io.loaded.ImageMetadata` (``metadata.dicom``); patient identifiers in
it are for the screen only: exports leave them out unless asked (:mod:`core.io.dicom_privacy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

_EYES = {"R": "right eye", "L": "left eye", "B": "both eyes"}


@dataclass(frozen=True)
class DicomInfo:
    """The facts of one DICOM image that the app shows, exports or measures with.

    ``pixel_spacing_mm`` is the file's Pixel Spacing (row, column) in mm, None when absent or not two
    positive numbers. ``horizontal_fov_deg`` is the Ophthalmic Photography acquisition's Horizontal
    Field of View, the other way to a scale (the biomarkers' ``field_angle_deg``, spread over the FOV
    mask's diameter: core.measure.biomarkers.scale). Text fields are ""
    when the file does not say; ``study_date`` is ISO (``2024-01-31``).
    """

    sop_class_uid: str = ""
    sop_class_name: str = ""
    modality: str = ""
    transfer_syntax: str = ""
    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    sop_instance_uid: str = ""
    laterality: str = ""
    manufacturer: str = ""
    model_name: str = ""
    pixel_spacing_mm: tuple[float, float] | None = None
    horizontal_fov_deg: float | None = None
    number_of_frames: int = 1
    photometric: str = ""
    bits_stored: int = 8

    @property
    def eye(self) -> str:
        """"right eye", "left eye", "both eyes" or "" (unknown)."""
        return _EYES.get(self.laterality, "")

    @property
    def device(self) -> str:
        """Manufacturer and model, as far as the file names them."""
        return " ".join(part for part in (self.manufacturer, self.model_name) if part)

    def title(self) -> str:
        """A window title without patient identity: "Right eye, 2024-01-31"; "" when neither is known."""
        parts = [p for p in (self.eye.capitalize(), self.study_date) if p]
        return ", ".join(parts)


def dicom_info(ds: Any) -> DicomInfo:
    """The :class:`DicomInfo` of a pydicom ``Dataset``; malformed values become empty, never errors."""
    file_meta = getattr(ds, "file_meta", None)
    sop_class = _text(ds, "SOPClassUID") or (_text(file_meta, "MediaStorageSOPClassUID") if file_meta else "")
    transfer = _uid_name(_value(file_meta, "TransferSyntaxUID")) if file_meta is not None else ""
    return DicomInfo(
        sop_class_uid=sop_class,
        sop_class_name=_uid_name(_value(ds, "SOPClassUID")) or sop_class,
        modality=_text(ds, "Modality"),
        transfer_syntax=transfer,
        patient_id=_text(ds, "PatientID"),
        patient_name=_person_name(_value(ds, "PatientName")),
        study_date=_iso_date(_text(ds, "StudyDate")),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        series_instance_uid=_text(ds, "SeriesInstanceUID"),
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        laterality=(_text(ds, "ImageLaterality") or _text(ds, "Laterality")).upper()[:1],
        manufacturer=_text(ds, "Manufacturer"),
        model_name=_text(ds, "ManufacturerModelName"),
        pixel_spacing_mm=_spacing(_value(ds, "PixelSpacing")),
        horizontal_fov_deg=_positive(_value(ds, "HorizontalFieldOfView")),
        number_of_frames=number_of_frames(ds),
        photometric=_text(ds, "PhotometricInterpretation").upper(),
        bits_stored=_int(_value(ds, "BitsStored")) or 8,
    )


def number_of_frames(ds: Any) -> int:
    """The Number of Frames (1 when absent, zero or malformed, as pydicom reads it)."""
    n = _int(_value(ds, "NumberOfFrames"))
    return n if n is not None and n > 0 else 1


# --- defensive value access ----------------------------------------------------------------------

def _value(ds: Any, keyword: str) -> Any:
    """``ds.keyword`` or None: pydicom converts values on access, and a malformed one can raise."""
    if ds is None:
        return None
    try:
        return ds.get(keyword)
    except Exception:  # noqa: BLE001 - any failure to convert a value means "the file does not say"
        return None


def _text(ds: Any, keyword: str) -> str:
    value = _value(ds, keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple):  # a multi-valued element: the first value
        value = value[0] if value else ""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - e.g. undecodable bytes in a broken character set
        return ""
    return " ".join(text.split())[:200]  # one line, bounded: it may end up in a title or a sidecar


def _uid_name(uid: Any) -> str:
    if not uid:
        return ""
    name = getattr(uid, "name", "")
    return str(name) if name and name != str(uid) else str(uid)


def _person_name(value: Any) -> str:
    """"Family, Given" from a DICOM person name (``Family^Given^Middle``)."""
    if value is None:
        return ""
    try:
        family, given = str(getattr(value, "family_name", "")), str(getattr(value, "given_name", ""))
        if family or given:
            return ", ".join(p for p in (family, given) if p)
        return " ".join(str(value).replace("^", " ").split())
    except Exception:  # noqa: BLE001 - a name in an undecodable character set
        return ""


def _iso_date(text: str) -> str:
    """``20240131`` -> ``2024-01-31``; anything else (partial or invalid) -> ""."""
    if len(text) != 8 or not text.isdigit():
        return ""
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    if not (1 <= month <= 12 and 1 <= day <= 31 and year >= 1800):
        return ""
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _positive(value: Any) -> float | None:
    f = _float(value)
    return f if f is not None and f > 0 else None


def _int(value: Any) -> int | None:
    f = _float(value)
    return int(f) if f is not None and f == int(f) else None


def _spacing(value: Any) -> tuple[float, float] | None:
    """(row, column) spacing from a two-valued Pixel Spacing of positive finite numbers, else None."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        try:
            value = list(value)  # pydicom's MultiValue
        except TypeError:
            return None
        if len(value) != 2:
            return None
    row, col = _positive(value[0]), _positive(value[1])
    return (row, col) if row is not None and col is not None else None
