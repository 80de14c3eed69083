"""Executors: where a batch's jobs run. Each yields JobResults as jobs complete and stops early on cancel.

A new place to run jobs (a Dask cluster) is one new class with the same ``run`` method.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from typing import Protocol

from core.batch.job import ArteryVein, JobResult, Measure, run_one
from core.batch.plan import BatchJob
from core.predict.prediction import CancelCheck, Predictor

#: Builds a predictor in a worker process; must be picklable (a top-level function or class instance).
PredictorFactory = Callable[[], Predictor]
#: Builds the artery/vein step in a worker process (core.batch.artery_vein.ArteryVeinSpec); picklable too.
ArteryVeinFactory = Callable[[], ArteryVein]


class Executor(Protocol):
    def run(self, jobs: Sequence[BatchJob], should_cancel: CancelCheck | None = None) -> Iterator[JobResult]:
        """Yield each job's result as it completes; once ``should_cancel()`` is true, start no new job,
        yield the results of those already running, and stop (the rest are not yielded)."""
        ...


class SerialExecutor:
    """Runs the jobs one after another in this thread with one predictor (the CLI's and the app's default);
    ``artery_vein`` types the vessels of the jobs that plan artery/vein labels; ``measure``: see
    :func:`core.batch.job.run_one` (the app's batch dialog measures biomarkers with it)."""

    def __init__(self, predictor: Predictor, threshold: float | None = None,
                 artery_vein: ArteryVein | None = None, measure: Measure | None = None) -> None:
        self.predictor = predictor
        self.threshold = threshold
        self.artery_vein = artery_vein
        self.measure = measure

    def run(self, jobs: Sequence[BatchJob], should_cancel: CancelCheck | None = None) -> Iterator[JobResult]:
        for job in jobs:
            if should_cancel is not None and should_cancel():
                return
            yield run_one(job, self.predictor, self.threshold, self.measure, artery_vein=self.artery_vein)


class ProcessExecutor:
    """Runs the jobs in ``workers`` processes; each builds its own predictor once, from ``factory``, and its
    own artery/vein step once, from ``artery_vein``, on its first job that plans artery/vein labels.

    Processes are spawned, not forked (safe with torch's threads and CUDA, and the only way on Windows).
    An error that is not a file's own (a GPU failure, a bad model) stops the batch and is raised here.
    """

    def __init__(self, factory: PredictorFactory, workers: int, threshold: float | None = None,
                 poll_seconds: float = 0.1, artery_vein: ArteryVeinFactory | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.factory = factory
        self.workers = workers
        self.threshold = threshold
        self.poll_seconds = poll_seconds
        self.artery_vein = artery_vein

    def run(self, jobs: Sequence[BatchJob], should_cancel: CancelCheck | None = None) -> Iterator[JobResult]:
        todo = [job for job in jobs if not job.refused]
        for job in jobs:
            if job.refused:  # nothing to compute: no need to ship it
                yield run_one(job, None, self.threshold)  # type: ignore[arg-type]
        if not todo or (should_cancel is not None and should_cancel()):
            return
        pool = ProcessPoolExecutor(min(self.workers, len(todo)), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(self.factory, self.artery_vein))
        pending: set[Future[JobResult]] = set()
        try:
            pending = {pool.submit(_run_in_worker, job, self.threshold) for job in todo}
            while pending:
                done, pending = wait(pending, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                if pending and should_cancel is not None and should_cancel():
                    for future in pending:
                        future.cancel()
                    running, pending = {f for f in pending if not f.cancelled()}, set()
                    for future in as_completed(running):  # their files are being written: report them
                        yield future.result()
                    return
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


_factory: PredictorFactory | None = None
_predictor: Predictor | None = None
_artery_vein_factory: ArteryVeinFactory | None = None
_artery_vein: ArteryVein | None = None


def _init_worker(factory: PredictorFactory, artery_vein: ArteryVeinFactory | None = None) -> None:
    global _factory, _artery_vein_factory
    _factory = factory
    _artery_vein_factory = artery_vein


def _run_in_worker(job: BatchJob, threshold: float | None) -> JobResult:
    # The predictor is built on the first job, not in the initializer: an error there (a bad model
    # file) then reaches the caller as itself instead of as a broken pool.
    global _predictor, _artery_vein
    if _predictor is None:
        assert _factory is not None, "worker started without _init_worker"
        _predictor = _factory()
    if job.av is not None and _artery_vein is None and _artery_vein_factory is not None:
        _artery_vein = _artery_vein_factory()
    return run_one(job, _predictor, threshold, artery_vein=_artery_vein)
