"""Edits are autosaved to the app-data folder after a pause and offered back after a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gui.dialogs.prompts
from core.edit.task_result import MaskSource
from core.io.recovery import list_recoverable, load_autosave
from tests.gui.conftest import FakeService
from tests.gui.test_editing import drag, segment_and_wait


@pytest.fixture
def edited_window(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    w = make_window(FakeService())
    w.autosave.idle_ms = 50
    assert w.open_path(image_file)
    segment_and_wait(qtbot, w)
    w.canvas.zoom_100()
    w.canvas.centerOn(56, 48)
    return w


def test_edits_are_autosaved_after_a_pause_and_removed_after_export(qtbot, edited_window, tmp_path: Path,  # noqa: ANN001
                                                                     isolated_app_data: Path) -> None:
    window = edited_window
    assert window.autosave.folder == isolated_app_data  # tests never touch the real app-data folder
    with qtbot.waitSignal(window.autosave.saved, timeout=5000) as saved:
        drag(window.canvas, [(5, 5), (25, 5)])
    path = saved.args[0]
    assert path.parent == isolated_app_data
    scan = list_recoverable(isolated_app_data)
    assert [e.source_path.name for e in scan.entries] == ["eye.png"]
    mask, meta = load_autosave(scan.entries[0])
    np.testing.assert_array_equal(mask, window.document.mask)
    assert meta["threshold"] == pytest.approx(window.document.threshold)

    assert window.export(str(tmp_path))
    assert not path.exists()


def test_undoing_back_to_the_saved_state_removes_the_autosave(qtbot, edited_window,  # noqa: ANN001
                                                             isolated_app_data: Path) -> None:
    window = edited_window
    with qtbot.waitSignal(window.autosave.saved, timeout=5000) as saved:
        drag(window.canvas, [(5, 5), (25, 5)])
    window.editing.act_undo.trigger()
    qtbot.waitUntil(lambda: not saved.args[0].exists(), timeout=5000)


def test_recovery_offer_at_start_up_restores_the_mask(qtbot, edited_window, make_window, monkeypatch,  # noqa: ANN001
                                                      image_file: Path) -> None:
    crashed = edited_window
    with qtbot.waitSignal(crashed.autosave.saved, timeout=5000):
        drag(crashed.canvas, [(5, 5), (25, 5)])
    expected = crashed.document.mask.copy()
    # the app "crashes": a new window starts with the same app-data folder
    window = make_window(FakeService())
    asked: list[list[str]] = []
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda _p, names, missing: asked.append(names) or "recover")

    docs = window.offer_recovery()

    assert asked == [["eye.png"]]
    assert [d.name for d in docs] == ["eye.png"] and window.document is docs[0]
    np.testing.assert_array_equal(window.document.mask, expected)
    assert window.document.mask_source == MaskSource.RECOVERED
    assert window.isWindowModified()  # still unsaved until exported
    window.editing.act_undo.trigger()  # recovering is one undo step
    assert not window.document.mask.any()


def test_declining_recovery_deletes_or_keeps_the_autosaves(qtbot, edited_window, make_window, monkeypatch,  # noqa: ANN001
                                                            isolated_app_data: Path, tmp_path: Path) -> None:
    with qtbot.waitSignal(edited_window.autosave.saved, timeout=5000):
        drag(edited_window.canvas, [(5, 5), (25, 5)])
    (isolated_app_data / ("0" * 32 + ".npz")).write_bytes(b"garbage")  # an unreadable one
    window = make_window(FakeService())
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda _p, names, missing: "later")
    assert window.offer_recovery() == [] and window.document is None
    assert len(list(isolated_app_data.iterdir())) == 2
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda _p, names, missing: "discard")
    assert window.offer_recovery() == []
    assert list(isolated_app_data.iterdir()) == []


def test_no_offer_when_nothing_was_left(make_window, monkeypatch) -> None:  # noqa: ANN001
    window = make_window(FakeService())
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda *_: pytest.fail("nothing to recover"))
    assert window.offer_recovery() == []
