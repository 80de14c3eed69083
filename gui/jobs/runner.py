"""JobRunner: background jobs in one worker QThread that talks to the GUI through signals only.

``JobRunner`` lives on the GUI thread: it numbers requests, runs ``fn(progress, should_cancel)`` in the
worker, drops stale results, cancels cooperatively (a threading.Event the job checks between tiles or
files) and waits for the thread when the window closes. Callers hand a job copies of its input: the
document may change while the job runs.

Every submitted request ends on the GUI side with exactly one of ``finished``, ``failed`` or
``cancelled``. A request is stale once cancelled, superseded (a new submit of the same *kind*) or shut
down: whatever the worker still reports for it is dropped.

The worker catches every exception and turns it into ``failed``: BaseException too, since a SystemExit
or a KeyboardInterrupt escaping a slot of a QThread leaves the window busy forever and hangs its shutdown.
Only an unexpected one (not a core.errors.RetinaSegError, whose message is the whole story) also prints
its traceback.
"""

from __future__ import annotations

import atexit
import threading
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Signal, Slot

from core.errors import JobCancelled, RetinaSegError, error_message
from gui.gc_guard import collect_on_gui_thread

#: Threads that did not stop in time on shutdown are kept here so Qt never destroys them running.
_STRAGGLERS: list[tuple[QThread, QObject]] = []


class JobProgress:
    """What a job reports through: call it with (done, total); ``notice(text)`` for a one-off message."""

    def __init__(self, worker: _Worker, rid: int) -> None:
        self._worker, self._rid = worker, rid

    def __call__(self, done: int, total: int) -> None:
        self._worker.progressed.emit(self._rid, done, total)

    def notice(self, text: str) -> None:
        self._worker.noticed.emit(self._rid, text)


#: A job: runs in the worker with (progress, should_cancel) and returns its result.
Job = Callable[[JobProgress, Callable[[], bool]], Any]


@dataclass(frozen=True)
class _Request:
    rid: int
    fn: Job
    cancel: threading.Event


class _Worker(QObject):
    """Runs jobs in the worker thread. Every job ends with exactly one ``ended`` signal."""

    progressed = Signal(int, int, int)  # request id, done, total
    noticed = Signal(int, str)
    ended = Signal(int, str, object)  # request id, "finished" | "failed" | "cancelled", result or message

    @Slot(object)
    def run(self, request: _Request) -> None:
        rid = request.rid
        try:
            if request.cancel.is_set():
                raise JobCancelled("cancelled before it started")
            result = request.fn(JobProgress(self, rid), request.cancel.is_set)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the window, SystemExit too
            if isinstance(exc, JobCancelled):
                self.ended.emit(rid, "cancelled", None)
            else:
                if not isinstance(exc, RetinaSegError):  # ours carry a message for the user; others may be bugs
                    traceback.print_exc()
                self.ended.emit(rid, "failed", error_message(exc))
            return
        self.ended.emit(rid, "finished", result)


class JobRunner(QObject):
    """GUI-side handle on one worker thread; jobs run one after another, newest of a kind wins."""

    progress = Signal(int, int, int)  # request id, done, total
    finished = Signal(int, object)  # request id, result
    failed = Signal(int, str)  # request id, message
    cancelled = Signal(int)
    notice = Signal(int, str)  # request id, message (e.g. the GPU fallback)
    busyChanged = Signal(str, bool)  # kind, whether a request of that kind is outstanding

    _run = Signal(object)

    def __init__(self, name: str = "jobs", parent: QObject | None = None) -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # Qt objects must never be garbage-collected in the worker thread
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._run.connect(self._worker.run)
        self._worker.progressed.connect(self._on_progress)
        self._worker.noticed.connect(self._on_notice)
        self._worker.ended.connect(self._on_ended)
        self._next_id = 0
        self._kind: dict[int, str] = {}  # wanted requests and their kinds
        self._latest: dict[str, int] = {}
        self._cancel: dict[int, threading.Event] = {}  # every request the worker has not finished yet
        self._thread.start()
        # Scripts that never run app.exec() (or forget to close the window) still stop the thread
        # before Python tears Qt down, so Qt never destroys a running QThread.
        ref = weakref.ref(self)
        atexit.register(lambda: (r := ref()) is not None and r.shutdown(5000))

    # asking ---------------------------------------------------------------------------------------
    def submit(self, fn: Job, *, kind: str) -> int:
        """Run ``fn`` in the worker after the jobs before it; returns the request id.

        A request of the same ``kind`` still outstanding is superseded: cancelled now, its result dropped.
        ``fn`` must not share mutable state with the GUI: give it copies.
        """
        if (previous := self._latest.get(kind)) is not None and previous in self._kind:
            self.cancel(previous)
        self._next_id += 1
        rid = self._next_id
        event = threading.Event()
        self._cancel[rid] = event
        self._kind[rid] = kind
        self._latest[kind] = rid
        self.busyChanged.emit(kind, True)
        self._run.emit(_Request(rid, fn, event))
        return rid

    def cancel(self, rid: int) -> None:
        """Ask request ``rid`` to stop at its next check; ``cancelled`` follows now, its result is dropped."""
        if (event := self._cancel.get(rid)) is not None:
            event.set()
        if rid in self._kind:
            self._end(rid)
            self.cancelled.emit(rid)

    def request_stop(self, rid: int) -> None:
        """Set ``rid``'s cancel flag but still deliver its outcome: for a job that returns what it did
        before it stopped (a batch's summary of the files written)."""
        if (event := self._cancel.get(rid)) is not None:
            event.set()

    def cancel_kind(self, kind: str) -> None:
        for rid in [r for r, k in self._kind.items() if k == kind]:
            self.cancel(rid)

    def wait(self, rid: int, timeout_ms: int = 600_000) -> bool:
        """Wait for request ``rid`` to end (its signal has been emitted when this returns True).

        The window keeps painting, but takes no input meanwhile: for a job the caller cannot go on
        without (export before closing), never for one the user may want to leave (segmentation).
        """
        if rid not in self._kind:
            return True
        if not self._thread.isRunning():  # shut down: nothing will ever answer
            return False
        loop = QEventLoop()
        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)

        def check(*args: object) -> None:
            if args and args[0] == rid:
                loop.quit()

        signals = (self.finished, self.failed, self.cancelled)
        for s in signals:
            s.connect(check)
        timer.start(timeout_ms)
        try:
            loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        finally:
            for s in signals:
                s.disconnect(check)
        return rid not in self._kind

    def call(self, fn: Job, *, kind: str, timeout_ms: int = 600_000) -> tuple[bool, Any]:
        """Run ``fn`` in the worker and :meth:`wait` for it: (True, its result), or (False, the message
        saying why it failed, was cancelled or did not end in time)."""
        outcome: dict[str, tuple[bool, Any]] = {}

        def done(rid_: int, result: object) -> None:
            if rid_ == rid:
                outcome["end"] = (True, result)

        def failed(rid_: int, message: str) -> None:
            if rid_ == rid:
                outcome["end"] = (False, message)

        self.finished.connect(done)
        self.failed.connect(failed)
        try:
            rid = self.submit(fn, kind=kind)
            self.wait(rid, timeout_ms)
        finally:
            self.finished.disconnect(done)
            self.failed.disconnect(failed)
        return outcome.get("end", (False, "cancelled or not finished in time"))

    # state ------------------------------------------------------------------------------------------
    def busy(self, kind: str | None = None) -> bool:
        """Whether a wanted request (of ``kind``, or of any kind) is outstanding."""
        return any(kind is None or k == kind for k in self._kind.values())

    def active(self, kind: str) -> int | None:
        """The wanted request of ``kind`` still outstanding (its result will be delivered), if any."""
        rid = self._latest.get(kind)
        return rid if rid in self._kind else None

    @property
    def idle(self) -> bool:
        """True when the worker has finished every request, stale ones included."""
        return not self._cancel

    @property
    def running(self) -> bool:
        """Whether the worker thread is running (False after shutdown)."""
        return self._thread.isRunning()

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel everything and wait for the thread to end. False if it is still busy after the timeout."""
        for event in self._cancel.values():
            event.set()
        self._kind.clear()
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            return True
        _STRAGGLERS.append((self._thread, self._worker))
        return False

    # worker -> GUI, filtered -------------------------------------------------------------------------
    def _end(self, rid: int) -> None:
        kind = self._kind.pop(rid)
        if not self.busy(kind):
            self.busyChanged.emit(kind, False)

    def _on_progress(self, rid: int, done: int, total: int) -> None:
        if rid in self._kind:
            self.progress.emit(rid, done, total)

    def _on_notice(self, rid: int, text: str) -> None:
        if rid in self._kind:
            self.notice.emit(rid, text)

    def _on_ended(self, rid: int, how: str, payload: object) -> None:
        """The worker is done with ``rid``: deliver the outcome when it is still wanted, else drop it."""
        self._cancel.pop(rid, None)
        if rid not in self._kind:
            return
        self._end(rid)
        if how == "finished":
            self.finished.emit(rid, payload)
        elif how == "failed":
            self.failed.emit(rid, str(payload))
        else:
            self.cancelled.emit(rid)
