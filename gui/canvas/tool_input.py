"""ToolInput: turns left-button drags on the canvas into document edits, and draws the tool feedback.

The canvas forwards scene positions (= image coordinates: pixel (r, c) covers [c, c+1) × [r, r+1));
this class asks the document for the edit (gui.document.document.paint / paint_type / fill / set_disc push
undo commands) and keeps two scene items: the brush outline, drawn at image scale so it shows the true size
at any zoom, and the lasso path while it is being drawn. A click of the swap tool is handed to
``swap_segment`` (finding a vessel segment takes seconds on a large image: the caller runs it as a job).
The disc tool grabs the disc (core.edit.disc): inside moves it, the margin resizes it, a press elsewhere
puts it there; one drag is one undo step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsScene

from core.edit import disc as disc_edit
from core.edit.mask_ops import MIN_RADIUS
from core.io.artery_vein import ARTERY, VEIN
from gui.canvas.tools import Tool, ToolState
from gui.document.commands import next_stroke_id
from gui.document.document import ImageDocument

MIN_LASSO_STEP = 0.5  # image pixels between recorded lasso points
GRAB_PX = 6  # screen pixels around the disc's margin that grab it for resizing
SWAP_REACH_PX = 6  # screen pixels from a vessel a swap click may land and still find it
#: Resize cursors for a margin normal of 0, 45, 90 and 135 degrees (y grows downwards)
_RESIZE_CURSORS = (Qt.CursorShape.SizeHorCursor, Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor,
                   Qt.CursorShape.SizeBDiagCursor)
#: (document, row, column, reach in image pixels) -> None: swap the vessel segment there
SwapSegment = Callable[[ImageDocument, int, int, int], None]


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
        self._zoom = 1.0
        #: the disc drag in progress: (what was grabbed, the disc then, where the press was)
        self._disc_drag: tuple[str, Any, tuple[float, float]] | None = None
        self.swap_segment: SwapSegment | None = None
        tools.changed.connect(self._update_outline)

    @property
    def active(self) -> bool:
        return self._tool is not None

    def set_document(self, doc: ImageDocument | None) -> None:
        self.cancel()
        self.document = doc
        self._update_outline()

    def set_zoom(self, factor: float) -> None:
        """The view's scale: what a few screen pixels of reach are in image pixels."""
        self._zoom = max(float(factor), 1e-6)

    # drag ----------------------------------------------------------------------------------------
    def press(self, pos: QPointF, swap: bool) -> bool:
        """Start a stroke or lasso at ``pos``; False when there is nothing to draw on."""
        if self.document is None:
            return False
        tool = self.tools.effective(swap)
        p = (pos.x(), pos.y())
        if tool.types_vessels and self.document.artery_vein is None:
            return False  # nothing to retype yet (Segment > Find Arteries and Veins first)
        if tool == Tool.SWAP:
            if self.swap_segment is not None:
                reach = max(3, math.ceil(SWAP_REACH_PX / self._zoom))
                self.swap_segment(self.document, int(math.floor(p[1])), int(math.floor(p[0])), reach)
            return True
        self._tool = tool
        self._stroke_id = next_stroke_id()
        if tool == Tool.DISC:
            self._press_disc(p)
        elif tool.is_lasso:
            self._points = [p]
            self._show_lasso()
        else:
            self._last = p
            self._paint(p, p)
        return True

    def _paint(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        assert self._tool is not None and self.document is not None
        if self._tool.types_vessels:
            self.document.paint_type(p0, p1, self.tools.radius, ARTERY if self._tool == Tool.ARTERY else VEIN,
                                     self._stroke_id, self._tool.label)
        else:
            self.document.paint(p0, p1, self.tools.radius, self._tool.adds_vessel, self._stroke_id)

    def _press_disc(self, p: tuple[float, float]) -> None:
        """Grab the disc (margin: resize, inside: move), or put it at ``p`` (a new one, or the old one moved)."""
        doc = self.document
        assert doc is not None
        disc = doc.disc_circle
        handle = disc_edit.grab(disc, p, GRAB_PX / self._zoom)
        if handle is None:
            if disc is None:
                disc = disc_edit.placed(p, doc.state.shape, doc.fov)
                doc.set_disc(disc, "Place optic disc", self._stroke_id)
            else:
                disc = disc.moved(*p)
                doc.set_disc(disc, "Move optic disc", self._stroke_id)
            handle = disc_edit.MOVE
        self._disc_drag = (handle, disc, p)

    def _drag_disc(self, p: tuple[float, float]) -> None:
        assert self._disc_drag is not None and self.document is not None
        handle, start_disc, start = self._disc_drag
        moved = disc_edit.dragged(start_disc, handle, start, p, self.document.state.shape)
        if moved != self.document.disc:
            text = "Resize optic disc" if handle == disc_edit.RESIZE else "Move optic disc"
            self.document.set_disc(moved, text, self._stroke_id)

    def move(self, pos: QPointF) -> None:
        if self._tool is None or self.document is None:
            return
        p = (pos.x(), pos.y())
        if self._tool == Tool.DISC:
            self._drag_disc(p)
        elif self._tool.is_lasso:
            last = self._points[-1]
            if math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_LASSO_STEP:
                self._points.append(p)
                self._show_lasso()
        elif self._last is not None and p != self._last:
            self._paint(self._last, p)
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
        self._disc_drag = None
        self.lasso.setPath(QPainterPath())

    # feedback ------------------------------------------------------------------------------------
    def hover(self, pos: QPointF | None, swap: bool | None = None) -> None:
        """The cursor is at ``pos`` (None: left the canvas); ``swap``: the modifier is held."""
        self._hover = pos
        if swap is not None:
            self._swap = swap
        self._update_outline()

    def cursor_at(self, pos: QPointF, swap: bool) -> Qt.CursorShape:
        """The cursor over ``pos``: what a press there would do (move or resize the disc, pick a segment)."""
        tool = self.tools.effective(swap)
        if tool == Tool.SWAP and self.document is not None and self.document.artery_vein is not None:
            return Qt.CursorShape.PointingHandCursor
        disc = self.document.disc_circle if self.document is not None and tool == Tool.DISC else None
        handle = disc_edit.grab(disc, (pos.x(), pos.y()), GRAB_PX / self._zoom)
        if handle == disc_edit.MOVE or (self._disc_drag is not None and self._disc_drag[0] == disc_edit.MOVE):
            return Qt.CursorShape.SizeAllCursor
        if handle == disc_edit.RESIZE:
            assert disc is not None
            angle = math.degrees(math.atan2(pos.y() - disc.y, pos.x() - disc.x)) % 180  # the margin's normal
            return _RESIZE_CURSORS[int((angle + 22.5) // 45) % 4]
        return Qt.CursorShape.CrossCursor

    def set_swap(self, swap: bool) -> None:
        self._swap = swap
        self._update_outline()

    def _update_outline(self) -> None:
        tool = self._tool or self.tools.effective(self._swap)
        pos = self._hover
        if self.document is None or pos is None or not tool.is_brush:
            self.outline.setVisible(False)
            return
        r = max(self.tools.radius, MIN_RADIUS)  # the footprint: a 1-px brush still paints the pixel under it
        self.outline.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        self.outline.setPen(_pen(QColor(255, 255, 255), dashed=tool == Tool.ERASER))
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
