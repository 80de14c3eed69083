"""The crossing marks' job: where the arteries and veins of artery/vein labels touch (core.predict.crossings),
in the worker thread.

Marking takes about 0.2 s on a 3504×2336 image (benchmarks/gui_crossings.py), too long for the GUI thread
after every stroke, so the GUI never runs it itself. The marks are a display and export matter: the
document's labels never get the crossing value (it would count as a hand edit of the model's labels).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal

from core.edit.mask_ops import Box
from gui.jobs.live_result import LiveResult
from gui.jobs.runner import Job, JobProgress, JobRunner

if TYPE_CHECKING:
    from gui.document.document import ImageDocument


@dataclass(frozen=True)
class CrossingMarks:
    """The crossing pixels of ``labels`` (H×W bool), and where they differ from the marks drawn before
    (``changed``: (y0, x0, y1, x1), half-open; None when nowhere)."""

    labels: np.ndarray  # the labels they were found on (a copy; never modified)
    marks: np.ndarray
    changed: Box | None


def crossing_marks(labels: np.ndarray) -> np.ndarray:
    """H×W bool: the pixels core.predict.crossings.mark_crossings makes CROSSING in ``labels``."""
    from core.io.artery_vein import CROSSING
    from core.predict.crossings import mark_crossings

    return mark_crossings(labels) == CROSSING


def with_marks(labels: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """``labels`` with CROSSING on the vessel pixels of ``marks`` (a new array): what ``<stem>_av.png`` holds."""
    from core.io.artery_vein import CROSSING

    return np.where(marks & (labels != 0), np.uint8(CROSSING), labels).astype(np.uint8)


def marked_labels(doc: ImageDocument) -> Callable[[], np.ndarray] | None:
    """A function for an export's worker: ``doc``'s artery/vein labels (copied now) with their crossings marked,
    as ``<stem>_av.png`` holds them; None when ``doc`` has no artery/vein labels."""
    labels = doc.artery_vein
    if labels is None:
        return None
    labels = labels.copy()
    return lambda: with_marks(labels, crossing_marks(labels))


def changed_box(before: np.ndarray | None, after: np.ndarray) -> Box | None:
    """The bounding box (y0, x0, y1, x1), half-open, of the pixels where the marks ``after`` differ from
    ``before`` (None before: nothing drawn); None when they are the same."""
    diff = after if before is None or before.shape != after.shape else before != after
    rows, cols = np.flatnonzero(diff.any(1)), np.flatnonzero(diff.any(0))
    if not len(rows):
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def crossings_job(labels: np.ndarray, drawn: np.ndarray | None) -> Job:
    """A job returning the :class:`CrossingMarks` of ``labels`` (a copy the caller gave), compared with the
    marks ``drawn`` now (never modified; None: none)."""

    def run(_progress: JobProgress, _should_cancel: Callable[[], bool]) -> CrossingMarks:
        marks = crossing_marks(labels)
        return CrossingMarks(labels, marks, changed_box(drawn, marks))

    return run


#: The job runner kind of the crossing marks.
CROSSINGS_KIND = "crossings"
#: How long after the last change of the labels the marking starts: merges a run of changes (a brush drag's
#: segments, a held undo key) into one job, short beside the marking itself.
DELAY_MS = 60


class LiveCrossings(LiveResult):
    """The crossing marks of the shown document's artery/vein labels, found again in the worker after every change.

    Its layer (gui.canvas.layers.labels.ArteryVeinLabelsAdapter) tells it the document, each change of the labels
    (a stroke, a swap, an undo or redo, a new result: a vessel edit retypes them too) and whether the marks are
    shown. A change starts a short timer, each further change restarts it; then one job goes to the job runner
    with a copy of the labels, and a newer job supersedes it (the runner drops its result). While the marks are
    hidden nothing is computed; showing them finds what changed meanwhile. Until new marks arrive the old ones
    stay (the layer draws them on vessel pixels only).
    """

    #: the marks changed inside the rectangle (image pixels; a null QRect: everywhere)
    changed = Signal(QRect)

    def __init__(self, jobs: JobRunner, parent: QObject | None = None, delay_ms: int = DELAY_MS) -> None:
        super().__init__(jobs, CROSSINGS_KIND, delay_ms, False, parent)
        self.document: ImageDocument | None = None
        self.found: CrossingMarks | None = None  # the last marks delivered, for the shown document

    @property
    def marks(self) -> np.ndarray | None:
        """H×W bool, the crossing pixels last found (perhaps on labels since changed); None without any."""
        return None if self.found is None else self.found.marks

    def set_document(self, doc: ImageDocument | None) -> None:
        """Follow ``doc`` (None: nothing); the marks of the one before are dropped silently (the layer redraws
        the new document anyway)."""
        self.document = doc
        self._cancel()
        self.found = None
        self.labels_changed()

    def set_active(self, active: bool) -> None:
        """Find marks only while they are shown; becoming active finds what changed meanwhile."""
        if active == self._active:
            return
        self._active = active
        if not active:
            self._cancel()
        elif not self.current:
            self.timer.start()

    def labels_changed(self) -> None:
        """The shown labels changed: find the marks again after a pause."""
        self._changed()

    def find_now(self) -> int | None:
        """Start finding at once (skipping the pause); the request id, None when there are no labels."""
        return self._submit_now()

    @property
    def _result(self) -> CrossingMarks | None:
        return self.found

    def _job(self) -> Job | None:
        labels = self.document.artery_vein if self.document is not None else None
        if labels is None:
            self._clear()
            return None
        return crossings_job(labels.copy(), self.marks)

    def _delivered(self, found: CrossingMarks) -> None:  # type: ignore[override]
        self.found = found
        if found.changed is not None:
            y0, x0, y1, x1 = found.changed
            self.changed.emit(QRect(x0, y0, x1 - x0, y1 - y0))

    def _failed(self, _message: str, _latest: bool) -> None:
        self._clear()  # a bug in the marking (the runner printed it): show none rather than wrong ones

    def _clear(self) -> None:
        if self.found is not None:
            self.found = None
            self.changed.emit(QRect())

    # export ------------------------------------------------------------------------------------------------
    def for_export(self, doc: ImageDocument) -> Callable[[], np.ndarray] | None:
        """What an export of ``doc`` runs in its worker to get the labels of ``<stem>_av.png``, crossings marked:
        the marks shown when they were found on exactly these labels, else :func:`marked_labels`. None when
        ``doc`` has no artery/vein labels."""
        found, labels = self.found, doc.artery_vein
        if doc is self.document and found is not None and labels is not None and np.array_equal(found.labels, labels):
            return lambda: with_marks(found.labels, found.marks)
        return marked_labels(doc)
