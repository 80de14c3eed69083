"""JobRunner: each request ends with exactly one of finished / failed / cancelled, stale results are
dropped, cancel is cooperative, every exception becomes a message, shutdown waits for the thread.

The runner's own signals are emitted on the GUI thread, so waiting on them with qtbot is safe."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from core.errors import ImageReadError, JobCancelled
from gui.jobs.runner import JobProgress, JobRunner

TIMEOUT = 10_000


class Outcomes:
    """Every outcome the runner delivers, in order: (signal name, request id, payload)."""

    def __init__(self, runner: JobRunner) -> None:
        self.seen: list[tuple[str, int, object]] = []
        runner.finished.connect(lambda rid, result: self.seen.append(("finished", rid, result)))
        runner.failed.connect(lambda rid, message: self.seen.append(("failed", rid, message)))
        runner.cancelled.connect(lambda rid: self.seen.append(("cancelled", rid, None)))

    def of(self, rid: int) -> list[tuple[str, object]]:
        return [(name, payload) for name, r, payload in self.seen if r == rid]


@pytest.fixture
def runner(qtbot) -> Iterator[JobRunner]:  # noqa: ANN001
    r = JobRunner("test-jobs")
    yield r
    r.shutdown(5000)


def gated(result: object, gate: threading.Event, started: threading.Event | None = None) -> Callable:
    """A job that waits for ``gate`` (checking its cancel flag meanwhile), then returns ``result``."""

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> object:
        if started is not None:
            started.set()
        while not gate.wait(0.01):
            if should_cancel():
                raise JobCancelled("stopped")
        progress(1, 1)
        return result

    return run


def test_a_job_runs_in_the_worker_and_reports_progress_and_its_result(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    threads: list[str] = []
    ticks: list[tuple[int, int, int]] = []
    runner.progress.connect(lambda rid, done, total: ticks.append((rid, done, total)))

    def job(progress: JobProgress, _cancel: Callable[[], bool]) -> int:
        threads.append(threading.current_thread().name)
        progress(1, 2)
        progress(2, 2)
        return 42

    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT) as done:
        rid = runner.submit(job, kind="x")
        assert runner.busy("x") and not runner.busy("y")
    assert done.args == [rid, 42]
    assert threads and threads[0] != threading.main_thread().name
    assert ticks == [(rid, 1, 2), (rid, 2, 2)]
    assert not runner.busy() and runner.active("x") is None


def test_a_new_submit_of_the_same_kind_drops_the_stale_result(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    outcomes = Outcomes(runner)
    gate, started = threading.Event(), threading.Event()

    def stubborn(_progress: JobProgress, _cancel: Callable[[], bool]) -> str:
        started.set()
        gate.wait(5)
        return "old"  # ignores its cancel flag: the runner must still drop this

    first = runner.submit(stubborn, kind="segment")
    assert started.wait(5)
    other = runner.submit(lambda _p, _c: "other kind", kind="probe")  # another kind is not superseded
    second = runner.submit(lambda _p, _c: "new", kind="segment")
    assert outcomes.of(first) == [("cancelled", None)]  # at once, not when the worker gets there
    assert runner.active("segment") == second
    gate.set()
    qtbot.waitUntil(lambda: runner.idle, timeout=TIMEOUT)

    assert outcomes.of(first) == [("cancelled", None)]  # "old" never reached finished
    assert outcomes.of(other) == [("finished", "other kind")]
    assert outcomes.of(second) == [("finished", "new")]


def test_the_worker_sees_a_superseded_job_as_cancelled(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    flags: list[bool] = []
    gate, started = threading.Event(), threading.Event()

    def job(_progress: JobProgress, should_cancel: Callable[[], bool]) -> None:
        started.set()
        gate.wait(5)
        flags.append(should_cancel())

    runner.submit(job, kind="k")
    assert started.wait(5)
    runner.submit(lambda _p, _c: None, kind="k")
    gate.set()
    qtbot.waitUntil(lambda: runner.idle, timeout=TIMEOUT)
    assert flags == [True]


def test_cancel_stops_the_job_at_its_next_check(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    outcomes = Outcomes(runner)
    started = threading.Event()
    never = threading.Event()
    with qtbot.waitSignal(runner.cancelled, timeout=TIMEOUT) as cancelled:
        rid = runner.submit(gated("never", never, started), kind="k")
        assert started.wait(5)
        runner.cancel(rid)
    assert cancelled.args == [rid] and not runner.busy("k")
    qtbot.waitUntil(lambda: runner.idle, timeout=TIMEOUT)  # the worker noticed and moved on
    assert outcomes.of(rid) == [("cancelled", None)]
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT):  # the runner still works
        runner.submit(lambda _p, _c: "next", kind="k")


def test_request_stop_sets_the_flag_but_keeps_the_outcome(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    started = threading.Event()

    def job(_progress: JobProgress, should_cancel: Callable[[], bool]) -> str:
        started.set()
        while not should_cancel():
            threading.Event().wait(0.01)
        return "two files written before stopping"

    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT) as done:
        rid = runner.submit(job, kind="batch")
        assert started.wait(5)
        runner.request_stop(rid)
    assert done.args == [rid, "two files written before stopping"]


def test_a_failing_job_reports_its_message(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    def job(_p: JobProgress, _c: Callable[[], bool]) -> None:
        raise ImageReadError("eye.png: file not found")

    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as failed:
        rid = runner.submit(job, kind="open")
    assert failed.args == [rid, "eye.png: file not found"] and not runner.busy()


class NotAnException(BaseException):
    pass


@pytest.mark.parametrize("fault", [SystemExit(3), KeyboardInterrupt(), NotAnException("odd")],
                         ids=["SystemExit", "KeyboardInterrupt", "BaseException"])
def test_a_base_exception_in_a_job_becomes_failed_and_the_worker_lives_on(qtbot, runner: JobRunner,  # noqa: ANN001
                                                                          fault: BaseException) -> None:
    def job(_p: JobProgress, _c: Callable[[], bool]) -> None:
        raise fault

    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT) as failed:
        runner.submit(job, kind="k")
    assert type(fault).__name__ in failed.args[1]
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT) as done:
        runner.submit(lambda _p, _c: "alive", kind="k")
    assert done.args[1] == "alive"


def test_a_notice_reaches_the_gui_with_its_request(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    def job(progress: JobProgress, _c: Callable[[], bool]) -> None:
        progress.notice("the GPU failed; on the CPU instead")

    with qtbot.waitSignal(runner.notice, timeout=TIMEOUT) as notice:
        rid = runner.submit(job, kind="segment")
    assert notice.args == [rid, "the GPU failed; on the CPU instead"]


def test_wait_returns_once_the_outcome_was_delivered(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    outcomes = Outcomes(runner)
    rid = runner.submit(lambda _p, _c: "written", kind="export")
    assert runner.wait(rid, TIMEOUT)
    assert outcomes.of(rid) == [("finished", "written")]
    assert runner.wait(rid, 10)  # nothing outstanding: at once


def test_shutdown_while_a_job_runs_cancels_it_and_ends_the_thread(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    outcomes = Outcomes(runner)
    started = threading.Event()
    runner.submit(gated("never", threading.Event(), started), kind="segment")
    assert started.wait(5)
    assert runner.shutdown(5000)
    assert not runner.running and not runner.busy()
    qtbot.wait(50)
    assert outcomes.seen == []  # nothing delivered after shutdown
    assert runner.shutdown(100)  # idempotent


def test_call_returns_the_result_from_the_worker_or_the_failure_message(qtbot, runner: JobRunner) -> None:  # noqa: ANN001
    threads: list[str] = []

    def job(_progress, _cancel):  # noqa: ANN001, ANN202
        threads.append(threading.current_thread().name)
        return 42

    assert runner.call(job, kind="read") == (True, 42)
    assert threads and threads[0] != threading.main_thread().name

    def broken(_progress, _cancel):  # noqa: ANN001, ANN202
        raise ImageReadError("eye.png: image is damaged or truncated")

    assert runner.call(broken, kind="read") == (False, "eye.png: image is damaged or truncated")
