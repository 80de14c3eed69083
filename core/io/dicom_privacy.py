"""What of a DICOM source may appear in PNG/JSON/CSV exports: no identity unless the user asks.

Without ``include_identifiers`` the sidecar names the source by its file name only (no folders, which
often carry patient names) and the study by a pseudonymous reference: a hash of the Study Instance UID
that links the results of one study together, and can be recomputed by whoever holds the DICOM file,
but gives nothing back to whoever holds only the sidecar. Laterality, device, pixel spacing and field of
view are not identifying and always travel with the results. Mask, probability and overlay PNGs carry
no metadata at all. The DICOM SEG is the exception by design: it belongs in the patient's record and
carries the source's patient and study (it is a DICOM file, not a PNG/JSON/CSV export).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from core.io.dicom_metadata import DicomInfo

#: Makes the hashes RetinaSeg's own: the same UID hashed by another tool gives another value.
_PSEUDONYM_CONTEXT = b"retinaseg-study-reference-v1:"


def pseudonym(uid: str) -> str:
    """A stable pseudonymous reference for a DICOM UID ("" for none): 16 hex digits of a SHA-256."""
    if not uid:
        return ""
    return hashlib.sha256(_PSEUDONYM_CONTEXT + uid.encode("ascii", "replace")).hexdigest()[:16]


def sidecar_fields(info: DicomInfo, frame: int = 0, include_identifiers: bool = False) -> dict[str, Any]:
    """The sidecar's ``dicom`` object: pseudonymous references and what is not identifying; with
    ``include_identifiers`` also patient ID and name, study date and the real UIDs."""
    fields: dict[str, Any] = {
        "study_ref": pseudonym(info.study_instance_uid),
        "image_ref": pseudonym(info.sop_instance_uid),
        "frame": int(frame),
        "sop_class": info.sop_class_name,
        "laterality": info.laterality,
        "device": info.device,
        "pixel_spacing_mm": list(info.pixel_spacing_mm) if info.pixel_spacing_mm else None,
        "horizontal_fov_deg": info.horizontal_fov_deg,
    }
    if include_identifiers:
        fields.update(patient_id=info.patient_id, patient_name=info.patient_name, study_date=info.study_date,
                      study_instance_uid=info.study_instance_uid, sop_instance_uid=info.sop_instance_uid)
    return fields


def source_label(source: str | os.PathLike[str], include_identifiers: bool = False) -> str:
    """How the sidecar names a DICOM source: its file name only, or the full path when identifiers are wanted."""
    return str(source) if include_identifiers else Path(source).name
