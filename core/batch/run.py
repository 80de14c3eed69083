"""Running a plan with an executor into a BatchSummary, reporting progress file by file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.batch.executors import Executor, SerialExecutor
from core.batch.job import ArteryVein, JobResult
from core.batch.plan import BatchPlan
from core.errors import ImageWriteError
from core.io.export import check_folder
from core.predict.prediction import CancelCheck, Predictor

#: progress(done, total, line): ``line`` is "", "FAILED <file>: <why>", "skipped <file> (<why>)" or one
#: "WARNING <file>: <why>" per warning (see :func:`result_lines`).
Report = Callable[[int, int, str], None]
#: on_result(done, total, result): each job's whole result, for callers that show more than the line.
ResultReport = Callable[[int, int, JobResult], None]


@dataclass
class BatchSummary:
    written: list[Path] = field(default_factory=list)
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    #: inputs whose outputs existed and were complete (a resumed batch): not failures
    skipped: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def add(self, result: JobResult) -> None:
        self.written.extend(result.written)
        if not result.ok:
            self.failed.append((result.source, result.error))
        elif result.skipped:
            self.skipped.append(result.source)
        else:
            self.done.append(result.source)

    def text(self) -> str:
        skipped = f"{len(self.skipped)} skipped (outputs exist; --overwrite to replace), " if self.skipped else ""
        lines = [f"{len(self.done)} segmented, {skipped}{len(self.failed)} failed"
                 + (" (cancelled)" if self.cancelled else "")]
        lines += [f"  FAILED {p}: {why}" for p, why in self.failed]
        return "\n".join(lines)


def result_lines(result: JobResult) -> list[str]:
    """What a log shows of one result: nothing when it went well without warnings."""
    if not result.ok:
        return [f"FAILED {result.source}: {result.error}"]
    if result.skipped:
        return [f"skipped {result.source} ({result.skipped})"]
    return [f"WARNING {result.source}: {w.message}" for w in result.warnings]


def output_folder_problem(out_dir: Path) -> str:
    """Why ``out_dir`` cannot be an output folder because of the path itself ("" when it can be):
    it, or a folder above it, is a file. Checked before any work, so a caller can call it a usage error."""
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            if path.is_dir():
                return ""
            where = f"{out_dir}" if path == out_dir else f"{out_dir}: {path}"
            return f"{where} is a file, not a folder"
    return ""


def prepare_output(out_dir: Path) -> None:
    """Create the output folder; a read-only one fails now, not once per image after its inference."""
    if problem := output_folder_problem(out_dir):
        raise ImageWriteError(problem)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from exc
    check_folder(out_dir)


def execute(plan: BatchPlan, executor: Executor, progress: Report | None = None,
            should_cancel: CancelCheck | None = None, on_result: ResultReport | None = None) -> BatchSummary:
    """Run every job of ``plan``; results are summarised in the order they complete.

    File errors are collected per file and finished files are kept; other errors (a GPU failure)
    propagate after the files finished so far have been written. ``progress`` gets each result's
    log line, ``on_result`` the result itself.
    """
    prepare_output(plan.out_dir)
    summary = BatchSummary()
    total, count = len(plan.jobs), 0
    for result in executor.run(plan.jobs, should_cancel):
        summary.add(result)
        count += 1
        if on_result is not None:
            on_result(count, total, result)
        if progress is not None:
            progress(count, total, "\n".join(result_lines(result)))
    summary.cancelled = count < total
    return summary


def run_batch(plan: BatchPlan, predictor: Predictor, threshold: float | None = None,
              progress: Report | None = None, should_cancel: CancelCheck | None = None,
              artery_vein: ArteryVein | None = None) -> BatchSummary:
    """Run ``plan`` in this thread with ``predictor`` (``threshold`` None: the predictor's own) and, for
    jobs that plan artery/vein labels, ``artery_vein`` (core.batch.artery_vein.ArteryVeinStep)."""
    return execute(plan, SerialExecutor(predictor, threshold, artery_vein), progress, should_cancel)
