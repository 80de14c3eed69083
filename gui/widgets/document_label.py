"""DocumentLabel: a label that shows one aspect of the current document and follows its signals."""

from __future__ import annotations

from PySide6.QtCore import QRect, QTimer, SignalInstance
from PySide6.QtWidgets import QLabel, QWidget

from gui.document.document import ImageDocument

#: While painting, full-image summaries are recomputed at most this often.
REFRESH_MS = 150


class DocumentLabel(QLabel):
    """Calls :meth:`refresh` when the document changes; brush strokes are coalesced by a timer.

    Subclasses name the document signals that refresh at once (:meth:`watched`) and say whether a
    whole-mask change (a null dirty rect) refreshes at once too.
    """

    refresh_whole_mask_at_once = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ImageDocument | None = None
        self.setWordWrap(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.set_document(None)

    def watched(self, doc: ImageDocument) -> list[SignalInstance]:
        """Signals of ``doc`` besides maskChanged that call refresh directly."""
        return []

    def coalesced(self, doc: ImageDocument) -> list[SignalInstance]:
        """Signals of ``doc`` that come in bursts while painting (like brush strokes): refresh by the timer."""
        return []

    def set_document(self, doc: ImageDocument | None) -> None:
        if self.document is not None:
            for signal in self.watched(self.document):
                signal.disconnect(self.refresh)
            for signal in self.coalesced(self.document):
                signal.disconnect(self._later)
            self.document.maskChanged.disconnect(self._on_mask)
        self.document = doc
        if doc is not None:
            for signal in self.watched(doc):
                signal.connect(self.refresh)
            for signal in self.coalesced(doc):
                signal.connect(self._later)
            doc.maskChanged.connect(self._on_mask)
        self.refresh()

    def _on_mask(self, rect: QRect) -> None:
        if rect.isNull() and self.refresh_whole_mask_at_once:  # a new prediction or mask file
            self.refresh()
        else:  # a brush stroke: coalesced
            self._later()

    def _later(self, *_args: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self, *_args: object) -> None:
        """Stop a pending timed refresh and show the document's current state."""
        self._timer.stop()
