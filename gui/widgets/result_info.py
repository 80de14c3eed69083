"""ResultInfo: what produced the current mask and how much of the FOV it marks as vessel."""

from __future__ import annotations

from PySide6.QtCore import QRect, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from gui.document import ImageDocument, MaskSource

#: While painting, the vessel fraction (a full-image count) is refreshed at most this often.
REFRESH_MS = 150
_SOURCES = {MaskSource.EMPTY: "drawn by hand", MaskSource.FILE: "loaded from a file",
            MaskSource.RECOVERED: "recovered after a crash"}


class ResultInfo(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.setWordWrap(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._show)
        self.set_document(None)

    def set_document(self, doc: ImageDocument | None) -> None:
        if self.document is not None:
            self.document.predictionChanged.disconnect(self._show)
            self.document.maskChanged.disconnect(self._on_mask)
            self.document.sourceChanged.disconnect(self._show)
        self.document = doc
        if doc is not None:
            doc.predictionChanged.connect(self._show)
            doc.maskChanged.connect(self._on_mask)
            doc.sourceChanged.connect(self._show)
        self._show()

    def _on_mask(self, rect: QRect) -> None:
        if rect.isNull():  # a new prediction or mask: now; brush strokes: coalesced
            self._show()
        elif not self._timer.isActive():
            self._timer.start()

    def _show(self, *_args: object) -> None:
        self._timer.stop()
        doc = self.document
        if doc is None:
            self.setText("No image open.")
            return
        info, fraction = doc.prediction_info, doc.vessel_fraction()
        if fraction is None:
            self.setText("Not segmented yet: Segment (Ctrl+R), or draw a mask by hand.")
            return
        lines = [f"Vessels: {fraction * 100:.1f} % of the field of view"]
        if doc.mask_source in _SOURCES:
            lines.append(f"Mask {_SOURCES[doc.mask_source]}")
        if info is not None:
            lines.append(f"Model {info.model} on {info.device}, {info.seconds:.1f} s")
        self.setText("\n".join(lines))
