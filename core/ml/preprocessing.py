"""Preprocessing: how an image becomes network input. One object shared by training, calibration and inference.

Three normalisations: ``"dataset"`` (fixed per-channel mean and std, the tutorial's; every checkpoint
written before format 2 uses it), ``"fov"`` (each image's own per-channel mean and std inside its
field of view, so a colour cast or an exposure of another camera is removed before the network sees it)
and ``"local"`` (the same with a mean and std that vary smoothly across the FOV, so that uneven
illumination, vignetting and a bright disc are removed too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core.errors import CheckpointError
from core.measure.fov import fov_diameter

#: Rescale only when the FOV is this far (as a factor) from the size the model was trained on (default).
SCALE_TOLERANCE = 1.25
NORMALIZATIONS = ("dataset", "fov", "local")
#: The normalisations computed from each image itself (training computes them once per image).
PER_IMAGE = ("fov", "local")
#: ``"local"``: the width (Gaussian sigma) of the neighbourhood whose statistics standardise a pixel, as a
#: fraction of the FOV diameter: about twice the largest vessels' width (1/40 of it), and narrow enough that
#: the light fall-off of a vignetted or unevenly lit photograph is nearly flat across it.
LOCAL_SIGMA = 1 / 32
#: ``"local"``: a neighbourhood's std is at least about one 8-bit grey level (a vignetted periphery is
#: dark and flat, but its vessels are still there; below that is quantisation noise).
LOCAL_MIN_STD = 0.004
#: The local statistics are computed on a copy of the image whose FOV is about this many pixels wide.
LOCAL_WORK_WIDTH = 128
#: Small images are enlarged at most this much: thumbnails gain nothing from more, and every
#: enlarged shape costs memory in oneDNN's per-shape caches.
MAX_UPSCALE = 2.0
#: A flat channel (a gray image's copies, a blank frame) is not blown up into noise.
MIN_STD = 0.02


@dataclass(frozen=True)
class Preprocessing:
    """Per-channel normalisation of RGB in [0, 1], and the FOV width the network was trained at."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channels: str = "RGB"
    #: FOV diameter (px) the network works at; None: images are never rescaled.
    fov_diameter: float | None = None
    normalization: str = "dataset"
    #: Images whose FOV is within this factor of ``fov_diameter`` are not resampled (1.0: always).
    scale_tolerance: float = SCALE_TOLERANCE
    #: Images with a wider FOV are reduced to this width rather than to ``fov_diameter``, narrower ones down to
    #: ``fov_diameter`` are left at their size (None: no such band). A large photograph keeps more of its fine
    #: vessels, still at a scale the network was trained at (its training crops are rescaled by up to 1.33).
    large_fov_diameter: float | None = None

    def __post_init__(self) -> None:
        if len(self.mean) != 3 or len(self.std) != 3:
            raise CheckpointError("preprocessing needs three means and three standard deviations (RGB)")
        if not all(math.isfinite(v) for v in (*self.mean, *self.std)) or min(self.std) <= 0:
            raise CheckpointError(f"preprocessing has unusable values: mean {self.mean}, std {self.std}")
        if self.channels != "RGB":
            raise CheckpointError(f"preprocessing channels {self.channels!r} are not supported (only RGB)")
        if self.normalization not in NORMALIZATIONS:
            raise CheckpointError(f"preprocessing normalization {self.normalization!r} is unknown "
                                  f"(this app knows {', '.join(NORMALIZATIONS)})")
        if not self.scale_tolerance >= 1.0:
            raise CheckpointError(f"preprocessing scale_tolerance {self.scale_tolerance} must be >= 1")
        if self.large_fov_diameter is not None and not self.large_fov_diameter >= (self.fov_diameter or math.inf):
            raise CheckpointError(f"preprocessing large_fov_diameter {self.large_fov_diameter:g} must be at least "
                                  f"the working FOV diameter ({self.fov_diameter or 'none'})")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Preprocessing:
        fov, large = d.get("fov_diameter"), d.get("large_fov_diameter")
        return cls(mean=_triple(d["mean"]), std=_triple(d["std"]), channels=str(d.get("channels", "RGB")),
                   fov_diameter=float(fov) if fov else None, normalization=str(d.get("normalization", "dataset")),
                   scale_tolerance=float(d.get("scale_tolerance", SCALE_TOLERANCE)),
                   large_fov_diameter=float(large) if large else None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mean": list(self.mean), "std": list(self.std), "channels": self.channels}
        if self.fov_diameter:
            d["fov_diameter"] = _whole(self.fov_diameter)
        if self.normalization != "dataset" or self.scale_tolerance != SCALE_TOLERANCE:
            d["normalization"] = self.normalization
            d["scale_tolerance"] = self.scale_tolerance
        if self.large_fov_diameter:
            d["large_fov_diameter"] = _whole(self.large_fov_diameter)
        return d

    def normalize(self, x: torch.Tensor, fov: torch.Tensor | np.ndarray | None = None) -> torch.Tensor:
        """Network input from C×H×W or 1×C×H×W float RGB in [0, 1].

        ``"dataset"``: (x - mean) / std per channel. ``"fov"``: each channel standardised by its own mean
        and std inside ``fov`` (H×W bool; the whole image when None), 0 outside it. ``"local"``: the same
        with each pixel's neighbourhood's mean and std (:func:`local_standardize`).
        """
        shape = (-1, 1, 1) if x.ndim == 3 else (1, -1, 1, 1)
        if self.normalization == "dataset":
            mean = torch.tensor(self.mean, dtype=torch.float32).view(shape)
            std = torch.tensor(self.std, dtype=torch.float32).view(shape)
            return (x - mean) / std
        inside = torch.ones(x.shape[-2:], dtype=torch.bool) if fov is None else torch.as_tensor(np.asarray(fov, bool))
        if not bool(inside.any()):
            inside = torch.ones(x.shape[-2:], dtype=torch.bool)
        if self.normalization == "local":
            return local_standardize(x, inside)
        pixels = x.reshape(-1, *x.shape[-3:])[0][:, inside]  # C×N
        mean = pixels.mean(1).view(shape)
        std = pixels.std(1).clamp_min(MIN_STD).view(shape)
        return torch.where(inside, (x - mean) / std, torch.zeros((), dtype=x.dtype))

    def native_band(self) -> tuple[float, float] | None:
        """The FOV widths (px) left at their size; None when every image is resized to ``fov_diameter``."""
        if not self.fov_diameter:
            return None
        low, high = self.fov_diameter / self.scale_tolerance, self.fov_diameter * self.scale_tolerance
        high = max(high, self.large_fov_diameter or 0.0)
        return None if low == high else (low, high)

    def working_scale(self, fov: np.ndarray) -> float:
        """Factor applied to the image before the network so that its FOV is as wide as the training FOV
        (or within the band of widths left at their size)."""
        if not self.fov_diameter:
            return 1.0
        d = fov_diameter(fov)
        if d < 16:
            return 1.0
        s = float(self.fov_diameter) / d
        if 1 / self.scale_tolerance <= s <= self.scale_tolerance:
            return 1.0
        if s < 1 and self.large_fov_diameter:
            return min(1.0, float(self.large_fov_diameter) / d)
        return min(s, MAX_UPSCALE)


def local_standardize(x: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Each channel of C×H×W or 1×C×H×W ``x`` minus its local mean, over its local std, inside ``inside``.

    The statistics are Gaussian-weighted over a neighbourhood of ``LOCAL_SIGMA`` × the FOV's diameter,
    counting FOV pixels only (so the dark border does not pull the edge of the retina down), computed on
    an area-reduced copy and interpolated back: a few milliseconds whatever the photograph's size.
    """
    import torch.nn.functional as F

    batch = x.reshape(-1, *x.shape[-3:])[:1]
    h, w = batch.shape[-2:]
    mask = inside.to(batch.dtype)[None, None]
    diameter = 2.0 * math.sqrt(float(mask.sum()) / math.pi)
    k = max(1, int(diameter // LOCAL_WORK_WIDTH))
    sigma = max(1.0, diameter * LOCAL_SIGMA / k)

    def smooth(a: torch.Tensor) -> torch.Tensor:
        small = F.avg_pool2d(a, k, ceil_mode=True) if k > 1 else a
        radius = int(math.ceil(3 * sigma))
        taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=a.dtype) ** 2) / (2 * sigma**2))
        taps = taps / taps.sum()
        c = small.shape[1]
        small = F.conv2d(F.pad(small, [radius, radius, 0, 0]), taps.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        small = F.conv2d(F.pad(small, [0, 0, radius, radius]), taps.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return small

    def full(a: torch.Tensor) -> torch.Tensor:
        return F.interpolate(a, size=(h, w), mode="bilinear", align_corners=False) if a.shape[-2:] != (h, w) else a

    weight = smooth(mask).clamp_min(1e-6)
    mean = full(smooth(batch * mask) / weight)
    # the spread around the local mean, not the raw second moment: light falling off across the
    # neighbourhood would otherwise count as texture
    residual = (batch - mean) * mask
    std = full(smooth(residual * residual) / weight).clamp_min(LOCAL_MIN_STD**2).sqrt()
    out = torch.where(inside, (batch - mean) / std, torch.zeros((), dtype=x.dtype))
    return out.reshape(x.shape)


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    v = tuple(float(x) for x in values)
    if len(v) != 3:
        raise CheckpointError(f"expected three values (RGB), got {len(v)}")
    return v[0], v[1], v[2]


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
