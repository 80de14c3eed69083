"""Running one batch job: read, predict, check plausibility, write the file contract atomically.

Stateless across files (everything it needs is in the job and the predictor), so a job can run in
this thread, in a worker process or on another machine, and give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.batch.plan import BatchJob
from core.errors import ImageReadError, ImageWriteError
from core.io.export import export_sidecar, make_info, probability_to_uint16
from core.io.images import load_image, write_image
from core.measure.plausibility import PlausibilityWarning, check_plausibility, predictor_range
from core.predict.prediction import Predictor
from core.predict.tasks import VESSEL

#: Per-file failures: the batch reports them and goes on. Anything else (a GPU failure) stops it.
FILE_ERRORS = (ImageReadError, ImageWriteError, ValueError)


@dataclass(frozen=True)
class JobResult:
    """What became of one job: the files written, or why it failed (``error`` non-empty).

    ``warnings``: why the result may be wrong although it was written (a warning is not a failure).
    """

    source: Path
    written: tuple[Path, ...] = ()
    error: str = ""
    warnings: tuple[PlausibilityWarning, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.error


def run_one(job: BatchJob, predictor: Predictor, threshold: float | None = None) -> JobResult:
    """Segment ``job.source`` into ``job.mask`` (0/255) and, if planned, ``job.prob`` (16-bit) and
    ``job.info`` (the sidecar, with the plausibility warnings the result carries in any case).

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
        thresholds = {**prediction.thresholds, **({} if threshold is None else {"vessel": float(threshold)})}
        vessel = prediction.decode(thresholds) == VESSEL
        warnings = tuple(check_plausibility(image, prediction.fov, vessel, predictor_range(predictor)))
        written.append(write_image(job.mask, np.where(vessel, np.uint8(255), np.uint8(0))))
        if job.prob is not None:
            written.append(write_image(job.prob, probability_to_uint16(prediction.probability("vessel"))))
        if job.info is not None:
            model_path = getattr(predictor, "model_path", None) or ""
            info = make_info(job.source, vessel, prediction.fov, model=Path(model_path).name or "unknown",
                             model_path=model_path, threshold=thresholds["vessel"], edited_by_hand=False,
                             warnings=warnings)
            written.append(export_sidecar(job.info, info, overwrite=True))  # the plan checked for existing files
    except FILE_ERRORS as exc:
        return JobResult(job.source, tuple(written), str(exc).removeprefix(f"{job.source}: "))
    return JobResult(job.source, tuple(written), warnings=warnings)
