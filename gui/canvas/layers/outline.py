"""The outline of the field of view, a dashed line of the same width at any zoom."""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from gui.canvas.layers.base import Connection, LayerAdapter
from gui.canvas.style import OverlayValues
from gui.document.document import ImageDocument


class OutlineAdapter(LayerAdapter):
    name = "fov"
    item: QGraphicsPathItem

    def __init__(self) -> None:
        super().__init__(QGraphicsPathItem())
        pen = QPen(QColor(255, 220, 0), 1.5)
        pen.setCosmetic(True)  # the same width on screen at any zoom
        pen.setStyle(Qt.PenStyle.DashLine)
        self.item.setPen(pen)


    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(document.fovChanged, self.refresh)]

    def style_look(self, values: OverlayValues) -> Hashable:
        return values.show_fov

    def apply(self, values: OverlayValues) -> None:
        self.look = self.style_look(values)
        self.item.setVisible(bool(self.look))  # showing or hiding needs no new path

    def refresh(self, rect: QRect | None = None) -> None:
        path = QPainterPath()
        d = self.document
        if d is not None and d.fov_outline is not None and len(d.fov_outline):
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in d.fov_outline]))
            path.closeSubpath()
        self.item.setPath(path)
        self.item.setVisible(bool(self.look))

    def shown(self) -> bool:
        return self.item.isVisible() and not self.item.path().isEmpty()
