"""ImageDocument: one image and what is known about it (FOV, probability map, threshold, vessel mask).

A plain model with signals: it knows nothing about widgets. The vessel mask is stored (not computed
on the fly) so that manual edits (issue 5: brush, fill, undo through a QUndoStack owned here) can
change it in place and announce the touched rectangle through ``maskChanged``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal

from core.imageio import read_image
from gui.overlay import fov_outline, probability_to_u8


@dataclass(frozen=True)
class PredictionInfo:
    """Where a probability map came from (shown in the status bar, kept for export sidecars)."""

    model: str
    device: str
    seconds: float


class ImageDocument(QObject):
    """An image with its probability map and vessel mask. The mask is ``probability >= threshold``."""

    #: a new probability map (and FOV) arrived
    predictionChanged = Signal()
    thresholdChanged = Signal(float)
    #: the mask changed inside the rectangle (a null QRect: everywhere)
    maskChanged = Signal(QRect)
    fovChanged = Signal()

    def __init__(self, image: np.ndarray, path: str | os.PathLike[str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        img = np.asarray(image)
        if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"not an image: array of shape {img.shape}")
        self.image: np.ndarray = img
        self.path: Path | None = Path(path) if path is not None else None
        self.fov: np.ndarray | None = None
        self.fov_outline: np.ndarray | None = None  # N×2 (x, y) polygon, for display
        self.probability: np.ndarray | None = None
        self.probability_u8: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.prediction_info: PredictionInfo | None = None
        self._threshold = 0.5

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], parent: QObject | None = None) -> ImageDocument:
        """Read an image file (raises core.imageio.ImageReadError with a clear message)."""
        return cls(read_image(path, mode=None), path, parent)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "untitled"

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def has_prediction(self) -> bool:
        return self.probability is not None

    @property
    def threshold(self) -> float:
        return self._threshold

    def set_fov(self, fov: np.ndarray, outline: np.ndarray | None = None) -> None:
        """Adopt a FOV mask; ``outline`` (from gui.overlay.fov_outline) saves recomputing it here."""
        f = np.asarray(fov, bool)
        self._check_shape(f, "FOV mask")
        self.fov = f
        self.fov_outline = outline if outline is not None else fov_outline(f)
        self.fovChanged.emit()

    def set_prediction(self, probability: np.ndarray, *, fov: np.ndarray | None = None,
                       threshold: float | None = None, info: PredictionInfo | None = None,
                       probability_u8: np.ndarray | None = None, outline: np.ndarray | None = None) -> None:
        """Adopt a probability map. ``threshold`` (the model's) is used only for the first prediction:
        a threshold the user chose stays when the image is segmented again."""
        prob = np.asarray(probability, np.float32)
        self._check_shape(prob, "probability map")
        if fov is not None:
            self.set_fov(fov, outline)
        first = self.probability is None
        self.probability = prob
        self.probability_u8 = probability_u8 if probability_u8 is not None else probability_to_u8(prob)
        self.prediction_info = info
        if first and threshold is not None:
            self._threshold = _valid_threshold(threshold)
            self.thresholdChanged.emit(self._threshold)
        self.mask = prob >= self._threshold
        self.predictionChanged.emit()
        self.maskChanged.emit(QRect())

    def set_threshold(self, threshold: float) -> None:
        """Re-threshold the stored probability map (no network run)."""
        t = _valid_threshold(threshold)
        if t == self._threshold:
            return
        self._threshold = t
        self.thresholdChanged.emit(t)
        if self.probability is not None:
            self.mask = self.probability >= t
            self.maskChanged.emit(QRect())

    def mask_changed(self, rect: tuple[int, int, int, int]) -> None:
        """Announce an in-place edit of ``mask`` inside ``rect`` = (y0, x0, y1, x1), half-open.

        This is the hook the undo commands of gui.commands call (their MaskTarget protocol).
        """
        y0, x0, y1, x1 = (int(v) for v in rect)
        self.maskChanged.emit(QRect(x0, y0, max(0, x1 - x0), max(0, y1 - y0)))

    def vessel_fraction(self) -> float | None:
        """Fraction of FOV pixels marked as vessel (None before a prediction)."""
        if self.mask is None:
            return None
        inside = self.fov if self.fov is not None else np.ones_like(self.mask)
        n = int(np.count_nonzero(inside))
        return float(np.count_nonzero(self.mask & inside)) / n if n else 0.0

    def describe_pixel(self, x: int, y: int) -> str:
        """'x, y  value  p=…' for the status bar; empty outside the image."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return ""
        v = self.image[y, x]
        value = " ".join(str(int(c)) for c in np.atleast_1d(v)[:4])
        text = f"x {x}, y {y}   value {value}"
        if self.probability is not None:
            text += f"   p {float(self.probability[y, x]):.3f}"
            if self.mask is not None and self.mask[y, x]:
                text += " (vessel)"
        return text

    def _check_shape(self, a: np.ndarray, what: str) -> None:
        if a.shape != (self.height, self.width):
            raise ValueError(f"{what} is {a.shape[1]}x{a.shape[0]} but the image is {self.width}x{self.height}")


def _valid_threshold(t: float) -> float:
    t = float(t)
    if math.isnan(t) or not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {t}")
    return t
