"""Undo commands for mask edits: each holds a :class:`core.edit.mask_ops.MaskDelta`, never a mask copy.

Convention: **compute, then push; pushing applies.** The ``core.edit.mask_ops`` functions only compute
a delta; ``QUndoStack.push(command)`` calls ``redo()``, which applies it and reports the dirty
rectangle. So there is no "already applied" first redo to skip, and redo after undo is the same
code path as the first application::

    delta = paint_segment(doc.mask, p0, p1, radius, VESSEL)  # doc.mask: uint8 labels
    if delta is not None:
        doc.undo_stack.push(StrokeCommand(doc, delta, stroke_id))

Consecutive segments of one drag share a stroke id (:func:`next_stroke_id` at mouse press) and
merge into one undo step through ``id()``/``mergeWith()``. A command may carry a second change that
goes with its own (``follow``: the artery/vein labels following a vessel edit), made after it and
taken back before it, in the same undo step.
"""

from __future__ import annotations

import itertools
from typing import Protocol, runtime_checkable

import numpy as np
from PySide6.QtGui import QUndoCommand

from core.edit.mask_ops import Box, MaskDelta, replace_delta

#: QUndoCommand.id() of strokes; only commands with the same id are offered to mergeWith.
STROKE_COMMAND_ID = 0x5E61

_stroke_ids = itertools.count(1)


def next_stroke_id() -> int:
    """A new id for one drag (call at mouse press; pass it to every segment of the drag)."""
    return next(_stroke_ids)


@runtime_checkable
class MaskTarget(Protocol):
    """What the commands edit: the document's mask, and a way to say which rectangle changed."""

    mask: np.ndarray

    def mask_changed(self, rect: Box) -> None:
        """The mask changed inside ``rect`` = (y0, x0, y1, x1), half-open."""
        ...


#: A change of another mask that goes with a command's own: (its target, its delta).
Follow = tuple[MaskTarget, MaskDelta]


class MaskDeltaCommand(QUndoCommand):
    """Applies a delta on redo and reverts it on undo, then reports the dirty rectangle."""

    def __init__(self, target: MaskTarget, delta: MaskDelta, text: str, parent: QUndoCommand | None = None,
                 follow: Follow | None = None) -> None:
        super().__init__(text, parent)
        self._target = target
        self._delta = delta
        self._follow = follow

    @property
    def delta(self) -> MaskDelta:
        return self._delta

    @property
    def nbytes(self) -> int:
        """Memory held by this undo step's pixel data."""
        return self._delta.nbytes + (self._follow[1].nbytes if self._follow is not None else 0)

    def redo(self) -> None:
        self._delta.apply(self._target.mask)
        self._target.mask_changed(self._delta.box)
        if self._follow is not None:
            target, delta = self._follow
            delta.apply(target.mask)
            target.mask_changed(delta.box)

    def undo(self) -> None:
        if self._follow is not None:
            target, delta = self._follow
            delta.revert(target.mask)
            target.mask_changed(delta.box)
        self._delta.revert(self._target.mask)
        self._target.mask_changed(self._delta.box)


class StrokeCommand(MaskDeltaCommand):
    """One brush or eraser segment; the segments of one drag (same ``stroke_id``) merge."""

    def __init__(self, target: MaskTarget, delta: MaskDelta, stroke_id: int, text: str = "Paint",
                 parent: QUndoCommand | None = None, follow: Follow | None = None) -> None:
        super().__init__(target, delta, text, parent, follow)
        self.stroke_id = stroke_id

    def id(self) -> int:
        return STROKE_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        # QUndoStack.push() has already run other.redo(): the merged delta is self then other.
        if not isinstance(other, StrokeCommand):
            return False
        if other.stroke_id != self.stroke_id or other._target is not self._target:
            return False
        if self._follow is not None and other._follow is not None and other._follow[0] is not self._follow[0]:
            return False
        self._delta = self._delta.merge(other._delta)
        # the masks are separate arrays: all of one delta, then all of the other, gives the same result
        if self._follow is None or other._follow is None:
            self._follow = self._follow or other._follow
        else:
            self._follow = (self._follow[0], self._follow[1].merge(other._follow[1]))
        return True


class FillCommand(MaskDeltaCommand):
    """A lasso fill (add) or cut (remove) of a closed region."""

    def __init__(self, target: MaskTarget, delta: MaskDelta, text: str = "Fill region",
                 parent: QUndoCommand | None = None, follow: Follow | None = None) -> None:
        super().__init__(target, delta, text, parent, follow)


class ReplaceMaskCommand(MaskDeltaCommand):
    """A whole-mask change: apply a prediction, clear, load a mask file, merge with edits."""

    @classmethod
    def create(cls, target: MaskTarget, new_mask: np.ndarray, text: str) -> ReplaceMaskCommand | None:
        """The command turning ``target.mask`` into ``new_mask``, or None when they are equal.

        Raises ValueError (giving both sizes) when ``new_mask`` has another size.
        """
        delta = replace_delta(target.mask, new_mask)
        return None if delta is None else cls(target, delta, text)
