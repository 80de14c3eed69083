"""Prediction: what any model gives for one image, and the Predictor protocol that produces it.

The GUI, the CLI, batch and evaluation use every model the same way: ``predictor.predict(image,
fov)`` returns a :class:`Prediction` holding all class probabilities; its task decodes them into
labels with the thresholds the checkpoint chose on validation images (or the user's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from core.predict.tasks import Task

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class Prediction:
    """Class probabilities of one image (C×H×W float32 in [0, 1]; 0 outside the FOV) and their meaning."""

    probabilities: np.ndarray
    task: Task
    thresholds: Mapping[str, float]
    fov: np.ndarray
    #: Where it came from: model name, device, seconds, notes (e.g. a GPU fallback).
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        p = self.probabilities
        if p.ndim != 3 or p.shape[0] != len(self.task.classes):
            raise ValueError(f"expected {len(self.task.classes)}×H×W probabilities, got shape {p.shape}")
        if self.fov.shape != p.shape[1:]:
            raise ValueError(f"FOV mask is {self.fov.shape[1]}x{self.fov.shape[0]} "
                             f"but the probabilities are {p.shape[2]}x{p.shape[1]}")

    @property
    def classes(self) -> tuple[str, ...]:
        return self.task.classes

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.probabilities.shape[1]), int(self.probabilities.shape[2])

    def probability(self, name: str) -> np.ndarray:
        """The H×W probability map of class ``name`` (a view, not a copy)."""
        if name not in self.classes:
            raise KeyError(f"no class {name!r} in this prediction ({', '.join(self.classes)})")
        return self.probabilities[self.classes.index(name)]

    def decode(self, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """Label mask (uint8 H×W indexing ``classes``), with the model's thresholds unless others are given."""
        return self.task.decode(self.probabilities, {**self.thresholds, **(thresholds or {})})

    def with_info(self, **info: Any) -> Prediction:
        return Prediction(self.probabilities, self.task, self.thresholds, self.fov, {**self.info, **info})


class Predictor(Protocol):
    """Anything that turns an image into a :class:`Prediction` (a loaded model, a fake in tests)."""

    task: Task
    thresholds: Mapping[str, float]

    def predict(self, image: np.ndarray, fov: np.ndarray | None = None,
                progress: ProgressCallback | None = None,
                should_cancel: CancelCheck | None = None) -> Prediction: ...
