"""Validation scores per dataset, and the one threshold chosen from them (training and calibration alike)."""

from __future__ import annotations

import numpy as np

from core.io.datasets import Sample
from core.measure.metrics import Accumulator


class Validation:
    """Vessel scores of the validation images, per dataset, at native resolution inside the FOV."""

    def __init__(self) -> None:
        self.per_dataset: dict[str, Accumulator] = {}

    def add(self, sample: Sample, vessel_probability: np.ndarray) -> None:
        self.per_dataset.setdefault(sample.dataset, Accumulator()).add(vessel_probability, sample.vessels, sample.fov)

    def best_threshold(self) -> tuple[float, float]:
        """The threshold with the best F1 (with several datasets: the best mean of their F1s, so the
        large images of one camera do not outvote the others); returns (threshold, that F1)."""
        accs = list(self.per_dataset.values())
        if len(accs) == 1:
            return accs[0].best_threshold()
        grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
        means = [float(np.mean([a.scores(float(t)).f1 for a in accs])) for t in grid]
        best = int(np.nanargmax(means))
        return float(grid[best]), means[best]

    def roc_auc(self) -> float:
        return float(np.mean([a.roc_auc() for a in self.per_dataset.values()]))

    def f1_by_dataset(self, threshold: float) -> dict[str, float]:
        return {name: a.scores(threshold).f1 for name, a in self.per_dataset.items()}


def labelled_vessel_range(samples: list[Sample]) -> list[float]:
    """[lowest, highest] vessel fraction inside the FOV among ``samples``' labels: what a model trained on
    them should be expected to find (stored as ``metrics["vessel_fraction_range"]``)."""
    fractions = [float(s.vessels[s.fov].mean()) for s in samples if s.fov.any()]
    return [round(min(fractions), 4), round(max(fractions), 4)]
