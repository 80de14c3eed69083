"""ToolInput: turns left-button drags on the canvas into document edits, and draws the tool feedback.

The canvas forwards scene positions (= image coordinates: pixel (r, c) covers [c, c+1) × [r, r+1));
this class asks the document for the edit (gui.document.document.paint / fill push undo commands) and keeps
two scene items: the brush outline, drawn at image scale so it shows the true size at any zoom, and
the lasso path while it is being drawn.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsScene

from core.edit.mask_ops import MIN_RADIUS
from gui.canvas.tools import Tool, ToolState
from gui.document.commands import next_stroke_id
from gui.document.document import ImageDocument

MIN_LASSO_STEP = 0.5  # image pixels between recorded lasso points


def _pen(color: QColor, dashed: bool = False) -> QPen:
    pen = QPen(color, 1.5)
    pen.setCosmetic(True)  # the same width on screen at any zoom
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


class ToolInput:
    """One drag at a time: a brush/eraser stroke (one undo step) or a lasso (one fill on release)."""

    def __init__(self, scene: QGraphicsScene, tools: ToolState) -> None:
        self.tools = tools
        self.document: ImageDocument | None = None
        self.outline = QGraphicsEllipseItem()
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        self.lasso = QGraphicsPathItem()
        self.lasso.setZValue(11)
        scene.addItem(self.outline)
        scene.addItem(self.lasso)
        self._tool: Tool | None = None  # the tool of the drag in progress
        self._stroke_id = 0
        self._last: tuple[float, float] | None = None
        self._points: list[tuple[float, float]] = []
        self._hover: QPointF | None = None
        self._swap = False
        tools.changed.connect(self._update_outline)

    @property
    def active(self) -> bool:
        return self._tool is not None

    def set_document(self, doc: ImageDocument | None) -> None:
        self.cancel()
        self.document = doc
        self._update_outline()

    # drag ----------------------------------------------------------------------------------------
    def press(self, pos: QPointF, swap: bool) -> bool:
        """Start a stroke or lasso at ``pos``; False when there is nothing to draw on."""
        if self.document is None:
            return False
        self._tool = self.tools.effective(swap)
        p = (pos.x(), pos.y())
        if self._tool.is_lasso:
            self._points = [p]
            self._show_lasso()
        else:
            self._stroke_id = next_stroke_id()
            self._last = p
            self.document.paint(p, p, self.tools.radius, self._tool.adds_vessel, self._stroke_id)
        return True

    def move(self, pos: QPointF) -> None:
        if self._tool is None or self.document is None:
            return
        p = (pos.x(), pos.y())
        if self._tool.is_lasso:
            last = self._points[-1]
            if math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_LASSO_STEP:
                self._points.append(p)
                self._show_lasso()
        elif self._last is not None and p != self._last:
            self.document.paint(self._last, p, self.tools.radius, self._tool.adds_vessel, self._stroke_id)
            self._last = p

    def release(self, pos: QPointF) -> None:
        if self._tool is None:
            return
        self.move(pos)
        tool, points, doc = self._tool, self._points, self.document
        self.cancel()
        if tool.is_lasso and doc is not None and len(points) >= 3:
            doc.fill(points, tool.adds_vessel)

    def cancel(self) -> None:
        """Forget the drag in progress (strokes already painted stay; a lasso is dropped)."""
        self._tool = None
        self._last = None
        self._points = []
        self.lasso.setPath(QPainterPath())

    # feedback ------------------------------------------------------------------------------------
    def hover(self, pos: QPointF | None, swap: bool | None = None) -> None:
        """The cursor is at ``pos`` (None: left the canvas); ``swap``: the modifier is held."""
        self._hover = pos
        if swap is not None:
            self._swap = swap
        self._update_outline()

    def set_swap(self, swap: bool) -> None:
        self._swap = swap
        self._update_outline()

    def _update_outline(self) -> None:
        tool = self._tool or self.tools.effective(self._swap)
        pos = self._hover
        if self.document is None or pos is None or tool.is_lasso:
            self.outline.setVisible(False)
            return
        r = max(self.tools.radius, MIN_RADIUS)  # the footprint: a 1-px brush still paints the pixel under it
        self.outline.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        self.outline.setPen(_pen(QColor(255, 255, 255), dashed=not tool.adds_vessel))
        self.outline.setVisible(True)

    def _show_lasso(self) -> None:
        path = QPainterPath()
        if self._points:
            path.moveTo(*self._points[0])
            for x, y in self._points[1:]:
                path.lineTo(x, y)
            path.closeSubpath()
        color = QColor(255, 255, 255) if self._tool is not None and self._tool.adds_vessel else QColor(255, 90, 90)
        self.lasso.setPen(_pen(color, dashed=True))
        self.lasso.setPath(path)
