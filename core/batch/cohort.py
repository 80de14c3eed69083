"""A cohort run: every image of the inputs through an executor into one results table, resumably.

What a rerun does with each image, from the table's journal (:mod:`core.batch.table`):

* recorded as done: its outputs are checked (decoded, against the recorded size, while the file is
  unchanged) and the image is skipped when they are complete, redone (replacing them) when not or when
  the file has changed since;
* recorded as failed, or not recorded (new, or in flight when a run stopped): run; outputs found
  complete without a record are redone, so that the row is whole;
* ``retry_failed``: only the images recorded as failed are run; ``force``: every image is redone,
  its outputs replaced.

Paths are made absolute (workers elsewhere have another working folder; a table row names one file
however it was given).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.batch.dask_executor import DaskExecutor, WorkItem
from core.batch.inputs import iter_inputs
from core.batch.job import JobResult
from core.batch.plan import BatchJob, plan
from core.batch.resume import Recorded
from core.batch.run import prepare_output
from core.batch.table import Previous, ResultsTable
from core.predict.prediction import CancelCheck

#: progress(done, total, result): after each image's result.
CohortProgress = Callable[[int, int, JobResult], None]


@dataclass(frozen=True)
class CohortSettings:
    """What every image of a cohort gets: its outputs, and what its row names (model, threshold)."""

    out_dir: Path
    save_prob: bool = False
    write_info: bool = False
    force: bool = False
    retry_failed: bool = False
    measure: bool = False
    model: str = ""
    threshold: float | None = None  # the vessel threshold in use, for the rows


@dataclass
class CohortSummary:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    rows: int = 0  # rows in the table afterwards

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def text(self, shown_failures: int = 20) -> str:
        left = self.total - self.done - self.skipped - len(self.failed)
        head = (f"{self.done} segmented, {self.skipped} skipped (complete), {len(self.failed)} failed"
                + (f", {left} not run (stopped; run again to resume)" if self.cancelled and left > 0 else "")
                + f"; the table has {self.rows} row{'s' if self.rows != 1 else ''}")
        lines = [head] + [f"  FAILED {p}: {why}" for p, why in self.failed[:shown_failures]]
        if len(self.failed) > shown_failures:
            lines.append(f"  ... and {len(self.failed) - shown_failures} more (status 'failed' in the table)")
        return "\n".join(lines)


def count_images(inputs: Iterable[str | os.PathLike[str]], settings: CohortSettings, table: ResultsTable) -> int:
    """How many images a run of ``inputs`` will report on (a pass over the names, nothing read)."""
    return sum(1 for _ in _items(inputs, settings, table))


def run_cohort(inputs: Iterable[str | os.PathLike[str]], settings: CohortSettings, executor: DaskExecutor,
               table: ResultsTable, progress: CohortProgress | None = None,
               should_cancel: CancelCheck | None = None, total: int | None = None) -> CohortSummary:
    """Run every image of ``inputs`` on ``executor``, recording each result in ``table`` (open) as it arrives.

    ``total``: the count of :func:`count_images` when the caller has it (for progress). A
    :class:`core.batch.dask_executor.ClusterLost` or a worker's error propagates once the results so
    far are recorded; closing the table then writes what there is.
    """
    prepare_output(settings.out_dir)
    summary = CohortSummary(total=count_images(inputs, settings, table) if total is None else total)
    for result in executor.run_items(_items(inputs, settings, table), should_cancel):
        if result.skipped:
            summary.skipped += 1
        else:
            table.append(result_row(result, settings))
            if result.ok:
                summary.done += 1
            else:
                summary.failed.append((result.source, result.error))
        if progress is not None:
            progress(summary.done + summary.skipped + len(summary.failed), summary.total, result)
    summary.cancelled = should_cancel is not None and should_cancel()
    summary.rows = len(table)
    return summary


def _items(inputs: Iterable[str | os.PathLike[str]], settings: CohortSettings,
           table: ResultsTable) -> Iterator[WorkItem]:
    out = settings.out_dir
    claimed: dict[str, str] = {}  # mask name -> the image that writes it (text: a cohort's worth stays small)
    for path in iter_inputs(inputs, exclude=out):
        job = _job(Path(os.path.abspath(path)), settings)
        if not job.refused:
            if (first := claimed.get(job.mask.name)) is not None:
                job = replace(job, refused=f"same name as {first}: its output would be overwritten")
            else:
                claimed[job.mask.name] = str(job.source)
        item = _item(job, table.previous(str(job.source)), settings)
        if item is not None:
            yield item


def _job(path: Path, settings: CohortSettings) -> BatchJob:
    job = plan([path], settings.out_dir, save_prob=settings.save_prob, overwrite=settings.force,
               write_info=settings.write_info).jobs[0]
    if job.refused == "file not found" and any(c in str(path) for c in "*?["):
        job = replace(job, refused="no file matches this pattern")
    return job


def _item(job: BatchJob, previous: Previous | None, settings: CohortSettings) -> WorkItem | None:
    """What to ask of a worker for ``job``, given its latest row (None: leave the image alone)."""
    failed = previous is not None and previous.status == "failed"
    if settings.retry_failed and not failed:
        return None
    if (not settings.force and previous is not None and previous.status == "done" and previous.recorded
            and (previous.measured or not settings.measure)):
        return WorkItem(job, Recorded(*previous.recorded))
    return WorkItem(job, redo_if_complete=True)


def result_row(result: JobResult, settings: CohortSettings) -> dict[str, Any]:
    """One image's table row (see :data:`core.batch.table.BASE_COLUMNS`), measurements after."""
    done = result.ok
    shape = result.shape
    recorded = Recorded.of(result.source, shape) if done and shape is not None else None
    row: dict[str, Any] = {
        "source": str(result.source),
        "status": "done" if done else "failed",
        "error": result.error,
        "vessel_fraction": result.vessel_fraction,
        "warnings": "; ".join(w.code for w in result.warnings),
        "warning_messages": " | ".join(w.message for w in result.warnings),
        "width": shape[1] if shape else None,
        "height": shape[0] if shape else None,
        "seconds": round(result.seconds, 4),
        "mask": str(result.written[0]) if done and result.written else "",
        "model": settings.model,
        "threshold": settings.threshold,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_bytes": recorded.source_bytes if recorded else None,
        "source_mtime_ns": recorded.source_mtime_ns if recorded else None,
        "measured": settings.measure and done,
    }
    row.update(result.measurements)
    return row
