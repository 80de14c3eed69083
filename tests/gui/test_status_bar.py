"""The status bar: messages in their own area, shortened at a word with the full text in a tooltip;
the pixel readout describes only the image shown."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint

from tests.gui.conftest import FakeService, step_and_wait
from tests.gui.test_editing import segment_and_wait


def test_a_long_export_message_is_elided_beside_the_readout_with_the_full_text_in_a_tooltip(
        qtbot, make_window, image_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    window.resize(900, 600)
    assert window.open_path(image_file)
    segment_and_wait(qtbot, window)
    out = tmp_path / ("a folder with a rather long name for the results of this study " * 2).strip()
    out.mkdir()
    window.canvas.cursorMoved.emit(10, 20)  # the readout has something to show

    assert window.export(str(out))

    status = window.status
    full = status.message_text()
    assert full.startswith("Exported eye.png: 5 files in") and str(out) in full  # mask, prob, overlay, info, biomarkers
    qtbot.waitUntil(lambda: status.message.text() != "")
    shown = status.message.text()
    assert shown != full and shown.endswith(" …") and full.startswith(shown[:-2])
    assert full[len(shown) - 2] in " ,:;"  # cut at a word
    assert status.message.toolTip() == full
    message_box = status.message.geometry()
    assert message_box.right() < status.pixel.geometry().left()  # its own area, left of the readout
    assert status.message.fontMetrics().horizontalAdvance(shown) <= message_box.width()


def test_the_pixel_readout_is_cleared_when_the_image_changes(qtbot, make_window, image_folder: Path) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    assert window.open_path(image_folder)
    viewport = window.canvas.viewport()
    qtbot.mouseMove(viewport, viewport.rect().center())
    qtbot.mouseMove(viewport, viewport.rect().center() + QPoint(3, 2))  # a real move over the image
    assert window.status.pixel.text().startswith("x ")

    step_and_wait(qtbot, window, 1)

    assert window.document.name == "b.png" and window.status.pixel.text() == ""
