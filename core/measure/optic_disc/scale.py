"""The photograph at a working scale: its FOV as wide as a fixed number of pixels, whatever the camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.measure.fov import estimate_fov

#: Longest side at which the FOV is estimated when the caller gives none.
FOV_ESTIMATE_SIDE = 1024


@dataclass(frozen=True)
class WorkImage:
    """RGB float32 pixels and FOV at the working scale; ``scale`` = working px per image px."""

    rgb: np.ndarray
    fov: np.ndarray
    scale: float

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """Working-scale pixel centre -> image pixel coordinates."""
        return (x + 0.5) / self.scale - 0.5, (y + 0.5) / self.scale - 0.5


def as_rgb(image: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 from gray, RGBA or 16-bit input (scaled to 8 bits)."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        top = float(a.max()) if a.size else 0.0
        a = (a.astype(np.float32) * (255.0 / top if top > 0 else 0.0)).round().astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return a[..., :3]


def _resize(a: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """Resize to (width, height) with Pillow, one channel at a time so any dtype stays exact."""
    if a.ndim == 3:
        return np.stack([_resize(a[..., c], size, resample) for c in range(a.shape[2])], axis=2)
    return np.asarray(Image.fromarray(a).resize(size, resample))


def fov_of(rgb: np.ndarray, fov: np.ndarray | None) -> np.ndarray:
    """The caller's FOV, or one estimated on a reduced copy and scaled back to the image's size."""
    h, w = rgb.shape[:2]
    if fov is not None:
        return np.asarray(fov, bool)
    factor = max(1.0, max(h, w) / FOV_ESTIMATE_SIDE)
    small = _resize(rgb, (max(1, round(w / factor)), max(1, round(h / factor))), Image.Resampling.BOX)
    estimated = estimate_fov(small).astype(np.uint8) * 255
    return _resize(estimated, (w, h), Image.Resampling.BILINEAR) >= 128


def fov_width(fov: np.ndarray) -> int:
    """Columns the FOV touches (its diameter for a round FOV; the width of a cut one)."""
    return int(np.count_nonzero(fov.any(axis=0)))


def work_image(rgb: np.ndarray, fov: np.ndarray, width: int) -> WorkImage:
    """The image and FOV resized so that the FOV is ``width`` px wide."""
    return resized(rgb, fov, width / max(1, fov_width(fov)))


def resized(rgb: np.ndarray, fov: np.ndarray, scale: float) -> WorkImage:
    """The image and FOV resized by ``scale`` (area-averaged when shrinking)."""
    h, w = rgb.shape[:2]
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    scale = size[0] / w
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    pixels = _resize(rgb, size, resample).astype(np.float32)
    small_fov = _resize(fov.astype(np.uint8) * 255, size, Image.Resampling.BILINEAR) >= 128
    return WorkImage(pixels, small_fov, scale)
