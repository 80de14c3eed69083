"""The writer registry: which encoder writes a file, chosen by its suffix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np
from PIL import Image

from core.errors import ImageWriteError


class ImageWriter(Protocol):
    """One output format: the suffixes it owns, a check before any file is made, the encoder."""

    suffixes: tuple[str, ...]  # lower case, with the dot

    def check(self, array: np.ndarray, path: Path) -> None:
        """Raise :class:`ImageWriteError` when this format cannot store ``array``."""
        ...

    def write(self, f: BinaryIO, array: np.ndarray) -> None:
        """Encode ``array`` into ``f``."""
        ...


@dataclass(frozen=True)
class PillowWriter:
    """One format Pillow encodes; ``sixteen_bit`` when it keeps uint16 gray values."""

    format: str
    suffixes: tuple[str, ...]
    sixteen_bit: bool = False

    def check(self, array: np.ndarray, path: Path) -> None:
        if array.dtype == np.uint16 and not self.sixteen_bit:
            # GIF and WebP would silently squash the values to 8 bits.
            raise ImageWriteError(f"{path}: {self.format} cannot store 16-bit images; use .png or .tif")

    def write(self, f: BinaryIO, array: np.ndarray) -> None:
        """Encode ``array`` (uint8 gray/RGB/RGBA or uint16 gray) into ``f``; no metadata is stored."""
        img = Image.fromarray(array)
        if self.format == "JPEG" and img.mode == "RGBA":
            img = img.convert("RGB")
        img.save(f, format=self.format)


class WriterRegistry:
    """Writers by lower-case suffix."""

    def __init__(self, writers: list[ImageWriter]) -> None:
        self._by_suffix = {s: w for w in writers for s in w.suffixes}

    @property
    def suffixes(self) -> tuple[str, ...]:
        return tuple(self._by_suffix)

    def writer_for(self, path: Path) -> ImageWriter:
        writer = self._by_suffix.get(path.suffix.lower())
        if writer is None:
            raise ImageWriteError(f"{path}: unknown image format {path.suffix!r}")
        return writer


WRITERS = WriterRegistry([
    PillowWriter("PNG", (".png",), sixteen_bit=True),
    PillowWriter("TIFF", (".tif", ".tiff"), sixteen_bit=True),
    PillowWriter("JPEG", (".jpg", ".jpeg", ".jpe", ".jfif")),
    PillowWriter("PPM", (".pgm", ".ppm", ".pnm", ".pbm"), sixteen_bit=True),
    PillowWriter("BMP", (".bmp",)),
    PillowWriter("GIF", (".gif",)),
    PillowWriter("WEBP", (".webp",)),
])
