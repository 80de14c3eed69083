"""The GUI's artery/vein job: the artery/vein model on the image, its types laid on the vessel mask the
user sees, and the optic disc, all in the worker thread.

The vessel mask is the document's current one (edited by hand or not): core.predict.artery_vein's
``typed_prediction`` gives every vessel segment one type, so the labels cover exactly that mask. The disc
detector (core.measure.optic_disc) runs after it; its "not found" is an answer with a reason, not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CheckpointError, JobCancelled
from core.predict.prediction import Prediction
from core.predict.service import PredictionService, SegmentRequest
from gui.actions.device_choice import absent_device_message
from gui.jobs.runner import Job, JobProgress

#: Steps after the model's tiles: typing the vessel segments, finding the disc.
EXTRA_STEPS = 2


@dataclass(frozen=True)
class ArteryVeinRequest:
    """Copies of what the job needs (the document may change while it runs)."""

    image: np.ndarray
    fov: np.ndarray | None
    vessels: np.ndarray  # the vessel mask the labels must cover
    model_path: str
    device: str = "auto"


@dataclass(frozen=True)
class ArteryVeinResult:
    prediction: Prediction  # an "arteries_veins" prediction decoding to exactly the request's vessel mask
    disc: Any  # core.measure.optic_disc.OpticDisc, or DiscNotFound with the reason
    #: why the CPU was used instead of the device asked for ('' when it was not)
    device_fallback: str = ""


def artery_vein_job(service: PredictionService, request: ArteryVeinRequest) -> Job:
    """A job typing ``request.vessels`` with the artery/vein model ``request.model_path`` run by ``service``,
    then finding the optic disc. A checkpoint of another task is refused with a message saying so."""

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> ArteryVeinResult:
        from core.measure.optic_disc import find_optic_disc
        from core.predict.artery_vein import typed_prediction

        wanted, fallback = request, ""
        if request.device not in ("auto", "cpu") and request.device not in service.available_devices():
            wanted, fallback = replace(request, device="cpu"), absent_device_message(request.device)
        tiles = [1]

        def model_progress(done: int, total: int) -> None:
            tiles[0] = max(total, 1)
            progress(done, total + EXTRA_STEPS)

        av = service.segment(SegmentRequest(request.image, request.fov, wanted.model_path, wanted.device),
                             progress=model_progress, should_cancel=should_cancel, notice=progress.notice)
        if av.task.name != "arteries_veins":
            raise CheckpointError(f"{Path(request.model_path).name} is a {av.task.name} model, not an artery/vein "
                                  "model; load one with Model > Load Artery/Vein Checkpoint…")
        _check(should_cancel)
        typed = typed_prediction(request.vessels, av)
        progress(tiles[0] + 1, tiles[0] + EXTRA_STEPS)
        _check(should_cancel)
        disc = find_optic_disc(request.image, request.fov)
        progress(tiles[0] + EXTRA_STEPS, tiles[0] + EXTRA_STEPS)
        return ArteryVeinResult(typed, disc, fallback)

    return run


def _check(should_cancel: Callable[[], bool]) -> None:
    if should_cancel():
        raise JobCancelled("artery/vein labelling cancelled")


def disc_job(image: np.ndarray, fov: np.ndarray | None) -> Job:
    """A job finding the optic disc alone (OpticDisc, or DiscNotFound with the reason); ``image`` and
    ``fov`` are not modified (the document's own arrays may be passed: the job only reads them)."""

    def run(_progress: JobProgress, _should_cancel: Callable[[], bool]) -> Any:
        from core.measure.optic_disc import find_optic_disc

        return find_optic_disc(image, fov)

    return run
