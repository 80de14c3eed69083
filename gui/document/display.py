"""Display caches of a prediction: what the canvas draws, computable on a worker thread."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.predict.prediction import Prediction
from gui.canvas.render import fov_outline, probability_to_u8


@dataclass(frozen=True)
class DisplayArrays:
    """The heat map's probability as 0..255 (of the task's first thresholded class) and the FOV outline."""

    probability_u8: np.ndarray
    fov_outline: np.ndarray


def heat_class(prediction: Prediction) -> str:
    """The class whose probability the heat map shows ("vessel" for the vessel task)."""
    return prediction.task.thresholded[0] if prediction.task.thresholded else prediction.classes[-1]


def display_arrays(prediction: Prediction) -> DisplayArrays:
    """Compute the display caches (about 0.1 s for 3504×2336: worth doing off the GUI thread)."""
    return DisplayArrays(probability_to_u8(prediction.probability(heat_class(prediction))),
                         fov_outline(prediction.fov))
