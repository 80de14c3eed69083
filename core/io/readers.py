"""The reader registry: which reader opens a file, found by its first bytes, else by its suffix.

Adding a format is one reader class listed in :data:`READERS` (see ``core.io.images``); file
dialogs, folder listings and batch runs derive their suffixes from the registry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from core.errors import ImageReadError
from core.io.loaded import LoadedImage

#: Bytes read from the start of a file to recognise its format.
SNIFF_BYTES = 512


class ImageReader(Protocol):
    """One file format (or family) that can be turned into a :class:`LoadedImage`."""

    name: str
    suffixes: tuple[str, ...]  # lower case, with the dot

    def sniff(self, head: bytes) -> bool:
        """True when ``head`` (the first :data:`SNIFF_BYTES` bytes) looks like this reader's format."""
        ...

    def read(self, path: Path, *, frame: int, mode: str | None, max_pixels: int) -> LoadedImage:
        """Read one frame; every failure is an :class:`ImageReadError` naming ``path``."""
        ...


class ReaderRegistry:
    """Readers in priority order; the first whose sniff matches wins, else the first claiming the suffix."""

    def __init__(self, readers: Iterable[ImageReader], unknown_message: str) -> None:
        self._readers: list[ImageReader] = list(readers)
        self._unknown_message = unknown_message

    @property
    def readers(self) -> Sequence[ImageReader]:
        return tuple(self._readers)

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Every suffix some reader claims, in registration order, without repeats."""
        return tuple(dict.fromkeys(s for r in self._readers for s in r.suffixes))

    def recognises(self, path: str | os.PathLike[str]) -> bool:
        """True when a reader claims the file's suffix or, for a name without one, its first bytes.

        Files with an unclaimed suffix (``notes.txt``) are not opened; a numeric "suffix" is none (DICOM
        files named by their UID, ``1.2.840.113619.2.55``).
        """
        p = Path(path)
        if p.suffix.lower() in self.suffixes:
            return True
        if p.suffix and not p.suffix[1:].isdigit():
            return False
        try:
            return self._sniffed(_head(p)) is not None
        except OSError:
            return False

    def reader_for(self, path: Path) -> ImageReader:
        """The reader for an existing, non-empty file; :class:`ImageReadError` when none fits."""
        try:
            head = _head(path)
        except OSError as exc:
            raise ImageReadError(f"{path}: cannot read ({exc.strerror or exc})") from exc
        reader = self._sniffed(head)
        if reader is not None:
            return reader
        suffix = path.suffix.lower()
        for reader in self._readers:
            if suffix in reader.suffixes:
                return reader  # lets the reader report "damaged" or "not recognised" itself
        raise ImageReadError(f"{path}: {self._unknown_message}")

    def _sniffed(self, head: bytes) -> ImageReader | None:
        return next((r for r in self._readers if r.sniff(head)), None)

    def read(self, path: str | os.PathLike[str], *, frame: int, mode: str | None, max_pixels: int) -> LoadedImage:
        """Check the file exists and is not empty, pick its reader, read it."""
        p = Path(path)
        if not p.exists():
            raise ImageReadError(f"{p}: file not found")
        if p.is_dir():
            raise ImageReadError(f"{p}: is a folder, not an image")
        try:
            size = p.stat().st_size
        except OSError as exc:
            raise ImageReadError(f"{p}: cannot read ({exc.strerror or exc})") from exc
        if size == 0:
            raise ImageReadError(f"{p}: file is empty")
        if frame < 0:
            raise ImageReadError(f"{p}: no frame {frame}")
        return self.reader_for(p).read(p, frame=frame, mode=mode, max_pixels=max_pixels)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(SNIFF_BYTES)
