"""Running one batch job: read, predict, check plausibility, write the file contract atomically.

Stateless across files (everything it needs is in the job and the predictor), so a job can run in
this thread, in a worker process or on another machine, and give the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.batch.existing import judge_existing
from core.batch.plan import BatchJob
from core.edit.mask_ops import vessel_fraction
from core.errors import ImageReadError, ImageWriteError
from core.io.dicom_seg import export_dicom_seg
from core.io.export import export_artery_vein, export_sidecar, make_info, probability_to_uint16
from core.io.images import load_image, write_image
from core.io.loaded import ImageMetadata
from core.measure.plausibility import (
    PlausibilityWarning,
    check_artery_share,
    check_plausibility,
    predictor_range,
)
from core.predict.prediction import Predictor
from core.predict.tasks import VESSEL

if TYPE_CHECKING:
    from core.batch.artery_vein import ArteryVeinOutcome

#: Measures a written result: (vessel mask, FOV, image metadata) -> named values; picklable for workers.
Measure = Callable[[np.ndarray, np.ndarray, ImageMetadata], Mapping[str, Any]]
#: Types a written result's vessels and finds the optic disc: (image, FOV, vessel mask) -> outcome
#: (core.batch.artery_vein.ArteryVeinStep).
ArteryVein = Callable[[np.ndarray, np.ndarray, np.ndarray], "ArteryVeinOutcome"]

#: Per-file failures: the batch reports them and goes on. Anything else (a GPU failure) stops it.
FILE_ERRORS = (ImageReadError, ImageWriteError, ValueError)


@dataclass(frozen=True)
class JobResult:
    """What became of one job: the files written, or why it failed (``error`` non-empty), or why it
    had nothing to do (``skipped`` non-empty: its outputs exist and are complete).

    ``warnings``: why the result may be wrong although it was written (a warning is not a failure).
    ``seconds``: the job's wall time; ``vessel_fraction``: vessel pixels / FOV pixels of the mask written.
    ``shape``: the image's (rows, columns); ``measurements``: what ``run_one``'s ``measure`` returned.
    """

    source: Path
    written: tuple[Path, ...] = ()
    error: str = ""
    warnings: tuple[PlausibilityWarning, ...] = ()
    skipped: str = ""
    seconds: float = 0.0
    vessel_fraction: float | None = None
    shape: tuple[int, int] | None = None
    measurements: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


def run_one(job: BatchJob, predictor: Predictor, threshold: float | None = None,
            measure: Measure | None = None, artery_vein: ArteryVein | None = None) -> JobResult:
    """Segment ``job.source`` into ``job.mask`` (0/255) and, if planned, ``job.prob`` (16-bit),
    ``job.av`` (the vessel mask typed by ``artery_vein``, in the datasets' colours), ``job.info`` (the
    sidecar, with the plausibility warnings the result carries in any case, and with ``job.av`` the optic
    disc and the artery/vein summary) and ``job.seg`` (the DICOM Segmentation of a DICOM source).

    ``threshold``: the vessel threshold, or None for the predictor's. A refused job returns its
    reason without touching anything; file errors become the result's ``error``. Existing outputs
    are judged first (:func:`core.batch.existing.judge_existing`): complete ones make the job a skip.
    ``measure``: called with the vessel mask, the FOV and the image's metadata once the files are
    written; what it returns goes into the result's ``measurements`` (it reports its own failures there).
    """
    if job.refused:
        return JobResult(job.source, error=job.refused)
    start = time.perf_counter()
    written: list[Path] = []
    if job.av is not None and artery_vein is None:
        return JobResult(job.source, error="artery/vein labels were asked for without an artery/vein model")
    typed: ArteryVeinOutcome | None = None
    try:
        loaded = load_image(job.source, frame=job.frame)
        image = loaded.pixels
        verdict = judge_existing(job, image.shape[:2])
        if verdict.action == "skip":
            return JobResult(job.source, skipped=verdict.why, seconds=time.perf_counter() - start)
        if verdict.action == "refuse":
            return JobResult(job.source, error=verdict.why)
        fov = load_image(job.fov, mode="L").pixels > 127 if job.fov is not None else None
        prediction = predictor.predict(image, fov=fov)
        thresholds = {**prediction.thresholds, **({} if threshold is None else {"vessel": float(threshold)})}
        vessel = prediction.decode(thresholds) == VESSEL
        warnings = tuple(check_plausibility(image, prediction.fov, vessel, predictor_range(predictor)))
        written.append(write_image(job.mask, np.where(vessel, np.uint8(255), np.uint8(0))))
        if job.prob is not None:
            written.append(write_image(job.prob, probability_to_uint16(prediction.probability("vessel"))))
        if job.av is not None and artery_vein is not None:
            typed = artery_vein(image, prediction.fov, vessel)
            warnings += tuple(check_artery_share(typed.labels))
            written.append(export_artery_vein(job.av, typed.labels, overwrite=True))
        if job.info is not None:
            model_path = getattr(predictor, "model_path", None) or ""
            info = make_info(job.source, vessel, prediction.fov, model=Path(model_path).name or "unknown",
                             model_path=model_path, threshold=thresholds["vessel"], edited_by_hand=False,
                             warnings=warnings, metadata=loaded.metadata, include_identifiers=job.include_identifiers)
            if typed is not None:
                info = replace(info, measurements={**info.measurements, **typed.measurements()})
            written.append(export_sidecar(job.info, info, overwrite=True))  # judge_existing allowed it
        if job.seg is not None:
            model = Path(getattr(predictor, "model_path", None) or "").name
            arteries, veins = (None, None) if typed is None else typed.artery_vein_masks()
            written.append(export_dicom_seg(job.seg, job.source, vessel, arteries, veins, model=model, overwrite=True))
    except FILE_ERRORS as exc:
        return JobResult(job.source, tuple(written), str(exc).removeprefix(f"{job.source}: "))
    measurements = dict(measure(vessel, prediction.fov, loaded.metadata)) if measure is not None else {}
    return JobResult(job.source, tuple(written), warnings=warnings, seconds=time.perf_counter() - start,
                     vessel_fraction=vessel_fraction(vessel, prediction.fov), shape=image.shape[:2],
                     measurements=measurements)
