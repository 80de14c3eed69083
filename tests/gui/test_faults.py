"""Faults while working in the app (issue 7): any worker exception, a GPU out of memory, a full disk or a
read-only folder on export and on autosave. Each one ends in a message, loses no edit, and leaves the
app usable (the next segmentation, export or autosave works once the fault is gone)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

import gui.dialogs.prompts
from core.io.export import read_mask
from core.io.images import write_image
from core.io.recovery import list_recoverable, load_autosave
from gui.dialogs.batch import BatchDialog
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeSegmenter, FakeService
from tests.gui.file_proxy import FileProxy
from tests.gui.test_editing import drag

TIMEOUT = 30_000


# worker exceptions -------------------------------------------------------------------------------------
class Weird(Exception):
    """An exception type no code in the app knows about."""


class WeirderBase(BaseException):
    """Not even an Exception: what a buggy extension or a stray sys.exit() raises."""


class PlannedService(FakeService):
    """FakeService whose segmenters raise the next planned fault, at model load or mid-run (after a tile)."""

    def __init__(self, load_faults: list | None = None, predict_faults: list | None = None,
                 **kwargs: object) -> None:
        self.load_faults = load_faults if load_faults is not None else []
        self.predict_faults = predict_faults if predict_faults is not None else []
        super().__init__(wrap=self._plan, **kwargs)

    def _plan(self, seg: FakeSegmenter) -> FakeSegmenter:
        if self.load_faults:
            raise self.load_faults.pop(0)
        run = seg.predict

        def predict(image, fov=None, progress=None, should_cancel=None):  # noqa: ANN001, ANN202
            if self.predict_faults:
                fault = self.predict_faults.pop(0)
                if progress is not None:
                    progress(1, seg.tiles)  # fail mid-run, not before the first tile
                if fault is not None:
                    raise fault
            return run(image, fov, progress, should_cancel)

        seg.predict = predict
        return seg


def segment(qtbot, window) -> tuple[bool, str]:  # noqa: ANN001
    with qtbot.waitSignal(window.segmentFinished, timeout=TIMEOUT) as done:
        assert window.segment() is not None
    return tuple(done.args)


FAULTS = [
    pytest.param(KeyError("tile_7"), "KeyError", id="KeyError"),
    pytest.param(ZeroDivisionError("float division by zero"), "ZeroDivisionError", id="ZeroDivisionError"),
    pytest.param(Weird("odd state"), "Weird: odd state", id="unknown-Exception"),
    pytest.param(RuntimeError("CPU kernel crashed"), "CPU kernel crashed", id="RuntimeError-on-CPU"),
    pytest.param(MemoryError(), "MemoryError", id="MemoryError"),
    pytest.param(ImportError("No module named 'torchvision'"), "torchvision", id="ImportError"),
    pytest.param(AssertionError("shape check"), "AssertionError", id="AssertionError"),
    pytest.param(SystemExit(3), "SystemExit", id="SystemExit"),
    pytest.param(KeyboardInterrupt(), "KeyboardInterrupt", id="KeyboardInterrupt"),
    pytest.param(WeirderBase("not an Exception"), "WeirderBase", id="BaseException"),
]


@pytest.mark.parametrize("where", ["load", "predict"])
@pytest.mark.parametrize(("fault", "shown"), FAULTS)
def test_any_worker_exception_is_reported_and_the_next_segmentation_works(
        qtbot, make_window, image_file: Path, fault: BaseException, shown: str, where: str) -> None:  # noqa: ANN001
    service = PlannedService(**{f"{where}_faults": [fault]})
    window = make_window(service)
    assert window.open_path(image_file)

    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as error:
        ok, message = segment(qtbot, window)

    assert not ok and shown in message and error.args[0] == message
    assert shown in window.status.message_text()
    assert not window.segmenting and window.act_segment.isEnabled() and not window.act_cancel.isEnabled()
    assert not window.status.progress.isVisible() and not window.document.has_prediction

    ok, message = segment(qtbot, window)  # the fault is gone: the app works as before
    assert ok, message
    assert window.document.has_prediction and window.canvas.mask_layer_visible()


def test_a_worker_exception_becomes_a_dialog_when_not_headless(qtbot, make_window, image_file: Path) -> None:  # noqa: ANN001
    window = make_window(PlannedService(predict_faults=[Weird("odd state")]))
    window.headless = False
    assert window.open_path(image_file)
    segment(qtbot, window)
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert len(boxes) == 1 and "Weird: odd state" in boxes[0].text()
    assert boxes[0].windowTitle() == "Segmentation failed"
    boxes[0].accept()
    assert segment(qtbot, window)[0]


@pytest.mark.parametrize("bad", ["wrong size", "NaN"])
def test_a_broken_probability_map_is_reported_not_shown(qtbot, make_window, image_file: Path, bad: str) -> None:  # noqa: ANN001
    def broken(seg: FakeSegmenter) -> FakeSegmenter:
        if bad == "NaN":
            seg.probability = lambda h, w: np.full((h, w), np.nan, np.float32)
        else:
            run = seg.predict
            seg.predict = lambda image, *a, **k: run(image[:-3], *a[1:], **k)
        return seg

    window = make_window(FakeService(wrap=broken))
    assert window.open_path(image_file)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        ok, message = segment(qtbot, window)
    assert not ok and ("93" in message or "NaN" in message), message
    assert not window.document.has_prediction and window.act_segment.isEnabled()


# GPU out of memory ---------------------------------------------------------------------------------------
def test_torch_cuda_oom_mid_run_falls_back_to_the_cpu_and_shows_the_result(qtbot, make_window,  # noqa: ANN001
                                                                           image_file: Path) -> None:
    import torch

    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8 GiB total)")
    service = PlannedService(predict_faults=[oom], devices={"cpu": "CPU", "cuda": "CUDA (Fake GPU)"})
    window = make_window(service, device="cuda")
    assert window.open_path(image_file)

    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as note:
        ok, message = segment(qtbot, window)

    assert ok, message
    assert "out of memory" in note.args[0] and "CPU instead" in note.args[0]
    doc = window.document
    assert doc.has_prediction and doc.prediction_info.device == "CPU" and window.canvas.mask_layer_visible()
    assert window.device == "cpu" and [d for _, d in service.created] == ["cuda", "cpu"]

    with qtbot.assertNotEmitted(window.errorShown):  # the next run goes straight to the CPU
        assert segment(qtbot, window)[0]
    assert [d for _, d in service.created] == ["cuda", "cpu"]


def test_real_segmenter_gpu_oom_gives_the_cpu_result(qtbot, make_window, image_file: Path,  # noqa: ANN001
                                                     tiny_checkpoint_path: Path) -> None:
    """The real Segmenter turns torch's OOM into DeviceFailure; the window retries on a real CPU Segmenter
    and shows exactly what a CPU run gives."""
    import torch

    from core.io.images import read_image
    from core.ml.inference import Segmenter
    from core.predict.service import PredictionService

    class OutOfMemoryGpu:
        """A "GPU" predictor that runs out of memory as Segmenter reports it (DeviceFailure)."""

        device = torch.device("cuda")
        device_name = "CUDA (Fake GPU)"

        def __init__(self, seg: Segmenter) -> None:
            self.task, self.thresholds, self.threshold = seg.task, seg.thresholds, seg.threshold

        def predict(self, *_a, **_k):  # noqa: ANN002, ANN003, ANN202
            from core.errors import DeviceFailure

            raise DeviceFailure("the GPU ran out of memory (CUDA out of memory. Tried to allocate 3.10 GiB); "
                                "try the CPU")

    def factory(model_path, device, _ckpt):  # noqa: ANN001, ANN202
        seg = Segmenter(model_path, "cpu")
        return OutOfMemoryGpu(seg) if device == "cuda" else seg

    service = PredictionService(factory, devices=lambda: {"cpu": "CPU", "cuda": "CUDA (Fake GPU)"})
    window = make_window(service, device="cuda")
    assert window.open_path(image_file)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as note:
        ok, message = segment(qtbot, window)
    assert ok, message
    assert "ran out of memory" in note.args[0] and "CPU" in note.args[0]
    expected = Segmenter(str(tiny_checkpoint_path), "cpu").predict(read_image(image_file, mode=None))
    np.testing.assert_allclose(window.document.probability, expected.probability("vessel"), atol=1e-6)


def test_batch_gpu_oom_says_so_keeps_finished_files_and_runs_again(qtbot, settings, tmp_path: Path) -> None:  # noqa: ANN001
    from core.errors import DeviceFailure

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(3):
        write_image(src / f"e{i}.png", synthetic_fundus(40, 48, seed=i))
    calls: list[str] = []

    def factory(model, device):  # noqa: ANN001, ANN202
        seg = FakeSegmenter(model, device, names={"cpu": "CPU", "cuda": "GPU"})
        run = seg.predict

        def predict(image, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            calls.append(device)
            if device == "cuda" and len(calls) == 2:
                raise DeviceFailure("the GPU ran out of memory (CUDA out of memory); try the CPU")
            return run(image, *a, **k)

        seg.predict = predict
        return seg

    device = ["cuda"]
    dialog = BatchDialog(factory, settings, lambda: None, lambda: device[0])
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(src))
    dialog.output_edit.setText(str(out))
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
    assert done.args[0] is None
    assert "ran out of memory" in dialog.status.text() and "try the CPU" in dialog.status.text()
    assert sorted(p.name for p in out.iterdir()) == ["e0_mask.png"]  # finished, complete; nothing partial
    assert read_mask(out / "e0_mask.png").shape == (40, 48)
    assert dialog.run_button.isEnabled() and not dialog.running

    device[0] = "cpu"
    dialog.overwrite.setChecked(True)
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
    assert done.args[0] is not None and len(done.args[0].done) == 3 and not done.args[0].failed
    dialog.shutdown()


# full disk and read-only folders ---------------------------------------------------------------------
class _FillingFile(FileProxy):
    """A real file object that accepts ``room`` bytes and then fails like a full disk."""

    def __init__(self, f, room: int) -> None:  # noqa: ANN001
        super().__init__(f)
        self._room = room

    def write(self, data) -> int:  # noqa: ANN001
        n = len(memoryview(data).cast("B"))
        if n > self._room:
            self._f.write(bytes(memoryview(data).cast("B")[: self._room]))
            self._f.flush()  # the partial data really reaches the temp file
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= n
        return self._f.write(data)


class Fault:
    """Low-level write faults under core.io.atomic.write_bytes_atomic, active after ``after`` good files."""

    KINDS = ("disk-full-mid-write", "disk-full-at-fsync", "read-only-folder", "rename-refused")
    MESSAGES = {"disk-full-mid-write": "No space left on device", "disk-full-at-fsync": "No space left on device",
                "read-only-folder": "Permission denied", "rename-refused": "Permission denied"}

    def __init__(self, kind: str, after: int = 0) -> None:
        self.kind, self.after, self.hits = kind, after, 0

    def _armed(self) -> bool:
        if self.after > 0:
            return False
        self.hits += 1
        return True

    @contextlib.contextmanager
    def active(self) -> Iterator[Fault]:
        real_fdopen, real_fsync, real_mkstemp, real_replace = os.fdopen, os.fsync, tempfile.mkstemp, os.replace

        def fdopen(fd, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            f = real_fdopen(fd, *a, **k)
            return _FillingFile(f, 100) if self.kind == "disk-full-mid-write" and self._armed() else f

        def fsync(fd):  # noqa: ANN001, ANN202
            if self.kind == "disk-full-at-fsync" and self._armed():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_fsync(fd)

        def mkstemp(*a, **k):  # noqa: ANN002, ANN003, ANN202
            if self.kind == "read-only-folder" and self._armed():
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), k.get("dir"))
            return real_mkstemp(*a, **k)

        def replace(src, dst, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            if self.kind == "rename-refused" and self._armed():
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))
            self.after -= 1  # one more file written in full
            return real_replace(src, dst, *a, **k)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "fdopen", fdopen)
            mp.setattr(os, "fsync", fsync)
            mp.setattr(tempfile, "mkstemp", mkstemp)
            mp.setattr(os, "replace", replace)
            yield self


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture
def edited(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    """A window showing eye.png, segmented by the fake model, with one brush stroke (unsaved)."""
    w = make_window(FakeService())
    w.autosave.idle_ms = 20
    assert w.open_path(image_file)
    assert segment(qtbot, w)[0]
    w.canvas.zoom_100()
    w.canvas.centerOn(56, 48)
    with qtbot.waitSignal(w.autosave.saved, timeout=TIMEOUT):
        drag(w.canvas, [(5, 5), (25, 5)])
    return w


@pytest.mark.parametrize("after", [0, 2], ids=["first-file", "third-file"])
@pytest.mark.parametrize("kind", Fault.KINDS)
def test_export_fault_says_why_keeps_the_edits_and_writes_no_partial_file(
        qtbot, edited, tmp_path: Path, monkeypatch, kind: str, after: int) -> None:  # noqa: ANN001
    window, doc = edited, edited.document
    out = tmp_path / "out"
    out.mkdir()
    mask, index = doc.mask.copy(), doc.undo_stack.index()

    with Fault(kind, after).active() as fault, qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as error:
        assert not window.export(str(out))

    assert fault.hits == 1
    assert Fault.MESSAGES[kind] in error.args[0] and "cannot write" in error.args[0]
    assert Fault.MESSAGES[kind] in window.status.message_text()
    written = sorted(p.name for p in out.iterdir())
    assert written == ["eye_mask.png", "eye_prob.png"][:after] and leftovers(out) == []
    for name in written:  # the files before the fault are complete, never half a file
        if name == "eye_mask.png":
            np.testing.assert_array_equal(read_mask(out / name), mask)
    # the edits stay: still unsaved, still undoable, still recoverable
    assert doc.modified and window.isWindowModified() and doc.undo_stack.index() == index
    np.testing.assert_array_equal(doc.mask, mask)
    assert list_recoverable(window.autosave.folder).entries
    window.editing.act_undo.trigger()
    assert not np.array_equal(doc.mask, mask)
    window.editing.act_redo.trigger()
    np.testing.assert_array_equal(doc.mask, mask)

    # the disk has room again: the same export works (replacing what the failed one wrote)
    monkeypatch.setattr(gui.dialogs.prompts, "ask_overwrite", lambda _p, paths: True)
    assert window.export(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["eye_biomarkers.csv", "eye_info.json", "eye_mask.png",
                                                     "eye_overlay.png", "eye_prob.png"]
    np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), mask)
    assert not doc.modified and not window.isWindowModified()
    assert not list_recoverable(window.autosave.folder).entries


@pytest.mark.parametrize("kind", Fault.KINDS)
def test_autosave_fault_is_reported_and_keeps_the_previous_autosave(qtbot, edited, kind: str) -> None:  # noqa: ANN001
    window, doc = edited, edited.document
    folder = window.autosave.folder
    first = doc.mask.copy()  # what the fixture's stroke autosaved
    entry = list_recoverable(folder).entries[0]

    with Fault(kind).active(), qtbot.waitSignal(window.autosave.failed, timeout=TIMEOUT) as failed:
        drag(window.canvas, [(5, 60), (25, 60)])

    assert Fault.MESSAGES[kind] in failed.args[0] and "Autosave failed" in failed.args[0]
    assert "Autosave failed" in window.status.message_text()
    assert leftovers(folder) == []
    saved, _ = load_autosave(entry)  # the previous autosave is whole, not half overwritten
    np.testing.assert_array_equal(saved, first)
    assert doc.modified and not np.array_equal(doc.mask, first)
    second = doc.mask.copy()

    with qtbot.waitSignal(window.autosave.saved, timeout=TIMEOUT):  # room again: the next pause saves
        drag(window.canvas, [(5, 70), (25, 70)])
    np.testing.assert_array_equal(load_autosave(list_recoverable(folder).entries[0])[0], doc.mask)
    window.editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.mask, second)

    # a later fault is reported again (not swallowed because an earlier one was already shown)
    with Fault(kind).active(), qtbot.waitSignal(window.autosave.failed, timeout=TIMEOUT):
        drag(window.canvas, [(5, 80), (25, 80)])


def test_autosave_failing_every_time_is_said_once(qtbot, edited) -> None:  # noqa: ANN001
    window = edited
    messages: list[str] = []
    window.autosave.failed.connect(messages.append)
    with Fault("disk-full-at-fsync").active() as fault:
        for y in (60, 70, 80):
            drag(window.canvas, [(5, y), (25, y)])
            hits = fault.hits
            qtbot.waitUntil(lambda hits=hits: fault.hits > hits, timeout=TIMEOUT)
    assert fault.hits == 3 and len(messages) == 1



@pytest.mark.parametrize("fault", [Weird("odd state"), SystemExit(2), WeirderBase("not an Exception")],
                         ids=["Exception", "SystemExit", "BaseException"])
def test_any_batch_worker_exception_ends_the_run_with_a_message(qtbot, settings, image_folder: Path,  # noqa: ANN001
                                                                tmp_path: Path, fault: BaseException) -> None:
    faults = [fault]

    def factory(model, device):  # noqa: ANN001, ANN202
        if faults:
            raise faults.pop()
        return FakeSegmenter(model, device)

    dialog = BatchDialog(factory, settings, lambda: None, lambda: "cpu")
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(image_folder))
    dialog.output_edit.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
    assert done.args[0] is None and type(fault).__name__ in dialog.status.text()
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
    assert [p.name for p in done.args[0].done] == ["a.png", "b.png"]
    assert dialog.shutdown()


def test_save_on_close_to_a_full_disk_keeps_the_window_open_with_the_edits(qtbot, edited, tmp_path: Path,  # noqa: ANN001
                                                                          monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    window, doc = edited, edited.document
    out = tmp_path / "out"
    out.mkdir()
    mask = doc.mask.copy()
    window.headless = False
    monkeypatch.setattr(gui.dialogs.prompts, "ask_unsaved", lambda _p, names: "save")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(out))

    with Fault("disk-full-mid-write").active():
        assert not window.close()  # Save failed: closing now would lose the edits

    assert window.isVisible() and doc.modified and window.isWindowModified()
    np.testing.assert_array_equal(doc.mask, mask)
    assert list(out.iterdir()) == [] and list_recoverable(window.autosave.folder).entries
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "No space left on device" in boxes[0].text()
    boxes[0].accept()
    assert window.close()  # room again: Save exports and the window closes
    np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), mask)
    window.headless = True


@pytest.mark.parametrize("fault", [Weird("odd state"), SystemExit(2), MemoryError()],
                         ids=["Exception", "SystemExit", "MemoryError"])
def test_a_model_check_that_raises_anything_keeps_the_current_model(qtbot, make_window, tmp_path: Path,  # noqa: ANN001
                                                                    tiny_checkpoint_path: Path,
                                                                    fault: BaseException) -> None:
    from core.ml.checkpoint import load_checkpoint

    faults: list[BaseException] = []
    service = FakeService(loader=lambda path: (_ for _ in ()).throw(faults.pop()) if faults else load_checkpoint(path))
    window = make_window(service)
    qtbot.waitUntil(lambda: window.threshold.model_threshold is not None, timeout=TIMEOUT)  # its card was read
    faults.append(fault)  # the next check, the user's, fails
    before = window.model_path
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as error:
        window.load_model(str(tiny_checkpoint_path))
    assert type(fault).__name__ in error.args[0] and "stays in use" in error.args[0]
    assert window.model_path == before
    with qtbot.waitSignal(window.modelChanged, timeout=TIMEOUT):
        window.load_model(str(tiny_checkpoint_path))
    assert window.model_path == str(tiny_checkpoint_path)


@pytest.mark.parametrize("fault", [RuntimeError("CUDA driver crashed"), SystemExit(1)],
                         ids=["RuntimeError", "SystemExit"])
def test_a_device_probe_that_raises_leaves_the_cpu(qtbot, make_window, image_file: Path,  # noqa: ANN001
                                                   fault: BaseException) -> None:
    def broken() -> dict[str, str]:
        raise fault

    window = make_window(FakeService(probe=broken), device="auto")
    assert window.devices == {"cpu": "CPU"}
    assert window.open_path(image_file) and segment(qtbot, window)[0]


def test_an_unusable_app_data_folder_is_reported_and_editing_goes_on(qtbot, make_window, image_file: Path,  # noqa: ANN001
                                                                     tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the app-data folder should be")
    window = make_window(FakeService(), autosave_dir=blocker / "autosave")
    window.autosave.idle_ms = 20
    assert window.open_path(image_file) and segment(qtbot, window)[0]
    window.canvas.zoom_100()
    window.canvas.centerOn(56, 48)
    with qtbot.waitSignal(window.autosave.failed, timeout=TIMEOUT) as failed:
        drag(window.canvas, [(5, 5), (25, 5)])
    assert "cannot create the autosave folder" in failed.args[0]
    assert window.document.modified
    out = tmp_path / "out"
    out.mkdir()
    assert window.export(str(out)) and not window.document.modified  # export does not depend on it


@pytest.mark.parametrize("kind", ["disk-full-mid-write", "read-only-folder"])
def test_batch_to_a_full_disk_lists_every_file_and_writes_nothing_partial(qtbot, settings, image_folder: Path,  # noqa: ANN001
                                                                          tmp_path: Path, kind: str) -> None:
    out = tmp_path / "out"
    dialog = BatchDialog(lambda model, device: FakeSegmenter(model, device), settings, lambda: None, lambda: "cpu")
    qtbot.addWidget(dialog)
    dialog.input_edit.setText(str(image_folder))
    dialog.output_edit.setText(str(out))
    with Fault(kind).active(), qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        assert dialog.start()
    summary = done.args[0]
    assert summary is not None and summary.done == [] and len(summary.failed) == 3
    log = dialog.log.toPlainText()
    assert log.count(Fault.MESSAGES[kind]) == 2 and "c_broken.png" in log
    assert "0 segmented, 3 failed" in dialog.status.text()
    assert list(out.iterdir()) == []
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:  # room again
        assert dialog.start()
    assert [p.name for p in done.args[0].done] == ["a.png", "b.png"]
    assert dialog.shutdown()
