"""ImageCanvas: a QGraphicsView showing one document's image with its overlays.

Layers (bottom to top, gui.canvas.layers.LAYERS): image, probability heat map, vessel labels, artery/vein
labels, optic disc and zones, FOV outline, the vessels of a selected calibre; each is a small adapter that
follows the document and the overlay style. Wheel zooms around the cursor; the middle button, or the left
button while Space is held, pans; the left button alone draws with the current tool (gui.canvas.tool_input),
once ``set_tools`` has given the canvas a ToolState.
Holding Shift swaps the tool with its opposite (brush <-> eraser, fill <-> cut, artery <-> vein).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

from gui.canvas.image_layer import ImageLayer
from gui.canvas.layers import LAYERS, LayerAdapter
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
        self.layers: list[LayerAdapter] = [cls() for cls in LAYERS]
        for z, layer in enumerate(self.layers):
            layer.attach(self.scene(), z)
            layer.apply(style.values)
        self._space_down = False
        self._pan_from: QPoint | None = None
        self._fit_on_resize = True
        self.tool_input: ToolInput | None = None
        style.changed.connect(self._on_style_changed)

    def set_tools(self, tools: ToolState) -> ToolInput:
        """Enable drawing with the left button, using ``tools`` (tool and brush size)."""
        self.tool_input = ToolInput(self.scene(), tools)
        self.tool_input.set_document(self.document)
        self.tool_input.set_zoom(self.zoom)
        self._restore_cursor()
        return self.tool_input

    # document ------------------------------------------------------------------------------
    def set_document(self, doc: ImageDocument | None) -> None:
        self.document = doc
        if self.tool_input is not None:
            self.tool_input.set_document(doc)
        self._restore_cursor()
        for layer in self.layers:
            layer.bind(doc)
        if doc is not None:
            self.scene().setSceneRect(QRectF(0, 0, doc.width, doc.height))
            self.fit_to_window()

    # layers ---------------------------------------------------------------------------------
    def layer(self, name: str) -> LayerAdapter:
        """The layer called ``name`` (KeyError naming the layers otherwise)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; the canvas has {', '.join(la.name for la in self.layers)}")

    def _on_style_changed(self, _names: set) -> None:
        for layer in self.layers:
            layer.apply(self.overlay_style.values)

    def mask_layer_visible(self) -> bool:
        return self.layer("vessels").shown()

    def heat_layer_visible(self) -> bool:
        return self.layer("heat").shown()

    def fov_layer_visible(self) -> bool:
        return self.layer("fov").shown()

    @property
    def mask_layer(self) -> ImageLayer:
        """The vessel labels' item (its ``image`` is what is drawn)."""
        item = self.layer("vessels").item
        assert isinstance(item, ImageLayer)
        return item

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
        for layer in self.layers:
            layer.set_zoom(factor)
        if self.tool_input is not None:
            self.tool_input.set_zoom(self.zoom)
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
        self.centerOn(self.sceneRect().center())

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
            scene, swap = self.mapToScene(pos), self._swap_held(event.modifiers())
            self.tool_input.hover(scene, swap)
            if self._pan_from is None and not self._space_down and self.document is not None:
                self.viewport().setCursor(self.tool_input.cursor_at(scene, swap))
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
