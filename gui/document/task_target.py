"""TaskTarget: what the undo commands of one task other than vessels edit.

The stroke commands (gui.document.commands, a MaskTarget: ``mask`` and ``mask_changed``) and the state
commands (gui.document.state_commands, a ChangeTarget: ``apply_change`` and ``revert_change``) were
written for the document's vessel mask. The artery/vein labels are edited by the same commands through
this adapter, one per task and document (commands merge only when their targets are the same object).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.edit.mask_ops import Box
from core.edit.task_result import MaskChange, TaskResult

if TYPE_CHECKING:
    from gui.document.document import ImageDocument


class TaskTarget:
    """The label mask of ``task`` in ``document``, as the undo commands see it."""

    def __init__(self, document: ImageDocument, task: str) -> None:
        self.document = document
        self.task = task

    @property
    def result(self) -> TaskResult:
        return self.document.state.result(self.task)

    @property
    def mask(self) -> np.ndarray:
        mask = self.result.mask
        if mask is None:
            raise ValueError(f"{self.document.name} has no {self.task} labels yet")
        return mask

    def mask_changed(self, rect: Box) -> None:
        self.document.labels_changed(self.task, rect)

    def apply_change(self, change: MaskChange) -> None:
        self.result.apply(change)
        self._announce(change)

    def revert_change(self, change: MaskChange) -> None:
        self.result.revert(change)
        self._announce(change)

    def _announce(self, change: MaskChange) -> None:
        h, w = self.document.state.shape
        self.mask_changed(change.delta.box if change.delta is not None else (0, 0, h, w))
