"""Preprocessing: how an image becomes network input. One object shared by training, calibration and inference."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core.errors import CheckpointError
from core.measure.fov import fov_diameter

#: Rescale only when the FOV is this far (as a factor) from the size the model was trained on.
SCALE_TOLERANCE = 1.25
#: Small images are enlarged at most this much: thumbnails gain nothing from more, and every
#: enlarged shape costs memory in oneDNN's per-shape caches.
MAX_UPSCALE = 2.0


@dataclass(frozen=True)
class Preprocessing:
    """Per-channel normalisation of RGB in [0, 1], and the FOV width the network was trained at."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channels: str = "RGB"
    #: Median FOV diameter (px) of the training images; None: images are never rescaled.
    fov_diameter: float | None = None

    def __post_init__(self) -> None:
        if len(self.mean) != 3 or len(self.std) != 3:
            raise CheckpointError("preprocessing needs three means and three standard deviations (RGB)")
        if not all(math.isfinite(v) for v in (*self.mean, *self.std)) or min(self.std) <= 0:
            raise CheckpointError(f"preprocessing has unusable values: mean {self.mean}, std {self.std}")
        if self.channels != "RGB":
            raise CheckpointError(f"preprocessing channels {self.channels!r} are not supported (only RGB)")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Preprocessing:
        fov = d.get("fov_diameter")
        return cls(mean=_triple(d["mean"]), std=_triple(d["std"]), channels=str(d.get("channels", "RGB")),
                   fov_diameter=float(fov) if fov else None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mean": list(self.mean), "std": list(self.std), "channels": self.channels}
        if self.fov_diameter:
            d["fov_diameter"] = int(self.fov_diameter) if float(self.fov_diameter).is_integer() else self.fov_diameter
        return d

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std per channel, for C×H×W or N×C×H×W float tensors in [0, 1]."""
        shape = (-1, 1, 1) if x.ndim == 3 else (1, -1, 1, 1)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(shape)
        std = torch.tensor(self.std, dtype=torch.float32).view(shape)
        return (x - mean) / std

    def working_scale(self, fov: np.ndarray) -> float:
        """Factor applied to the image before the network so that its FOV is as wide as the training FOV."""
        if not self.fov_diameter:
            return 1.0
        d = fov_diameter(fov)
        if d < 16:
            return 1.0
        s = float(self.fov_diameter) / d
        return 1.0 if 1 / SCALE_TOLERANCE <= s <= SCALE_TOLERANCE else min(s, MAX_UPSCALE)


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    v = tuple(float(x) for x in values)
    if len(v) != 3:
        raise CheckpointError(f"expected three values (RGB), got {len(v)}")
    return v[0], v[1], v[2]
