"""ImageDocument: one image and what is known about it (FOV, probability map, threshold, vessel mask).

A plain model with signals: it knows nothing about widgets. The vessel mask is stored (not computed
on the fly) so that manual edits can change it in place and announce the touched rectangle through
``maskChanged``.

Every change of an existing mask goes through the document's ``undo_stack`` (one per document, so
history survives switching images): strokes and fills (gui.document.commands), and threshold changes, new
predictions, Clear and loaded masks (gui.document.state_commands, which also restore the threshold and the mask's
source on undo). Policy for the mask that follows the model (``mask_source == "model"``): moving the
threshold re-thresholds only the pixels *not* edited by hand, so the slider never silently overwrites
edits; a consecutive slider drag is one undo step. A mask the user started empty, loaded from a file
or recovered is the user's own: the threshold no longer changes it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QUndoStack

from core.edit.mask_ops import fill_polygon, manual_edit_region, merge_manual_edits, paint_segment, replace_delta
from core.io.images import load_image
from core.io.loaded import ImageMetadata
from gui.canvas.render import fov_outline, probability_to_u8
from gui.document.commands import FillCommand, StrokeCommand
from gui.document.state_commands import THRESHOLD_COMMAND_ID, MaskState, MaskStateCommand

#: Undo steps kept per document (each holds a delta: changed pixels only).
UNDO_LIMIT = 200


class MaskSource:
    """Where the current mask came from."""

    MODEL = "model"  # probability >= threshold, plus any edits by hand
    EMPTY = "empty"  # started empty (or cleared) and drawn by hand
    FILE = "file"  # loaded from a mask file
    RECOVERED = "recovered"  # an autosave restored after a crash


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
    #: a reference mask (e.g. a manual annotation) was loaded or removed
    referenceChanged = Signal()
    #: mask_source changed
    sourceChanged = Signal(str)

    def __init__(self, image: np.ndarray, path: str | os.PathLike[str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        img = np.asarray(image)
        if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"not an image: array of shape {img.shape}")
        self.image: np.ndarray = img
        self.path: Path | None = Path(path) if path is not None else None
        self.metadata: ImageMetadata | None = None  # what the file said (format, pixel spacing...)
        self.fov: np.ndarray | None = None
        self.fov_outline: np.ndarray | None = None  # N×2 (x, y) polygon, for display
        self.probability: np.ndarray | None = None
        self.probability_u8: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.prediction_info: PredictionInfo | None = None
        self.reference: np.ndarray | None = None
        self.reference_path: Path | None = None
        self.mask_source = MaskSource.MODEL
        self._threshold = 0.5
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], parent: QObject | None = None) -> ImageDocument:
        """Read an image file (raises core.io.images.ImageReadError with a clear message)."""
        loaded = load_image(path)
        doc = cls(loaded.pixels, path, parent)
        doc.metadata = loaded.metadata
        return doc

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
        """Adopt a FOV mask; ``outline`` (from gui.canvas.render.fov_outline) saves recomputing it here."""
        f = np.asarray(fov, bool)
        self._check_shape(f, "FOV mask")
        self.fov = f
        self.fov_outline = outline if outline is not None else fov_outline(f)
        self.fovChanged.emit()

    def set_prediction(self, probability: np.ndarray, *, fov: np.ndarray | None = None,
                       threshold: float | None = None, info: PredictionInfo | None = None,
                       probability_u8: np.ndarray | None = None, outline: np.ndarray | None = None,
                       keep_edits: bool = False) -> None:
        """Adopt a probability map. ``threshold`` (the model's) is used only for the first prediction:
        a threshold the user chose stays when the image is segmented again.

        The first mask is set directly (there is nothing to go back to). When a mask exists already,
        the new one is one undo step: ``probability >= threshold``, or with ``keep_edits`` the same
        with the manual edits kept where they were made (see :meth:`edited_region`).
        """
        prob = np.asarray(probability, np.float32)
        self._check_shape(prob, "probability map")
        edited = self.edited_region() if keep_edits and self.mask is not None else None
        if fov is not None:
            self.set_fov(fov, outline)
        first = self.probability is None
        self.probability = prob
        self.probability_u8 = probability_u8 if probability_u8 is not None else probability_to_u8(prob)
        self.prediction_info = info
        if first and threshold is not None:
            self._threshold = _valid_threshold(threshold)
            self.thresholdChanged.emit(self._threshold)
        new_mask = prob >= self._threshold
        if self.mask is None:
            self.mask = new_mask
            self._set_source(MaskSource.MODEL)
        else:
            if edited is not None:
                new_mask = merge_manual_edits(new_mask, self.mask, edited)
            text = "Apply new prediction, keep edits" if edited is not None else "Apply new prediction"
            self._push_state_change(new_mask, MaskSource.MODEL, text)
        self.predictionChanged.emit()
        self.maskChanged.emit(QRect())

    def set_threshold(self, threshold: float) -> None:
        """Re-threshold the stored probability map (no network run), as an undoable step.

        Pixels edited by hand keep their values; a mask that is not the model's is left alone.
        """
        t = _valid_threshold(threshold)
        if t == self._threshold:
            return
        before = self.state
        if self.probability is None or self.mask is None:
            self._threshold = t
            self.thresholdChanged.emit(t)
            return
        delta = None
        if self.mask_source == MaskSource.MODEL:
            new_mask = self.probability >= t
            edited = manual_edit_region(self.probability >= self._threshold, self.mask)
            if edited.any():
                new_mask = merge_manual_edits(new_mask, self.mask, edited)
            delta = replace_delta(self.mask, new_mask)
        after = MaskState(t, self.mask_source)
        self.undo_stack.push(MaskStateCommand(self, delta, before, after, f"Threshold {t:.3f}",
                                              THRESHOLD_COMMAND_ID))

    # mask state and editing ------------------------------------------------------------------
    @property
    def state(self) -> MaskState:
        return MaskState(self._threshold, self.mask_source)

    def restore_state(self, state: MaskState) -> None:
        """Called by undo commands: put back the threshold and the mask's source."""
        if state.threshold != self._threshold:
            self._threshold = state.threshold
            self.thresholdChanged.emit(state.threshold)
        self._set_source(state.source)

    def _set_source(self, source: str) -> None:
        if source != self.mask_source:
            self.mask_source = source
            self.sourceChanged.emit(source)

    def model_mask(self) -> np.ndarray | None:
        """The mask the model gives at the current threshold (None before a prediction)."""
        return None if self.probability is None else self.probability >= self._threshold

    def edited_region(self) -> np.ndarray:
        """Pixels the user decided by hand: where the mask differs from the model's (a mask that is
        not the model's: its vessel pixels, so keeping edits adds them to a new prediction)."""
        assert self.mask is not None
        base = self.model_mask()
        if self.mask_source != MaskSource.MODEL or base is None:
            return self.mask.astype(bool, copy=True)
        return manual_edit_region(base, self.mask)

    @property
    def has_manual_edits(self) -> bool:
        """The mask holds work a new prediction would replace (compares whole masks: not per event)."""
        if self.mask is None:
            return False
        if self.mask_source != MaskSource.MODEL:
            return bool(self.mask.any()) or self.mask_source != MaskSource.EMPTY
        base = self.model_mask()
        return base is not None and not np.array_equal(base, self.mask)

    @property
    def modified(self) -> bool:
        """Changes since the last export (or since opening)."""
        return not self.undo_stack.isClean()

    def ensure_mask(self) -> np.ndarray:
        """The mask, creating an empty one (not an undo step) when there is none yet."""
        if self.mask is None:
            self.mask = np.zeros((self.height, self.width), bool)
            self._set_source(MaskSource.EMPTY)
            self.maskChanged.emit(QRect())
        return self.mask

    def paint(self, p0: tuple[float, float], p1: tuple[float, float], radius: float, vessel: bool,
              stroke_id: int) -> bool:
        """One brush (vessel) or eraser segment; segments with the same ``stroke_id`` are one undo step."""
        mask = self.ensure_mask()
        delta = paint_segment(mask, p0, p1, radius, vessel)
        if delta is None:
            return False
        self.undo_stack.push(StrokeCommand(self, delta, stroke_id, "Paint" if vessel else "Erase"))
        return True

    def fill(self, points: list[tuple[float, float]], vessel: bool) -> bool:
        """Fill (vessel) or cut (background) the closed lasso ``points``."""
        mask = self.ensure_mask()
        delta = fill_polygon(mask, points, vessel)
        if delta is None:
            return False
        self.undo_stack.push(FillCommand(self, delta, "Fill region" if vessel else "Cut region"))
        return True

    def replace_mask(self, new_mask: np.ndarray, source: str, text: str) -> bool:
        """Replace the whole mask (load a file, clear, start from the model) as one undo step.

        Raises ValueError giving both sizes when ``new_mask`` has another size.
        """
        m = np.asarray(new_mask)
        self._check_shape(m, "mask")
        self.ensure_mask()
        return self._push_state_change(m != 0, source, text)

    def clear_mask(self) -> bool:
        """Start again from an empty mask (undoable)."""
        return self.replace_mask(np.zeros((self.height, self.width), bool), MaskSource.EMPTY, "Clear mask")

    def start_from_model(self) -> bool:
        """Replace the mask with the model's at the current threshold (undoable; needs a prediction)."""
        base = self.model_mask()
        if base is None:
            raise ValueError(f"{self.name} has not been segmented yet: Segment (Ctrl+R) first")
        return self.replace_mask(base, MaskSource.MODEL, "Start from the model's mask")

    def _push_state_change(self, new_mask: np.ndarray, source: str, text: str) -> bool:
        assert self.mask is not None
        delta = replace_delta(self.mask, new_mask)
        after = MaskState(self._threshold, source)
        if delta is None and after == self.state:
            return False
        self.undo_stack.push(MaskStateCommand(self, delta, self.state, after, text))
        return True

    def set_reference(self, reference: np.ndarray | None, path: str | os.PathLike[str] | None = None) -> None:
        """A reference mask to compare with (None removes it); not part of the undo history."""
        if reference is not None:
            reference = np.asarray(reference) != 0
            self._check_shape(reference, "reference mask")
        self.reference = reference
        self.reference_path = Path(path) if path is not None and reference is not None else None
        self.referenceChanged.emit()

    def mask_changed(self, rect: tuple[int, int, int, int]) -> None:
        """Announce an in-place edit of ``mask`` inside ``rect`` = (y0, x0, y1, x1), half-open.

        This is the hook the undo commands of gui.document.commands call (their MaskTarget protocol).
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
