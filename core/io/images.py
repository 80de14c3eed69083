"""Reading and writing images: many formats in, clean PNG/TIFF/JPEG out, atomically.

Every failure is an :class:`ImageReadError` / :class:`ImageWriteError` naming the file.
"""

from __future__ import annotations

import errno
import glob
import os
import struct
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageReadError, ImageWriteError

#: Largest accepted image, in pixels (a 12000 x 12000 fundus mosaic fits; bombs do not).
MAX_PIXELS = 150_000_000
#: Longest accepted side. Pillow keeps a pointer and a buffer per row, so a tiny file declaring a
#: 1 x 100,000,000 image (under MAX_PIXELS) would cost gigabytes and seconds before failing.
MAX_SIDE = 65_535
#: Formats that keep 16-bit gray values (PPM covers .pgm).
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF", "PPM")
READABLE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ppm", ".pgm", ".pbm", ".pnm")
#: Pillow decoders read_image uses, whatever the suffix (JPEG includes multi-picture MPO files).
#: Pillow knows ~40 more; their decoders see little use and hostile files (EPS even starts Ghostscript).
READABLE_FORMATS = ("PNG", "JPEG", "TIFF", "GIF", "BMP", "DIB", "PPM", "WEBP")






def _to_array(img: Image.Image, mode: str | None) -> np.ndarray:
    """Convert a PIL image to uint8 (or uint16 for 16-bit gray when mode is None)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F") and mode is None:
        arr = np.asarray(img)
        if arr.dtype != np.uint16:
            arr = np.clip(arr, 0, 65535).astype(np.uint16)
        return arr
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # Rescale high bit depths to 8 bits before converting, a band of rows at a time: float64
        # copies of a whole 144 MP image took 3.9 GB.
        arr = np.asarray(img)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        eight = np.empty(arr.shape, np.uint8)
        rows = max(1, (1 << 20) // max(1, arr.shape[1]))
        for y in range(0, arr.shape[0], rows):
            band = arr[y:y + rows].astype(np.float64)
            eight[y:y + rows] = np.clip(band / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        del arr
        img = Image.fromarray(eight, "L")
    if mode is None:
        mode = "L" if img.mode in ("L", "1", "LA", "La") else "RGB"
    if img.mode in ("P", "PA") or "A" in img.mode or img.mode == "LA":
        img = img.convert("RGBA")
        if mode != "RGBA":
            # Composite transparency onto black, the background of a fundus photograph.
            background = Image.new("RGBA", img.size, (0, 0, 0, 255))
            img = Image.alpha_composite(background, img)
    return np.asarray(img.convert(mode)).copy()


def read_image(path: str | os.PathLike[str], mode: str | None = "RGB", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as a numpy array.

    ``mode``: "RGB" (H×W×3 uint8), "L" (H×W uint8), or None (gray stays gray, 16-bit gray stays
    uint16, everything else RGB). EXIF orientation is applied; for multi-page files the first page is read.
    """
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
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check below is the limit. Pillow warns from 89 MP on, which would
            # refuse the 12000 x 12000 mosaics MAX_PIXELS admits; its hard error (179 MP) still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p, formats=READABLE_FORMATS) as img:
                w, h = img.size
                if w <= 0 or h <= 0:
                    raise ImageReadError(f"{p}: image has no pixels ({w}x{h})")
                if w * h > max_pixels:
                    raise ImageReadError(
                        f"{p}: image is too large ({w}x{h} = {w * h / 1e6:.0f} MP; limit {max_pixels / 1e6:.0f} MP)"
                    )
                if max(w, h) > MAX_SIDE:
                    raise ImageReadError(f"{p}: image is too large ({w}x{h}; sides up to {MAX_SIDE} px)")
                img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img) or img
                arr = _to_array(img, mode)
    except ImageReadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{p}: not a recognised image format (PNG, TIFF, JPEG, GIF, BMP, PNM or WebP)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{p}: image is too large to be a real photograph ({exc})") from exc
    except MemoryError as exc:
        raise ImageReadError(f"{p}: not enough memory to read this image") from exc
    except (PermissionError, FileNotFoundError, IsADirectoryError) as exc:
        raise ImageReadError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError,
            ZeroDivisionError, OverflowError, struct.error, NotImplementedError) as exc:
        raise ImageReadError(f"{p}: image is damaged or truncated ({exc})") from exc
    if arr.size == 0:
        raise ImageReadError(f"{p}: image has no pixels")
    return arr


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """True when the file name has a suffix this module can read."""
    return Path(path).suffix.lower() in READABLE_SUFFIXES


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
        img = Image.fromarray(arr)
    elif arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        img = Image.fromarray(arr)
    else:
        raise ImageWriteError(f"{p}: cannot write an array of shape {arr.shape} and type {arr.dtype}")
    fmt = Image.registered_extensions().get(p.suffix.lower())
    if fmt is None:
        raise ImageWriteError(f"{p}: unknown image format {p.suffix!r}")
    if arr.dtype == np.uint16 and fmt not in SIXTEEN_BIT_FORMATS:
        # GIF and WebP would silently squash the values to 8 bits.
        raise ImageWriteError(f"{p}: {fmt} cannot store 16-bit images; use .png or .tif")
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(f"{p}: folder {folder} does not exist")
    write_bytes_atomic(p, lambda f: img.save(f, format=fmt))
    return p


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask() is process-wide, racy in threads later


STALE_PART_SECONDS = 600


def _remove_stale_parts(path: Path) -> None:
    """Delete temp files of earlier writes to ``path`` that were killed mid-write (older than 10 min)."""
    now = time.time()
    for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass


#: What the user can do about common write failures.
_WRITE_HINTS = {
    errno.ENOSPC: ": free some disk space or choose another folder",
    errno.EDQUOT: ": free some disk space or choose another folder",
    errno.EACCES: ": choose a folder you may write to",
    errno.EPERM: ": choose a folder you may write to",
    errno.EROFS: ": the disk is read-only; choose another folder",
}


def write_bytes_atomic(path: Path, writer: Callable[[BinaryIO], object]) -> None:
    """Run ``writer(fileobj)`` into a temp file beside ``path``, fsync, then rename over ``path``."""
    fd = -1
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as f:
            fd = -1
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = ""
        _remove_stale_parts(path)
    except OSError as exc:
        hint = _WRITE_HINTS.get(exc.errno or 0, "")
        raise ImageWriteError(f"{path}: cannot write ({exc.strerror or exc}){hint}") from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
