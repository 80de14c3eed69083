"""Stepping through a folder with Page Down / Page Up (real key presses): a file that cannot be read is
reported once and passed over, wherever it is in the list, so every readable image can be reached."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.io.images import write_image
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeService

TIMEOUT = 30_000


def folder_of(tmp_path: Path, names: list[str]) -> Path:
    """Good images, except names with "empty" (an empty file) or "notes" (a text file); listed by name."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, name in enumerate(names):
        if "empty" in name:
            (folder / name).write_bytes(b"")
        elif "notes" in name:
            (folder / name).write_text("appointment on Tuesday\n")
        else:
            write_image(folder / name, synthetic_fundus(48 + 8 * i, 56, seed=i))
    return folder


@pytest.fixture
def open_folder(qtbot, make_window, tmp_path: Path, monkeypatch):  # noqa: ANN001, ANN201
    """Open a folder of ``names``; returns the window and the list of messages it reported."""

    def open_it(names: list[str]):  # noqa: ANN202
        window = make_window(FakeService())
        notes: list[str] = []
        shown = window.notify
        monkeypatch.setattr(window, "notify", lambda text, *args: (notes.append(text), shown(text, *args)))
        assert window.open_path(folder_of(tmp_path, names))
        return window, notes

    return open_it


def press(qtbot, window, key: Qt.Key) -> None:  # noqa: ANN001
    """A real key press on the canvas, then wait until any image read it started has been shown or refused."""
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key)
    qtbot.waitUntil(lambda: not window.io_jobs.busy("open"), timeout=TIMEOUT)


def names_seen(qtbot, window, key: Qt.Key, times: int) -> list[str]:  # noqa: ANN001
    seen = []
    for _ in range(times):
        press(qtbot, window, key)
        seen.append(window.document.name)
    return seen


def test_the_issue_folder_reaches_every_readable_image(qtbot, open_folder) -> None:  # noqa: ANN001
    window, notes = open_folder(["Image_01L.jpg", "empty.png", "notes.png", "photo_2.jpg", "photo_3.jpg"])
    assert window.document.name == "Image_01L.jpg" and "(1/5)" in window.windowTitle()

    assert names_seen(qtbot, window, Qt.Key.Key_PageDown, 3) == ["photo_2.jpg", "photo_3.jpg", "photo_3.jpg"]
    assert "(4/5)" not in window.windowTitle() and "(5/5)" in window.windowTitle()
    assert names_seen(qtbot, window, Qt.Key.Key_PageUp, 3) == ["photo_2.jpg", "Image_01L.jpg", "Image_01L.jpg"]
    assert names_seen(qtbot, window, Qt.Key.Key_PageDown, 1) == ["photo_2.jpg"]

    assert len(notes) == 2  # each bad file once, however often it is passed
    assert notes[0].startswith("Skipped empty.png: file is empty") and "notes.png" in notes[1]
    assert str(window.session.paths[0].parent) not in notes[0]  # the name, not the whole path


def test_a_bad_file_at_the_start_is_reported_once_and_page_up_stays(qtbot, open_folder) -> None:  # noqa: ANN001
    window, notes = open_folder(["0_empty.png", "b.png", "c.png"])
    assert window.document.name == "b.png" and "(2/3)" in window.windowTitle()
    assert not window.act_prev.isEnabled()  # nothing readable before b.png

    assert names_seen(qtbot, window, Qt.Key.Key_PageUp, 2) == ["b.png", "b.png"]
    assert names_seen(qtbot, window, Qt.Key.Key_PageDown, 1) == ["c.png"]
    assert names_seen(qtbot, window, Qt.Key.Key_PageUp, 1) == ["b.png"]
    assert len(notes) == 1 and "0_empty.png" in notes[0]


def test_a_bad_file_at_the_end_stops_next_after_one_report(qtbot, open_folder) -> None:  # noqa: ANN001
    window, notes = open_folder(["a.png", "b.png", "z_notes.png"])
    assert names_seen(qtbot, window, Qt.Key.Key_PageDown, 3) == ["b.png", "b.png", "b.png"]
    assert len(notes) == 1 and "z_notes.png" in notes[0] and "no readable image after it" in notes[0]
    assert not window.act_next.isEnabled() and window.act_prev.isEnabled()
    assert names_seen(qtbot, window, Qt.Key.Key_PageUp, 1) == ["a.png"]


def test_a_bad_file_in_the_middle_is_passed_both_ways(qtbot, open_folder) -> None:  # noqa: ANN001
    window, notes = open_folder(["a.png", "b_notes.png", "c.png"])
    assert names_seen(qtbot, window, Qt.Key.Key_PageDown, 1) == ["c.png"]
    assert names_seen(qtbot, window, Qt.Key.Key_PageUp, 1) == ["a.png"]
    assert names_seen(qtbot, window, Qt.Key.Key_PageDown, 1) == ["c.png"]
    assert len(notes) == 1 and "b_notes.png" in notes[0]


def test_a_folder_of_only_bad_files_says_why(qtbot, make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    with qtbot.waitSignal(window.errorShown) as err:
        assert not window.open_path(folder_of(tmp_path, ["empty.png", "notes.png"]))
    assert "empty.png" in err.args[0] and window.document is None
