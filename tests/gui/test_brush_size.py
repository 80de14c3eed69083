"""The brush suits the image shown: on a 3504-px photograph fitted to the window it is not a hairline, the
outline under the cursor is what a stroke paints, and the size picked is remembered per image size class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from core.io.images import write_image
from gui.actions.brush_sizes import default_size, size_class
from gui.canvas.tools import DEFAULT_SIZE
from tests.gui.conftest import FakeService

TIMEOUT = 30_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """An HRF-sized photograph (3504×2336) and a DRIVE-sized one (565×584), plain gray (quick to write)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "a_hrf.png", np.full((2336, 3504), 90, np.uint8))
    write_image(folder / "b_drive.png", np.full((584, 565), 90, np.uint8))
    return folder


def test_size_classes_and_defaults() -> None:
    assert size_class(565, 584) == "small" and size_class(3504, 2336) == "large" and size_class(9000, 10) == "huge"
    assert default_size(565, 584) == DEFAULT_SIZE == default_size(1200, 900)
    assert default_size(3504, 2336) == 35  # grows with the image: about as wide on screen at fit


def press(qtbot, window, key: Qt.Key) -> None:  # noqa: ANN001
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key)
    qtbot.waitUntil(lambda: not window.io_jobs.busy("open"), timeout=TIMEOUT)


def test_on_a_large_image_at_fit_the_brush_is_visible_and_paints_its_outline(qtbot, make_window,  # noqa: ANN001
                                                                            photos: Path) -> None:
    window = make_window(FakeService())
    assert window.open_path(photos) and window.document.width == 3504
    canvas, tools = window.canvas, window.editing.tools
    qtbot.waitUntil(lambda: canvas.zoom < 0.5)  # fitted to the window
    on_screen = tools.size * canvas.zoom
    assert tools.size == 35 and on_screen >= 8  # a visible brush, not a 3-px hairline
    assert window.editing.panel.on_screen.text() == f"image pixels, {on_screen:.0f} px on screen"

    viewport = canvas.viewport()
    start = canvas.mapFromScene(QPointF(1000.5, 1200.5))
    end = start + QPoint(60, 0)
    qtbot.mouseMove(viewport, start)  # real events: hover, press, drag, release
    outline = canvas.tool_input.outline
    assert outline.isVisible() and outline.rect().width() == pytest.approx(tools.size)
    centre = outline.rect().center()
    assert (centre.x(), centre.y()) == pytest.approx((1000.5, 1200.5), abs=1 / canvas.zoom)
    qtbot.mousePress(viewport, LEFT, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, LEFT, pos=end)

    mask = window.document.mask
    column = mask[:, int(canvas.mapToScene(start + QPoint(30, 0)).x())]
    assert abs(int(column.sum()) - tools.size) <= 2  # the stroke is as wide as the outline said


def test_the_size_picked_is_remembered_per_size_class(qtbot, make_window, photos: Path, settings) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    assert window.open_path(photos)
    tools = window.editing.tools
    for _ in range(2):
        qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)  # ] bigger, twice
    large = tools.size
    assert large > 35

    press(qtbot, window, Qt.Key.Key_PageDown)  # the DRIVE-sized image: its own class, its own size
    assert window.document.name == "b_drive.png" and tools.size == DEFAULT_SIZE
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    small = tools.size
    assert small < DEFAULT_SIZE

    press(qtbot, window, Qt.Key.Key_PageUp)
    assert tools.size == large
    press(qtbot, window, Qt.Key.Key_PageDown)
    assert tools.size == small
    assert settings.brush_size_for("large") == large and settings.brush_size_for("small") == small
