"""GUI fixtures: isolated settings, image files on disk, fake segmenters, a main window on the tiny model."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from core.io.images import write_image
from core.predict.prediction import Prediction
from core.predict.service import PredictionService
from core.predict.tasks import VesselTask
from gui.gc_guard import collect_on_gui_thread
from gui.settings import AppSettings
from tests.conftest import synthetic_fundus


class GuiThreadRelay(QObject):
    """Re-emits a worker-thread signal on the GUI thread.

    pytest-qt's waitSignal and a plain callable connected to a signal run in the emitting thread; for a
    worker's signal that means stopping the blocker's timer from the wrong thread, which Qt refuses
    ("Timers cannot be stopped from another thread"), so a race can leave the test waiting forever.
    A slot of a GUI-thread QObject gets a queued call instead.
    """

    relayed = Signal(tuple)

    def __init__(self, signal: object) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        signal.connect(self._relay)  # type: ignore[attr-defined]

    def _relay(self, *args: object) -> None:
        assert threading.current_thread() is threading.main_thread(), "the relay must run on the GUI thread"
        self.calls.append(args)
        self.relayed.emit(args)


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings.from_file(tmp_path / "settings.ini")


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    return write_image(tmp_path / "eye.png", synthetic_fundus(96, 112))


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "folder"
    folder.mkdir()
    write_image(folder / "a.png", synthetic_fundus(96, 112, seed=1))
    write_image(folder / "b.png", synthetic_fundus(80, 80, seed=2))
    (folder / "c_broken.png").write_bytes(b"not a png at all")
    return folder


def ramp(h: int, w: int) -> np.ndarray:
    """A smooth ramp: thresholds give predictable masks."""
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + yy) / (h + w)).astype(np.float32)


class FakeSegmenter:
    """Predictor stand-in: ``tiles`` steps of ``delay`` seconds, cooperative cancel, optional GPU failure.

    ``probability(h, w)`` gives its vessel map (public: a test may change what the next run sees).
    """

    def __init__(self, model_path: str | None, device: str, tiles: int = 4, delay: float = 0.0,
                 fail_on_gpu: bool = False, names: dict[str, str] | None = None) -> None:
        names = names or {"cpu": "CPU"}
        kind = device if device != "auto" else ("cuda" if "cuda" in names else "cpu")
        self.device = SimpleNamespace(type=kind)
        self.device_name = names.get(kind, kind.upper())
        self.task = VesselTask()
        self.thresholds = {"vessel": 0.5}
        self.threshold = 0.5
        self.tiles, self.delay, self.fail_on_gpu = tiles, delay, fail_on_gpu
        self.probability = ramp
        self.started = threading.Event()

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        from core.errors import DeviceFailure, JobCancelled

        self.started.set()
        if self.fail_on_gpu and self.device.type != "cpu":
            raise DeviceFailure("CUDA (Fake GPU) ran out of memory; try the CPU")
        h, w = image.shape[:2]
        for done in range(self.tiles + 1):
            if done and should_cancel is not None and should_cancel():
                raise JobCancelled("segmentation cancelled")
            if progress is not None:
                progress(done, self.tiles)
            if done < self.tiles:
                time.sleep(self.delay)
        vessel = np.asarray(self.probability(h, w), np.float32)
        fov = np.ones((h, w), bool) if fov is None else np.asarray(fov, bool)
        return Prediction(np.stack([1 - vessel, vessel]), self.task, dict(self.thresholds), fov)


class FakeService(PredictionService):
    """PredictionService around FakeSegmenter, with made-up devices; counts network runs.

    ``wrap(segmenter) -> segmenter`` may change each new predictor (plan faults, slow it down);
    ``predictors`` lists every one made, the last is the one in use.
    """

    def __init__(self, devices: dict[str, str] | None = None, wrap=None, loader=None,  # noqa: ANN001
                 probe=None, **fake_args: object) -> None:  # noqa: ANN001
        self.device_names = devices or {"cpu": "CPU"}
        self.created: list[tuple[str | None, str]] = []
        self.predictors: list[FakeSegmenter] = []
        self.runs = 0

        def factory(model_path, device, _ckpt):  # noqa: ANN001, ANN202
            self.created.append((model_path, device))
            seg = FakeSegmenter(model_path, device, names=self.device_names, **fake_args)
            seg = wrap(seg) if wrap is not None else seg
            self.predictors.append(seg)
            return seg

        kwargs = {} if loader is None else {"checkpoint_loader": loader}
        super().__init__(predictor_factory=factory, devices=probe or (lambda: dict(self.device_names)), **kwargs)

    def segment(self, request, progress=None, should_cancel=None, notice=None):  # noqa: ANN001, ANN201
        self.runs += 1
        return super().segment(request, progress, should_cancel, notice)


def step_and_wait(qtbot, window, delta: int) -> None:  # noqa: ANN001
    """Step through the image list and wait until the image (read in the worker) is shown or refused."""
    if window.step(delta) is not None:
        qtbot.waitUntil(lambda: not window.io_jobs.busy("open"), timeout=30_000)


@pytest.fixture
def make_window(qtbot, settings: AppSettings, tiny_checkpoint_path: Path) -> Iterator:  # noqa: ANN001
    """Factory for a shown MainWindow (tiny model, CPU unless told otherwise); shut down after the test."""
    from gui.main_window import MainWindow

    windows = []

    def make(service: PredictionService | None = None, **kwargs: object) -> MainWindow:
        kwargs.setdefault("model_path", str(tiny_checkpoint_path))
        kwargs.setdefault("device", "cpu")
        w = MainWindow(settings, service=service, headless=True, **kwargs)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: w.devices is not None, timeout=30_000)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.shutdown()


@pytest.fixture(autouse=True, scope="session")
def gui_thread_garbage_collection(qapp) -> None:  # noqa: ANN001
    """As in the app: Qt objects are garbage-collected on the GUI thread only, from the first GUI test on."""
    collect_on_gui_thread()


#: Qt's words for a Qt object used from the wrong thread: undefined behaviour that hangs or crashes later.
THREAD_MISUSE = ("another thread", "different thread", "Destroyed while thread")


@pytest.fixture(autouse=True)
def no_qt_thread_misuse(qtlog) -> Iterator[None]:  # noqa: ANN001
    """A Qt warning about thread misuse fails the test that caused it, not a random test later.

    Only these messages: other warnings depend on the machine (fonts, window-manager hints).
    """
    yield
    misuse = [r.message for r in qtlog.records if any(words in r.message for words in THREAD_MISUSE)]
    assert not misuse, f"Qt objects used from the wrong thread: {misuse}"


@pytest.fixture(autouse=True)
def isolated_app_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Autosaves and model versions go to tmp_path, never to the user's app-data folder."""
    import gui.actions.model_versions
    import gui.document.autosave

    folder = tmp_path / "appdata" / "autosave"
    monkeypatch.setattr(gui.document.autosave, "default_autosave_dir", lambda: folder)
    monkeypatch.setattr(gui.actions.model_versions, "default_versions_dir", lambda: tmp_path / "appdata" / "models")
    return folder


@pytest.fixture(autouse=True)
def no_modal_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that reaches a modal question it did not patch fails instead of hanging."""
    import gui.dialogs.prompts

    def refuse(box):  # noqa: ANN001, ANN202
        raise AssertionError(f"unexpected modal prompt: {box.text()!r}; monkeypatch gui.dialogs.prompts.ask_*")

    monkeypatch.setattr(gui.dialogs.prompts, "_exec", refuse)
