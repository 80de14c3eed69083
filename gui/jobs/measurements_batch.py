"""The batch dialog's "Measure biomarkers": a batch whose every result is measured, and one table for the folder.

Each image's biomarkers come from core.batch.measure.BiomarkerColumns, as ``retinaseg cohort --measure``
measures them (the vessel mask alone: density, length, width, fractal dimension, tortuosity, branching; no
calibres, which need arteries, veins and the disc), and its row is the cohort's (core.batch.cohort.result_row:
source, status, error, vessel fraction, warnings, size, ... then the biomarker columns). The rows go to
``results.csv`` in the output folder, written atomically once the batch ends, also when it was stopped or
failed part-way (what was done is kept). An image skipped because its outputs exist has a row saying so, and
no biomarkers: "Replace existing results" measures it again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.batch import BatchPlan, BatchSummary, JobResult, Report, SerialExecutor, execute
from core.batch.job import ArteryVein
from core.batch.table import CSV_NAME
from core.io.atomic import write_bytes_atomic
from core.predict.prediction import CancelCheck, Predictor


def batch_row(result: JobResult, model: str, threshold: float | None) -> dict[str, Any]:
    """One image's row of ``results.csv``."""
    from core.batch.cohort import CohortSettings, result_row

    row = result_row(result, CohortSettings(Path(), measure=True, model=model, threshold=threshold))
    if result.skipped:
        row.update(status="skipped", error=result.skipped, measured=False)
    return row


def write_table(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Rows as one CSV (columns in the order they first appear; a row without one leaves it empty), atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(dict.fromkeys(k for row in rows for k in row)),
                            lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    write_bytes_atomic(path, lambda f: f.write(data))
    return path


def run_measured(plan: BatchPlan, predictor: Predictor, threshold: float | None, *, model: str,
                 field_angle_deg: float | None = None, artery_vein: ArteryVein | None = None,
                 progress: Report | None = None, should_cancel: CancelCheck | None = None) -> BatchSummary:
    """Run ``plan`` in this thread measuring every result; ``results.csv`` is in the summary's ``written``.

    ``field_angle_deg``: the camera's field of view, for values in µm and mm (None: pixels, unless a DICOM
    file states its pixel spacing).
    """
    from core.batch.measure import BiomarkerColumns

    rows: list[dict[str, Any]] = []
    executor = SerialExecutor(predictor, threshold, artery_vein, BiomarkerColumns(field_angle_deg))
    summary: BatchSummary | None = None
    try:
        summary = execute(plan, executor, progress, should_cancel,
                          on_result=lambda _done, _total, result: rows.append(batch_row(result, model, threshold)))
    finally:  # a batch that fails part-way keeps the rows of the images it did
        table = write_table(plan.out_dir / CSV_NAME, rows) if rows else None
    if table is not None:
        summary.written.append(table)
    return summary
