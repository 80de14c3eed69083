"""AgreementInfo: how well the current mask agrees with a loaded reference mask, inside the FOV."""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from core.mask_ops import agreement
from gui.document import ImageDocument

#: Recompute at most this often while painting (a full-image comparison each time).
REFRESH_MS = 150


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.3f}"


class AgreementInfo(QLabel):
    """F1 (= Dice), sensitivity and specificity of the mask against the document's reference."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.setWordWrap(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.set_document(None)

    def set_document(self, doc: ImageDocument | None) -> None:
        if self.document is not None:
            self.document.maskChanged.disconnect(self._on_mask)
            self.document.referenceChanged.disconnect(self.refresh)
            self.document.fovChanged.disconnect(self.refresh)
        self.document = doc
        if doc is not None:
            doc.maskChanged.connect(self._on_mask)
            doc.referenceChanged.connect(self.refresh)
            doc.fovChanged.connect(self.refresh)
        self.refresh()

    def _on_mask(self, _rect: QRect) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        self._timer.stop()
        doc = self.document
        if doc is None or doc.reference is None:
            self.setVisible(False)
            self.setText("")
            return
        self.setVisible(True)
        name = doc.reference_path.name if doc.reference_path else "reference"
        if doc.mask is None:
            self.setText(f"Reference: {name}\nNo mask yet to compare.")
            return
        s = agreement(doc.mask, doc.reference, doc.fov)
        where = "inside the FOV" if doc.fov is not None else "whole image"
        self.setText(f"Agreement with {name} ({where}):\n"
                     f"F1/Dice {_pct(s.f1)}   Se {_pct(s.sensitivity)}   Sp {_pct(s.specificity)}")
        self.setToolTip(f"F1 (= Dice) {s.f1:.4f}, IoU {s.iou:.4f}, sensitivity {s.sensitivity:.4f}, "
                        f"specificity {s.specificity:.4f}, accuracy {s.accuracy:.4f}")
