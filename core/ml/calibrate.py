"""Choose the decision threshold for given inference settings on the checkpoint's validation images.

Training picks a threshold with plain fp32 whole-image inference. When a model ships with other
settings (bf16, flip averaging, the Segmenter's FOV handling), the threshold is re-chosen the same
honest way: on the held-out *training* images recorded in the checkpoint, never on test images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.io.datasets import Sample
from core.measure.metrics import Accumulator
from core.ml.checkpoint import Checkpoint


@dataclass(frozen=True)
class Calibration:
    precision: str
    tta: bool
    threshold: float
    val_f1: float
    val_auc: float


def validation_samples(ckpt: Checkpoint, training: list[Sample]) -> list[Sample]:
    """The training images this checkpoint was validated on (names stored at training time)."""
    names = ckpt.metrics.get("validation", {}).get("images") or []
    chosen = [s for s in training if s.name in set(names)]
    if not names or len(chosen) != len(names):
        raise ValueError("the checkpoint does not record which training images it was validated on")
    return chosen


def calibrate(ckpt: Checkpoint, samples: list[Sample], precision: str = "fp32", tta: bool = False,
              device: str = "cpu") -> Calibration:
    """Best-F1 threshold on ``samples`` for these settings, with the validation F1 and AUC."""
    from core.ml.inference import Segmenter

    seg = Segmenter(checkpoint=ckpt, device=device, precision=precision, tta=tta)
    acc = Accumulator()
    for s in samples:
        acc.add(seg.predict(s.image, fov=s.fov).probability("vessel"), s.vessels, s.fov)
    threshold, f1 = acc.best_threshold()
    return Calibration(precision, tta, threshold, f1, acc.roc_auc())


def apply_calibration(ckpt: Checkpoint, cal: Calibration) -> Checkpoint:
    """Store the settings and their threshold in the checkpoint (validation metrics updated)."""
    ckpt.thresholds = {**ckpt.thresholds, "vessel": min(max(cal.threshold, 0.01), 0.99)}
    ckpt.inference = {"precision": cal.precision, "tta": cal.tta}
    validation: dict[str, Any] = dict(ckpt.metrics.get("validation", {}))
    validation.update({"f1": cal.val_f1, "roc_auc": cal.val_auc, "threshold_for": dict(ckpt.inference)})
    ckpt.metrics["validation"] = validation
    return ckpt
