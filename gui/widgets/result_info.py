"""ResultInfo: what produced the current mask and how much of the FOV it marks as vessel."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QLabel, QWidget

from gui.document import ImageDocument


class ResultInfo(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.setWordWrap(True)
        self.set_document(None)

    def set_document(self, doc: ImageDocument | None) -> None:
        if self.document is not None:
            self.document.predictionChanged.disconnect(self._show)
            self.document.maskChanged.disconnect(self._on_mask)
        self.document = doc
        if doc is not None:
            doc.predictionChanged.connect(self._show)
            doc.maskChanged.connect(self._on_mask)
        self._show()

    def _on_mask(self, _rect: QRect) -> None:
        self._show()

    def _show(self) -> None:
        doc = self.document
        if doc is None:
            self.setText("No image open.")
            return
        info, fraction = doc.prediction_info, doc.vessel_fraction()
        if info is None or fraction is None:
            self.setText("Not segmented yet: Segment (Ctrl+R).")
            return
        self.setText(f"Vessels: {fraction * 100:.1f} % of the field of view\n"
                     f"Model {info.model} on {info.device}, {info.seconds:.1f} s")
