"""TaskResult: one task's prediction, thresholds and label mask, and the rule that keeps hand edits.

Policy. A mask that follows the model (source ``MODEL``) is re-decoded when a threshold moves, but
only where it was not edited by hand, so a threshold never silently overwrites edits. A mask the
user started empty, loaded from a file or recovered is the user's own: thresholds no longer change
it. A new prediction replaces the mask, or with ``keep_edits`` keeps the edited pixels.

Convention (as in :mod:`core.edit.mask_ops`): methods that change an existing mask compute a
:class:`MaskChange` and do not apply it; :meth:`TaskResult.apply` does, and :meth:`TaskResult.revert`
takes it back. The GUI wraps each change in an undo command whose redo calls ``apply``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.edit.mask_ops import (
    MaskDelta,
    Point,
    fill_polygon,
    manual_edit_region,
    merge_manual_edits,
    paint_segment,
    replace_delta,
)
from core.predict.prediction import Prediction
from core.predict.tasks import Task

#: Threshold of every thresholded class before a model has given its own.
DEFAULT_THRESHOLD = 0.5


class MaskSource:
    """Where a task's mask came from."""

    MODEL = "model"  # the prediction decoded at the thresholds, plus any edits by hand
    EMPTY = "empty"  # started empty (or cleared) and drawn by hand
    FILE = "file"  # loaded from a mask file
    RECOVERED = "recovered"  # an autosave restored after a crash


@dataclass(frozen=True)
class MaskState:
    """What is known about a mask besides its pixels; undo restores it with the pixels."""

    thresholds: Mapping[str, float]
    source: str  # one of MaskSource


@dataclass(frozen=True)
class MaskChange:
    """One undoable change of a mask: the pixel delta (None: the state alone changes) and the state around it."""

    delta: MaskDelta | None
    before: MaskState
    after: MaskState
    text: str

    def merge(self, other: MaskChange) -> MaskChange:
        """This change followed by ``other`` (computed after this one was applied), as one change."""
        if other.delta is None:
            delta = self.delta
        else:
            delta = other.delta if self.delta is None else self.delta.merge(other.delta)
        return MaskChange(delta, self.before, other.after, other.text)


def valid_threshold(t: float) -> float:
    """``t`` as a float; ValueError unless it is in [0, 1]."""
    t = float(t)
    if math.isnan(t) or not 0.0 <= t <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {t}")
    return t


def as_labels(mask: np.ndarray, task: Task) -> np.ndarray:
    """A mask file's values as this task's labels (uint8). Two classes: non-zero is the second class."""
    m = np.asarray(mask)
    if m.dtype == np.bool_ or len(task.classes) == 2:
        return (m != 0).astype(np.uint8)
    if m.size and (m.min() < 0 or m.max() >= len(task.classes)):
        raise ValueError(f"label values must be 0..{len(task.classes) - 1} ({', '.join(task.classes)}), "
                         f"found {m.min()}..{m.max()}")
    return m.astype(np.uint8)


@dataclass(eq=False)
class TaskResult:
    """The result of one task on one image: its prediction, the thresholds in use and the label mask.

    ``mask`` is uint8 (0 background, values index ``task.classes``); it is edited in place by applied
    deltas, so views may hold on to it only while nothing is applied.
    """

    task: Task
    thresholds: dict[str, float] = field(default_factory=dict)
    prediction: Prediction | None = None
    mask: np.ndarray | None = None
    source: str = MaskSource.MODEL

    def __post_init__(self) -> None:
        self.thresholds = {name: valid_threshold(self.thresholds.get(name, DEFAULT_THRESHOLD))
                           for name in self.task.thresholded}

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def state(self) -> MaskState:
        return MaskState(dict(self.thresholds), self.source)

    def restore(self, state: MaskState) -> None:
        self.thresholds = dict(state.thresholds)
        self.source = state.source

    def apply(self, change: MaskChange) -> None:
        """Make ``change`` (the mask must be as it was when the change was computed)."""
        if change.delta is not None:
            change.delta.apply(self._mask())
        self.restore(change.after)

    def revert(self, change: MaskChange) -> None:
        """Take ``change`` back (the mask must be as :meth:`apply` left it)."""
        if change.delta is not None:
            change.delta.revert(self._mask())
        self.restore(change.before)

    # what the model says ----------------------------------------------------------------------
    def model_mask(self, thresholds: Mapping[str, float] | None = None) -> np.ndarray | None:
        """The prediction decoded at ``thresholds`` (default: those in use); None before a prediction."""
        if self.prediction is None:
            return None
        return self.prediction.decode(thresholds if thresholds is not None else self.thresholds)

    def edited_region(self) -> np.ndarray:
        """Pixels decided by hand: where the mask differs from the model's. For a mask that is not the
        model's: its labelled pixels, so keeping edits adds them to a new prediction."""
        mask = self._mask()
        base = self.model_mask()
        if self.source != MaskSource.MODEL or base is None:
            return mask != 0
        return manual_edit_region(base, mask)

    @property
    def has_manual_edits(self) -> bool:
        """The mask holds work a new prediction would replace (compares whole masks, not events)."""
        if self.mask is None:
            return False
        if self.source != MaskSource.MODEL:
            return bool(self.mask.any()) or self.source != MaskSource.EMPTY
        base = self.model_mask()
        return base is not None and not np.array_equal(base, self.mask)

    # changes -----------------------------------------------------------------------------------
    def adopt(self, prediction: Prediction, keep_edits: bool = False) -> MaskChange | None:
        """Take a new prediction; returns the change of an existing mask (None: nothing to undo).

        The model's thresholds are taken with the first prediction only: thresholds the user chose
        stay when the image is segmented again. The first mask is set at once (nothing to go back
        to); later ones are ``prediction`` decoded, with ``keep_edits`` the edited pixels kept.
        """
        if prediction.task.name != self.task.name:
            raise ValueError(f"a {prediction.task.name!r} prediction cannot replace a {self.task.name!r} result")
        edited = self.edited_region() if keep_edits and self.mask is not None else None
        if self.prediction is None:
            self.thresholds = {name: valid_threshold(prediction.thresholds.get(name, t))
                               for name, t in self.thresholds.items()}
        self.prediction = prediction
        new = prediction.decode(self.thresholds)
        if self.mask is None:
            self.mask, self.source = np.ascontiguousarray(new, np.uint8), MaskSource.MODEL
            return None
        if edited is not None:
            new = merge_manual_edits(new, self.mask, edited)
        return self._change_to(new, MaskSource.MODEL,
                               "Apply new prediction, keep edits" if edited is not None else "Apply new prediction")

    def change_thresholds(self, thresholds: Mapping[str, float], text: str | None = None) -> MaskChange | None:
        """The change to ``thresholds`` (merged over those in use); None when there is nothing to undo.

        Without a prediction or a mask the thresholds are simply taken (no change to undo). A mask
        that follows the model is re-decoded except where it was edited by hand; another mask stays.
        """
        unknown = set(thresholds) - set(self.thresholds)
        if unknown:
            raise KeyError(f"{self.task.name} has no threshold for {', '.join(sorted(unknown))}")
        new = {**self.thresholds, **{k: valid_threshold(v) for k, v in thresholds.items()}}
        if new == self.thresholds:
            return None
        if self.prediction is None or self.mask is None:
            self.thresholds = new
            return None
        delta = None
        if self.source == MaskSource.MODEL:
            old_model = self.model_mask()
            assert old_model is not None
            new_mask = self.prediction.decode(new)
            edited = manual_edit_region(old_model, self.mask)
            if edited.any():
                new_mask = merge_manual_edits(new_mask, self.mask, edited)
            delta = replace_delta(self.mask, new_mask)
        label = text or "Threshold " + ", ".join(f"{v:.3f}" for v in new.values())
        return MaskChange(delta, self.state, MaskState(new, self.source), label)

    def ensure_mask(self, shape: tuple[int, int]) -> bool:
        """Create an empty mask of ``shape`` (not an undo step) when there is none; True when created."""
        if self.mask is not None:
            return False
        self.mask, self.source = np.zeros(shape, np.uint8), MaskSource.EMPTY
        return True

    def replace(self, labels: np.ndarray, source: str, text: str) -> MaskChange | None:
        """The change replacing the whole mask with ``labels`` (a file, a recovered autosave...).

        The mask must exist (:meth:`ensure_mask`); ValueError giving both sizes when ``labels`` has another.
        """
        mask = self._mask()
        m = np.asarray(labels)
        if m.shape != mask.shape:
            raise ValueError(f"the mask is {m.shape[1]}x{m.shape[0]} but the image is {mask.shape[1]}x{mask.shape[0]}"
                             if m.ndim == 2 else f"a mask must be 2-D, got shape {m.shape}")
        return self._change_to(as_labels(m, self.task), source, text)

    def clear(self) -> MaskChange | None:
        """The change to an empty mask the user draws by hand."""
        return self.replace(np.zeros_like(self._mask()), MaskSource.EMPTY, "Clear mask")

    def start_from_model(self) -> MaskChange | None:
        """The change back to the model's mask at the thresholds in use; ValueError before a prediction."""
        base = self.model_mask()
        if base is None:
            raise ValueError("not segmented yet: Segment (Ctrl+R) first")
        return self.replace(base, MaskSource.MODEL, "Start from the model's mask")

    def paint(self, p0: Point, p1: Point, radius: float, label: int) -> MaskDelta | None:
        """The delta of one brush segment painting ``label`` (0: erase); the mask must exist."""
        return paint_segment(self._mask(), p0, p1, radius, int(label))

    def fill(self, points: Sequence[Point], label: int) -> MaskDelta | None:
        """The delta filling the closed lasso ``points`` with ``label`` (0: cut); the mask must exist."""
        return fill_polygon(self._mask(), points, int(label))

    def _change_to(self, new_mask: np.ndarray, source: str, text: str) -> MaskChange | None:
        delta = replace_delta(self._mask(), new_mask)
        after = MaskState(dict(self.thresholds), source)
        if delta is None and after == self.state:
            return None
        return MaskChange(delta, self.state, after, text)

    def _mask(self) -> np.ndarray:
        if self.mask is None:
            raise ValueError(f"there is no {self.task.name} mask yet")
        return self.mask
