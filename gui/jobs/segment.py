"""The GUI's segmentation job: a Prediction from the service plus what the canvas shows of it.

The display-only arrays (the probability as 0..255 for the heat map, the FOV outline polygon) and the
plausibility guard's image checks (stored in the prediction's info, core.measure.plausibility) are computed
here, in the worker thread, so applying a result on the GUI thread costs no pixel work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from core.measure.plausibility import expected_range, with_image_checks
from core.predict.prediction import Prediction
from core.predict.service import PredictionService, SegmentRequest
from gui.actions.device_choice import absent_device_message
from gui.canvas.render import fov_outline, probability_to_u8
from gui.jobs.runner import Job, JobProgress


@dataclass(frozen=True)
class SegmentResult:
    prediction: Prediction
    probability_u8: np.ndarray
    fov_outline: np.ndarray
    #: why the CPU was used instead of the device asked for ('' when it was not)
    device_fallback: str = ""

    @property
    def probability(self) -> np.ndarray:
        return self.prediction.probability("vessel")


def segment_job(service: PredictionService, request: SegmentRequest) -> Job:
    """A job segmenting ``request`` (which holds copies) with ``service``; the GPU fallback becomes a notice.

    A device this machine does not have (asked for before the probe has answered) is not an error: the job
    runs on the CPU and its result says why.
    """

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> SegmentResult:
        wanted, fallback = request, ""
        if request.device not in ("auto", "cpu") and request.device not in service.available_devices():
            wanted, fallback = replace(request, device="cpu"), absent_device_message(request.device)
        prediction = service.segment(wanted, progress=progress, should_cancel=should_cancel,
                                     notice=progress.notice)
        prediction = with_image_checks(prediction, request.image, expected_range(prediction.info.get("model_metrics")))
        vessel = prediction.probability("vessel")
        return SegmentResult(prediction, probability_to_u8(vessel), fov_outline(prediction.fov), fallback)

    return run

