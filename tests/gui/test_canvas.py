"""Canvas navigation: fit, 100 %, wheel zoom that keeps the pixel under the cursor, pan, cursor pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

from gui.canvas.style import OverlayStyle
from gui.canvas.view import ImageCanvas
from gui.document.document import ImageDocument
from tests.predictions import vessel_prediction


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
    doc.set_prediction(vessel_prediction(prob, 0.5))
    layer = canvas.mask_layer
    assert layer.image.pixelColor(10, 10).alpha() > 0 and layer.image.pixelColor(1500, 10).alpha() == 0

    doc.mask[100:110, 1500:1520] = 1  # an in-place edit, as a brush stroke makes it
    doc.mask[500, 10] = 0  # outside the announced rectangle: must not be repainted
    doc.mask_changed((100, 1500, 110, 1520))

    assert layer.image.pixelColor(1510, 105).alpha() > 0
    assert layer.image.pixelColor(1510, 111).alpha() == 0
    assert layer.image.pixelColor(10, 500).alpha() > 0  # proves the layer was not rebuilt


def test_the_canvas_draws_the_registered_layers_bottom_to_top(canvas: ImageCanvas) -> None:
    from gui.canvas.layers import LAYERS

    assert [type(layer) for layer in canvas.layers] == list(LAYERS)
    assert [layer.name for layer in canvas.layers] == ["image", "heat", "vessels", "arteries_veins", "disc", "fov",
                                                    "calibre_vessels"]
    zs = [layer.item.zValue() for layer in canvas.layers]
    assert zs == sorted(zs) and canvas.layer("image").shown()
    with pytest.raises(KeyError, match="vessels"):
        canvas.layer("cup")


def test_a_style_change_redraws_only_the_layers_that_use_it(canvas: ImageCanvas) -> None:
    doc = canvas.document
    prob = np.zeros((doc.height, doc.width), np.float32)
    prob[:, :1000] = 0.9
    doc.set_prediction(vessel_prediction(prob, 0.5))
    canvas.overlay_style.update(show_heat=True)
    heat = canvas.layer("heat").item.image.cacheKey()
    vessels = canvas.mask_layer.image.cacheKey()
    canvas.overlay_style.update(mask_color="#ff0000")
    assert canvas.layer("heat").item.image.cacheKey() == heat  # not redrawn
    assert canvas.mask_layer.image.cacheKey() != vessels
    vessel = canvas.mask_layer.image.pixelColor(10, 10)
    assert vessel.red() > 0 and vessel.green() == 0
    canvas.overlay_style.update(show_fov=False, show_mask=False)
    assert not canvas.mask_layer_visible() and not canvas.fov_layer_visible() and canvas.heat_layer_visible()


def test_a_new_document_rebinds_every_layer(canvas: ImageCanvas, qtbot) -> None:  # noqa: ANN001
    first = canvas.document
    first.set_prediction(vessel_prediction(np.full((first.height, first.width), 0.9, np.float32)))
    assert canvas.mask_layer_visible()
    second = ImageDocument(np.zeros((50, 60), np.uint8))
    canvas.set_document(second)
    assert not canvas.mask_layer_visible() and not canvas.heat_layer_visible()
    first.clear_mask()  # the old document no longer reaches the canvas
    assert not canvas.mask_layer_visible()
    second.ensure_mask()
    assert canvas.mask_layer.image.width() == 60
