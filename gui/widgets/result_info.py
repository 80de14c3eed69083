"""ResultInfo: what produced the current mask, how much of the FOV it marks as vessel, and why it may be wrong."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, SignalInstance
from PySide6.QtWidgets import QWidget

from core.edit.task_result import MaskSource
from core.measure.plausibility import result_warnings
from gui.actions.shortcuts import first_key
from gui.document.document import ImageDocument
from gui.widgets.document_label import DocumentLabel

_SOURCES = {MaskSource.EMPTY: "drawn by hand", MaskSource.FILE: "loaded from a file",
            MaskSource.RECOVERED: "recovered after a crash"}
#: Warnings stand out: dark amber text on a light amber band, with a warning sign.
_WARNING = ('<table width="100%" cellpadding="4" style="margin-top:4px"><tr><td bgcolor="#ffe9b3">'
            '<span style="color:#7a4a00">&#9888; {}</span></td></tr></table>')


class ResultInfo(DocumentLabel):
    """Vessel share of the FOV, where the mask came from, which model made it on which device, and the
    plausibility warnings (the image's, found when it was segmented; the vessel share's and the artery/vein
    balance's, at every change)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)

    def watched(self, doc: ImageDocument) -> list[SignalInstance]:
        return [doc.predictionChanged, doc.sourceChanged]

    def coalesced(self, doc: ImageDocument) -> list[SignalInstance]:
        return [doc.labelsChanged]

    def refresh(self, *_args: object) -> None:
        super().refresh()
        doc = self.document
        if doc is None:
            self.setText("No image open.")
            return
        info, fraction = doc.prediction_info, doc.vessel_fraction()
        if fraction is None:
            self.setText(f"Not segmented yet: Segment ({first_key('segment')}), or draw a mask by hand.")
            return
        lines = [f"Vessels: {fraction * 100:.1f} % of the field of view"]
        if doc.mask_source in _SOURCES:
            lines.append(f"Mask {_SOURCES[doc.mask_source]}")
        if info is not None:
            lines.append(f"Model {info.model} on {info.device}, {info.seconds:.1f} s")
        found = result_warnings(doc.prediction, fraction, doc.model_artery_vein)
        self.setToolTip("\n".join(w.message for w in found))
        self.setText("<br>".join(map(escape, lines)) + "".join(_WARNING.format(escape(w.message)) for w in found))
