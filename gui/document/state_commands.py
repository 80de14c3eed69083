"""Undo commands that change the mask *and* the document's mask state (threshold, where the mask came from).

gui.document.commands covers pure pixel edits (strokes, fills). A threshold change, a new prediction, Clear or
loading a mask file also change what the document believes about its mask: the threshold, and whether
the mask still follows the model (so the threshold slider may re-threshold it) or is the user's own.
Undo must restore both, or a later re-threshold would write stale pixels; these commands hold the
state before and after next to the pixel delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PySide6.QtGui import QUndoCommand

from core.edit.mask_ops import Box, MaskDelta

#: QUndoCommand.id() of threshold changes: one slider drag (consecutive changes) merges into one step.
THRESHOLD_COMMAND_ID = 0x7E5


@dataclass(frozen=True)
class MaskState:
    """What the document knows about its mask besides the pixels."""

    threshold: float
    source: str  # one of gui.document.document.MaskSource


class StatefulTarget(Protocol):
    mask: np.ndarray

    def mask_changed(self, rect: Box) -> None: ...

    def restore_state(self, state: MaskState) -> None: ...


class MaskStateCommand(QUndoCommand):
    """A whole-mask change (delta may be None: only the state changes) with the state around it."""

    def __init__(self, target: StatefulTarget, delta: MaskDelta | None, before: MaskState, after: MaskState,
                 text: str, merge_id: int = -1, parent: QUndoCommand | None = None) -> None:
        super().__init__(text, parent)
        self._target = target
        self._delta = delta
        self.before = before
        self.after = after
        self._merge_id = merge_id

    @property
    def delta(self) -> MaskDelta | None:
        return self._delta

    @property
    def nbytes(self) -> int:
        return 0 if self._delta is None else self._delta.nbytes

    def redo(self) -> None:
        if self._delta is not None:
            self._delta.apply(self._target.mask)
        self._target.restore_state(self.after)
        if self._delta is not None:
            self._target.mask_changed(self._delta.box)

    def undo(self) -> None:
        if self._delta is not None:
            self._delta.revert(self._target.mask)
        self._target.restore_state(self.before)
        if self._delta is not None:
            self._target.mask_changed(self._delta.box)

    def id(self) -> int:
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        # push() has already run other.redo(): the merged change is self followed by other
        if (not isinstance(other, MaskStateCommand) or other._merge_id != self._merge_id
                or other._target is not self._target):
            return False
        if other._delta is not None:
            self._delta = other._delta if self._delta is None else self._delta.merge(other._delta)
        self.after = other.after
        self.setText(other.text())
        return True
