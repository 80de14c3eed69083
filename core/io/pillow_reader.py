"""Photographs and masks through Pillow: PNG, TIFF, JPEG, GIF, BMP, PNM, WebP, with hostile-file limits."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageReadError
from core.io.loaded import ImageMetadata, LoadedImage

#: Longest accepted side. Pillow keeps a pointer and a buffer per row, so a tiny file declaring a
#: 1 x 100,000,000 image (under MAX_PIXELS) would cost gigabytes and seconds before failing.
MAX_SIDE = 65_535
#: Pillow decoders used, whatever the suffix (JPEG includes multi-picture MPO files).
#: Pillow knows ~40 more; their decoders see little use and hostile files (EPS even starts Ghostscript).
READABLE_FORMATS = ("PNG", "JPEG", "TIFF", "GIF", "BMP", "DIB", "PPM", "WEBP")
UNKNOWN_FORMAT = "not a recognised image format (DICOM, PNG, TIFF, JPEG, GIF, BMP, PNM or WebP)"

_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a", b"BM")
_PNM_MAGIC = tuple(f"P{i}".encode() for i in range(1, 7))
#: Pillow's names for formats that are a variant of a better-known one.
_FORMAT_NAMES = {"MPO": "JPEG", "DIB": "BMP"}
_MM_PER_UNIT = {"inch": 25.4, "cm": 10.0, "m": 1000.0}
#: EXIF orientations that swap width and height.
_TRANSPOSING = (5, 6, 7, 8)
_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I", "F")


class PillowReader:
    """Raster formats Pillow decodes; gray stays gray and 16-bit gray stays uint16 when ``mode`` is None."""

    name = "pillow"
    suffixes = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ppm", ".pgm", ".pbm", ".pnm")

    def sniff(self, head: bytes) -> bool:
        if head.startswith(_MAGIC):
            return True
        if head[:2] in _PNM_MAGIC and head[2:3].isspace():
            return True
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"

    def read(self, path: Path, *, frame: int, mode: str | None, max_pixels: int) -> LoadedImage:
        p = path
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
                            f"{p}: image is too large ({w}x{h} = {w * h / 1e6:.0f} MP; "
                            f"limit {max_pixels / 1e6:.0f} MP)"
                        )
                    if max(w, h) > MAX_SIDE:
                        raise ImageReadError(f"{p}: image is too large ({w}x{h}; sides up to {MAX_SIDE} px)")
                    if frame > 0:  # counting frames walks every TIFF directory: only when asked for one
                        n_frames = int(getattr(img, "n_frames", 1))
                        if frame >= n_frames:
                            raise ImageReadError(f"{p}: no frame {frame} (the file has {n_frames})")
                    img.seek(frame)
                    img.load()
                    fmt = _FORMAT_NAMES.get(img.format or "", img.format or "")
                    spacing = _pixel_spacing(img, fmt)
                    orientation = _orientation(img)
                    img = ImageOps.exif_transpose(img) or img
                    arr = _to_array(img, mode)
        except ImageReadError:
            raise
        except UnidentifiedImageError as exc:
            raise ImageReadError(f"{p}: {UNKNOWN_FORMAT}") from exc
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
        if spacing is not None and orientation in _TRANSPOSING:
            spacing = (spacing[1], spacing[0])
        meta = ImageMetadata(
            source=p, format=fmt, size=(arr.shape[1], arr.shape[0]), pixel_spacing_mm=spacing,
            orientation=orientation, frame=frame,
        )
        return LoadedImage(arr, meta)


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation exif_transpose will apply (1 when none or invalid)."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block only means "no orientation"
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _pixel_spacing(img: Image.Image, fmt: str) -> tuple[float, float] | None:
    """(vertical, horizontal) mm per pixel from resolution tags that name a physical unit, else None."""
    try:
        if fmt == "PNG":
            dpi = img.info.get("dpi")  # Pillow sets it only for pHYs with the metre unit
            return _spacing("inch", dpi[0], dpi[1]) if dpi else None
        if fmt == "JPEG":
            unit = {1: "inch", 2: "cm"}.get(img.info.get("jfif_unit", 0))
            density = img.info.get("jfif_density")
            if unit and density:
                return _spacing(unit, density[0], density[1])
            return _tagged_spacing(img.getexif())
        if fmt == "TIFF":
            return _tagged_spacing(getattr(img, "tag_v2", {}))
    except Exception:  # noqa: BLE001 - odd resolution tags only mean "spacing unknown", never an unreadable image
        return None
    return None


def _tagged_spacing(tags: Any) -> tuple[float, float] | None:
    """Spacing from TIFF/EXIF ResolutionUnit (2 inch, 3 cm) with X/YResolution; None when a tag is absent."""
    unit = {2: "inch", 3: "cm"}.get(tags.get(0x0128))
    xres, yres = tags.get(0x011A), tags.get(0x011B)
    if unit is None or xres is None or yres is None:
        return None
    return _spacing(unit, xres, yres)


def _spacing(unit: str, xres: Any, yres: Any) -> tuple[float, float] | None:
    """Pixels per ``unit`` (horizontal, vertical) -> (vertical, horizontal) mm per pixel; None if not positive."""
    x, y = float(xres), float(yres)
    if not (x > 0 and y > 0) or x == float("inf") or y == float("inf"):
        return None
    mm = _MM_PER_UNIT[unit]
    return (mm / y, mm / x)


def _to_array(img: Image.Image, mode: str | None) -> np.ndarray:
    """Convert a PIL image to uint8 (or uint16 for 16-bit gray when mode is None)."""
    if img.mode in _HIGH_DEPTH_MODES and mode is None:
        arr = np.asarray(img)
        if arr.dtype != np.uint16:
            arr = np.clip(arr, 0, 65535).astype(np.uint16)
        return arr
    if img.mode in _HIGH_DEPTH_MODES:
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
