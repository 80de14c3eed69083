"""Running a plan with an executor into a BatchSummary, reporting progress file by file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.batch.executors import Executor, SerialExecutor
from core.batch.job import JobResult
from core.batch.plan import BatchPlan
from core.errors import ImageWriteError
from core.io.export import check_folder
from core.predict.prediction import CancelCheck, Predictor

#: progress(done, total, line): ``line`` is "", "FAILED <file>: <why>" or one "WARNING <file>: <why>" per warning.
Report = Callable[[int, int, str], None]


@dataclass
class BatchSummary:
    written: list[Path] = field(default_factory=list)
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def add(self, result: JobResult) -> None:
        self.written.extend(result.written)
        if result.ok:
            self.done.append(result.source)
        else:
            self.failed.append((result.source, result.error))

    def text(self) -> str:
        lines = [f"{len(self.done)} segmented, {len(self.failed)} failed" + (" (cancelled)" if self.cancelled else "")]
        lines += [f"  FAILED {p}: {why}" for p, why in self.failed]
        return "\n".join(lines)


def prepare_output(out_dir: Path) -> None:
    """Create the output folder; a read-only one fails now, not once per image after its inference."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from exc
    check_folder(out_dir)


def execute(plan: BatchPlan, executor: Executor, progress: Report | None = None,
            should_cancel: CancelCheck | None = None) -> BatchSummary:
    """Run every job of ``plan``; results are summarised in the order they complete.

    File errors are collected per file and finished files are kept; other errors (a GPU failure)
    propagate after the files finished so far have been written.
    """
    prepare_output(plan.out_dir)
    summary = BatchSummary()
    total, count = len(plan.jobs), 0
    for result in executor.run(plan.jobs, should_cancel):
        summary.add(result)
        count += 1
        if progress is not None:
            progress(count, total, "\n".join(f"WARNING {result.source}: {w.message}" for w in result.warnings)
                     if result.ok else f"FAILED {result.source}: {result.error}")
    summary.cancelled = count < total
    return summary


def run_batch(plan: BatchPlan, predictor: Predictor, threshold: float | None = None,
              progress: Report | None = None, should_cancel: CancelCheck | None = None) -> BatchSummary:
    """Run ``plan`` in this thread with ``predictor`` (``threshold`` None: the predictor's own)."""
    return execute(plan, SerialExecutor(predictor, threshold), progress, should_cancel)
