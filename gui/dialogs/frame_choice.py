"""Which frame of a multi-frame DICOM image to open (a stereo pair, a series of shots)."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QWidget


def ask_frame(parent: QWidget | None, name: str, count: int) -> int | None:
    """The 0-based frame to open of ``count`` (shown 1-based), or None when the user cancels.

    A single-frame image needs no question: 0.
    """
    if count <= 1:
        return 0
    number, ok = QInputDialog.getInt(parent, "Choose a frame", f"{name} holds {count} frames. Open frame:",
                                     1, 1, count, 1)
    return number - 1 if ok else None
