"""A model card read for people: what the model is, what it was trained on, how well it did on each
dataset, its threshold, what it is for and where it is known to fail.

``describe_card`` turns a checkpoint's card (the dict of ``Checkpoint.card()``, as stored beside the
shipped model in ``resources/models/*.json``) into plain rows; the GUI's model-card dialog only lays them
out. Every field is optional: a tutorial checkpoint with no metrics still gets a card that says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: dataset keys used in metrics -> the names people know them by
DATASET_NAMES = {"drive": "DRIVE", "chase": "CHASE_DB1", "hrf": "HRF", "drions": "DRIONS-DB"}
#: stress-set perturbation keys -> words
PERTURBATIONS = {"blur": "blurred images", "jpeg-q10": "heavy JPEG compression (quality 10)",
                 "vignetting": "vignetting (dark corners)", "noise": "sensor noise", "gray": "gray (red-free) images",
                 "old-film": "old film colours", "low-contrast": "low contrast", "overexposed": "overexposure",
                 "underexposed": "underexposure", "gamma-0.5": "a light gamma", "gamma-2": "a dark gamma"}
#: a perturbation that costs more F1 than this is a known limit
STRESS_DROP = 0.05
#: what each task's model is for, unless the card says
INTENDED_USE = {
    "vessels": "Finding the retinal blood vessels in colour fundus photographs, for research and for review "
               "by a person: every mask is meant to be checked and corrected by hand where needed. "
               "It is not a medical device and does not make a diagnosis.",
}


@dataclass(frozen=True)
class DatasetFigures:
    """How well the model did on one dataset split (None: not recorded)."""

    dataset: str
    split: str
    images: int | None = None
    f1: float | None = None
    roc_auc: float | None = None
    sensitivity: float | None = None
    specificity: float | None = None
    worst_f1: float | None = None
    second_observer_f1: float | None = None


@dataclass(frozen=True)
class ModelCardView:
    """A model card as rows to show; ``raw`` is the card as it was read."""

    name: str
    architecture: str
    task: str
    trained_on: str
    training_data: list[str] = field(default_factory=list)
    thresholds: list[str] = field(default_factory=list)
    figures: list[DatasetFigures] = field(default_factory=list)
    figures_note: str = ""
    preprocessing: str = ""
    intended_use: str = ""
    limits: list[str] = field(default_factory=list)
    raw: Mapping[str, Any] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    """A finite float, or None (missing, not a number, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def dataset_name(key: str) -> str:
    return DATASET_NAMES.get(str(key).lower(), str(key))


def _architecture(card: Mapping[str, Any]) -> str:
    name = {"unet": "UNet"}.get(str(card.get("architecture", "")), str(card.get("architecture") or "unknown"))
    arch = _dict(card.get("arch"))
    text = name + (f" (base width {arch['base_c']})" if "base_c" in arch else "")
    params = _number(card.get("parameters"))
    if params:
        text += f", {params / 1e6:.2f} M parameters"
    return text


def _trained_on(card: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A one-line summary (without the list of image names) and one row per training dataset."""
    text = str(card.get("trained_on") or "not recorded")
    summary = text.split(": images", 1)[0].strip()
    rows = []
    total = 0
    for d in _dict(card.get("recipe")).get("datasets") or []:
        d = _dict(d)
        images = _number(d.get("images"))
        total += int(images or 0)
        parts = [str(d.get("name", "?"))]
        if d.get("camera"):
            parts.append(str(d["camera"]))
        if images:
            parts.append(f"{int(images)} training images")
        if d.get("terms"):
            parts.append(str(d["terms"]))
        rows.append(", ".join(parts))
    if total:
        summary += f" ({total} images)"
    return summary, rows


def _test_figures(test: Mapping[str, Any]) -> list[DatasetFigures]:
    rows = []
    for key, entry in test.items():
        entry = _dict(entry)
        pooled = _dict(entry.get("pooled"))
        if not pooled:
            continue  # e.g. the "settings" entry
        rows.append(DatasetFigures(
            dataset_name(key), "test", int(entry["images"]) if _number(entry.get("images")) else None,
            _number(pooled.get("f1")), _number(pooled.get("roc_auc")), _number(pooled.get("sensitivity")),
            _number(pooled.get("specificity")), _number(_dict(entry.get("worst_image")).get("f1")),
            _number(_dict(entry.get("second_observer")).get("f1"))))
    return rows


def _validation_figures(validation: Mapping[str, Any]) -> list[DatasetFigures]:
    by_dataset = _dict(validation.get("f1_by_dataset"))
    counts: dict[str, int] = {}
    for ds in _dict(validation.get("datasets")).values():
        counts[str(ds)] = counts.get(str(ds), 0) + 1
    if by_dataset:
        return [DatasetFigures(dataset_name(k), "validation", counts.get(k), _number(v)) for k, v in by_dataset.items()]
    f1 = _number(validation.get("f1"))
    if f1 is None:
        return []
    images = validation.get("images")
    n = len(images) if isinstance(images, Sequence) and not isinstance(images, str) else _number(images)
    return [DatasetFigures("all", "validation", int(n) if n else None, f1, _number(validation.get("roc_auc")))]


def _thresholds(card: Mapping[str, Any], chosen_on_validation: bool) -> list[str]:
    how = " (chosen on validation images)" if chosen_on_validation else ""
    return [f"{name}: {value:.3f}{how}" for name, raw in _dict(card.get("thresholds")).items()
            if (value := _number(raw)) is not None]


def _preprocessing(card: Mapping[str, Any]) -> str:
    pre, inference = _dict(card.get("preprocessing")), _dict(card.get("inference"))
    parts = []
    if pre.get("normalization") == "fov":
        parts.append("each colour channel standardised inside the field of view")
    elif pre.get("normalization") == "local":
        parts.append("each colour channel standardised by its neighbourhood inside the field of view")
    elif pre.get("normalization"):
        parts.append(f"normalisation: {pre['normalization']}")
    if (fov := _number(pre.get("fov_diameter"))) is not None:
        parts.append(_working_size(fov, _number(pre.get("scale_tolerance")), _number(pre.get("large_fov_diameter"))))
    if inference.get("precision"):
        parts.append(str(inference["precision"]))
    if "tta" in inference:
        parts.append("flipped copies averaged" if inference["tta"] else "no flips")
    return "; ".join(parts)


def _working_size(fov: float, tolerance: float | None, large: float | None) -> str:
    """Words for Preprocessing.working_scale (kept in step with its ``native_band``)."""
    low, high = fov / (tolerance or 1.0), max(fov * (tolerance or 1.0), large or 0.0)
    if low == high:
        return f"resized so the field of view is {fov:g} px wide"
    return (f"a field of view {low:.0f}–{high:.0f} px wide kept at its size, a smaller one enlarged to {fov:g} px, "
            f"a larger one reduced to {large or fov:g} px")


def _stress_limits(stress: Mapping[str, Any]) -> list[str]:
    perturbations = _dict(stress.get("perturbations"))
    base = _number(_dict(perturbations.get("none")).get("f1"))
    if base is None:
        return []
    worse = [(f1, key) for key, entry in perturbations.items()
             if key != "none" and (f1 := _number(_dict(entry).get("f1"))) is not None and base - f1 > STRESS_DROP]
    if not worse:
        return []
    listed = ", ".join(f"{PERTURBATIONS.get(k, k)} (F1 {f1:.2f})" for f1, k in sorted(worse))
    return [f"Misses thin vessels on {listed}, against F1 {base:.2f} on the unchanged validation images."]


def _limits(card: Mapping[str, Any], training_rows: list[str]) -> list[str]:
    given = card.get("limitations") or card.get("limits")
    if isinstance(given, str):
        return [given]
    if isinstance(given, Sequence) and given:
        return [str(x) for x in given]
    metrics = _dict(card.get("metrics"))
    limits = []
    if training_rows:
        limits.append(f"Trained on {len(training_rows)} camera(s) only; photographs from other cameras, "
                      "fields of view or patient groups may come out worse.")
    limits.extend(_stress_limits(_dict(metrics.get("stress"))))
    fraction = metrics.get("vessel_fraction_range")
    if isinstance(fraction, Sequence) and len(fraction) == 2 and all(_number(x) is not None for x in fraction):
        lo, hi = (float(x) for x in fraction)
        limits.append(f"Its training labels mark {lo * 100:.1f}–{hi * 100:.1f} % of the field of view as vessel; "
                      "results far outside that range are flagged as implausible.")
    if not limits:
        limits.append("Not recorded: no evaluation figures travel with this model; check its masks with care.")
    return limits


def describe_card(card: Mapping[str, Any]) -> ModelCardView:
    """The rows of a readable model card (see the module docstring); never raises on missing fields."""
    card = _dict(card)
    metrics = _dict(card.get("metrics"))
    validation = _dict(metrics.get("validation"))
    figures = _test_figures(_dict(metrics.get("test"))) + _validation_figures(validation)
    if not figures and metrics:
        flat = {k: v for k, v in metrics.items() if _number(v) is not None}
        if flat:
            figures = [DatasetFigures("recorded", "", None, _number(flat.get("f1")), _number(flat.get("roc_auc")),
                                      _number(flat.get("sensitivity")), _number(flat.get("specificity")))]
    test_note = _dict(_dict(metrics.get("test")).get("drive") or next(iter(_dict(metrics.get("test")).values()), {}))
    note = "Inside the field of view, every image at its native resolution, pixels pooled per dataset"
    note += f", at threshold {t:.2f}." if (t := _number(test_note.get("threshold"))) is not None else "."
    trained, rows = _trained_on(card)
    task = str(card.get("task") or "vessels")
    classes = card.get("classes")
    task_text = task + (f" ({', '.join(map(str, classes))})" if isinstance(classes, Sequence) and classes else "")
    path = card.get("path")
    return ModelCardView(
        name=Path(str(path)).name if path else "default model",
        architecture=_architecture(card),
        task=task_text,
        trained_on=trained,
        training_data=rows,
        thresholds=_thresholds(card, bool(validation)),
        figures=figures,
        figures_note=note if figures else "No evaluation figures are recorded for this model.",
        preprocessing=_preprocessing(card),
        intended_use=str(card.get("intended_use") or INTENDED_USE.get(task, INTENDED_USE["vessels"].replace(
            "the retinal blood vessels", f"{task_text} structures"))),
        limits=_limits(card, rows),
        raw=card,
    )
