"""ThresholdControl: a slider and spin box bound to the current document's threshold.

Before an image has a result there is nothing to re-threshold: the control is disabled and shows the
model's own threshold (once its card has been read), the value the first result will start from, so
nothing jumps when it arrives.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget

from gui.document.document import ImageDocument

STEPS = 1000  # slider resolution: 0.001
UNKNOWN = "–"  # shown in the spin box while the model's threshold is not known yet
_TIP = "Probability above which a pixel counts as vessel"


class ThresholdControl(QWidget):
    """Moving the slider re-thresholds the stored probability map; the network is not run again."""

    #: the threshold now in effect for the shown image (None: no result yet)
    thresholdShown = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.model_threshold: float | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Threshold"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(lambda v: self._set(v / STEPS))
        self.spin.valueChanged.connect(self._set)
        self.set_document(None)

    def set_document(self, doc: ImageDocument | None) -> None:
        if self.document is not None:
            self.document.thresholdChanged.disconnect(self._show)
            self.document.predictionChanged.disconnect(self._refresh)
        self.document = doc
        if doc is not None:
            doc.thresholdChanged.connect(self._show)
            doc.predictionChanged.connect(self._refresh)
        self._refresh()

    def set_model_threshold(self, threshold: float | None) -> None:
        """The current model's threshold (None: not known yet), shown until there is a result."""
        self.model_threshold = threshold
        self._refresh()

    @property
    def usable(self) -> bool:
        return self.document is not None and self.document.has_prediction

    def _refresh(self) -> None:
        usable = self.usable
        self.setEnabled(usable)
        if usable:
            self.setToolTip(_TIP)
            self._show(self.document.threshold)  # type: ignore[union-attr]
        else:
            self.setToolTip(_TIP + ": the model's, adjustable once the image is segmented (Segment)")
            self._show(self.model_threshold)
            self.thresholdShown.emit(None)

    def _show(self, t: float | None) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.spin.setSpecialValueText(UNKNOWN if t is None else "")
            self.slider.setValue(round((t or 0.0) * STEPS))
            self.spin.setValue(t or 0.0)
        if self.usable:
            self.thresholdShown.emit(t)

    def _set(self, t: float) -> None:
        if self.usable:
            self.document.set_threshold(min(1.0, max(0.0, t)))  # type: ignore[union-attr]
