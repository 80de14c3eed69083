"""Undo command for the optic disc: the circle before and after (a few numbers, no pixels).

One drag of the disc tool is one undo step: its moves share a drag id and merge, as brush segments do.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoCommand

#: QUndoCommand.id() of disc edits; only commands of the same drag merge.
DISC_COMMAND_ID = 0xD15C


class DiscTarget(Protocol):
    def put_disc(self, disc: object) -> None:
        """Make ``disc`` (an OpticDisc, a DiscNotFound or None) the document's disc and say so."""
        ...


class DiscCommand(QUndoCommand):
    """Sets the disc to ``after`` on redo and back to ``before`` on undo."""

    def __init__(self, target: DiscTarget, before: object, after: object, text: str, drag_id: int = 0,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(text, parent)
        self._target = target
        self.before, self.after = before, after
        self.drag_id = drag_id

    def redo(self) -> None:
        self._target.put_disc(self.after)

    def undo(self) -> None:
        self._target.put_disc(self.before)

    def id(self) -> int:
        return DISC_COMMAND_ID if self.drag_id else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        # push() has already run other.redo(): the merged step goes from our before to its after
        if not isinstance(other, DiscCommand) or other.drag_id != self.drag_id or other._target is not self._target:
            return False
        self.after = other.after
        self.setText(other.text())
        return True
