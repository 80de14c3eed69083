"""Canvas navigation: fit, 100 %, wheel zoom that keeps the pixel under the cursor, pan, cursor pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

from gui.canvas.style import OverlayStyle
from gui.canvas.view import ImageCanvas
from gui.document.document import ImageDocument


@pytest.fixture
def canvas(qtbot) -> ImageCanvas:  # noqa: ANN001
    c = ImageCanvas(OverlayStyle())
    qtbot.addWidget(c)
    c.resize(400, 300)
    c.show()
    qtbot.waitExposed(c)
    c.set_document(ImageDocument(np.zeros((1000, 2000, 3), np.uint8)))
    return c


def wheel(canvas: ImageCanvas, pos: QPoint, clicks: int) -> None:
    p = QPointF(pos)
    event = QWheelEvent(p, QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * clicks),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(event)


def mouse(canvas: ImageCanvas, kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton) -> None:
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    {QEvent.Type.MouseButtonPress: canvas.mousePressEvent, QEvent.Type.MouseMove: canvas.mouseMoveEvent,
     QEvent.Type.MouseButtonRelease: canvas.mouseReleaseEvent}[kind](event)


def test_fit_and_actual_pixels(canvas: ImageCanvas) -> None:
    vw = canvas.viewport().width()
    assert canvas.zoom == pytest.approx(vw / 2000 * 0.98, rel=0.05)
    canvas.zoom_100()
    assert canvas.zoom == pytest.approx(1.0)
    canvas.fit_to_window()
    assert canvas.zoom < 0.25


def test_wheel_zoom_keeps_the_pixel_under_the_cursor(canvas: ImageCanvas, qtbot) -> None:  # noqa: ANN001
    pos = QPoint(250, 120)
    before = canvas.mapToScene(pos)
    with qtbot.waitSignal(canvas.zoomChanged):
        wheel(canvas, pos, 3)
    after = canvas.mapToScene(pos)
    assert canvas.zoom > 0.3
    assert abs(after.x() - before.x()) < 3 and abs(after.y() - before.y()) < 3


def test_middle_button_and_space_drag_pan(canvas: ImageCanvas) -> None:
    canvas.zoom_100()
    start = canvas.mapToScene(QPoint(200, 150))
    mouse(canvas, QEvent.Type.MouseButtonPress, QPoint(200, 150), Qt.MouseButton.MiddleButton)
    mouse(canvas, QEvent.Type.MouseMove, QPoint(150, 120), Qt.MouseButton.MiddleButton)
    mouse(canvas, QEvent.Type.MouseButtonRelease, QPoint(150, 120), Qt.MouseButton.MiddleButton)
    moved = canvas.mapToScene(QPoint(200, 150))
    assert moved.x() - start.x() == pytest.approx(50, abs=1) and moved.y() - start.y() == pytest.approx(30, abs=1)

    canvas.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier))
    mouse(canvas, QEvent.Type.MouseButtonPress, QPoint(200, 150), Qt.MouseButton.LeftButton)
    mouse(canvas, QEvent.Type.MouseMove, QPoint(220, 150), Qt.MouseButton.LeftButton)
    mouse(canvas, QEvent.Type.MouseButtonRelease, QPoint(220, 150), Qt.MouseButton.LeftButton)
    canvas.keyReleaseEvent(QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier))
    assert canvas.mapToScene(QPoint(200, 150)).x() == pytest.approx(moved.x() - 20, abs=1)


def test_cursor_reports_image_pixels(canvas: ImageCanvas, qtbot) -> None:  # noqa: ANN001
    canvas.zoom_100()
    canvas.centerOn(0, 0)
    origin = canvas.mapFromScene(QPointF(0, 0))
    with qtbot.waitSignal(canvas.cursorMoved) as sig:
        mouse(canvas, QEvent.Type.MouseMove, origin + QPoint(5, 7), Qt.MouseButton.NoButton)
    assert sig.args == [5, 7]
    assert canvas.image_pixel_at(origin - QPoint(3, 3)) == (-1, -1)


def test_mask_edit_repaints_only_the_touched_rectangle(canvas: ImageCanvas) -> None:
    doc = canvas.document
    prob = np.zeros((doc.height, doc.width), np.float32)
    prob[:, :1000] = 0.9  # left half vessel
    doc.set_prediction(prob, threshold=0.5)
    layer = canvas.mask_layer
    assert layer.image.pixelColor(10, 10).alpha() > 0 and layer.image.pixelColor(1500, 10).alpha() == 0

    doc.mask[100:110, 1500:1520] = True  # an in-place edit, as a brush stroke makes it
    doc.mask[500, 10] = False  # outside the announced rectangle: must not be repainted
    doc.mask_changed((100, 1500, 110, 1520))

    assert layer.image.pixelColor(1510, 105).alpha() > 0
    assert layer.image.pixelColor(1510, 111).alpha() == 0
    assert layer.image.pixelColor(10, 500).alpha() > 0  # proves the layer was not rebuilt
