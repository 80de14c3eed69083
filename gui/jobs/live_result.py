"""LiveResult: the base of a result kept up to date in the job runner's worker while what it is made of changes.

The machinery of the live views (the crossing marks, the measurements). Every change counts up a version and,
while active, restarts a single-shot timer, so a run of changes (a brush drag's segments, a spin box's steps)
makes one job ``delay_ms`` after the last. The job's request id and the version it was submitted at are kept;
its result is delivered only when nothing changed meanwhile, as the newer job's result will follow. A subclass
says what to compute (:meth:`_job`), keeps what is delivered (:meth:`_delivered`, :attr:`_result`) and decides
what a failure shows (:meth:`_failed`) and when to be active.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from gui.jobs.runner import Job, JobRunner


class LiveResult(QObject):
    """Computes ``_job()`` as a job of ``kind`` after changes; see the module."""

    def __init__(self, jobs: JobRunner, kind: str, delay_ms: int, active: bool, parent: QObject | None) -> None:
        super().__init__(parent)
        self._jobs, self._kind = jobs, kind
        self._active = active  # whether a change starts the timer
        self._version = 0  # counts the changes; a result is current when made at the latest
        self._result_version = -1
        self._rid: int | None = None
        self._rid_version = -1
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self._submit)
        jobs.finished.connect(self._on_finished)
        jobs.failed.connect(self._on_failed)

    # what a subclass says ----------------------------------------------------------------------------
    @property
    def _result(self) -> object:
        """The last result delivered and still kept (None: none)."""
        raise NotImplementedError

    def _job(self) -> Job | None:
        """The job computing the result from copies taken now; None when there is nothing to compute."""
        raise NotImplementedError

    def _delivered(self, result: object) -> None:
        """Keep ``result``, made from the latest version, and announce it."""
        raise NotImplementedError

    def _failed(self, message: str, latest: bool) -> None:
        """A job failed with the one-line ``message``; ``latest``: it was submitted at the latest version."""

    # the live loop -------------------------------------------------------------------------------------
    @property
    def current(self) -> bool:
        """The result kept was computed from what is there now."""
        return self._result is not None and self._result_version == self._version

    @property
    def busy(self) -> bool:
        """A change is waiting for its timer or its job."""
        return self.timer.isActive() or self._jobs.active(self._kind) is not None

    def _changed(self) -> None:
        """What the result is made of changed: count it, and compute again after the pause while active."""
        self._version += 1
        if self._active:
            self.timer.start()

    def _submit(self) -> int | None:
        job = self._job()
        if job is None:
            return None
        self._rid = self._jobs.submit(job, kind=self._kind)
        self._rid_version = self._version
        return self._rid

    def _submit_now(self) -> int | None:
        """Submit at once, skipping the pause; the request id, None when there is nothing to compute."""
        self.timer.stop()
        return self._submit()

    def _cancel(self) -> None:
        """Stop the timer and cancel the job in flight."""
        self.timer.stop()
        if self._rid is not None:
            self._jobs.cancel(self._rid)
            self._rid = None

    def _on_finished(self, rid: int, result: object) -> None:
        if rid != self._rid:
            return
        self._rid = None
        if self._rid_version != self._version:
            return  # changed meanwhile: the newer job's result will follow
        self._result_version = self._rid_version
        self._delivered(result)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid == self._rid:
            self._rid = None
            self._failed(message, self._rid_version == self._version)
