"""Small image filters the disc detector shares: disk kernels, FOV-masked means, vessel filling."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve


def disk(radius: float, half_size: float | None = None) -> np.ndarray:
    """float32 0/1 disk of ``radius`` in a square of half-width ``half_size`` (default: the radius)."""
    n = int(np.ceil(radius if half_size is None else half_size))
    y, x = np.mgrid[-n:n + 1, -n:n + 1]
    return (x * x + y * y <= radius * radius).astype(np.float32)


def masked_mean(values: np.ndarray, mask: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` over ``kernel`` counting only ``mask`` pixels, and the share of the kernel
    inside the mask (0..1). Pixels outside the mask never pull a mean towards the dark border."""
    m = mask.astype(np.float32)
    num = fftconvolve(values * m, kernel, mode="same")
    den = fftconvolve(m, kernel, mode="same")
    return num / np.maximum(den, 1e-3), den / float(kernel.sum())


def fill_outside(channel: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """The channel with every pixel outside the FOV set to the FOV's mean (no dark edge to filter)."""
    inside = channel[fov]
    return np.where(fov, channel, inside.mean() if inside.size else 0.0).astype(np.float32)


def fill_vessels(channel: np.ndarray, fov: np.ndarray, vessel_radius: int) -> np.ndarray:
    """Grey closing with a disk a little wider than the vessels: dark vessels vanish, the disc stays."""
    footprint = disk(vessel_radius).astype(bool)
    return ndi.grey_closing(fill_outside(channel, fov), footprint=footprint)


def vessel_contrast(green: np.ndarray, fov: np.ndarray, vessel_radius: int) -> np.ndarray:
    """Relative darkness of thin dark structures (black top-hat / closing) in the green channel: a
    camera-independent vessel map, 0 outside the FOV."""
    smooth = ndi.gaussian_filter(fill_outside(green, fov), 1.0)
    closed = ndi.grey_closing(smooth, footprint=disk(vessel_radius).astype(bool))
    contrast = (closed - smooth) / np.maximum(closed, 1.0)
    contrast[~fov] = 0.0
    return contrast.astype(np.float32)
