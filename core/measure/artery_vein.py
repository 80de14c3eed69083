"""Artery/vein classification scores against a reference, on the reference's typed vessel pixels.

Counted only where the reference says artery or vein inside the FOV: crossings and uncertain pixels
are left out (they have no single right answer). Sensitivity is the arteries called artery,
specificity the veins called vein (the convention of the RITE literature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.io.artery_vein import ARTERY, VEIN


@dataclass(frozen=True)
class ArteryVeinScores:
    accuracy: float
    sensitivity: float  # arteries called artery
    specificity: float  # veins called vein
    pixels: int  # reference artery + vein pixels scored


class ArteryVeinAccumulator:
    """Pooled confusion counts over images (pixels of all images together, as the vessel F1 is pooled)."""

    def __init__(self) -> None:
        self.artery_total = self.artery_right = self.vein_total = self.vein_right = 0

    def add(self, predicted_artery: np.ndarray, reference: np.ndarray, fov: np.ndarray | None = None) -> None:
        """``predicted_artery``: bool H×W, True where the prediction says artery (rather than vein);
        ``reference``: an artery/vein label map."""
        if predicted_artery.shape != reference.shape:
            raise ValueError(f"prediction {predicted_artery.shape} and reference {reference.shape} differ in size")
        inside = fov if fov is not None else np.ones(reference.shape, bool)
        artery = (reference == ARTERY) & inside
        vein = (reference == VEIN) & inside
        self.artery_total += int(artery.sum())
        self.artery_right += int((artery & predicted_artery).sum())
        self.vein_total += int(vein.sum())
        self.vein_right += int((vein & ~predicted_artery).sum())

    def scores(self) -> ArteryVeinScores:
        total = self.artery_total + self.vein_total
        return ArteryVeinScores(
            accuracy=(self.artery_right + self.vein_right) / total if total else float("nan"),
            sensitivity=self.artery_right / self.artery_total if self.artery_total else float("nan"),
            specificity=self.vein_right / self.vein_total if self.vein_total else float("nan"),
            pixels=total,
        )
