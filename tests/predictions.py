"""Fake predictions for tests: a vessel Prediction from a bare probability map, no model needed."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.predict.prediction import Prediction
from core.predict.tasks import VesselTask


def vessel_prediction(probability: np.ndarray, threshold: float = 0.5, fov: np.ndarray | None = None,
                      **info: Any) -> Prediction:
    """What a vessel model with ``threshold`` would predict if its vessel probability were ``probability``."""
    p = np.asarray(probability, np.float32)
    return Prediction(np.stack([1.0 - p, p]), VesselTask(), {"vessel": float(threshold)},
                      np.ones(p.shape, bool) if fov is None else np.asarray(fov, bool), info)

