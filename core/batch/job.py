"""Running one batch job: read, predict, write the file contract atomically.

Stateless across files (everything it needs is in the job and the predictor), so a job can run in
this thread, in a worker process or on another machine, and give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.batch.plan import BatchJob
from core.errors import ImageReadError, ImageWriteError
from core.io.export import probability_to_uint16
from core.io.images import load_image, write_image
from core.predict.prediction import Predictor
from core.predict.tasks import VESSEL

#: Per-file failures: the batch reports them and goes on. Anything else (a GPU failure) stops it.
FILE_ERRORS = (ImageReadError, ImageWriteError, ValueError)


@dataclass(frozen=True)
class JobResult:
    """What became of one job: the files written, or why it failed (``error`` non-empty)."""

    source: Path
    written: tuple[Path, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def run_one(job: BatchJob, predictor: Predictor, threshold: float | None = None) -> JobResult:
    """Segment ``job.source`` into ``job.mask`` (0/255) and, if planned, ``job.prob`` (16-bit).

    ``threshold``: the vessel threshold, or None for the predictor's. A refused job returns its
    reason without touching anything; file errors become the result's ``error``.
    """
    if job.refused:
        return JobResult(job.source, error=job.refused)
    written: list[Path] = []
    try:
        image = load_image(job.source).pixels
        fov = load_image(job.fov, mode="L").pixels > 127 if job.fov is not None else None
        prediction = predictor.predict(image, fov=fov)
        labels = prediction.decode(None if threshold is None else {"vessel": float(threshold)})
        written.append(write_image(job.mask, np.where(labels == VESSEL, np.uint8(255), np.uint8(0))))
        if job.prob is not None:
            written.append(write_image(job.prob, probability_to_uint16(prediction.probability("vessel"))))
    except FILE_ERRORS as exc:
        return JobResult(job.source, tuple(written), str(exc).removeprefix(f"{job.source}: "))
    return JobResult(job.source, tuple(written))
