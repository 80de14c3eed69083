"""Cyclic garbage is collected on the GUI thread, never in a worker thread that happens to allocate."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from gui.gc_guard import collect_on_gui_thread
from tests.gui.conftest import FakeService


class Cycle:
    """An object in a reference cycle that records the thread that destroys it."""

    def __init__(self, record: list[str]) -> None:
        self.me = self
        self.record = record

    def __del__(self) -> None:
        self.record.append(threading.current_thread().name)


def orphan_cycle_then_allocate_in_a_thread(record: list[str], results: list) -> weakref.ref:
    """Drop a fresh cycle, then let a worker thread allocate enough to cross every gc threshold."""
    gc.collect()
    ref = weakref.ref(Cycle(record))

    def allocate() -> None:
        results.append([[i] for i in range(200_000)])  # lists are tracked: each one counts towards gen 0

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    return ref


def test_without_the_guard_a_worker_thread_collects_gui_garbage() -> None:
    """The hazard itself: Python collects in whichever thread allocates."""
    record: list[str] = []
    gc.enable()  # restore_gc_state switches it back off
    orphan_cycle_then_allocate_in_a_thread(record, [])
    assert record == ["worker"]


def test_with_the_guard_only_the_gui_thread_collects(qtbot) -> None:  # noqa: ANN001
    guard = collect_on_gui_thread()
    assert not gc.isenabled() and guard.active
    record: list[str] = []
    results: list = []
    ref = orphan_cycle_then_allocate_in_a_thread(record, results)
    assert ref() is not None and record == []  # the worker allocated a lot and collected nothing
    qtbot.waitUntil(lambda: ref() is None, timeout=10_000)  # the GUI-thread timer collected it
    assert record == [threading.main_thread().name]


def test_the_guard_is_installed_once_and_a_stopped_one_is_replaced(qtbot) -> None:  # noqa: ANN001
    guard = collect_on_gui_thread()
    assert collect_on_gui_thread() is guard
    guard.stop()
    assert gc.isenabled()
    replacement = collect_on_gui_thread()
    assert replacement is not guard and replacement.active and not gc.isenabled()


def test_check_collects_the_generation_whose_threshold_was_crossed(qapp, monkeypatch) -> None:  # noqa: ANN001
    collector = collect_on_gui_thread()
    calls: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: calls.append(generation) or 0)
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    for counts, expected in [((5, 0, 0), []), ((701, 3, 0), [0]), ((701, 11, 2), [1]), ((800, 11, 11), [2])]:
        calls.clear()
        monkeypatch.setattr(gc, "get_count", lambda counts=counts: counts)
        collector.check()
        assert calls == expected


def test_it_refuses_to_run_off_the_gui_thread(qapp) -> None:  # noqa: ANN001
    errors: list[BaseException] = []

    def install() -> None:
        try:
            collect_on_gui_thread()
        except RuntimeError as exc:
            errors.append(exc)

    worker = threading.Thread(target=install)
    worker.start()
    worker.join()
    assert errors and "GUI thread" in str(errors[0])


class AllocatingService(FakeService):
    """A fake inference that allocates like a real one: enough to cross every gc threshold."""

    def segment(self, request, progress=None, should_cancel=None, notice=None):  # noqa: ANN001, ANN201
        scratch = [[i] for i in range(200_000)]
        result = super().segment(request, progress, should_cancel, notice)
        del scratch
        return result


def test_garbage_left_by_the_gui_is_not_collected_in_the_inference_thread(make_window, qtbot,  # noqa: ANN001
                                                                         image_file) -> None:
    window = make_window(AllocatingService())
    assert window.open_path(image_file)
    record: list[str] = []
    gc.collect()
    ref = weakref.ref(Cycle(record))
    with qtbot.waitSignal(window.segmentFinished, timeout=60_000) as done:
        window.segment()
    assert done.args[0] is True
    main = threading.main_thread().name
    assert record in ([], [main])  # not collected, or collected by the GUI thread's timer
    gc.collect()
    assert ref() is None and record == [main]


@pytest.fixture(autouse=True)
def restore_gc_state() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()
