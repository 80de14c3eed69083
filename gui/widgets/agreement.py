"""AgreementInfo: how well the current mask agrees with a loaded reference mask, inside the FOV."""

from __future__ import annotations

import math

from PySide6.QtCore import SignalInstance

from core.edit.mask_ops import agreement
from gui.document.document import ImageDocument
from gui.widgets.document_label import DocumentLabel


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.3f}"


class AgreementInfo(DocumentLabel):
    """F1 (= Dice), sensitivity and specificity of the mask against the document's reference."""

    refresh_whole_mask_at_once = False

    def watched(self, doc: ImageDocument) -> list[SignalInstance]:
        return [doc.referenceChanged, doc.fovChanged]

    def refresh(self, *_args: object) -> None:
        super().refresh()
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
