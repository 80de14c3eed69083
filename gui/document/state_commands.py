"""Undo command for a change of a mask *and* its state (thresholds, where the mask came from).

gui.document.commands covers pure pixel edits (strokes, fills). A threshold change, a new prediction, Clear or
loading a mask file also change what the document believes about its mask: the thresholds, and whether
the mask still follows the model (so a threshold may re-decode it) or is the user's own. Undo must
restore both, or a later re-threshold would write stale pixels; the command holds a
:class:`core.edit.task_result.MaskChange`, which carries the state before and after next to the pixel delta.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoCommand

from core.edit.task_result import MaskChange

#: QUndoCommand.id() of threshold changes: one slider drag (consecutive changes) merges into one step.
THRESHOLD_COMMAND_ID = 0x7E5


class ChangeTarget(Protocol):
    """What the command changes: the document, which applies a change and announces what it touched."""

    def apply_change(self, change: MaskChange) -> None: ...

    def revert_change(self, change: MaskChange) -> None: ...


class MaskStateCommand(QUndoCommand):
    """A whole-mask change (its delta may be None: only the state changes)."""

    def __init__(self, target: ChangeTarget, change: MaskChange, merge_id: int = -1,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(change.text, parent)
        self._target = target
        self._change = change
        self._merge_id = merge_id

    @property
    def change(self) -> MaskChange:
        return self._change

    @property
    def nbytes(self) -> int:
        return 0 if self._change.delta is None else self._change.delta.nbytes

    def redo(self) -> None:
        self._target.apply_change(self._change)

    def undo(self) -> None:
        self._target.revert_change(self._change)

    def id(self) -> int:
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        # push() has already run other.redo(): the merged change is self followed by other
        if (not isinstance(other, MaskStateCommand) or other._merge_id != self._merge_id
                or other._target is not self._target):
            return False
        self._change = self._change.merge(other._change)
        self.setText(other.text())
        return True
