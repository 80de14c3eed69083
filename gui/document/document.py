"""ImageDocument: the Qt wrapper around one image's Qt-free state (core.edit.document_state).

It adds what Qt needs and nothing of the policy: signals, the undo stack, and display caches (the
probability as 0..255 for the heat map, the FOV outline). The results per task and the rule that
keeps hand edits when a threshold moves live in :class:`core.edit.task_result.TaskResult`; the
methods here compute a change there and push it as an undo command, whose redo applies it.

Every change of an existing mask goes through the document's ``undo_stack`` (one per document, so
history survives switching images): strokes and fills (gui.document.commands), and threshold
changes, new predictions, Clear and loaded masks (gui.document.state_commands). ``mask``,
``threshold`` and ``probability`` are those of the vessel task. The artery/vein labels are edited by
the same commands through a TaskTarget (gui.document.task_target) and announced by ``labelsChanged``;
the optic disc changes by DiscCommands (gui.document.disc_command) and is announced by ``discChanged``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QUndoStack

from core.edit.document_state import DocumentState
from core.edit.mask_ops import Box, MaskDelta, Point, paint_segment, replace_delta
from core.edit.task_result import MaskChange, MaskState, TaskResult
from core.io.images import load_image
from core.io.loaded import ImageMetadata, LoadedImage
from core.predict.prediction import Prediction
from core.predict.tasks import BACKGROUND, VESSEL
from gui.canvas.render import fov_outline
from gui.document.commands import FillCommand, Follow, MaskDeltaCommand, StrokeCommand
from gui.document.disc_command import DiscCommand
from gui.document.display import DisplayArrays, display_arrays
from gui.document.state_commands import THRESHOLD_COMMAND_ID, MaskStateCommand
from gui.document.task_target import TaskTarget

if TYPE_CHECKING:  # the disc detector's imports are slow; a document only holds its answer
    from core.measure.optic_disc import DiscNotFound, OpticDisc

#: Undo steps kept per document (each holds a delta: changed pixels only).
UNDO_LIMIT = 200

#: The task whose mask the editing tools, the threshold slider and export work on.
VESSELS = "vessels"
#: The task whose labels type the vessels as arteries and veins.
ARTERIES_VEINS = "arteries_veins"


@dataclass(frozen=True)
class PredictionInfo:
    """Where a prediction came from (shown in the status bar, kept for export sidecars)."""

    model: str
    device: str
    seconds: float


class ImageDocument(QObject):
    """An image with its results per task; the vessel mask starts as ``probability >= threshold``."""

    #: a new prediction (and FOV) arrived
    predictionChanged = Signal()
    thresholdChanged = Signal(float)
    #: the mask changed inside the rectangle (a null QRect: everywhere)
    maskChanged = Signal(QRect)
    fovChanged = Signal()
    #: a reference mask (e.g. a manual annotation) was loaded or removed
    referenceChanged = Signal()
    #: mask_source changed
    sourceChanged = Signal(str)
    #: the labels of a task other than vessels changed: (task, rectangle; a null QRect: everywhere)
    labelsChanged = Signal(str, QRect)
    #: the optic disc was found, placed, moved, resized or removed
    discChanged = Signal()

    def __init__(self, image: np.ndarray, path: str | os.PathLike[str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        img = np.asarray(image)
        if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"not an image: array of shape {img.shape}")
        self.image: np.ndarray = img
        self.path: Path | None = Path(path) if path is not None else None
        self.metadata: ImageMetadata | None = None  # what the file said (format, pixel spacing...)
        self.state = DocumentState((img.shape[0], img.shape[1]))
        self.fov_outline: np.ndarray | None = None  # N×2 (x, y) polygon, for display
        self.probability_u8: np.ndarray | None = None  # the heat map's probability as 0..255
        self.reference: np.ndarray | None = None
        self.reference_path: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self._targets: dict[str, TaskTarget] = {}

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], parent: QObject | None = None,
                  loaded: LoadedImage | None = None) -> ImageDocument:
        """Read an image file, unless ``loaded`` (raises core.io.images.ImageReadError with a clear message)."""
        loaded = loaded if loaded is not None else load_image(path)
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

    # the vessel task's result --------------------------------------------------------------------
    @property
    def vessels(self) -> TaskResult:
        return self.state.result(VESSELS)

    @property
    def prediction(self) -> Prediction | None:
        return self.vessels.prediction

    @property
    def has_prediction(self) -> bool:
        return self.prediction is not None

    @property
    def probability(self) -> np.ndarray | None:
        """The vessel probability map (H×W float32), None before a prediction."""
        p = self.prediction
        return None if p is None else p.probability("vessel")

    @property
    def mask(self) -> np.ndarray | None:
        """The vessel task's label mask (uint8: 0 background, 1 vessel), edited in place."""
        return self.vessels.mask

    @property
    def mask_source(self) -> str:
        return self.vessels.source

    @property
    def threshold(self) -> float:
        return self.vessels.thresholds["vessel"]

    @property
    def fov(self) -> np.ndarray | None:
        return self.state.fov

    @property
    def prediction_info(self) -> PredictionInfo | None:
        """Model, device (display name) and seconds of the vessel prediction (None without one or when not said)."""
        p = self.prediction
        if p is None or "model" not in p.info:
            return None
        device = p.info.get("device_name", p.info.get("device", ""))
        return PredictionInfo(str(p.info["model"]), str(device), float(p.info.get("seconds", 0.0)))

    # predictions and thresholds ---------------------------------------------------------------
    def set_fov(self, fov: np.ndarray, outline: np.ndarray | None = None) -> None:
        """Adopt a FOV mask; ``outline`` (from gui.canvas.render.fov_outline) saves recomputing it here."""
        self.state.set_fov(fov)
        self.fov_outline = outline if outline is not None else fov_outline(self.state.fov)
        self.fovChanged.emit()

    def set_prediction(self, prediction: Prediction, *, display: DisplayArrays | None = None,
                       keep_edits: bool = False) -> None:
        """Adopt a prediction (and its FOV). ``display``: the caches, when a worker computed them.

        The model's thresholds count for the first prediction only; the first mask is set directly,
        a later one is one undo step (with ``keep_edits``, hand edits kept where they were made).
        """
        if prediction.task.name != VESSELS:
            self._set_labels_prediction(prediction, keep_edits)
            return
        self.state.check_shape(prediction.probabilities[0], "probability map")
        shown = display if display is not None else display_arrays(prediction)
        before = self.vessels.state if prediction.task.name == VESSELS else None
        change = self.state.adopt(prediction, keep_edits)
        self.fov_outline = shown.fov_outline
        self.fovChanged.emit()
        if prediction.task.name == VESSELS:
            self.probability_u8 = shown.probability_u8
        if before is not None:
            self._announce_state(before)
        if change is not None:
            self.undo_stack.push(MaskStateCommand(self, change))
        self.predictionChanged.emit()
        self.maskChanged.emit(QRect())

    def _set_labels_prediction(self, prediction: Prediction, keep_edits: bool) -> None:
        """A prediction of another task (arteries and veins): its labels, nothing of the vessel display."""
        task = prediction.task.name
        change = self.state.adopt(prediction, keep_edits)
        if change is not None:
            self.undo_stack.push(MaskStateCommand(self.target(task), change))
        self.labelsChanged.emit(task, QRect())

    def set_threshold(self, threshold: float) -> None:
        """Re-threshold the stored prediction (no network run) as an undoable step; one drag merges.

        Pixels edited by hand keep their values; a mask that is not the model's is left alone.
        """
        before = self.vessels.state
        change = self.vessels.change_thresholds({"vessel": threshold})
        if change is not None:
            self.undo_stack.push(MaskStateCommand(self, change, THRESHOLD_COMMAND_ID))
        else:
            self._announce_state(before)

    # the hooks the undo commands call ---------------------------------------------------------
    def apply_change(self, change: MaskChange) -> None:
        self._run(change, apply=True)

    def revert_change(self, change: MaskChange) -> None:
        self._run(change, apply=False)

    def mask_changed(self, rect: Box) -> None:
        """Announce an in-place edit of ``mask`` inside ``rect`` = (y0, x0, y1, x1), half-open.

        The hook the stroke and fill commands call (their MaskTarget protocol).
        """
        y0, x0, y1, x1 = (int(v) for v in rect)
        self.maskChanged.emit(QRect(x0, y0, max(0, x1 - x0), max(0, y1 - y0)))

    def _run(self, change: MaskChange, apply: bool) -> None:
        before = self.vessels.state
        (self.vessels.apply if apply else self.vessels.revert)(change)
        self._announce_state(before)
        if change.delta is not None:
            self.mask_changed(change.delta.box)

    def _announce_state(self, before: MaskState) -> None:
        after = self.vessels.state
        if after.thresholds != before.thresholds:
            self.thresholdChanged.emit(self.threshold)
        if after.source != before.source:
            self.sourceChanged.emit(after.source)

    # editing ------------------------------------------------------------------------------------
    def model_mask(self) -> np.ndarray | None:
        """The vessel labels the model gives at the current threshold (None before a prediction)."""
        return self.vessels.model_mask()

    def edited_region(self) -> np.ndarray:
        """Pixels decided by hand (see core.edit.task_result.TaskResult.edited_region)."""
        return self.vessels.edited_region()

    @property
    def has_manual_edits(self) -> bool:
        """The mask holds work a new prediction would replace."""
        return self.vessels.has_manual_edits

    @property
    def modified(self) -> bool:
        """Changes since the last export (or since opening)."""
        return not self.undo_stack.isClean()

    def ensure_mask(self) -> np.ndarray:
        """The mask, creating an empty one (not an undo step) when there is none yet."""
        before = self.vessels.state
        if self.vessels.ensure_mask(self.state.shape):
            self._announce_state(before)
            self.maskChanged.emit(QRect())
        assert self.mask is not None
        return self.mask

    def paint(self, p0: Point, p1: Point, radius: float, vessel: bool, stroke_id: int) -> bool:
        """One brush (vessel) or eraser segment; segments with the same ``stroke_id`` are one undo step."""
        self.ensure_mask()
        delta = self.vessels.paint(p0, p1, radius, VESSEL if vessel else BACKGROUND)
        if delta is None:
            return False
        self.undo_stack.push(StrokeCommand(self, delta, stroke_id, "Paint" if vessel else "Erase",
                                           follow=self._labels_following(delta)))
        return True

    def fill(self, points: list[Point], vessel: bool) -> bool:
        """Fill (vessel) or cut (background) the closed lasso ``points``."""
        self.ensure_mask()
        delta = self.vessels.fill(points, VESSEL if vessel else BACKGROUND)
        if delta is None:
            return False
        self.undo_stack.push(FillCommand(self, delta, "Fill region" if vessel else "Cut region",
                                         follow=self._labels_following(delta)))
        return True

    def _labels_following(self, delta: MaskDelta) -> Follow | None:
        """The artery/vein labels' change that goes with the vessel edit ``delta`` (not yet applied): painted
        vessels take the type they touch, erased ones lose theirs (core.edit.typed_vessels)."""
        from core.edit.typed_vessels import labels_following

        labels, mask = self.artery_vein, self.mask
        if labels is None or mask is None:
            return None
        change = labels_following(labels, mask, delta)
        return None if change is None else (self.target(ARTERIES_VEINS), change)

    def replace_mask(self, new_mask: np.ndarray, source: str, text: str) -> bool:
        """Replace the whole mask (load a file, recover, start from the model) as one undo step.

        Non-zero is vessel. Raises ValueError giving both sizes when ``new_mask`` has another size.
        """
        m = np.asarray(new_mask)
        self.state.check_shape(m, "mask")
        self.ensure_mask()
        return self._push(self.vessels.replace(m, source, text))

    def clear_mask(self) -> bool:
        """Start again from an empty mask (undoable)."""
        self.ensure_mask()
        return self._push(self.vessels.clear())

    def start_from_model(self) -> bool:
        """Replace the mask with the model's at the current threshold (undoable; needs a prediction)."""
        if not self.has_prediction:
            raise ValueError(f"{self.name} has not been segmented yet: Segment first")
        self.ensure_mask()
        return self._push(self.vessels.start_from_model())

    def _push(self, change: MaskChange | None) -> bool:
        if change is None:
            return False
        self.undo_stack.push(MaskStateCommand(self, change))
        return True

    # other tasks' labels, the optic disc --------------------------------------------------------
    def target(self, task: str) -> TaskTarget:
        """What the undo commands of ``task`` (not vessels) edit; one object per task, so drags merge."""
        if task not in self._targets:
            self._targets[task] = TaskTarget(self, task)
        return self._targets[task]

    def labels(self, task: str) -> np.ndarray | None:
        """The label mask of ``task`` (None before it has one)."""
        result = self.state.results.get(task)
        return None if result is None else result.mask

    @property
    def artery_vein(self) -> np.ndarray | None:
        """The artery/vein labels (uint8: 0 background, 1 artery, 2 vein), None before they were found."""
        return self.labels(ARTERIES_VEINS)

    @property
    def model_artery_vein(self) -> np.ndarray | None:
        """The artery/vein labels when the model typed them (hand edits since included), None for labels
        loaded from a file or none at all: the plausibility guard judges the model's results, not the user's."""
        result = self.state.results.get(ARTERIES_VEINS)
        return None if result is None or result.prediction is None else result.mask

    def labels_changed(self, task: str, rect: Box) -> None:
        """Announce an edit of ``task``'s labels inside ``rect`` = (y0, x0, y1, x1), half-open."""
        y0, x0, y1, x1 = (int(v) for v in rect)
        self.labelsChanged.emit(task, QRect(x0, y0, max(0, x1 - x0), max(0, y1 - y0)))

    def paint_type(self, p0: Point, p1: Point, radius: float, label: int, stroke_id: int, text: str) -> bool:
        """One artery or vein brush segment: ``label`` on the vessel pixels under it (the vessel mask's, or
        the labels' own without one), never on the background; one undo step per ``stroke_id``."""
        labels = self.artery_vein
        if labels is None:
            return False
        where = self.mask if self.mask is not None else labels
        delta = paint_segment(labels, p0, p1, radius, label, where=where)
        if delta is None:
            return False
        self.undo_stack.push(StrokeCommand(self.target(ARTERIES_VEINS), delta, stroke_id, text))
        return True

    def replace_labels(self, task: str, labels: np.ndarray, text: str) -> bool:
        """Replace ``task``'s labels by hand (a swapped segment, recovered labels) as one undo step.

        A pixel edit like a stroke: the result keeps following its model, and the change counts as a hand
        edit. Without labels yet, empty ones are made first (not an undo step).
        """
        result = self.state.result(task)
        self.state.check_shape(np.asarray(labels), f"{task} labels")
        if result.mask is None:
            result.ensure_mask(self.state.shape)
        delta = replace_delta(result.mask, labels)
        if delta is None:
            return False
        self.undo_stack.push(MaskDeltaCommand(self.target(task), delta, text))
        return True

    @property
    def disc(self) -> OpticDisc | DiscNotFound | None:
        """The optic disc, why none was found, or None (not looked for, not placed)."""
        return self.state.disc

    @property
    def disc_circle(self) -> OpticDisc | None:
        """The disc when there is one (not a DiscNotFound)."""
        disc = self.state.disc
        return disc if hasattr(disc, "diameter") else None  # type: ignore[return-value]

    def set_disc(self, disc: OpticDisc | DiscNotFound | None, text: str, drag_id: int = 0) -> None:
        """Change the disc as an undo step; the steps of one drag (same ``drag_id`` > 0) merge into one."""
        self.undo_stack.push(DiscCommand(self, self.state.disc, disc, text, drag_id))

    def adopt_found_disc(self, found: OpticDisc | DiscNotFound) -> bool:
        """Take what the disc detector answered; False when a disc placed by hand stays instead.

        Replacing a found circle is an undo step; the first answer (nothing to go back to) is set directly.
        """
        current = self.state.disc
        if getattr(current, "method", "") == "hand":
            return False
        if hasattr(current, "diameter"):
            self.set_disc(found, "Find optic disc")
        else:
            self.put_disc(found)
        return True

    def put_disc(self, disc: OpticDisc | DiscNotFound | None) -> None:
        """The hook DiscCommand calls: make ``disc`` current and announce it."""
        self.state.disc = disc
        self.discChanged.emit()

    # reference and read-outs --------------------------------------------------------------------
    def set_reference(self, reference: np.ndarray | None, path: str | os.PathLike[str] | None = None) -> None:
        """A reference mask to compare with (None removes it); not part of the undo history."""
        if reference is not None:
            reference = np.asarray(reference) != 0
            self.state.check_shape(reference, "reference mask")
        self.reference = reference
        self.reference_path = Path(path) if path is not None and reference is not None else None
        self.referenceChanged.emit()

    def vessel_fraction(self) -> float | None:
        """Fraction of FOV pixels marked as vessel (None without a mask)."""
        return self.state.labelled_fraction(VESSELS)

    def describe_pixel(self, x: int, y: int) -> str:
        """'x, y  value  p=…' for the status bar; empty outside the image."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return ""
        v = self.image[y, x]
        value = " ".join(str(int(c)) for c in np.atleast_1d(v)[:4])
        text = f"x {x}, y {y}   value {value}"
        if self.probability is not None:
            text += f"   p {float(self.probability[y, x]):.3f}"
            label = 0 if self.mask is None else int(self.mask[y, x])
            if label:
                text += f" ({self.vessels.task.classes[label]})"
        return text
