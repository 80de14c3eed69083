"""Reading and writing images: many formats in, clean PNG/TIFF/JPEG out, atomically.

Readers and writers live in registries (:data:`READERS`, ``core.io.writers.WRITERS``); a new format
is one class added to a list here. Every failure is an :class:`ImageReadError` /
:class:`ImageWriteError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.errors import ImageWriteError
from core.io.atomic import write_bytes_atomic
from core.io.dicom_reader import DicomReader
from core.io.loaded import LoadedImage
from core.io.pillow_reader import UNKNOWN_FORMAT, PillowReader
from core.io.readers import ReaderRegistry
from core.io.writers import WRITERS

#: Largest accepted image, in pixels (a 12000 x 12000 fundus mosaic fits; bombs do not).
MAX_PIXELS = 150_000_000

#: Every reader, in priority order: the one place a new format is registered. DICOM first: its
#: 128-byte preamble may itself start like a TIFF (dual-format files), and the DICOM content is the image.
READERS = ReaderRegistry([DicomReader(), PillowReader()], unknown_message=UNKNOWN_FORMAT)
#: Suffixes the registered readers claim (file dialogs, drag-drop, folder listings).
READABLE_SUFFIXES = READERS.suffixes


def load_image(
    path: str | os.PathLike[str], *, frame: int = 0, mode: str | None = None, max_pixels: int = MAX_PIXELS
) -> LoadedImage:
    """Read one frame of a photograph with what the file says about it.

    ``mode``: None (gray stays gray, 16-bit gray stays uint16, everything else RGB), "RGB" (H×W×3
    uint8) or "L" (H×W uint8). EXIF orientation is applied. Files without a known suffix are
    recognised by their first bytes.
    """
    return READERS.read(path, frame=frame, mode=mode, max_pixels=max_pixels)


def read_image(path: str | os.PathLike[str], mode: str | None = "RGB", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The pixels of the first frame only (masks, labels, references); see :func:`load_image`."""
    return load_image(path, mode=mode, max_pixels=max_pixels).pixels


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """True when a reader claims the file's suffix (or, for a name without a suffix, its first bytes)."""
    return READERS.recognises(path)


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p))


def write_image(path: str | os.PathLike[str], array: np.ndarray, overwrite: bool = True) -> Path:
    """Write an array atomically (temp file in the same folder, then rename); no metadata is stored.

    uint8 gray/RGB/RGBA and uint16 gray are supported; the format follows the suffix.
    """
    p = Path(path)
    if not overwrite and p.exists():
        raise ImageWriteError(f"{p}: already exists (use overwrite to replace it)")
    arr = np.asarray(array)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        if arr.ndim != 2:
            raise ImageWriteError(f"{p}: 16-bit images must be single-channel")
    elif not (arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4)))):
        raise ImageWriteError(f"{p}: cannot write an array of shape {arr.shape} and type {arr.dtype}")
    writer = WRITERS.writer_for(p)
    writer.check(arr, p)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"{p}: folder {folder} does not exist")
    write_bytes_atomic(p, lambda f: writer.write(f, arr))
    return p
