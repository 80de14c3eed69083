"""What an image holds that was not exported: hand edits, or only a result (a new prediction, a moved threshold).

Read from the document's undo history between the last export (the stack's clean index) and now, so the
question before closing can say which it is, and moving the threshold slider is never called an edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QUndoCommand

from core.edit.task_result import MaskSource
from gui.document.commands import MaskDeltaCommand
from gui.document.document import ImageDocument
from gui.document.state_commands import THRESHOLD_COMMAND_ID, MaskStateCommand


@dataclass(frozen=True)
class Unsaved:
    """One image's changes since its last export (or since it was opened)."""

    name: str
    hand_edits: bool
    #: (at the last export, now) when the vessel threshold moved; None when it did not
    threshold: tuple[float, float] | None = None

    def describe(self) -> str:
        """'hand edits' or what the result change was, e.g. 'threshold 0.590 → 0.420'."""
        if self.hand_edits:
            return "hand edits"
        if self.threshold is not None:
            return f"threshold {self.threshold[0]:.3f} → {self.threshold[1]:.3f}"
        return "a new result"


def _is_hand_edit(command: QUndoCommand) -> bool:
    """A stroke or fill, or a mask replaced by hand (Clear, a mask file, recovery, back to the model's)."""
    if isinstance(command, MaskDeltaCommand):
        return True
    if isinstance(command, MaskStateCommand):
        if command.id() == THRESHOLD_COMMAND_ID:
            return False
        change = command.change
        return not (change.before.source == MaskSource.MODEL and change.after.source == MaskSource.MODEL)
    return True  # a command this module does not know: say more rather than less


def unsaved_changes(doc: ImageDocument) -> Unsaved | None:
    """What ``doc`` has that was not exported; None when nothing (or there is no mask to export)."""
    if not doc.modified or doc.mask is None:
        return None
    stack = doc.undo_stack
    clean, now = stack.cleanIndex(), stack.index()
    if clean < 0:  # the exported state is out of reach (merged away or beyond the undo limit)
        lo, hi = 0, now
    else:
        lo, hi = min(clean, now), max(clean, now)
    commands = [stack.command(i) for i in range(lo, hi)]
    hand = any(_is_hand_edit(c) for c in commands)
    states = [c.change for c in commands if isinstance(c, MaskStateCommand)]
    threshold = None
    if states and clean >= 0:
        # walking forward from the export the first change starts there; undone past it, the last one ends there
        at_export = (states[0].before if clean <= now else states[-1].after).thresholds.get("vessel")
        if at_export is not None and abs(at_export - doc.threshold) > 1e-9:
            threshold = (float(at_export), doc.threshold)
    return Unsaved(doc.name, hand, threshold)
