"""The optic disc as the biomarkers need it, and the measurement zones around it.

Zones are rings centred on the disc, measured from the disc margin in disc diameters (DD), as in the
ARIC / Knudtson protocol: zone A 0–0.5 DD from the margin, zone B 0.5–1 DD, zone C (the extended
zone of SIVA) 0.5–2 DD. From the disc centre that is 1.0–1.5 DD for zone B and 1.0–2.5 DD for zone C.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

#: Zone name -> (inner, outer) radius from the disc centre in disc diameters.
ZONES = {"zone_b": (1.0, 1.5), "zone_c": (1.0, 2.5)}


@runtime_checkable
class DiscLike(Protocol):
    """Anything with the disc's centre ``x``, ``y`` (column, row in px) and ``diameter`` (px), e.g. the
    optic disc finder's result."""

    x: float
    y: float
    diameter: float


@dataclass(frozen=True)
class Disc:
    x: float  # column of the centre, px
    y: float  # row of the centre, px
    diameter: float  # px

    @property
    def radius(self) -> float:
        return self.diameter / 2.0


def as_disc(disc: DiscLike | tuple[float, float, float] | None) -> Disc | None:
    """A :class:`Disc` from an object with ``x``, ``y``, ``diameter`` or a ``(cx, cy, diameter_px)`` tuple.

    Raises ValueError with one line when the values are not a usable disc.
    """
    if disc is None:
        return None
    if isinstance(disc, tuple | list):
        if len(disc) != 3:
            raise ValueError(f"an optic disc is (cx, cy, diameter_px), got {len(disc)} values")
        x, y, d = disc
    else:
        try:
            x, y, d = disc.x, disc.y, disc.diameter
        except AttributeError:
            raise ValueError(f"an optic disc needs x, y and diameter; {type(disc).__name__} has not all three") \
                from None
    try:
        x, y, d = float(x), float(y), float(d)
    except (TypeError, ValueError):
        raise ValueError("the optic disc's x, y and diameter must be numbers") from None
    if not (np.isfinite([x, y, d]).all() and d > 0):
        raise ValueError(f"the optic disc needs a finite centre and a positive diameter, got ({x}, {y}, {d})")
    return Disc(x, y, d)


def ring(shape: tuple[int, int], disc: Disc, inner_dd: float, outer_dd: float) -> np.ndarray:
    """Boolean H×W mask of the ring ``inner_dd`` ≤ r < ``outer_dd`` disc diameters from the disc centre."""
    h, w = shape
    rows = (np.arange(h, dtype=np.float32) - disc.y) ** 2
    cols = (np.arange(w, dtype=np.float32) - disc.x) ** 2
    r2 = rows[:, None] + cols[None, :]
    inner, outer = inner_dd * disc.diameter, outer_dd * disc.diameter
    return (r2 >= inner * inner) & (r2 < outer * outer)


def zone_mask(shape: tuple[int, int], disc: Disc, zone: str) -> np.ndarray:
    inner, outer = ZONES[zone]
    return ring(shape, disc, inner, outer)
