"""ImageSession: the list of images being reviewed and one document per image.

Documents are created on first visit and kept while the app runs, so every image in a folder keeps
its probability map, threshold, mask edits and undo history when the user steps away. A file found
unreadable is remembered with its reason: stepping passes over it, so one bad file never blocks the
images behind it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.io.loaded import LoadedImage
from gui.document.document import ImageDocument


class ImageSession(QObject):
    """Paths in display order, the current index, and the documents opened so far."""

    currentChanged = Signal(object)  # ImageDocument
    listChanged = Signal()
    documentOpened = Signal(object)  # ImageDocument, once, when first read (autosave watches it)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths: list[Path] = []
        self.index = -1
        #: files of the list that could not be read -> why (stepping skips them)
        self.unreadable: dict[Path, str] = {}
        self._documents: dict[Path, ImageDocument] = {}

    @property
    def current(self) -> ImageDocument | None:
        if 0 <= self.index < len(self.paths):
            return self._documents.get(self.paths[self.index])
        return None

    def document(self, path: Path) -> ImageDocument | None:
        return self._documents.get(Path(path).resolve())

    @property
    def documents(self) -> list[ImageDocument]:
        """Every document opened so far (edited ones stay here while the app runs)."""
        return list(self._documents.values())

    def load(self, path: str | os.PathLike[str]) -> ImageDocument:
        """The document of ``path``, read now if needed, without showing it (raises ImageReadError)."""
        return self._load(Path(path).resolve())

    def open_files(self, paths: list[str | os.PathLike[str]], index: int = 0,
                   loaded: LoadedImage | None = None, unreadable: dict[Path, str] | None = None) -> ImageDocument:
        """Replace the list with ``paths`` and show ``paths[index]``, read now unless ``loaded`` (read in a
        worker) is given (raises ImageReadError). ``unreadable``: files of the list already found unreadable."""
        resolved = [Path(p).resolve() for p in paths]
        if not resolved:
            raise ValueError("no images to open")
        doc = self._load(resolved[index], loaded)  # fail before changing anything
        self.paths = resolved
        self.unreadable = {Path(p).resolve(): why for p, why in (unreadable or {}).items()}
        self.listChanged.emit()
        self._show(index, doc)
        return doc

    def go_to(self, index: int, loaded: LoadedImage | None = None) -> ImageDocument:
        """Show image ``index`` of the list, read now unless ``loaded`` (read in a worker) is given
        (raises ImageReadError; the current image then stays)."""
        if not 0 <= index < len(self.paths):
            raise IndexError(index)
        doc = self._load(self.paths[index], loaded)
        self._show(index, doc)
        return doc

    def neighbour(self, index: int, delta: int) -> int | None:
        """The nearest index beyond ``index`` in the direction of ``delta`` (+1 next, -1 previous) whose
        file is not known to be unreadable; None when there is none."""
        step = 1 if delta > 0 else -1
        i = index + step
        while 0 <= i < len(self.paths):
            if self.paths[i] not in self.unreadable:
                return i
            i += step
        return None

    def mark_unreadable(self, path: Path, why: str) -> bool:
        """Remember that ``path`` cannot be read; True the first time (so it is reported once)."""
        path = Path(path).resolve()
        new = path not in self.unreadable
        self.unreadable[path] = why
        return new

    @property
    def can_step_back(self) -> bool:
        return self.index >= 0 and self.neighbour(self.index, -1) is not None

    @property
    def can_step_forward(self) -> bool:
        return self.index >= 0 and self.neighbour(self.index, 1) is not None

    def _load(self, path: Path, loaded: LoadedImage | None = None) -> ImageDocument:
        doc = self._documents.get(path)
        if doc is None:
            doc = ImageDocument.from_file(path, parent=self, loaded=loaded)
            self._documents[path] = doc
            self.documentOpened.emit(doc)
        return doc

    def _show(self, index: int, doc: ImageDocument) -> None:
        self.index = index
        self.currentChanged.emit(doc)
