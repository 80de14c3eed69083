"""Camera-shift perturbations: what other cameras, old film and poor captures do to a fundus photograph.

Each is a plain function ``(image, seed) -> image`` on H×W×3 uint8 RGB that keeps shape and dtype and is
deterministic given the seed. Strengths are fixed (the stress set's figures must be comparable between
models); sizes (blur) scale with the image so a 3504×2336 photograph is hurt as much as a 565×584 one.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

Perturbation = Callable[[np.ndarray, int], np.ndarray]


def _float(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, np.float32) / 255.0


def _uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def _retina_mean(x: np.ndarray) -> np.ndarray:
    """Mean colour of the lit part of the image (a rough FOV: brighter than the black border)."""
    lit = x.max(axis=2) > 0.08
    return x[lit].mean(axis=0) if lit.any() else x.reshape(-1, 3).mean(axis=0)


def contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Contrast scaled by ``factor`` around the retina's mean colour."""
    x = _float(image)
    m = _retina_mean(x)
    return _uint8(m + factor * (x - m))


def old_film(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """A yellowed film print: contrast halved, blue faded, a warm fog lifting the blacks."""
    x = _float(contrast(image, 0.5))
    x = x * np.array([1.05, 0.95, 0.55], np.float32) + np.array([0.10, 0.07, 0.0], np.float32)
    return _uint8(x)


def low_contrast(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """Contrast cut to 40 % around the retina's mean colour (a hazy, flat capture)."""
    return contrast(image, 0.4)


def gamma(value: float) -> Perturbation:
    """Intensities raised to ``value`` (0.5 brightens the midtones, 2 darkens them)."""

    def apply(image: np.ndarray, seed: int = 0) -> np.ndarray:
        return _uint8(_float(image) ** value)

    apply.__doc__ = f"Gamma {value}."
    return apply


def blur(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian blur of about 2 px on a 584-px-high image (defocus), scaled with the image."""
    radius = 2.0 * min(image.shape[:2]) / 584
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def jpeg(image: np.ndarray, seed: int = 0, quality: int = 10) -> np.ndarray:
    """Saved as JPEG at quality 10 (blocks, ringing, colour bleeding)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def vignetting(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """Light falling off towards the edge: 35 % of it left where the inscribed circle meets the edge."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (min(h, w) / 2) ** 2
    gain = np.clip(1.0 - 0.65 * r2, 0.0, 1.0)
    return _uint8(_float(image) * gain[..., None])


def overexposure(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """1.8× the light (the bright disc and parts of the retina clip at white)."""
    return _uint8(_float(image) * 1.8)


def underexposure(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """35 % of the light (a dark capture, e.g. a small pupil)."""
    return _uint8(_float(image) * 0.35)


def gray(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """8-bit grayscale (ITU-R 601 luma) in all three channels, as a monochrome camera's file."""
    luma = np.asarray(Image.fromarray(image).convert("L"))
    return np.repeat(luma[..., None], 3, axis=2)


def noise(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian sensor noise, σ = 8 grey levels, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return np.clip(np.asarray(image, np.float32) + rng.normal(0.0, 8.0, image.shape), 0, 255).astype(np.uint8)


#: The stress set: name -> perturbation, in the order reports list them.
PERTURBATIONS: dict[str, Perturbation] = {
    "old-film": old_film,
    "low-contrast": low_contrast,
    "gamma-0.5": gamma(0.5),
    "gamma-2": gamma(2.0),
    "blur": blur,
    "jpeg-q10": jpeg,
    "vignetting": vignetting,
    "overexposed": overexposure,
    "underexposed": underexposure,
    "gray": gray,
    "noise": noise,
}
