"""DicomInfoPanel: what a DICOM photograph says about itself (patient, study date, eye, device, scale).

Shown only for DICOM images. Patient identifiers appear here, on the clinician's screen, and nowhere
else by default: not in the window title, not in exports (core.io.dicom_privacy).
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from core.io.dicom_metadata import DicomInfo
from gui.document.document import ImageDocument


def info_rows(info: DicomInfo, frame: int = 0) -> list[tuple[str, str]]:
    """(label, value) rows for ``info``; unknown values are left out."""
    spacing = info.pixel_spacing_mm
    rows = [
        ("Patient ID", info.patient_id),
        ("Patient", info.patient_name),
        ("Study date", info.study_date),
        ("Eye", info.eye.capitalize()),
        ("Device", info.device),
        ("Pixel spacing", f"{spacing[0] * 1000:.2f} × {spacing[1] * 1000:.2f} µm" if spacing else ""),
        ("Field of view", f"{info.horizontal_fov_deg:g}°" if info.horizontal_fov_deg else ""),
        ("Frame", f"{frame + 1} of {info.number_of_frames}" if info.number_of_frames > 1 else ""),
        ("Kind", info.sop_class_name),
    ]
    return [(label, value) for label, value in rows if value]


class DicomInfoPanel(QLabel):
    """A small table of :func:`info_rows` for the current document; hidden for non-DICOM images."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWordWrap(True)
        self.set_document(None)

    def set_document(self, doc: ImageDocument | None) -> None:
        meta = doc.metadata if doc is not None else None
        info = meta.dicom if meta is not None else None
        if info is None or meta is None:
            self.clear()
            self.hide()
            return
        cells = "".join(f"<tr><td><b>{escape(label)}</b>&nbsp;</td><td>{escape(value)}</td></tr>"
                        for label, value in info_rows(info, meta.frame))
        self.setText(f"<table cellspacing='0' cellpadding='1'>{cells}</table>")
        self.show()


def window_name(doc: ImageDocument) -> str:
    """What the window title calls ``doc``: for DICOM the eye and study date (no patient identity), else
    the file name."""
    meta = doc.metadata
    info = meta.dicom if meta is not None else None
    name = info.title() if info is not None else ""
    if not name:
        return doc.name
    if info is not None and meta is not None and info.number_of_frames > 1:
        name += f", frame {meta.frame + 1}"
    return name
