"""Background inference: a worker in its own QThread that talks to the window through signals only.

``InferenceController`` lives on the GUI thread: it numbers requests, hands copies of the input to
the worker, filters stale results, cancels cooperatively (a threading.Event checked between tiles)
and waits for the thread when the window closes. ``InferenceWorker`` runs the jobs and catches every
exception, turning it into a ``failed`` signal: BaseException too, since a SystemExit or a
KeyboardInterrupt escaping a slot of a QThread leaves the window busy forever and hangs its shutdown.
"""

from __future__ import annotations

import atexit
import threading
import traceback
import weakref
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from core.errors import JobCancelled, error_message
from gui.gc_guard import collect_on_gui_thread
from gui.jobs.inference_service import InferenceService, SegmentRequest, SegmentResult

#: Threads that did not stop in time on shutdown are kept here so Qt never destroys them running.
_STRAGGLERS: list[tuple[QThread, QObject]] = []


class InferenceWorker(QObject):
    """Runs jobs in the worker thread. Every job ends with exactly one result or failure signal."""

    progress = Signal(int, int, int)  # request id, tiles done, tiles total
    finished = Signal(object)  # SegmentResult
    failed = Signal(int, str)  # request id, message
    cancelled = Signal(int)
    notice = Signal(int, str)  # request id, message (e.g. GPU fallback)
    devicesFound = Signal(object)  # {name: description}
    modelChecked = Signal(int, object)  # request id, card dict
    modelFailed = Signal(int, str)

    def __init__(self, service: InferenceService) -> None:
        super().__init__()
        self.service = service

    @Slot(object, object)
    def segment(self, request: SegmentRequest, cancel: threading.Event) -> None:
        rid = request.request_id
        try:
            if cancel.is_set():
                self.cancelled.emit(rid)
                return
            result = self.service.segment(
                request,
                progress=lambda done, total: self.progress.emit(rid, done, total),
                should_cancel=cancel.is_set,
                notice=lambda text: self.notice.emit(rid, text),
            )
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the window, SystemExit too
            if isinstance(exc, JobCancelled):
                self.cancelled.emit(rid)
            else:
                traceback.print_exc()
                self.failed.emit(rid, error_message(exc))
            return
        self.finished.emit(result)

    @Slot()
    def probe_devices(self) -> None:
        try:
            found = self.service.available_devices()
        except BaseException:  # noqa: BLE001 - no torch, broken driver: the CPU still works
            traceback.print_exc()
            found = {"cpu": "CPU"}
        self.devicesFound.emit(found)

    @Slot(int, object)
    def check_model(self, request_id: int, path: str | None) -> None:
        try:
            card = self.service.model_card(path)
        except BaseException as exc:  # noqa: BLE001
            self.modelFailed.emit(request_id, error_message(exc))
            return
        self.modelChecked.emit(request_id, card)


class InferenceController(QObject):
    """GUI-side handle on the worker thread. One segmentation at a time; stale results are dropped."""

    progress = Signal(int, int, int)
    finished = Signal(object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    notice = Signal(int, str)
    devicesFound = Signal(object)
    modelChecked = Signal(int, object)
    modelFailed = Signal(int, str)
    busyChanged = Signal(bool)

    _run_segment = Signal(object, object)
    _run_probe = Signal()
    _run_check_model = Signal(int, object)

    def __init__(self, service: InferenceService | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # Qt objects must never be garbage-collected in the worker thread
        self._thread = QThread()
        self._thread.setObjectName("inference")
        self._worker = InferenceWorker(service or InferenceService())
        self._worker.moveToThread(self._thread)
        self._run_segment.connect(self._worker.segment)
        self._run_probe.connect(self._worker.probe_devices)
        self._run_check_model.connect(self._worker.check_model)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.notice.connect(self._on_notice)
        self._worker.devicesFound.connect(self.devicesFound)
        self._worker.modelChecked.connect(self.modelChecked)
        self._worker.modelFailed.connect(self.modelFailed)
        self._next_id = 0
        self._active: int | None = None
        self._cancel: dict[int, threading.Event] = {}
        self._thread.start()
        # Scripts that never run app.exec() (or forget to close the window) still stop the thread
        # before Python tears Qt down, so Qt never destroys a running QThread.
        ref = weakref.ref(self)
        atexit.register(lambda: (c := ref()) is not None and c.shutdown(5000))

    @property
    def busy(self) -> bool:
        return self._active is not None

    @property
    def active_request(self) -> int | None:
        return self._active

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def segment(self, image: np.ndarray, fov: np.ndarray | None = None, model_path: str | None = None,
                device: str = "auto") -> int:
        """Start segmenting a copy of ``image``; cancels a running request first. Returns the request id."""
        if self._active is not None:
            self.cancel()
        rid = self._new_id()
        request = SegmentRequest(rid, np.array(image, copy=True),
                                 None if fov is None else np.array(fov, bool, copy=True), model_path, device)
        event = threading.Event()
        self._cancel[rid] = event
        self._active = rid
        self.busyChanged.emit(True)
        self._run_segment.emit(request, event)
        return rid

    def cancel(self) -> None:
        """Ask every outstanding request to stop at the next tile; ``cancelled`` follows."""
        for event in self._cancel.values():
            event.set()
        if self._active is not None:
            rid, self._active = self._active, None
            self.busyChanged.emit(False)
            self.cancelled.emit(rid)

    def probe_devices(self) -> None:
        self._run_probe.emit()

    def check_model(self, path: str | None) -> int:
        rid = self._new_id()
        self._run_check_model.emit(rid, path)
        return rid

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel everything and wait for the thread to end. False if it is still busy after the timeout."""
        for event in self._cancel.values():
            event.set()
        self._active = None
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            return True
        _STRAGGLERS.append((self._thread, self._worker))
        return False

    # worker -> GUI, filtered -------------------------------------------------------------------
    def _finish(self, rid: int) -> bool:
        """Forget request ``rid``; True when it was the active one (its result is wanted)."""
        self._cancel.pop(rid, None)
        if rid != self._active:
            return False
        self._active = None
        self.busyChanged.emit(False)
        return True

    def _on_progress(self, rid: int, done: int, total: int) -> None:
        if rid == self._active:
            self.progress.emit(rid, done, total)

    def _on_notice(self, rid: int, text: str) -> None:
        if rid == self._active:
            self.notice.emit(rid, text)

    def _on_finished(self, result: SegmentResult) -> None:
        if self._finish(result.request_id):
            self.finished.emit(result)

    def _on_failed(self, rid: int, message: str) -> None:
        if self._finish(rid):
            self.failed.emit(rid, message)

    def _on_cancelled(self, rid: int) -> None:
        if self._finish(rid):
            self.cancelled.emit(rid)

    @property
    def worker(self) -> Any:
        return self._worker
