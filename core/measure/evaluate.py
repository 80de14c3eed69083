"""Evaluation of a vessel Predictor over a labelled dataset, inside the FOV only."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from core.io.datasets import FINDERS, FOLDERS, Sample, SampleFiles, load_sample
from core.measure.metrics import Accumulator, Scores, confusion, scores_from_confusion
from core.predict.prediction import Predictor
from core.predict.tasks import VESSEL


@dataclass(frozen=True)
class VesselFraction:
    """Pixels inside the FOV, called vessel by the model, and annotated vessel."""

    fov: int
    predicted: int
    annotated: int

    @property
    def ratio(self) -> float:
        """Predicted over annotated vessel fraction (2.0: twice as much vessel as drawn)."""
        return self.predicted / self.annotated if self.annotated else float("inf")

    def __add__(self, other: VesselFraction) -> VesselFraction:
        return VesselFraction(self.fov + other.fov, self.predicted + other.predicted, self.annotated + other.annotated)

    def as_dict(self) -> dict[str, float]:
        return {"predicted": self.predicted / max(self.fov, 1), "annotated": self.annotated / max(self.fov, 1),
                "ratio": self.ratio}


@dataclass
class EvaluationResult:
    threshold: float
    pooled: Scores
    per_image: list[tuple[str, Scores]] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    split: str = ""
    dataset: str = ""
    #: Per image name: how much of its FOV the model called vessel against how much is annotated.
    fractions: dict[str, VesselFraction] = field(default_factory=dict)
    #: (threshold, pooled F1) that would have scored best on these very images: a calibration
    #: diagnostic (its gap to ``threshold``), never a threshold to use.
    best: tuple[float, float] = (float("nan"), float("nan"))

    def mean(self) -> dict[str, float]:
        """Mean of per-image scores (images weigh equally)."""
        keys = self.pooled.as_dict().keys()
        return {k: float(np.nanmean([s.as_dict()[k] for _, s in self.per_image])) for k in keys}

    def worst(self) -> tuple[str, Scores]:
        """The image with the lowest F1."""
        return min(self.per_image, key=lambda item: item[1].f1)

    def pooled_fraction(self) -> VesselFraction:
        """Vessel fractions pooled over every image."""
        return sum(self.fractions.values(), VesselFraction(0, 0, 0))

    def as_dict(self) -> dict[str, Any]:
        worst_name, worst = self.worst() if self.per_image else ("", None)
        return {
            "dataset": self.dataset,
            "split": self.split,
            "threshold": self.threshold,
            "pooled": self.pooled.as_dict(),
            "mean_per_image": self.mean(),
            "worst_image": {"name": worst_name, "f1": worst.f1 if worst else float("nan")},
            "vessel_fraction": {"pooled": self.pooled_fraction().as_dict(),
                                "max_ratio": max((f.ratio for f in self.fractions.values()), default=float("nan"))},
            "best_threshold_diagnostic": {"threshold": self.best[0], "f1": self.best[1]},
            "per_image": {name: {**s.as_dict(), **({"vessel_fraction": self.fractions[name].as_dict()}
                                                   if name in self.fractions else {})}
                          for name, s in self.per_image},
            "model": self.model,
        }

    def table(self) -> str:
        """A plain-text table: one row per image, then the mean and the pooled scores."""
        cols = ["f1", "iou", "accuracy", "sensitivity", "specificity", "roc_auc", "pr_auc"]
        width = max([10, *(len(name) + 1 for name, _ in self.per_image)])
        head = f"{'image':<{width}}" + "".join(f"{c:>12}" for c in cols)
        rows = [head, "-" * len(head)]

        def fmt(name: str, d: dict[str, float]) -> str:
            return f"{name:<{width}}" + "".join(f"{d[c]:>12.4f}" if not math.isnan(d[c]) else f"{'n/a':>12}"
                                                for c in cols)

        rows += [fmt(name, s.as_dict()) for name, s in self.per_image]
        rows.append("-" * len(head))
        rows.append(fmt("mean", self.mean()))
        rows.append(fmt("pooled", self.pooled.as_dict()))
        return "\n".join(rows)


def summary_table(results: Mapping[str, EvaluationResult]) -> str:
    """One row per dataset: pooled F1, ROC AUC, Se, Sp and the worst image with its F1."""
    head = f"{'dataset':<12}{'images':>7}{'F1':>9}{'AUC':>9}{'Se':>9}{'Sp':>9}{'worst F1':>10}  worst image"
    rows = [head, "-" * len(head)]
    for label, r in results.items():
        p = r.pooled
        name, worst = r.worst()
        rows.append(f"{label:<12}{len(r.per_image):>7}{p.f1:>9.4f}{p.roc_auc:>9.4f}{p.sensitivity:>9.4f}"
                    f"{p.specificity:>9.4f}{worst.f1:>10.4f}  {name}")
    return "\n".join(rows)


class DatasetSamples(Sequence[Sample]):
    """One split of a dataset, each sample read from disk when asked for (HRF's 21 test images would
    hold ~1 GB if loaded at once)."""

    def __init__(self, files: Sequence[SampleFiles], dataset: str) -> None:
        self.files = list(files)
        self.dataset = dataset

    @overload
    def __getitem__(self, index: int) -> Sample: ...
    @overload
    def __getitem__(self, index: slice) -> DatasetSamples: ...
    def __getitem__(self, index: int | slice) -> Sample | DatasetSamples:
        if isinstance(index, slice):
            return DatasetSamples(self.files[index], self.dataset)
        return load_sample(self.files[index], self.dataset)

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[Sample]:
        return (self[i] for i in range(len(self)))


def dataset_folder(name: str, data: str | os.PathLike[str]) -> Path:
    """The folder of dataset ``name``: ``data`` itself, or its sub-folder named as in the pool."""
    if name not in FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(FOLDERS)}")
    inside = Path(data) / FOLDERS[name]
    return inside if inside.is_dir() else Path(data)


def dataset_samples(name: str, data: str | os.PathLike[str], split: str = "test") -> DatasetSamples:
    """Samples of one split of dataset ``name``, ``data`` being the pool or the dataset's own folder."""
    return DatasetSamples(FINDERS[name](dataset_folder(name, data), split), name)


def evaluate(
    predictor: Predictor,
    samples: Sequence[Sample],
    threshold: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> EvaluationResult:
    """Score the vessel class of ``predictor``'s predictions on labelled samples, inside their FOV masks.

    The threshold defaults to the predictor's own (chosen on validation data at training time).
    """
    t = float(predictor.thresholds["vessel"] if threshold is None else threshold)
    pooled = Accumulator()
    per_image: list[tuple[str, Scores]] = []
    fractions: dict[str, VesselFraction] = {}
    datasets: set[str] = set()
    for i, s in enumerate(samples):
        if should_cancel is not None and should_cancel():
            break
        prediction = predictor.predict(s.image, fov=s.fov)
        prob = prediction.probability("vessel")
        vessel = prediction.decode({"vessel": t}) == VESSEL
        tp, fp, fn, tn = confusion(vessel, s.vessels, s.fov)
        base = scores_from_confusion(tp, fp, fn, tn)
        # the histogram gives this image's AUCs and, summed, the pooled ones (an exact rank AUC of
        # a 3504×2336 image costs seconds)
        img_acc = Accumulator()
        img_acc.add(prob, s.vessels, s.fov)
        pooled.pos += img_acc.pos
        pooled.neg += img_acc.neg
        per_image.append((s.name, Scores(**{**base.as_dict(), "roc_auc": img_acc.roc_auc(),
                                            "pr_auc": img_acc.pr_auc()})))
        fractions[s.name] = VesselFraction(tp + fp + fn + tn, tp + fp, tp + fn)
        datasets.add(s.dataset)
        if progress is not None:
            progress(i + 1, len(samples))
    return EvaluationResult(threshold=t, pooled=pooled.scores(t), per_image=per_image, fractions=fractions,
                            best=pooled.best_threshold(), dataset=datasets.pop() if len(datasets) == 1 else "")
