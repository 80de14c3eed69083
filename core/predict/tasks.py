"""Tasks: what a model's output classes mean and how probabilities become labels.

A checkpoint names its classes; :func:`task_for_classes` finds the task that knows how to use them
(or refuses, so a model with classes the app cannot show is never mis-shown as vessels). A task's
``decode`` turns class probabilities into a label mask: one small class per task, registered in
:data:`TASKS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.errors import CheckpointError

#: Label values of a decoded vessel mask.
BACKGROUND, VESSEL = 0, 1


class Task(Protocol):
    """How one kind of model's output is used."""

    name: str
    classes: tuple[str, ...]
    #: The classes that carry a decision threshold (the others are implied).
    thresholded: tuple[str, ...]

    def decode(self, probabilities: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
        """Label mask (uint8 H×W, values index ``classes``) from C×H×W probabilities."""
        ...

    def vessel_probability(self, probabilities: np.ndarray) -> np.ndarray:
        """The H×W probability that a pixel is vessel (of any kind)."""
        ...


@dataclass(frozen=True)
class VesselTask:
    """Binary vessel segmentation: class 1 ("vessel") where its probability reaches the threshold."""

    name: str = "vessels"
    classes: tuple[str, ...] = ("background", "vessel")
    thresholded: tuple[str, ...] = ("vessel",)

    def decode(self, probabilities: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
        vessel = probabilities[self.classes.index("vessel")]
        return (vessel >= float(thresholds["vessel"])).astype(np.uint8)

    def vessel_probability(self, probabilities: np.ndarray) -> np.ndarray:
        return probabilities[self.classes.index("vessel")]


@dataclass(frozen=True)
class ArteryVeinTask:
    """Arteries and veins: a pixel is vessel where P(artery) + P(vein) reaches the "vessel" threshold,
    and then artery or vein by whichever of the two is more probable (labels 1 artery, 2 vein)."""

    name: str = "arteries_veins"
    classes: tuple[str, ...] = ("background", "artery", "vein")
    thresholded: tuple[str, ...] = ("vessel",)

    def decode(self, probabilities: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
        vessel = self.vessel_probability(probabilities) >= float(thresholds["vessel"])
        return np.where(vessel, np.where(probabilities[1] >= probabilities[2], 1, 2), 0).astype(np.uint8)

    def vessel_probability(self, probabilities: np.ndarray) -> np.ndarray:
        return probabilities[1] + probabilities[2]


TASKS: dict[str, Task] = {"vessels": VesselTask(), "arteries_veins": ArteryVeinTask()}


def get_task(name: str) -> Task:
    """The registered task ``name``; CheckpointError naming the known ones otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise CheckpointError(f"unknown task {name!r}; this app knows {', '.join(sorted(TASKS))}") from None


def task_for_classes(classes: Sequence[str]) -> Task:
    """The task whose classes are exactly ``classes``; refuses anything this app cannot show."""
    wanted = tuple(str(c) for c in classes)
    for task in TASKS.values():
        if task.classes == wanted:
            return task
    known = "; ".join(f"{t.name}: {', '.join(t.classes)}" for t in TASKS.values())
    raise CheckpointError(f"a model with {len(wanted)} classes ({', '.join(wanted)}) cannot be used by this app "
                          f"(it knows {known})")
