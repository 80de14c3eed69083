"""ColorBar: the heat map's colour scale, probability 0 to 1, with the current threshold marked."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.canvas.render import heat_colors, image_to_qimage

#: probabilities labelled under the bar
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
BAR_HEIGHT = 12


class ColorBar(QWidget):
    """A horizontal bar in the colours of one heat map, labelled with probabilities; a line marks the
    threshold (pixels at or right of it are in the vessel mask) when there is one."""

    def __init__(self, heatmap: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heatmap = ""
        self.threshold: float | None = None
        self._gradient = QImage()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_heatmap(heatmap)

    def set_heatmap(self, name: str) -> None:
        if name != self.heatmap:
            self.heatmap = name
            self._gradient = image_to_qimage(heat_colors(name)[np.newaxis])  # 256 × 1
            self.update()

    def set_threshold(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.setToolTip("Probability of being a vessel, as the heat map colours it"
                        + ("" if threshold is None else f"; the line is the threshold, {threshold:.3f}"))
        self.update()

    def bar_rect(self) -> QRectF:
        """Where the gradient is drawn (p = 0 at its left edge, 1 at its right edge)."""
        margin = self.fontMetrics().horizontalAdvance("0.00") / 2 + 1
        return QRectF(margin, 1, max(1.0, self.width() - 2 * margin), BAR_HEIGHT)

    def x_of(self, p: float) -> float:
        bar = self.bar_rect()
        return bar.left() + p * bar.width()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(180, BAR_HEIGHT + self.fontMetrics().height() + 6)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(100, self.sizeHint().height())

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        bar = self.bar_rect()
        painter.drawImage(bar, self._gradient)
        text = self.palette().windowText().color()
        painter.setPen(QPen(text, 1))
        painter.drawRect(bar)
        metrics = self.fontMetrics()
        for p in TICKS:
            x = self.x_of(p)
            painter.drawLine(int(round(x)), int(bar.bottom()), int(round(x)), int(bar.bottom()) + 3)
            label = f"{p:g}"
            painter.drawText(int(round(x - metrics.horizontalAdvance(label) / 2)),
                             int(bar.bottom()) + 4 + metrics.ascent(), label)
        if self.threshold is not None:
            x = self.x_of(self.threshold)
            for color, width in ((QColor(0, 0, 0), 3), (QColor(255, 255, 255), 1)):  # visible on any colour
                painter.setPen(QPen(color, width))
                painter.drawLine(int(round(x)), int(bar.top()) - 1, int(round(x)), int(bar.bottom()) + 1)
        painter.end()
