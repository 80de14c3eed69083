"""Evaluation of a vessel Predictor over a labelled dataset, inside the FOV only."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.io.datasets import Sample
from core.measure.metrics import Accumulator, Scores, confusion, roc_auc, scores_from_confusion
from core.predict.prediction import Predictor
from core.predict.tasks import VESSEL


@dataclass
class EvaluationResult:
    threshold: float
    pooled: Scores
    per_image: list[tuple[str, Scores]] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    split: str = ""

    def mean(self) -> dict[str, float]:
        """Mean of per-image scores (images weigh equally)."""
        keys = self.pooled.as_dict().keys()
        return {k: float(np.nanmean([s.as_dict()[k] for _, s in self.per_image])) for k in keys}

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "threshold": self.threshold,
            "pooled": self.pooled.as_dict(),
            "mean_per_image": self.mean(),
            "per_image": {name: s.as_dict() for name, s in self.per_image},
            "model": self.model,
        }

    def table(self) -> str:
        """A plain-text table: one row per image, then the mean and the pooled scores."""
        cols = ["f1", "iou", "accuracy", "sensitivity", "specificity", "roc_auc", "pr_auc"]
        head = f"{'image':<10}" + "".join(f"{c:>12}" for c in cols)
        rows = [head, "-" * len(head)]

        def fmt(name: str, d: dict[str, float]) -> str:
            return f"{name:<10}" + "".join(f"{d[c]:>12.4f}" if not math.isnan(d[c]) else f"{'n/a':>12}" for c in cols)

        rows += [fmt(name, s.as_dict()) for name, s in self.per_image]
        rows.append("-" * len(head))
        rows.append(fmt("mean", self.mean()))
        rows.append(fmt("pooled", self.pooled.as_dict()))
        return "\n".join(rows)


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
    for i, s in enumerate(samples):
        if should_cancel is not None and should_cancel():
            break
        prediction = predictor.predict(s.image, fov=s.fov)
        prob = prediction.probability("vessel")
        pooled.add(prob, s.vessels, s.fov)
        vessel = prediction.decode({"vessel": t}) == VESSEL
        base = scores_from_confusion(*confusion(vessel, s.vessels, s.fov))
        auc = roc_auc(prob[s.fov], s.vessels[s.fov])
        img_acc = Accumulator()
        img_acc.add(prob, s.vessels, s.fov)
        per_image.append((s.name, Scores(**{**base.as_dict(), "roc_auc": auc, "pr_auc": img_acc.pr_auc()})))
        if progress is not None:
            progress(i + 1, len(samples))
    return EvaluationResult(threshold=t, pooled=pooled.scores(t), per_image=per_image)
