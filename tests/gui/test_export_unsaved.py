"""Export of an edited mask (files read back equal), one overwrite question, and Save / Discard /
Cancel before closing the window or switching image with unsaved edits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

import gui.dialogs.prompts
from core.io.export import read_mask, uint16_to_probability
from core.io.images import read_image
from tests.gui.conftest import FakeService, step_and_wait
from tests.gui.test_editing import drag, segment_and_wait


@pytest.fixture
def window(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    w = make_window(FakeService())
    assert w.open_path(image_file)
    segment_and_wait(qtbot, w)
    w.canvas.zoom_100()
    w.canvas.centerOn(56, 48)
    drag(w.canvas, [(5, 5), (25, 5)])  # an edit by hand
    return w


def test_export_writes_files_that_read_back_equal_and_clears_the_modified_marker(window, tmp_path: Path) -> None:  # noqa: ANN001
    doc = window.document
    out = tmp_path / "out"
    out.mkdir()
    assert window.isWindowModified()

    assert window.export(str(out))

    names = sorted(p.name for p in out.iterdir())
    assert names == ["eye_biomarkers.csv", "eye_info.json", "eye_mask.png", "eye_overlay.png", "eye_prob.png"]
    np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), doc.mask)
    assert set(np.unique(read_image(out / "eye_mask.png", mode=None))) <= {0, 255}
    prob = uint16_to_probability(read_image(out / "eye_prob.png", mode=None))
    np.testing.assert_allclose(prob, doc.probability, atol=1e-4)
    assert read_image(out / "eye_overlay.png", mode=None).shape == (96, 112, 3)
    info = json.loads((out / "eye_info.json").read_text())
    assert info["edited_by_hand"] is True and info["threshold"] == pytest.approx(doc.threshold)
    assert info["source"].endswith("eye.png") and info["model"] == "tiny.pt"
    assert info["vessel_fraction"] == pytest.approx(doc.vessel_fraction(), abs=1e-5)
    assert not window.isWindowModified() and not doc.modified
    assert window.settings.export_dir == str(out)


def test_export_asks_once_before_overwriting(window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    out.mkdir()
    assert window.export(str(out))
    first = (out / "eye_mask.png").read_bytes()
    drag(window.canvas, [(5, 60), (25, 60)])
    asked: list[list[Path]] = []

    monkeypatch.setattr(gui.dialogs.prompts, "ask_overwrite", lambda _p, paths: asked.append(list(paths)) or False)
    assert not window.export(str(out))
    assert len(asked) == 1 and len(asked[0]) == 5  # one question listing every existing file
    assert (out / "eye_mask.png").read_bytes() == first and window.isWindowModified()

    monkeypatch.setattr(gui.dialogs.prompts, "ask_overwrite", lambda _p, paths: asked.append(list(paths)) or True)
    assert window.export(str(out))
    assert len(asked) == 2
    np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), window.document.mask)


def test_export_asks_for_the_folder_and_reports_a_missing_one(qtbot, window, tmp_path: Path,  # noqa: ANN001
                                                              monkeypatch) -> None:
    missing = tmp_path / "nope"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(missing))
    with qtbot.waitSignal(window.errorShown) as err:
        window.act_export.trigger()
    assert "does not exist" in err.args[0] and window.isWindowModified()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: "")
    assert not window.export()  # the dialog was cancelled: nothing happens


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_export_to_a_read_only_folder_says_so(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with qtbot.waitSignal(window.errorShown) as err:
            assert not window.export(str(ro))
        assert "read-only" in err.args[0]
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("answer", ["cancel", "discard", "save"])
def test_closing_with_unsaved_edits_asks_save_discard_cancel(qtbot, window, tmp_path: Path, monkeypatch,  # noqa: ANN001
                                                              answer: str, isolated_app_data: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    window.headless = False
    asked: list[list[str]] = []
    monkeypatch.setattr(gui.dialogs.prompts, "ask_unsaved",
                        lambda _p, items: asked.append([u.name for u in items]) or answer)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(out))
    window.autosave.flush()
    assert any(isolated_app_data.iterdir())

    closed = window.close()

    assert asked == [["eye.png"]]
    assert closed == (answer != "cancel")
    if answer == "save":
        np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), window.document.mask)
    if answer in ("save", "discard"):
        assert not any(isolated_app_data.iterdir())  # nothing left to recover
    window.headless = True


def test_no_question_when_everything_was_exported(window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    window.headless = False
    assert window.export(str(tmp_path))
    monkeypatch.setattr(gui.dialogs.prompts, "ask_unsaved", lambda *_: pytest.fail("asked although exported"))
    assert window.close()


@pytest.mark.parametrize("answer", ["cancel", "discard"])
def test_switching_image_with_unsaved_edits(qtbot, make_window, image_folder: Path, monkeypatch,  # noqa: ANN001
                                            answer: str) -> None:
    window = make_window(FakeService())
    window.open_path(image_folder)
    window.canvas.zoom_100()
    first = window.document
    drag(window.canvas, [(20, 20), (30, 20)])
    window.headless = False
    monkeypatch.setattr(gui.dialogs.prompts, "ask_unsaved", lambda *_: answer)

    step_and_wait(qtbot, window, 1)

    if answer == "cancel":
        assert window.document is first and first.mask.any()
    else:
        assert window.document is not first
        assert not first.mask.any() and not first.modified  # back to the saved state…
        assert first.undo_stack.canRedo()  # …with the edit still redoable
    window.headless = True


def test_export_does_not_wait_behind_a_running_segmentation(qtbot, make_window, image_file: Path,  # noqa: ANN001
                                                            tmp_path: Path) -> None:
    import time

    service = FakeService()
    window = make_window(service)
    assert window.open_path(image_file)
    segment_and_wait(qtbot, window)
    slow = service.predictors[-1]
    slow.tiles, slow.delay = 200, 0.05  # the next run takes 10 s
    with qtbot.waitSignal(window.jobs.progress, timeout=30_000):
        window.segment()
    out = tmp_path / "out"
    out.mkdir()

    start = time.perf_counter()
    assert window.export(str(out))  # written in the file thread while the network runs

    assert time.perf_counter() - start < 5.0 and window.segmenting
    assert (out / "eye_mask.png").is_file()
    window.cancel_segmentation()


def test_a_moved_threshold_is_an_unexported_result_not_an_edit(qtbot, make_window, image_folder: Path,  # noqa: ANN001
                                                               monkeypatch) -> None:
    window = make_window(FakeService())
    assert window.open_path(image_folder)
    segment_and_wait(qtbot, window)
    window.headless = False
    asked: list[list] = []
    monkeypatch.setattr(gui.dialogs.prompts, "ask_unsaved", lambda _p, items: asked.append(list(items)) or "cancel")
    slider = window.threshold.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # a real key press on the slider
    assert window.document.threshold > 0.5 and window.document.modified

    step_and_wait(qtbot, window, 1)  # the result stays with its image: leaving it is not asked about
    assert asked == [] and window.document.name == "b.png"
    step_and_wait(qtbot, window, -1)

    assert not window.close()  # closing would lose it: asked, and Cancel keeps the window
    [item] = asked[0]
    assert item.name == "a.png" and not item.hand_edits
    assert item.threshold[0] == pytest.approx(0.5) and item.threshold[1] == pytest.approx(window.document.threshold)
    assert item.describe().startswith("threshold 0.500 → ")

    window.canvas.zoom_100()
    drag(window.canvas, [(20, 20), (30, 20)])  # now a hand edit too
    assert not window.close()
    assert asked[1][0].hand_edits and asked[1][0].describe() == "hand edits"
    window.headless = True
