"""LiveResult, the machinery of the live views: a result computed from an older version is dropped, a failure says
whether it concerned the latest version; and what the crossing marks do with it: nothing computed while hidden,
no marks rather than wrong ones when the marking fails."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from core.errors import RetinaSegError
from core.io.artery_vein import ARTERY, VEIN
from core.predict.prediction import Prediction
from core.predict.tasks import get_task
from gui.document.document import ARTERIES_VEINS, ImageDocument
from gui.jobs import crossings
from gui.jobs.crossings import CROSSINGS_KIND, LiveCrossings
from gui.jobs.live_result import LiveResult
from gui.jobs.runner import Job, JobRunner

TIMEOUT = 10_000


@pytest.fixture
def jobs() -> Iterator[JobRunner]:
    runner = JobRunner("test")
    yield runner
    runner.shutdown()


def crossed_document() -> ImageDocument:
    """40×40 labels: an artery along rows 18–21 crossing a vein along columns 18–21."""
    labels = np.zeros((40, 40), np.uint8)
    labels[18:22, :], labels[:, 18:22] = ARTERY, VEIN
    av = np.stack([labels == 0, labels == ARTERY, labels == VEIN]).astype(np.float32)
    doc = ImageDocument(np.zeros((40, 40, 3), np.uint8))
    doc.set_prediction(Prediction(av, get_task(ARTERIES_VEINS), {"vessel": 0.5}, np.ones((40, 40), bool)))
    return doc


class Echo(LiveResult):
    """A LiveResult whose job returns what ``job`` gives; it keeps every delivery and failure."""

    def __init__(self, jobs: JobRunner, job: Callable[[], Job]) -> None:
        super().__init__(jobs, "echo", 10, False, None)
        self.job, self.result = job, None
        self.delivered: list[object] = []
        self.failures: list[tuple[str, bool]] = []

    @property
    def _result(self) -> object:
        return self.result

    def _job(self) -> Job:
        return self.job()

    def _delivered(self, result: object) -> None:
        self.result = result
        self.delivered.append(result)

    def _failed(self, message: str, latest: bool) -> None:
        self.failures.append((message, latest))


def test_a_result_of_an_older_version_is_dropped_and_the_newest_delivered(qtbot, jobs: JobRunner) -> None:  # noqa: ANN001
    version = [1]
    live = Echo(jobs, lambda: (lambda *_, v=version[0]: v))
    gate = threading.Event()
    jobs.submit(lambda *_: gate.wait(10), kind="hold")  # both jobs wait in line
    live._submit_now()
    live._changed()  # inactive: counted, no timer
    assert not live.timer.isActive() and live.busy
    version[0] = 2
    live._submit_now()
    gate.set()
    qtbot.waitUntil(lambda: not live.busy, timeout=TIMEOUT)
    assert live.delivered == [2] and live.current
    live._changed()
    assert not live.current  # the result kept is now of an older version


def test_a_failure_says_whether_it_concerned_the_latest_version(qtbot, jobs: JobRunner) -> None:  # noqa: ANN001
    def fail(*_: object) -> None:
        raise RetinaSegError("nothing to compute")

    live = Echo(jobs, lambda: fail)
    live._submit_now()
    qtbot.waitUntil(lambda: not live.busy, timeout=TIMEOUT)
    gate = threading.Event()
    jobs.submit(lambda *_: gate.wait(10), kind="hold")
    live._submit_now()
    live._changed()
    gate.set()
    qtbot.waitUntil(lambda: len(live.failures) == 2, timeout=TIMEOUT)
    assert live.failures == [("nothing to compute", True), ("nothing to compute", False)]


def test_hidden_crossings_compute_nothing_until_shown(qtbot, jobs: JobRunner) -> None:  # noqa: ANN001
    live = LiveCrossings(jobs, delay_ms=10)
    live.set_document(crossed_document())
    live.labels_changed()
    qtbot.wait(100)
    assert not live.busy and not jobs.busy(CROSSINGS_KIND) and live.found is None
    live.set_active(True)
    qtbot.waitUntil(lambda: live.current and not live.busy, timeout=TIMEOUT)
    assert live.marks[19, 19]  # where the artery meets the vein


def test_a_failed_marking_clears_the_marks_shown(qtbot, jobs: JobRunner, monkeypatch) -> None:  # noqa: ANN001
    live = LiveCrossings(jobs, delay_ms=10)
    live.set_document(crossed_document())
    live.set_active(True)
    qtbot.waitUntil(lambda: live.current, timeout=TIMEOUT)

    def broken(_labels: np.ndarray) -> np.ndarray:
        raise RetinaSegError("marking failed")

    monkeypatch.setattr(crossings, "crossing_marks", broken)
    live.labels_changed()
    with qtbot.waitSignal(live.changed, timeout=TIMEOUT) as cleared:
        pass
    assert cleared.args[0].isNull() and live.found is None and live.marks is None and not live.current
