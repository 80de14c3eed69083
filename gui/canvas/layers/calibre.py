"""The vessels a calibre (CRAE, CRVE) was made of, drawn over the image when its value is clicked.

Each vessel's centreline inside the zone is drawn as a bright line with a dark halo, the same width at any
zoom, numbered from 1 in the order the measurement gives (those on the most circles first, then the widest).
The first ``count`` (six, as the Knudtson formulas take) are drawn solid; any others, which entered the
summary on fewer circles only, thin and dashed. Any edit of the document clears the highlight: it described
the vessels before the edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsSimpleTextItem

from gui.canvas.layers.base import Connection, LayerAdapter
from gui.document.document import ImageDocument

LINE_COLOR = QColor(255, 224, 0)
HALO_COLOR = QColor(0, 0, 0, 170)
#: The vessels of a calibre's summary drawn solid (the Knudtson formulas take the six widest).
SOLID = 6


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)  # the same width on screen at any zoom
    pen.setStyle(style)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def centreline_path(points: np.ndarray) -> QPainterPath:
    """A polyline through ``points`` (N×2 row, column of pixels), through the pixels' centres."""
    path = QPainterPath()
    if len(points):
        path.moveTo(QPointF(float(points[0][1]) + 0.5, float(points[0][0]) + 0.5))
        for row, col in points[1:]:
            path.lineTo(QPointF(float(col) + 0.5, float(row) + 0.5))
    return path


class CalibreVesselsAdapter(LayerAdapter):
    name = "calibre_vessels"
    item: QGraphicsRectItem  # the image's rectangle, clipping what is drawn

    def __init__(self) -> None:
        super().__init__(QGraphicsRectItem())
        self.item.setPen(QPen(Qt.PenStyle.NoPen))
        self.item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
        self.item.setVisible(False)
        #: what is shown: {prefix: vessels} (prefix "" for one calibre, "A"/"V" when both are shown)
        self.shown_vessels: dict[str, tuple[Any, ...]] = {}
        self.numbers: list[QGraphicsSimpleTextItem] = []

    def bind(self, document: ImageDocument | None) -> None:
        self.shown_vessels = {}  # they belonged to the document shown before
        super().bind(document)

    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(s, self.clear) for s in (document.maskChanged, document.labelsChanged, document.discChanged,
                                          document.thresholdChanged, document.predictionChanged, document.fovChanged)]

    def show_vessels(self, groups: Mapping[str, Sequence[Any]]) -> None:
        """Draw the vessels of each group (core.measure.biomarkers.calibre.CalibreVessel: ``points`` in image
        pixels), numbered ``<prefix>1``, ``<prefix>2`` … in their order; an empty mapping clears."""
        self.shown_vessels = {prefix: tuple(vessels) for prefix, vessels in groups.items() if vessels}
        self.refresh()

    def clear(self, *_args: object) -> None:
        if self.shown_vessels:
            self.show_vessels({})

    def refresh(self, rect: QRect | None = None) -> None:
        for child in self.item.childItems():
            child.setParentItem(None)
            if child.scene() is not None:
                child.scene().removeItem(child)
        self.numbers = []
        d = self.document
        if d is None or not self.shown_vessels:
            self.item.setVisible(False)
            return
        self.item.setRect(QRectF(0, 0, d.width, d.height))
        font = QFont()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        for prefix, vessels in self.shown_vessels.items():
            for i, vessel in enumerate(vessels):
                points = np.asarray(vessel.points, float)
                if len(points) == 0:
                    continue
                path = centreline_path(points)
                solid = i < SOLID
                for pen in ((_pen(HALO_COLOR, 7.0), _pen(LINE_COLOR, 3.5)) if solid else
                            (_pen(HALO_COLOR, 4.0), _pen(LINE_COLOR, 1.5, Qt.PenStyle.DashLine))):
                    line = QGraphicsPathItem(path, self.item)
                    line.setPen(pen)
                if solid:
                    self.numbers.append(self._number(f"{prefix}{i + 1}", points[len(points) // 2], font))
        self.item.setVisible(True)

    def _number(self, text: str, at: np.ndarray, font: QFont) -> QGraphicsSimpleTextItem:
        label = QGraphicsSimpleTextItem(text, self.item)
        label.setFont(font)
        label.setBrush(QBrush(LINE_COLOR))
        label.setPen(_pen(HALO_COLOR, 0.8))
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # readable at any zoom
        label.setPos(QPointF(float(at[1]) + 3.0, float(at[0]) + 1.5))
        return label

    def shown(self) -> bool:
        return self.item.isVisible()
