"""Choose the decision threshold for given inference settings on the checkpoint's validation images.

Training picks a threshold with plain fp32 whole-image inference. When a model ships with other
settings (bf16, flip averaging, the Segmenter's FOV handling), the threshold is re-chosen the same
honest way: on the held-out *training* images recorded in the checkpoint, never on test images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from core.io.datasets import Sample
from core.measure.validation import Validation
from core.ml.checkpoint import Checkpoint
from core.ml.preprocessing import Preprocessing


@dataclass(frozen=True)
class Calibration:
    precision: str
    tta: bool
    threshold: float
    val_f1: float
    val_auc: float
    f1_by_dataset: dict[str, float] = field(default_factory=dict)


def recorded_validation(metrics: Any) -> dict[str, str]:
    """Validation image name -> dataset, as a checkpoint's metrics record them (DRIVE before pools; {} if none)."""
    validation = metrics.get("validation", {}) if isinstance(metrics, dict) else {}
    names = validation.get("images") or []
    return dict(validation.get("datasets") or {name: "drive" for name in names}) if names else {}


def validation_samples(ckpt: Checkpoint, training: Callable[[str], list[Sample]]) -> list[Sample]:
    """The training images this checkpoint was validated on (names, and datasets when it was trained on a
    pool, stored at training time); ``training(dataset)`` loads that dataset's training split."""
    datasets = recorded_validation(ckpt.metrics)
    names = list(datasets)
    chosen = [s for d in dict.fromkeys(datasets.values()) for s in training(d) if datasets.get(s.name) == d]
    if not names or len(chosen) != len(names):
        raise ValueError("the checkpoint does not record which training images it was validated on")
    return [replace(s, dataset=datasets[s.name]) for s in chosen]


def with_working_band(pre: Preprocessing, scale_tolerance: float | None = None,
                      large_fov_diameter: float | None = None) -> Preprocessing:
    """``pre`` with another band of FOV widths left at native size, and the width larger images are reduced
    to (an inference setting, chosen on validation like the threshold; raises CheckpointError when invalid)."""
    tolerance = pre.scale_tolerance if scale_tolerance is None else scale_tolerance
    return replace(pre, scale_tolerance=tolerance, large_fov_diameter=large_fov_diameter)


def describe_working_band(pre: Preprocessing) -> str:
    """", working FOV 640 px (640–800 px kept at their size, wider ones reduced to 800 px)", or ""."""
    if not pre.fov_diameter:
        return ""
    band = f", working FOV {pre.fov_diameter:g} px"
    if (native := pre.native_band()) is not None:
        band += (f" ({native[0]:.0f}–{native[1]:.0f} px kept at their size, "
                 f"wider ones reduced to {pre.large_fov_diameter or pre.fov_diameter:g} px)")
    return band


def calibrate(ckpt: Checkpoint, samples: list[Sample], precision: str = "fp32", tta: bool = False,
              device: str = "cpu") -> Calibration:
    """Best-F1 threshold on ``samples`` for these settings (several datasets: best mean F1), with F1 and AUC."""
    from core.ml.inference import Segmenter

    seg = Segmenter(checkpoint=ckpt, device=device, precision=precision, tta=tta)
    scores = Validation()
    for s in samples:
        scores.add(s, seg.predict(s.image, fov=s.fov).probability("vessel"))
    threshold, f1 = scores.best_threshold()
    return Calibration(precision, tta, threshold, f1, scores.roc_auc(), scores.f1_by_dataset(threshold))


def apply_calibration(ckpt: Checkpoint, cal: Calibration) -> Checkpoint:
    """Store the settings and their threshold in the checkpoint (validation metrics updated)."""
    ckpt.thresholds = {**ckpt.thresholds, "vessel": min(max(cal.threshold, 0.01), 0.99)}
    ckpt.inference = {"precision": cal.precision, "tta": cal.tta}
    validation: dict[str, Any] = dict(ckpt.metrics.get("validation", {}))
    validation.update({"f1": cal.val_f1, "roc_auc": cal.val_auc, "threshold_for": dict(ckpt.inference)})
    if len(cal.f1_by_dataset) > 1:
        validation["f1_by_dataset"] = cal.f1_by_dataset
    ckpt.metrics["validation"] = validation
    return ckpt
