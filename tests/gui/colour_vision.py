"""How far apart two colours look, to normal vision and to the three colour-vision deficiencies.

Machado, Oliveira & Fernandes (2009) simulation matrices at full severity, applied in linear sRGB, then
the CIE76 distance in CIELAB (about 2.3 is just noticeable; above 20 reads as a different colour).
"""

from __future__ import annotations

import numpy as np

VISION = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(rgb: np.ndarray, vision: str = "normal") -> np.ndarray:
    """CIELAB of 8-bit sRGB colours (…×3) as seen with ``vision``."""
    linear = np.clip(_linear(rgb) @ VISION[vision].T, 0.0, 1.0)
    x = (linear @ _SRGB_TO_XYZ.T) / _WHITE
    f = np.where(x > 0.008856, np.cbrt(x), 7.787 * x + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def smallest_difference(color: tuple[int, int, int], others: np.ndarray) -> tuple[float, str]:
    """The smallest CIE76 distance between ``color`` and any of ``others`` (N×3) over every kind of vision,
    and the vision it happens for."""
    return min((float(np.linalg.norm(lab(np.array(color), v) - lab(others, v), axis=-1).min()), v) for v in VISION)


def hex_rgb(name: str) -> tuple[int, int, int]:
    return int(name[1:3], 16), int(name[3:5], 16), int(name[5:7], 16)
