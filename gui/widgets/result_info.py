"""ResultInfo: what produced the current mask and how much of the FOV it marks as vessel."""

from __future__ import annotations

from PySide6.QtCore import SignalInstance

from core.edit.task_result import MaskSource
from gui.document.document import ImageDocument
from gui.widgets.document_label import DocumentLabel

_SOURCES = {MaskSource.EMPTY: "drawn by hand", MaskSource.FILE: "loaded from a file",
            MaskSource.RECOVERED: "recovered after a crash"}


class ResultInfo(DocumentLabel):
    """Vessel share of the FOV, where the mask came from, and which model made it on which device."""

    def watched(self, doc: ImageDocument) -> list[SignalInstance]:
        return [doc.predictionChanged, doc.sourceChanged]

    def refresh(self, *_args: object) -> None:
        super().refresh()
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
