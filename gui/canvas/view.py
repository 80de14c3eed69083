"""ImageCanvas: a QGraphicsView showing one document's image with its overlays.

Layers (bottom to top): image, probability heat map, vessel mask, FOV outline. Wheel zooms around
the cursor; the middle button, or the left button while Space is held, pans; the left button alone
draws with the current tool (gui.canvas.tool_input), once ``set_tools`` has given the canvas a ToolState.
Holding Shift swaps the tool with its opposite (brush <-> eraser, fill <-> cut).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from gui.canvas.image_layer import ImageLayer
from gui.canvas.render import heat_to_qimage, image_to_qimage, mask_to_qimage
from gui.canvas.style import OverlayStyle
from gui.canvas.tool_input import ToolInput
from gui.canvas.tools import ToolState
from gui.document.document import ImageDocument

MIN_ZOOM = 1 / 64
MAX_ZOOM = 64.0
WHEEL_STEP = 1.25


class ImageCanvas(QGraphicsView):
    #: image pixel under the cursor (-1, -1 when outside the image)
    cursorMoved = Signal(int, int)
    zoomChanged = Signal(float)

    def __init__(self, style: OverlayStyle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay_style = style
        self.document: ImageDocument | None = None
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QBrush(QColor(32, 32, 32)))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._image_item = QGraphicsPixmapItem()
        self._heat_item = ImageLayer()
        self._mask_item = ImageLayer()
        self._fov_item = QGraphicsPathItem()
        pen = QPen(QColor(255, 220, 0), 1.5)
        pen.setCosmetic(True)  # the same width on screen at any zoom
        pen.setStyle(Qt.PenStyle.DashLine)
        self._fov_item.setPen(pen)
        for z, item in enumerate((self._image_item, self._heat_item, self._mask_item, self._fov_item)):
            item.setZValue(z)
            self.scene().addItem(item)
        self._space_down = False
        self._pan_from: QPoint | None = None
        self._fit_on_resize = True
        self.tool_input: ToolInput | None = None
        style.changed.connect(self._on_style_changed)

    def set_tools(self, tools: ToolState) -> ToolInput:
        """Enable drawing with the left button, using ``tools`` (tool and brush size)."""
        self.tool_input = ToolInput(self.scene(), tools)
        self.tool_input.set_document(self.document)
        self._restore_cursor()
        return self.tool_input

    # document ------------------------------------------------------------------------------
    def set_document(self, doc: ImageDocument | None) -> None:
        if self.document is not None:
            for signal, slot in self._doc_connections():
                signal.disconnect(slot)
        self.document = doc
        if self.tool_input is not None:
            self.tool_input.set_document(doc)
        self._restore_cursor()
        if doc is None:
            self._image_item.setPixmap(QPixmap())
            self._heat_item.set_image(None)
            self._mask_item.set_image(None)
            self._fov_item.setPath(QPainterPath())
            return
        for signal, slot in self._doc_connections():
            signal.connect(slot)
        self._image_item.setPixmap(QPixmap.fromImage(image_to_qimage(doc.image)))
        self.scene().setSceneRect(QRectF(0, 0, doc.width, doc.height))
        self._refresh_heat()
        self._refresh_mask()
        self._refresh_fov()
        self.fit_to_window()

    def _doc_connections(self) -> list:
        d = self.document
        assert d is not None
        return [(d.predictionChanged, self._refresh_heat), (d.maskChanged, self._on_mask_changed),
                (d.fovChanged, self._refresh_fov)]

    # layers ---------------------------------------------------------------------------------
    def _on_style_changed(self, names: set) -> None:
        if names & {"show_heat", "heatmap", "heat_opacity"}:
            self._refresh_heat()
        if names & {"show_mask", "mask_color", "mask_opacity"}:
            self._refresh_mask()
        if "show_fov" in names:
            self._fov_item.setVisible(self.overlay_style.values.show_fov)

    def _refresh_heat(self) -> None:
        v = self.overlay_style.values
        d = self.document
        if d is None or d.probability_u8 is None or not v.show_heat:
            self._heat_item.setVisible(False)
            self._heat_item.set_image(None)
            return
        self._heat_item.set_image(heat_to_qimage(d.probability_u8, v.heatmap, v.heat_opacity))
        self._heat_item.setVisible(True)

    def _on_mask_changed(self, rect: QRect) -> None:
        """A null rect (new prediction, threshold) rebuilds the layer; an edit repaints only ``rect``."""
        d, v = self.document, self.overlay_style.values
        if rect.isNull() or d is None or d.mask is None or self._mask_item.is_empty() or not v.show_mask:
            self._refresh_mask()
            return
        r = rect.intersected(QRect(0, 0, d.width, d.height))
        if r.isEmpty():
            return
        patch = d.mask[r.top():r.bottom() + 1, r.left():r.right() + 1]
        self._mask_item.update_region(mask_to_qimage(patch, self.overlay_style.mask_qcolor, v.mask_opacity),
                                      r.left(), r.top())

    def _refresh_mask(self) -> None:
        v = self.overlay_style.values
        d = self.document
        if d is None or d.mask is None or not v.show_mask:
            self._mask_item.setVisible(False)
            self._mask_item.set_image(None)
            return
        self._mask_item.set_image(mask_to_qimage(d.mask, self.overlay_style.mask_qcolor, v.mask_opacity))
        self._mask_item.setVisible(True)

    def _refresh_fov(self) -> None:
        path = QPainterPath()
        d = self.document
        if d is not None and d.fov_outline is not None:
            pts = d.fov_outline
            if len(pts):
                path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in pts]))
                path.closeSubpath()
        self._fov_item.setPath(path)
        self._fov_item.setVisible(self.overlay_style.values.show_fov)

    def mask_layer_visible(self) -> bool:
        return self._mask_item.isVisible() and not self._mask_item.is_empty()

    def heat_layer_visible(self) -> bool:
        return self._heat_item.isVisible() and not self._heat_item.is_empty()

    @property
    def mask_layer(self) -> ImageLayer:
        return self._mask_item

    def fov_layer_visible(self) -> bool:
        return self._fov_item.isVisible() and not self._fov_item.path().isEmpty()

    # zoom -----------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    def set_zoom(self, factor: float, anchor: QGraphicsView.ViewportAnchor | None = None) -> None:
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        old = self.transformationAnchor()
        if anchor is not None:
            self.setTransformationAnchor(anchor)
        self.scale(factor / self.zoom, factor / self.zoom)
        self.setTransformationAnchor(old)
        # Pixels stay crisp when zoomed in; downscaled images are smoothed.
        mode = Qt.TransformationMode.FastTransformation if factor >= 1 else Qt.TransformationMode.SmoothTransformation
        self._image_item.setTransformationMode(mode)
        self.zoomChanged.emit(self.zoom)

    def fit_to_window(self) -> None:
        self._fit_on_resize = True
        if self.document is None:
            return
        view = self.viewport().rect()
        if view.width() < 2 or view.height() < 2:
            return
        factor = min(view.width() / self.document.width, view.height() / self.document.height) * 0.98
        self.set_zoom(factor)
        self.centerOn(self._image_item)

    def zoom_100(self) -> None:
        self._fit_on_resize = False
        self.set_zoom(1.0, QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def zoom_by(self, steps: float) -> None:
        self._fit_on_resize = False
        self.set_zoom(self.zoom * WHEEL_STEP ** steps, QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120.0
        if steps and self.document is not None:
            self.zoom_at(self.zoom * WHEEL_STEP ** steps, event.position().toPoint())
        event.accept()

    def zoom_at(self, factor: float, view_pos: QPoint) -> None:
        """Zoom so the image point under ``view_pos`` stays under it."""
        self._fit_on_resize = False
        anchor = self.mapToScene(view_pos)
        self.set_zoom(factor, QGraphicsView.ViewportAnchor.NoAnchor)
        drift = self.mapFromScene(anchor) - view_pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001
        super().resizeEvent(event)
        if self._fit_on_resize:
            self.fit_to_window()

    # pan and cursor -------------------------------------------------------------------------
    def _restore_cursor(self) -> None:
        """The resting cursor: a cross hair while a drawing tool can be used, else the arrow."""
        if self.tool_input is not None and self.document is not None:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.viewport().unsetCursor()

    def _swap_held(self, modifiers: Qt.KeyboardModifier) -> bool:
        return bool(modifiers & Qt.KeyboardModifier.ShiftModifier)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Shift and self.tool_input is not None:
            self.tool_input.set_swap(True)
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Shift and self.tool_input is not None:
            self.tool_input.set_swap(False)
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._pan_from = None
            self._restore_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_down):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if (button == Qt.MouseButton.LeftButton and self.tool_input is not None
                and self.tool_input.press(self.mapToScene(event.position().toPoint()),
                                          self._swap_held(event.modifiers()))):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self._fit_on_resize = False
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
        elif self.tool_input is not None and self.tool_input.active:
            self.tool_input.move(self.mapToScene(pos))
            event.accept()
        else:
            super().mouseMoveEvent(event)
        if self.tool_input is not None:
            self.tool_input.hover(self.mapToScene(pos), self._swap_held(event.modifiers()))
        self._emit_cursor(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            if self._space_down:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self._restore_cursor()
            event.accept()
            return
        if (event.button() == Qt.MouseButton.LeftButton and self.tool_input is not None
                and self.tool_input.active):
            self.tool_input.release(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802, ANN001
        if self.tool_input is not None:
            self.tool_input.hover(None)
        self.cursorMoved.emit(-1, -1)
        super().leaveEvent(event)

    def image_pixel_at(self, view_pos: QPoint) -> tuple[int, int]:
        """Image pixel under a viewport position, or (-1, -1) outside the image."""
        if self.document is None:
            return -1, -1
        p = self.mapToScene(view_pos)
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= x < self.document.width and 0 <= y < self.document.height:
            return x, y
        return -1, -1

    def _emit_cursor(self, pos: QPoint) -> None:
        self.cursorMoved.emit(*self.image_pixel_at(pos))
