"""The GUI's segmentation job: a Prediction from the service plus what the canvas shows of it.

The display-only arrays (the probability as 0..255 for the heat map, the FOV outline polygon) and the
plausibility guard's image checks (stored in the prediction's info, core.measure.plausibility) are computed
here, in the worker thread, so applying a result on the GUI thread costs no pixel work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.measure.plausibility import expected_range, with_image_checks
from core.predict.prediction import Prediction
from core.predict.service import PredictionService, SegmentRequest
from gui.canvas.render import fov_outline, probability_to_u8
from gui.jobs.runner import Job, JobProgress


@dataclass(frozen=True)
class SegmentResult:
    prediction: Prediction
    probability_u8: np.ndarray
    fov_outline: np.ndarray

    @property
    def probability(self) -> np.ndarray:
        return self.prediction.probability("vessel")


def segment_job(service: PredictionService, request: SegmentRequest) -> Job:
    """A job segmenting ``request`` (which holds copies) with ``service``; the GPU fallback becomes a notice."""

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> SegmentResult:
        prediction = service.segment(request, progress=progress, should_cancel=should_cancel,
                                     notice=progress.notice)
        prediction = with_image_checks(prediction, request.image, expected_range(prediction.info.get("model_metrics")))
        vessel = prediction.probability("vessel")
        return SegmentResult(prediction, probability_to_u8(vessel), fov_outline(prediction.fov))

    return run

