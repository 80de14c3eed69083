"""ThresholdControl: a slider and spin box bound to the current document's threshold."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget

from gui.document.document import ImageDocument

STEPS = 1000  # slider resolution: 0.001


class ThresholdControl(QWidget):
    """Moving the slider re-thresholds the stored probability map; the network is not run again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setToolTip("Probability above which a pixel counts as vessel")
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
        self.document = doc
        self.setEnabled(doc is not None)
        if doc is not None:
            doc.thresholdChanged.connect(self._show)
            self._show(doc.threshold)

    def _show(self, t: float) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(round(t * STEPS))
            self.spin.setValue(t)

    def _set(self, t: float) -> None:
        if self.document is not None:
            self.document.set_threshold(min(1.0, max(0.0, t)))
