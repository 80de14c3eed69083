"""The main flow, as a clinician meets it: open, segment, look, re-threshold, cancel, recover from errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

import gui.main_window
from core.io.images import write_image
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeService, step_and_wait

SEGMENT_TIMEOUT = 60_000


def segment_and_wait(qtbot, window) -> tuple[bool, str]:  # noqa: ANN001
    with qtbot.waitSignal(window.segmentFinished, timeout=SEGMENT_TIMEOUT) as blocker:
        assert window.segment() is not None
    return tuple(blocker.args)


def test_open_segment_shows_the_mask_overlay(qtbot, make_window, image_file: Path) -> None:
    window = make_window()
    assert window.open_path(image_file)
    doc = window.document
    assert doc is not None and doc.name == "eye.png" and not doc.has_prediction
    assert not window.canvas.mask_layer_visible()

    ok, message = segment_and_wait(qtbot, window)

    assert ok, message
    assert doc.probability is not None and doc.probability.shape == (96, 112)
    assert doc.mask is not None and doc.fov is not None
    assert window.canvas.mask_layer_visible()
    assert window.canvas.fov_layer_visible()
    assert "CPU" in window.status.device.text()
    assert "eye.png" in window.windowTitle()


def test_threshold_change_rethresholds_without_running_the_network(qtbot, make_window, image_file: Path) -> None:
    service = FakeService()
    window = make_window(service)
    window.open_path(image_file)
    segment_and_wait(qtbot, window)
    doc = window.document
    assert service.runs == 1

    with qtbot.waitSignal(doc.maskChanged, timeout=1000):
        window.threshold.slider.setValue(250)  # 0.25

    assert doc.threshold == pytest.approx(0.25)
    np.testing.assert_array_equal(doc.mask, doc.probability >= 0.25)
    assert window.threshold.spin.value() == pytest.approx(0.25)
    assert service.runs == 1  # no new inference


def test_heat_map_and_fov_toggle_by_action(qtbot, make_window, image_file: Path) -> None:
    window = make_window(FakeService())
    window.open_path(image_file)
    segment_and_wait(qtbot, window)
    assert not window.canvas.heat_layer_visible()
    window.act_show_heat.trigger()
    assert window.canvas.heat_layer_visible()
    assert window.overlay_controls.show_heat.isChecked()
    window.act_show_mask.trigger()
    assert not window.canvas.mask_layer_visible()
    window.act_show_fov.trigger()
    assert not window.canvas.fov_layer_visible()


def test_cancel_stops_the_worker_and_the_app_stays_usable(qtbot, make_window, image_file: Path) -> None:
    service = FakeService(tiles=50, delay=0.05)
    window = make_window(service)
    window.open_path(image_file)
    with qtbot.waitSignal(window.jobs.progress, timeout=SEGMENT_TIMEOUT):
        window.segment()
    assert window.status.cancel.isVisible()

    with qtbot.waitSignal(window.segmentFinished) as done:
        window.status.cancel.click()
    qtbot.waitUntil(lambda: window.jobs.idle, timeout=5000)  # the worker stopped at the next tile

    assert done.args == [False, "cancelled"]
    assert not window.document.has_prediction
    assert not window.status.progress.isVisible()
    service.predictors[-1].delay = 0.0  # the cached predictor is reused: make the second run quick
    ok, _ = segment_and_wait(qtbot, window)
    assert ok and window.document.has_prediction


def test_unreadable_image_reports_and_keeps_the_current_one(qtbot, make_window, image_file: Path,
                                                            tmp_path: Path) -> None:
    window = make_window(FakeService())
    window.open_path(image_file)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 truncated jpeg")

    with qtbot.waitSignal(window.errorShown) as err:
        assert not window.open_path(broken)

    assert "broken.jpg" in err.args[0]
    assert window.document is not None and window.document.name == "eye.png"
    ok, _ = segment_and_wait(qtbot, window)
    assert ok


def test_errors_are_shown_in_a_dialog_when_not_headless(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window(FakeService())
    window.headless = False
    window.open_path(tmp_path / "missing.png")
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "file not found" in boxes[0].text()
    boxes[0].accept()


def test_worker_exception_becomes_a_message(qtbot, make_window, image_file: Path) -> None:
    def broken(_seg):  # noqa: ANN001, ANN202
        raise MemoryError("no memory for this test")

    window = make_window(FakeService(wrap=broken))
    window.open_path(image_file)
    ok, message = segment_and_wait(qtbot, window)
    assert not ok and "MemoryError" in message
    assert window.act_segment.isEnabled()


def test_bad_checkpoint_is_refused_and_the_current_model_stays(qtbot, make_window, tmp_path: Path,
                                                              tiny_checkpoint_path: Path) -> None:
    window = make_window()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")

    with qtbot.waitSignal(window.errorShown, timeout=30_000) as err:
        window.load_model(str(bad))

    assert "bad.pt" in err.args[0] and "stays in use" in err.args[0]
    assert window.model_path == str(tiny_checkpoint_path)


def test_loading_a_valid_checkpoint_switches_model_and_shows_its_card(qtbot, make_window, settings,
                                                                      tiny_checkpoint_path: Path, tmp_path: Path,
                                                                      image_file: Path) -> None:
    import shutil

    other = Path(shutil.copy(tiny_checkpoint_path, tmp_path / "other.pt"))
    window = make_window()
    with qtbot.waitSignal(window.modelChanged, timeout=30_000):
        window.load_model(str(other))
    assert window.model_path == str(other) and settings.model_path == str(other)
    window.headless = False
    window.show_model_card()
    qtbot.waitUntil(lambda: window.card_dialog is not None and window.card_dialog.isVisible())
    assert "UNet" in window.card_dialog.text.toPlainText() and "other.pt" in window.card_dialog.windowTitle()
    window.card_dialog.close()
    window.open_path(image_file)
    ok, _ = segment_and_wait(qtbot, window)
    assert ok and window.document.prediction_info.model == "other.pt"


def test_missing_default_model_is_a_clear_message(qtbot, make_window, image_file: Path, monkeypatch,
                                                  tmp_path: Path) -> None:
    import gui.main_window

    monkeypatch.setattr(gui.main_window, "default_model_path", lambda: tmp_path / "nope.pt")
    window = make_window(FakeService(), model_path=None)
    window.model_path = None
    window.open_path(image_file)
    with qtbot.waitSignal(window.segmentFinished) as done:
        window.segment()
    assert done.args[0] is False and "Load Checkpoint" in done.args[1]


def test_closing_during_inference_cancels_and_exits_cleanly(qtbot, make_window, image_file: Path) -> None:
    service = FakeService(tiles=200, delay=0.05)
    window = make_window(service)
    window.open_path(image_file)
    with qtbot.waitSignal(window.jobs.progress, timeout=SEGMENT_TIMEOUT):
        window.segment()

    start = time.perf_counter()
    window.close()

    assert time.perf_counter() - start < 5.0  # one 50 ms tile (plus a busy machine), not 10 s of work
    assert not window.jobs.running


def test_gpu_failure_falls_back_to_the_cpu_with_a_message(qtbot, make_window, image_file: Path) -> None:
    service = FakeService(devices={"cpu": "CPU", "cuda": "CUDA (Fake GPU)"}, fail_on_gpu=True)
    window = make_window(service, device="cuda")
    window.open_path(image_file)

    with qtbot.waitSignal(window.errorShown) as note:
        ok, _ = segment_and_wait(qtbot, window)

    assert ok and window.document.has_prediction
    assert "CPU instead" in note.args[0]
    assert window.device == "cpu" and window.device_actions["cpu"].isChecked()
    assert window.settings.device != "cpu"  # this session only: the GPU may work next time
    assert window.document.prediction_info.device == "CPU"
    assert [d for _, d in service.created] == ["cuda", "cpu"]


def test_cuda_is_offered_and_used_when_available(qtbot, make_window, image_file: Path) -> None:
    service = FakeService(devices={"cpu": "CPU", "cuda": "CUDA (Fake H100)"})
    window = make_window(service, device="auto")
    cuda = window.device_actions["cuda"]
    assert cuda.isEnabled() and cuda.text() == "CUDA (Fake H100)"
    assert not window.device_actions["mps"].isEnabled()
    assert "Auto (CUDA (Fake H100))" in window.status.device.text()

    cuda.trigger()
    window.open_path(image_file)
    ok, _ = segment_and_wait(qtbot, window)

    assert ok and service.created[-1][1] == "cuda"
    assert window.status.device.text() == "Device: CUDA (Fake H100)"
    assert window.settings.device == "cuda"


def test_unavailable_saved_device_falls_back_to_the_cpu(qtbot, make_window) -> None:
    window = make_window(FakeService(), device="cuda")
    assert window.device == "cpu" and not window.device_actions["cuda"].isEnabled()
    assert window.status.message_text() == "CUDA is not available on this machine: using the CPU"
    assert window.settings.device != "cpu"  # the preference stays for a machine that has one


def test_folder_keeps_one_document_per_image(qtbot, make_window, image_folder: Path, settings) -> None:
    window = make_window(FakeService())
    assert window.open_path(image_folder)
    assert [p.name for p in window.session.paths] == ["a.png", "b.png", "c_broken.png"]
    first = window.document
    segment_and_wait(qtbot, window)
    first.set_threshold(0.3)

    with qtbot.waitSignal(window.session.currentChanged, timeout=SEGMENT_TIMEOUT):
        window.act_next.trigger()  # b.png is read in the worker, then shown
    assert window.document is not first and not window.document.has_prediction
    assert "(2/3)" in window.windowTitle()
    step_and_wait(qtbot, window, 1)  # the broken file: reported once, b.png stays, Next has nowhere to go
    assert window.document.name == "b.png" and "c_broken.png" in window.status.message_text()
    assert not window.act_next.isEnabled()

    window.act_prev.trigger()  # open already: shown at once
    assert window.document is first and first.has_prediction and first.threshold == pytest.approx(0.3)
    assert window.threshold.spin.value() == pytest.approx(0.3)
    assert str(image_folder.resolve()) in settings.recent_files()


def test_drop_files_opens_them(qtbot, make_window, image_folder: Path) -> None:
    window = make_window(FakeService())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image_folder / "a.png")), QUrl.fromLocalFile(str(image_folder / "b.png"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert len(window.session.paths) == 2 and window.document.name == "a.png"


def test_status_bar_shows_pixel_under_cursor(qtbot, make_window, image_file: Path) -> None:
    window = make_window(FakeService())
    window.open_path(image_file)
    segment_and_wait(qtbot, window)
    window.canvas.cursorMoved.emit(10, 20)
    text = window.status.pixel.text()
    assert text.startswith("x 10, y 20") and "p " in text
    assert window.status.size.text() == "112 × 96"
    assert window.status.zoom.text().endswith("%")


def test_recent_files_menu_reopens(qtbot, make_window, image_file: Path, tmp_path: Path) -> None:
    window = make_window(FakeService())
    window.open_path(image_file)
    window.recent_menu.aboutToShow.emit()  # what opening the menu does
    entries = [a for a in window.recent_menu.actions() if a.text() == str(image_file.resolve())]
    assert entries
    gone = tmp_path / "gone.png"
    window.settings.add_recent(gone)
    window.recent_menu.aboutToShow.emit()  # what opening the menu does
    [a for a in window.recent_menu.actions() if a.text() == str(gone.resolve())][0].trigger()
    assert str(gone.resolve()) not in window.settings.recent_files()  # a vanished file leaves the list
    assert window.document.name == "eye.png"


def test_a_vanished_remembered_model_falls_back_to_the_default(qtbot, make_window, settings, tmp_path: Path) -> None:
    settings.model_path = str(tmp_path / "deleted.pt")
    window = make_window(FakeService(), model_path=None)
    assert window.model_path is None


def test_folder_starting_with_a_broken_file_opens_the_first_readable(qtbot, make_window, image_folder: Path) -> None:
    (image_folder / "0_broken.png").write_bytes(b"\x89PNG truncated")
    window = make_window(FakeService())
    assert window.open_path(image_folder)
    assert window.document.name == "a.png" and "(2/4)" in window.windowTitle()
    assert "0_broken.png" in window.status.message_text()  # said once, while opening
    assert not window.act_prev.isEnabled()  # nothing readable before a.png
    window.act_prev.trigger()
    assert window.document.name == "a.png"


def test_a_result_arriving_after_the_user_moved_on_goes_to_its_own_image(qtbot, make_window,  # noqa: ANN001
                                                                        image_folder: Path) -> None:
    window = make_window(FakeService(tiles=10, delay=0.05))
    assert window.open_path(image_folder)
    first = window.document
    with qtbot.waitSignal(window.jobs.progress, timeout=SEGMENT_TIMEOUT):
        window.segment()

    with qtbot.waitSignal(window.segmentFinished, timeout=SEGMENT_TIMEOUT) as done:
        step_and_wait(qtbot, window, 1)  # the user moves on while the network still runs on a.png
    second = window.document

    assert done.args[0] is True and second is not first and second.name == "b.png"
    assert not second.has_prediction and second.mask is None  # a.png's 96×112 map never reaches b.png
    assert first.has_prediction and first.probability.shape == (96, 112)


def test_segmenting_the_next_image_drops_the_running_result(qtbot, make_window,  # noqa: ANN001
                                                           image_folder: Path) -> None:
    service = FakeService(tiles=20, delay=0.05)
    window = make_window(service)
    assert window.open_path(image_folder)
    first = window.document
    with qtbot.waitSignal(window.jobs.progress, timeout=SEGMENT_TIMEOUT):
        window.segment()
    step_and_wait(qtbot, window, 1)
    second = window.document

    service.predictors[-1].delay = 0.0
    with qtbot.waitSignal(window.segmentFinished, timeout=SEGMENT_TIMEOUT) as superseded:
        rid = window.segment()  # supersedes the run on a.png
    assert superseded.args == [False, "cancelled"]
    with qtbot.waitSignal(window.segmentFinished, timeout=SEGMENT_TIMEOUT) as done:
        pass
    qtbot.waitUntil(lambda: window.jobs.idle, timeout=SEGMENT_TIMEOUT)

    assert done.args[0] is True and rid is not None
    assert second.has_prediction and second.probability.shape == (80, 80)
    assert not first.has_prediction  # the first run's result was dropped, not applied anywhere


def test_a_read_the_user_moved_on_from_is_dropped(qtbot, make_window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import threading

    folder = tmp_path / "three"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.png", "d.png"]):
        write_image(folder / name, synthetic_fundus(40 + 8 * i, 48, seed=i))
    gate, reading_b = threading.Event(), threading.Event()
    real = gui.main_window.load_image

    def slow_for_b(path, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if Path(path).name == "b.png":
            reading_b.set()
            gate.wait(10)  # a slow network drive
        return real(path, **kwargs)

    monkeypatch.setattr(gui.main_window, "load_image", slow_for_b)
    window = make_window(FakeService())
    assert window.open_path(folder) and window.document.name == "a.png"

    assert window.step(1) is not None  # b.png: read in the worker; a.png stays shown meanwhile
    assert reading_b.wait(10) and window.document.name == "a.png"
    with qtbot.waitSignal(window.session.currentChanged, timeout=SEGMENT_TIMEOUT):
        window.step(1)  # the user presses Next again before b.png arrived: d.png
        gate.set()
    qtbot.waitUntil(lambda: window.io_jobs.idle, timeout=SEGMENT_TIMEOUT)

    assert window.document.name == "d.png" and "(3/3)" in window.windowTitle()
    assert window.session.document(folder / "b.png") is None  # b.png's read was dropped, never shown


def test_opening_a_file_or_a_folder_reads_it_in_the_worker(make_window, image_file: Path, monkeypatch) -> None:  # noqa: ANN001
    import threading

    import gui.main_window

    readers: list[str] = []
    real = gui.main_window.load_image

    def spy(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        readers.append(threading.current_thread().name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(gui.main_window, "load_image", spy)
    window = make_window(FakeService())
    assert window.open_path(image_file) and window.document.name == "eye.png"
    assert window.open_path(image_file.parent) and window.document is not None
    assert len(readers) == 2 and threading.main_thread().name not in readers
