"""The optic disc and the measurement zones around it: the disc's margin, and zone B (shaded) and zone C
as rings, the same line width at any zoom, with their letters.

The radii come from core.measure.optic_disc.zone_radii (zone B: 0.5–1 disc diameter from the margin,
zone C: 0.5–2); this layer only draws them.
"""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

from gui.canvas.layers.base import Connection, LayerAdapter
from gui.canvas.style import OverlayValues
from gui.document.document import ImageDocument

DISC_COLOR = QColor(255, 255, 255)
ZONE_COLOR = QColor(255, 255, 255, 200)
ZONE_B_FILL = QColor(255, 255, 255, 40)


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)  # the same width on screen at any zoom
    pen.setStyle(style)
    return pen


def _circle(x: float, y: float, r: float) -> QRectF:
    return QRectF(x - r, y - r, 2 * r, 2 * r)


class DiscAdapter(LayerAdapter):
    name = "disc"
    item: QGraphicsRectItem  # the image's rectangle, clipping the rings (a disc near the edge has zones past it)

    def __init__(self) -> None:
        super().__init__(QGraphicsRectItem())
        self.item.setPen(QPen(Qt.PenStyle.NoPen))
        self.item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.zone_b = QGraphicsPathItem()  # the ring between its two radii, shaded
        self.zone_b.setPen(_pen(ZONE_COLOR, 1.0, Qt.PenStyle.DashLine))
        self.zone_b.setBrush(QBrush(ZONE_B_FILL))
        self.zone_c = QGraphicsEllipseItem()  # zone C's outer edge (its inner one is zone B's)
        self.zone_c.setPen(_pen(ZONE_COLOR, 1.0, Qt.PenStyle.DotLine))
        self.margin = QGraphicsEllipseItem()
        self.margin.setPen(_pen(DISC_COLOR, 2.0))
        self.labels = {name: QGraphicsSimpleTextItem(name) for name in ("B", "C")}
        font = QFont()
        font.setBold(True)
        for label in self.labels.values():
            label.setBrush(QBrush(ZONE_COLOR))
            label.setFont(font)
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # readable at any zoom
        for part in (self.zone_b, self.zone_c, self.margin, *self.labels.values()):
            part.setParentItem(self.item)

    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(document.discChanged, self.refresh)]

    def style_look(self, values: OverlayValues) -> Hashable:
        return values.show_disc

    def apply(self, values: OverlayValues) -> None:
        self.look = self.style_look(values)
        self.refresh()

    def refresh(self, rect: QRect | None = None) -> None:
        disc = self.document.disc_circle if self.document is not None else None
        if disc is None or not self.look:
            self.item.setVisible(False)
            return
        from core.measure.optic_disc import zone_radii

        self.item.setRect(QRectF(0, 0, self.document.width, self.document.height))  # type: ignore[union-attr]
        radii = zone_radii(disc)
        (b_in, b_out), (_c_in, c_out) = radii["B"], radii["C"]
        x, y = disc.x, disc.y
        ring = QPainterPath()
        ring.addEllipse(_circle(x, y, b_out))
        ring.addEllipse(_circle(x, y, b_in))  # odd-even fill: only the ring is shaded
        self.zone_b.setPath(ring)
        self.zone_c.setRect(_circle(x, y, c_out))
        self.margin.setRect(_circle(x, y, disc.radius))
        self.labels["B"].setPos(QPointF(x + b_in + 2, y))
        self.labels["C"].setPos(QPointF(x + b_out + 2, y))
        self.item.setVisible(True)

    def shown(self) -> bool:
        return self.item.isVisible()
