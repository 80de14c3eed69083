"""PredictionService: one cached predictor per (model, device), checkpoint validation, GPU→CPU fallback.

The policy every front end shares: a predictor is loaded once and reused while model and device stay;
a checkpoint is validated (and its card read) before it is used; a GPU that fails is retried on the CPU
with a note saying so. torch (through core.ml) is imported only inside these methods, so importing this
module is cheap and a window can appear before torch is loaded. Not thread-safe: one thread uses one
service, except :meth:`PredictionService.new_predictor`, which only reads what the owner thread replaces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CheckpointError, DeviceFailure, JobCancelled
from core.predict.prediction import CancelCheck, Prediction, Predictor, ProgressCallback
from core.resources import default_model_path

Notice = Callable[[str], None]
#: (model path or None for the default model, device name, validated checkpoint or None) -> Predictor
PredictorFactory = Callable[[str | None, str, Any], Predictor]


@dataclass(frozen=True)
class SegmentRequest:
    """A copy of everything one prediction needs; the caller's image may change meanwhile."""

    image: np.ndarray
    fov: np.ndarray | None = None
    model_path: str | None = None
    device: str = "auto"


def _default_factory(model_path: str | None, device: str, checkpoint: Any) -> Predictor:
    from core.ml.inference import Segmenter

    if checkpoint is not None:
        return Segmenter(model_path, device, checkpoint=checkpoint)
    return Segmenter(model_path, device)


def _default_devices() -> dict[str, str]:
    from core.ml.devices import available_devices

    return available_devices()


def _default_loader(path: str) -> Any:
    from core.ml.checkpoint import load_checkpoint

    return load_checkpoint(path)


def model_display_name(model_path: str | None) -> str:
    return Path(model_path).name if model_path else default_model_path().name


def device_type(predictor: Any) -> str:
    """"cuda", "mps" or "cpu": what ``predictor`` runs on."""
    dev = getattr(predictor, "device", "cpu")
    return str(getattr(dev, "type", dev))


def checked_prediction(prediction: Any, shape: tuple[int, ...]) -> Prediction:
    """``prediction`` if it fits an image of ``shape``, else a ValueError saying what is wrong: a map of
    another size or with NaN would otherwise fail later, far from its cause."""
    if not isinstance(prediction, Prediction):
        raise ValueError(f"the model returned a {type(prediction).__name__}, not a Prediction; "
                         "the checkpoint does not fit this app")
    h, w = int(shape[0]), int(shape[1])
    if prediction.shape != (h, w):
        ph, pw = prediction.shape
        raise ValueError(f"the model returned a {pw}x{ph} probability map for a {w}x{h} image; "
                         "the checkpoint does not fit this app")
    if not np.isfinite(prediction.probabilities).all():
        raise ValueError("the model returned NaN or infinite probabilities; the checkpoint may be damaged "
                         "(try the default model)")
    return prediction


class PredictionService:
    """Turns SegmentRequests into Predictions, reusing one predictor while model and device stay.

    Collaborators come through the constructor (tests pass fakes): ``predictor_factory`` builds a
    predictor, ``devices`` lists the usable devices ({name: description}), ``checkpoint_loader``
    validates a checkpoint file.
    """

    def __init__(self, predictor_factory: PredictorFactory | None = None,
                 devices: Callable[[], dict[str, str]] | None = None,
                 checkpoint_loader: Callable[[str], Any] | None = None) -> None:
        self._factory = predictor_factory or _default_factory
        self._devices = devices or _default_devices
        self._loader = checkpoint_loader or _default_loader
        self._key: tuple[str | None, str] | None = None
        self._predictor: Predictor | None = None
        self._checkpoints: dict[str, Any] = {}

    def available_devices(self) -> dict[str, str]:
        return dict(self._devices())

    def model_card(self, model_path: str | None) -> dict[str, Any]:
        """Validate a checkpoint (raises CheckpointError) and return its card; None = the default model."""
        if model_path is None:
            path = default_model_path()
            if not path.is_file():
                raise CheckpointError(f"the default model {path} is missing; load a checkpoint (Model menu)")
            model_path = str(path)
        model_path = str(model_path)
        try:
            ckpt = self._loader(model_path)
        except CheckpointError:
            raise
        except Exception as exc:
            # core should already say this; never let an odd file surface as a bare struct.error
            raise CheckpointError(f"{model_path}: not a usable model checkpoint "
                                  f"({type(exc).__name__}: {exc})") from exc
        self._checkpoints = {model_path: ckpt}  # keep only the latest validated one (replaced, never mutated)
        card = dict(ckpt.card()) if hasattr(ckpt, "card") else {}
        card["path"] = model_path
        return card

    def predictor(self, model_path: str | None, device: str) -> Predictor:
        """The cached predictor for (model, device); a new one when either changed."""
        key = (model_path, device)
        if self._predictor is None or self._key != key:
            self._predictor = None  # free the old model before loading the new one
            self._predictor = self.new_predictor(model_path, device)
            self._key = key
        return self._predictor

    def new_predictor(self, model_path: str | None, device: str) -> Predictor:
        """A predictor of its own (not the cached one), e.g. for a batch running in another thread."""
        ckpt = self._checkpoints.get(model_path) if model_path else None
        return self._factory(model_path, device, ckpt)

    def segment(self, request: SegmentRequest, progress: ProgressCallback | None = None,
                should_cancel: CancelCheck | None = None, notice: Notice | None = None) -> Prediction:
        """Load the model if needed, then predict; a failing GPU is retried on the CPU with a notice.

        The prediction's ``info`` says model, device, device_name, seconds, notes (the fallback) and
        model_metrics (the checkpoint's recorded metrics; empty for predictors without a checkpoint).
        """
        from core.measure.fov import estimate_fov

        start = time.perf_counter()
        notes: list[str] = []
        fov = request.fov if request.fov is not None else estimate_fov(request.image)
        try:
            predictor = self.predictor(request.model_path, request.device)
            if should_cancel is not None and should_cancel():
                raise JobCancelled("segmentation cancelled")
            result = predictor.predict(request.image, fov, progress=progress, should_cancel=should_cancel)
        except (DeviceFailure, RuntimeError) as exc:  # torch's CUDA errors are RuntimeErrors
            if request.device == "cpu" or (self._predictor is not None and device_type(self._predictor) == "cpu"):
                raise
            note = f"{exc}. Segmenting on the CPU instead."
            notes.append(note)
            if notice is not None:
                notice(note)
            predictor = self.predictor(request.model_path, "cpu")
            result = predictor.predict(request.image, fov, progress=progress, should_cancel=should_cancel)
        prediction = checked_prediction(result, request.image.shape[:2])
        return prediction.with_info(
            model=model_display_name(request.model_path),
            device=device_type(predictor),
            device_name=str(getattr(predictor, "device_name", device_type(predictor))),
            seconds=time.perf_counter() - start,
            notes=tuple(notes),
            # what the model's card records (e.g. its training labels' vessel fraction range), read from the
            # loaded checkpoint rather than from the file again
            model_metrics=getattr(getattr(predictor, "checkpoint", None), "metrics", None) or {},
        )
