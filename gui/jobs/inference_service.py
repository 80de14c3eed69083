"""Worker-side inference: owns the cached Segmenter, falls back to the CPU when the GPU fails.

Runs inside the worker thread and never touches Qt. torch (through core.ml.inference, core.ml.devices and
core.ml.checkpoint) is imported only inside these methods, so importing this module is cheap and the
window can appear before torch is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CheckpointError, DeviceFailure, JobCancelled
from core.resources import default_model_path
from gui.canvas.render import fov_outline, probability_to_u8

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
Notice = Callable[[str], None]
#: (model_path or None for the default model, device name, validated checkpoint or None) -> Segmenter-like
SegmenterFactory = Callable[[str | None, str, Any], Any]


@dataclass(frozen=True)
class SegmentRequest:
    """A copy of everything one segmentation needs; the document may change meanwhile."""

    request_id: int
    image: np.ndarray
    fov: np.ndarray | None = None
    model_path: str | None = None
    device: str = "auto"


@dataclass
class SegmentResult:
    request_id: int
    probability: np.ndarray
    probability_u8: np.ndarray
    fov: np.ndarray
    fov_outline: np.ndarray
    threshold: float
    device: str
    device_name: str
    model_name: str
    seconds: float
    notes: list[str] = field(default_factory=list)


def _default_factory(model_path: str | None, device: str, checkpoint: Any) -> Any:
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


def checked_probability(prob: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``prob`` as float32 H×W, or a ValueError saying what is wrong: a map of another size or with NaN
    would otherwise fail later on the GUI thread (an exception in a slot, no result, no message)."""
    p = np.asarray(prob, np.float32)
    h, w = int(shape[0]), int(shape[1])
    if p.shape != (h, w):
        got = f"{p.shape[1]}x{p.shape[0]}" if p.ndim == 2 else f"shape {p.shape}"
        raise ValueError(f"the model returned a {got} probability map for a {w}x{h} image; "
                         "the checkpoint does not fit this app")
    if not np.isfinite(p).all():
        raise ValueError("the model returned NaN or infinite probabilities; the checkpoint may be damaged "
                         "(try the default model)")
    return p


def model_display_name(model_path: str | None) -> str:
    return Path(model_path).name if model_path else default_model_path().name


def _device_type(segmenter: Any) -> str:
    dev = getattr(segmenter, "device", "cpu")
    return str(getattr(dev, "type", dev))


class InferenceService:
    """Turns SegmentRequests into SegmentResults, reusing one Segmenter while model and device stay."""

    def __init__(self, segmenter_factory: SegmenterFactory | None = None,
                 devices: Callable[[], dict[str, str]] | None = None,
                 checkpoint_loader: Callable[[str], Any] | None = None) -> None:
        self._factory = segmenter_factory or _default_factory
        self._devices = devices or _default_devices
        self._loader = checkpoint_loader or _default_loader
        self._key: tuple[str | None, str] | None = None
        self._segmenter: Any = None
        self._checkpoints: dict[str, Any] = {}

    def available_devices(self) -> dict[str, str]:
        return dict(self._devices())

    def model_card(self, model_path: str | None) -> dict[str, Any]:
        """Validate a checkpoint (raises core.ml.checkpoint.CheckpointError) and return its card."""
        if model_path is None:
            path = default_model_path()
            if not path.is_file():

                raise CheckpointError(f"the default model {path} is missing; load a checkpoint (Model menu)")
            model_path_str = str(path)
        else:
            model_path_str = str(model_path)
        try:
            ckpt = self._loader(model_path_str)
        except Exception as exc:

            if isinstance(exc, CheckpointError):
                raise
            # core should already say this; never let an odd file surface as a bare struct.error
            raise CheckpointError(f"{model_path_str}: not a usable model checkpoint "
                                  f"({type(exc).__name__}: {exc})") from exc
        self._checkpoints = {model_path_str: ckpt}  # keep only the latest validated one
        card = dict(ckpt.card()) if hasattr(ckpt, "card") else {}
        card["path"] = model_path_str
        return card

    def segmenter(self, model_path: str | None, device: str) -> Any:
        """The cached Segmenter for (model, device); a new one when either changed."""
        key = (model_path, device)
        if self._segmenter is None or self._key != key:
            self._segmenter = None  # free the old model before loading the new one
            ckpt = self._checkpoints.get(model_path) if model_path else None
            self._segmenter = self._factory(model_path, device, ckpt)
            self._key = key
        return self._segmenter

    def new_segmenter(self, model_path: str | None, device: str) -> Any:
        """A Segmenter of its own (not the cached one), for a batch running in another thread."""
        ckpt = self._checkpoints.get(model_path) if model_path else None
        return self._factory(model_path, device, ckpt)

    def segment(self, request: SegmentRequest, progress: ProgressCallback | None = None,
                should_cancel: CancelCheck | None = None, notice: Notice | None = None) -> SegmentResult:
        """Load the model if needed, then predict; a failing GPU is retried on the CPU with a notice."""
        from core.measure.fov import estimate_fov

        start = time.perf_counter()
        notes: list[str] = []
        fov = request.fov if request.fov is not None else estimate_fov(request.image)
        try:
            seg = self.segmenter(request.model_path, request.device)
            if should_cancel is not None and should_cancel():
                raise JobCancelled("segmentation cancelled")
            prob = seg.predict(request.image, fov, progress=progress, should_cancel=should_cancel)
        except (DeviceFailure, RuntimeError) as exc:
            if request.device == "cpu" or (
                    self._segmenter is not None and _device_type(self._segmenter) == "cpu"):
                raise
            note = f"{exc}. Segmenting on the CPU instead."
            notes.append(note)
            if notice is not None:
                notice(note)
            seg = self.segmenter(request.model_path, "cpu")
            prob = seg.predict(request.image, fov, progress=progress, should_cancel=should_cancel)
        prob = checked_probability(prob, request.image.shape[:2])
        return SegmentResult(
            request_id=request.request_id,
            probability=prob,
            probability_u8=probability_to_u8(prob),
            fov=fov,
            fov_outline=fov_outline(fov),
            threshold=float(seg.threshold),
            device=_device_type(seg),
            device_name=str(seg.device_name),
            model_name=model_display_name(request.model_path),
            seconds=time.perf_counter() - start,
            notes=notes,
        )
