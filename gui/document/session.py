"""ImageSession: the list of images being reviewed and one document per image.

Documents are created on first visit and kept while the app runs, so every image in a folder keeps
its probability map, threshold and (issue 5) mask edits and undo history when the user steps away.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.errors import ImageReadError
from core.io.images import list_images
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
                   loaded: LoadedImage | None = None) -> ImageDocument:
        """Replace the list with ``paths`` and show ``paths[index]``, read now unless ``loaded`` (read in a
        worker) is given (raises ImageReadError)."""
        resolved = [Path(p).resolve() for p in paths]
        if not resolved:
            raise ValueError("no images to open")
        doc = self._load(resolved[index], loaded)  # fail before changing anything
        self.paths = resolved
        self.listChanged.emit()
        self._show(index, doc)
        return doc

    def _first_readable(self, paths: list[Path]) -> int:
        """Index of the first image in ``paths`` that can be read (raises the first error if none)."""
        first_error: ImageReadError | None = None
        for i, p in enumerate(paths):
            try:
                self._load(p.resolve())
                return i
            except ImageReadError as exc:
                first_error = first_error or exc
        assert first_error is not None
        raise first_error

    def open_folder(self, folder: str | os.PathLike[str], first: LoadedImage | None = None) -> ImageDocument:
        """All images directly inside ``folder``, showing the first one that can be read (``first``: the
        first image, already read in a worker)."""
        paths = list_images(folder)
        if not paths:
            raise ValueError(f"{folder}: no images found (readable: .tif, .png, .jpg, .bmp, .gif, .ppm)")
        if first is not None:
            return self.open_files(paths, 0, first)
        return self.open_files(paths, self._first_readable(paths))

    def go_to(self, index: int, loaded: LoadedImage | None = None) -> ImageDocument:
        """Show image ``index`` of the list, read now unless ``loaded`` (read in a worker) is given
        (raises ImageReadError; the current image then stays)."""
        if not 0 <= index < len(self.paths):
            raise IndexError(index)
        doc = self._load(self.paths[index], loaded)
        self._show(index, doc)
        return doc

    def step(self, delta: int) -> ImageDocument | None:
        """Next (+1) / previous (-1) image; None at either end."""
        target = self.index + delta
        if not 0 <= target < len(self.paths):
            return None
        return self.go_to(target)

    @property
    def can_step_back(self) -> bool:
        return self.index > 0

    @property
    def can_step_forward(self) -> bool:
        return 0 <= self.index < len(self.paths) - 1

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
