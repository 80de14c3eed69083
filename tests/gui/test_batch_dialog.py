"""The batch dialog segments a folder in its worker: progress, per-file errors at the end, cancel
keeps the files already done."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.io.images import read_image, write_image
from gui.dialogs.batch import BatchDialog
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeSegmenter, FakeService

TIMEOUT = 60_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(["a.png", "b.png", "d.png"]):
        write_image(d / name, synthetic_fundus(40, 48, seed=i))
    (d / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n corrupt")
    return d


def make_dialog(qtbot, settings, factory, threshold=None) -> BatchDialog:  # noqa: ANN001
    dialog = BatchDialog(factory, settings, lambda: None, lambda: "cpu", threshold)
    qtbot.addWidget(dialog)
    return dialog


def test_batch_lists_the_corrupt_file_and_writes_the_others(qtbot, settings, folder: Path,  # noqa: ANN001
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    dialog = make_dialog(qtbot, settings, lambda model, device: FakeSegmenter(model, device), threshold=0.3)
    dialog.input_edit.setText(str(folder))
    dialog.output_edit.setText(str(out))
    dialog.save_prob.setChecked(True)
    ticks: list[tuple[int, int]] = []
    dialog.jobs.progress.connect(lambda _rid, done, total: ticks.append((done, total)))  # on the GUI thread

    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
        assert dialog.running and not dialog.run_button.isEnabled()

    summary = done.args[0]
    assert [p.name for p in summary.done] == ["a.png", "b.png", "d.png"]
    assert [p.name for p, _ in summary.failed] == ["c.png"]
    assert "c.png" in dialog.log.toPlainText() and "1 failed" in dialog.status.text()
    assert ticks[-1] == (4, 4)
    mask = read_image(out / "a_mask.png", mode=None)
    yy, xx = np.mgrid[0:40, 0:48]
    np.testing.assert_array_equal(mask > 0, (xx + yy) / 88 >= 0.3)  # the dialog's threshold was used
    assert (out / "a_prob.png").is_file() and not (out / "c_mask.png").exists()
    assert dialog.run_button.isEnabled() and not dialog.running
    assert settings.batch_dirs == (str(folder), str(out))
    dialog.shutdown()


def test_cancel_keeps_the_files_already_done(qtbot, settings, folder: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "out"
    dialog = make_dialog(qtbot, settings, lambda model, device: FakeSegmenter(model, device, tiles=5, delay=0.2))
    dialog.input_edit.setText(str(folder))
    dialog.output_edit.setText(str(out))

    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        dialog.start()
        qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=TIMEOUT)
        dialog.cancel_button.click()

    summary = done.args[0]
    assert summary.cancelled and 1 <= len(summary.done) < 3
    for p in summary.done:
        assert (out / f"{p.stem}_mask.png").is_file()
    assert "cancelled" in dialog.status.text()
    dialog.shutdown()


def test_a_batch_that_cannot_start_says_why(qtbot, settings, folder: Path, tmp_path: Path) -> None:  # noqa: ANN001
    def broken(model, device):  # noqa: ANN001, ANN202
        raise ValueError("the model file is damaged")

    dialog = make_dialog(qtbot, settings, broken)
    assert not dialog.start() and "input folder" in dialog.status.text()
    dialog.input_edit.setText(str(folder))
    dialog.output_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        dialog.start()
    assert done.args == [None] and "damaged" in dialog.status.text()
    dialog.shutdown()


def test_window_opens_the_batch_dialog_with_its_model_and_threshold(qtbot, make_window) -> None:  # noqa: ANN001
    service = FakeService()
    window = make_window(service)
    dialog = window.show_batch()
    assert dialog.isVisible() and window.show_batch() is dialog
    assert dialog.use_model_threshold.isChecked()  # nothing segmented yet: the model's threshold
    window.close()
    assert not dialog.jobs.running


def test_the_batch_runs_on_a_predictor_of_its_own(qtbot, make_window, folder: Path, tmp_path: Path) -> None:  # noqa: ANN001
    service = FakeService()
    window = make_window(service)
    dialog = window.show_batch()
    dialog.input_edit.setText(str(folder))
    dialog.output_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
    assert len(done.args[0].done) == 3
    assert service.created == [(window.model_path, "cpu")] and isinstance(service.predictors[0], FakeSegmenter)
    assert service.runs == 0  # not the window's cached predictor: the two threads share no model
    window.close()
