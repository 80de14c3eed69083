"""Running batch jobs on a Dask cluster: a LocalCluster, any scheduler, or an HPC queue through dask-jobqueue.

Jobs travel in batches (one Dask task runs ``batch_size`` images: the scheduler sees thousands of tasks
for a cohort of 100,000, not 100,000), and only a window of batches is in flight at any time, about
two per worker thread, so neither the scheduler nor this process holds the whole cohort.

Each worker process builds its predictor once, on its first batch, and keeps it; the predictor runs
one image at a time (torch already spreads one inference over the worker's cores, and a GPU runs one
anyway) while the worker's other threads read and write the files of other images. A worker with a
GPU uses it (the device is chosen on the worker, not here).

Faults: when a worker dies, Dask runs its batches again elsewhere (their finished files are rewritten
with the same bytes); a batch that keeps killing workers is split so that only the image to blame
fails. A file's own errors are results (``error``); anything else (a bad model, a GPU failure)
stops the run once the finished results have been yielded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from core.batch.executors import PredictorFactory
from core.batch.existing import SKIP_REASON
from core.batch.job import JobResult, Measure, run_one
from core.batch.plan import BatchJob
from core.batch.resume import Recorded, complete_as_recorded
from core.batch.spec import SegmenterSpec
from core.predict.prediction import CancelCheck, Predictor

if TYPE_CHECKING:
    from distributed import Client, Future

# distributed is imported where it is used: importing this module stays cheap (the import-contract test
# imports every module), and a worker unpickling run_batch has it loaded already.


class ClusterLost(RuntimeError):
    """The scheduler went away (or cancelled the work) before the run finished: a rerun resumes."""


@dataclass(frozen=True)
class WorkItem:
    """One job as a worker gets it.

    ``recorded``: what an earlier run of this cohort recorded about this image: its outputs are checked
    against it without reading the image, and skipped when complete; otherwise (the file changed, an
    output is damaged) they are that run's and are replaced. ``redo_if_complete``: outputs found complete
    without a record were written by a run that stopped before recording them; redo them (same bytes)
    so the result is whole.
    """

    job: BatchJob
    recorded: Recorded | None = None
    redo_if_complete: bool = False


#: Rounds of tasks of its own in which an image's worker died before the image is failed for it.
SOLO_ROUNDS = 2


class DaskExecutor:
    """Runs jobs on ``client``'s cluster; each worker builds its predictor from ``factory`` (picklable).

    ``measure``: see :func:`core.batch.job.run_one`. ``batch_size``: images per Dask task.
    ``window``: batches in flight (None: two per worker thread, at least two, followed as workers come and go).
    """

    def __init__(self, client: Client, factory: PredictorFactory, threshold: float | None = None, *,
                 measure: Measure | None = None, batch_size: int = 8, window: int | None = None,
                 poll_seconds: float = 0.2) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.client = client
        self.factory = factory
        self.threshold = threshold
        self.measure = measure
        self.batch_size = batch_size
        self.window = window
        self.poll_seconds = poll_seconds
        #: times an image, alone in its task, was on a worker that died: see ``_collect``
        self._deaths_alone: dict[str, int] = {}
        self._window_at = 0.0
        self._window_now = 2

    def run(self, jobs: Iterable[BatchJob], should_cancel: CancelCheck | None = None) -> Iterator[JobResult]:
        """The :class:`core.batch.executors.Executor` protocol: plain jobs, no records."""
        return self.run_items((WorkItem(job) for job in jobs), should_cancel)

    def run_items(self, items: Iterable[WorkItem], should_cancel: CancelCheck | None = None) -> Iterator[JobResult]:
        """Yield each item's result as its batch completes (refused jobs at once, without shipping them).

        Once ``should_cancel()`` is true nothing more is submitted, the batches in flight are cancelled
        (their finished files stay; they have no result) and the iteration ends.
        Raises :class:`ClusterLost` when the scheduler goes away, and a worker's non-file error as itself.
        """
        source = iter(items)
        inflight: dict[Future, list[WorkItem]] = {}
        batch: list[WorkItem] = []
        exhausted = False
        try:
            while True:
                while not exhausted and len(inflight) < self._window():
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                    elif item.job.refused:
                        yield run_one(item.job, None, self.threshold)  # type: ignore[arg-type]
                    else:
                        batch.append(item)
                        if len(batch) < self.batch_size:
                            continue
                    if batch and (exhausted or len(batch) == self.batch_size):
                        inflight[self._submit(batch)] = batch
                        batch = []
                if not inflight:
                    return
                if should_cancel is not None and should_cancel():
                    return
                for future in self._completed(inflight):
                    items_of = inflight.pop(future)
                    yield from self._collect(future, items_of, inflight)
        finally:
            if inflight:
                try:
                    self.client.cancel(list(inflight))
                except Exception:  # the scheduler may be gone already: nothing left to cancel
                    pass

    def _submit(self, batch: list[WorkItem]) -> Future:
        return self.client.submit(run_batch, batch, self.factory, self.threshold, self.measure, pure=False)

    def _window(self) -> int:
        if self.window is not None:
            return self.window
        now = time.monotonic()
        if now - self._window_at > 5.0:  # workers come and go (adaptive clusters): ask now and then
            try:
                threads = sum(self.client.nthreads().values())
            except Exception:
                threads = 0
            self._window_now = max(2, 2 * threads)
            self._window_at = now
        return self._window_now

    def _completed(self, inflight: dict[Future, list[WorkItem]]) -> list[Future]:
        from distributed import CancelledError, wait

        try:
            done, _ = wait(list(inflight), timeout=self.poll_seconds, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        except CancelledError as exc:
            raise ClusterLost(f"the scheduler cancelled the work ({exc})") from exc
        except OSError as exc:
            raise ClusterLost(f"lost the connection to the scheduler ({exc})") from exc
        return list(done)

    def _collect(self, future: Future, items: list[WorkItem],
                 inflight: dict[Future, list[WorkItem]]) -> Iterator[JobResult]:
        from distributed import KilledWorker

        if future.status == "finished":
            results, error = future.result()
            yield from results
            if error is not None:
                raise error
            return
        if future.cancelled():
            raise ClusterLost("the scheduler cancelled the work (it stopped, or this client was disconnected)")
        if future.status != "error":  # its result was held by a worker that has died since: Dask redoes it
            inflight[future] = items
            return
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            if len(items) > 1:  # find the one to blame: each image of the batch alone
                for item in items:
                    inflight[self._submit([item])] = [item]
                return
            # A worker's death also counts against the tasks queued behind the one that killed it, so
            # an innocent image can exhaust its allowed failures beside the guilty one: it is blamed only
            # after a second round of its own.
            source = str(items[0].job.source)
            self._deaths_alone[source] = self._deaths_alone.get(source, 0) + 1
            if self._deaths_alone[source] < SOLO_ROUNDS:
                inflight[self._submit(items)] = items
                return
            yield JobResult(items[0].job.source, error="the worker segmenting this image died (every time it was "
                                                       "tried): out of memory, or a crash reading it")
            return
        raise exc  # type: ignore[misc]


# -- on the worker --------------------------------------------------------------------------------

_predictors: dict[Any, Predictor] = {}
_predictors_lock = threading.Lock()


class _OneAtATime:
    """A predictor shared by a worker's threads, predicting for one of them at a time."""

    def __init__(self, predictor: Predictor) -> None:
        self._predictor = predictor
        self._lock = threading.Lock()

    def predict(self, image, fov=None, progress=None, should_cancel=None):  # type: ignore[no-untyped-def]
        with self._lock:
            return self._predictor.predict(image, fov, progress, should_cancel)

    def __getattr__(self, name: str) -> Any:  # model_path, card, thresholds ... of the predictor
        return getattr(self._predictor, name)


def worker_predictor(factory: PredictorFactory) -> Predictor:
    """This worker process's predictor for ``factory``, built on first use and kept (one model at a time).

    A :class:`SegmenterSpec` without a thread count gets the worker's: its share of the machine's cores.
    """
    with _predictors_lock:
        predictor = _predictors.get(factory)
        if predictor is None:
            build = factory
            if isinstance(factory, SegmenterSpec) and not factory.threads:
                build = replace(factory, threads=_worker_threads())
            _predictors.clear()
            predictor = _predictors[factory] = _OneAtATime(build())  # type: ignore[assignment]
        return predictor


def _worker_threads() -> int | None:
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a Dask worker (a test calling run_batch directly)
        return None
    return int(getattr(worker, "nthreads", 0) or 0) or None


def run_batch(items: list[WorkItem], factory: PredictorFactory, threshold: float | None,
              measure: Measure | None) -> tuple[list[JobResult], BaseException | None]:
    """Run a batch on a worker: each item's result, and the error that stopped the batch (None when none
    did); the results before that error are kept, so finished images are never lost to it."""
    results: list[JobResult] = []
    try:
        predictor = worker_predictor(factory)
        for item in items:
            results.append(run_item(item, predictor, threshold, measure))
    except Exception as exc:  # a bad model, a GPU failure: not this file's fault; the caller decides
        return results, exc
    return results, None


def run_item(item: WorkItem, predictor: Predictor, threshold: float | None, measure: Measure | None) -> JobResult:
    """One item: skipped on the strength of its record, else :func:`run_one` (see :class:`WorkItem`)."""
    job = item.job
    if item.recorded is not None:
        if complete_as_recorded(job, item.recorded):
            return JobResult(job.source, skipped=SKIP_REASON)
        job = replace(job, overwrite=True)
    result = run_one(job, predictor, threshold, measure)
    if result.skipped and item.redo_if_complete:
        result = run_one(replace(job, overwrite=True), predictor, threshold, measure)
    return result


def describe_predictor(factory: PredictorFactory) -> dict[str, Any]:
    """On a worker: build (and keep) its predictor and say what it is: model file, thresholds, device,
    torch threads. A bad model fails here, once, before any image is sent."""
    predictor = worker_predictor(factory)
    return {"model": str(getattr(predictor, "model_path", "") or ""),
            "thresholds": dict(getattr(predictor, "thresholds", {}) or {}),
            "device": str(getattr(predictor, "device_name", "") or ""),
            "threads": getattr(predictor, "threads", None)}
