"""Measurement zones around the optic disc, as distances from the disc's *margin* in disc diameters.

Zone A: 0–0.5 disc diameter (DD) from the margin, zone B: 0.5–1 DD, zone C: 0.5–2 DD (the
conventions of the Knudtson / IVAN vessel-calibre methods). For a disc of diameter D, whose margin
lies D/2 from the centre, zone B is therefore the ring of radii D to 1.5 D and zone C of radii
D to 2.5 D around the centre. Pure geometry: used by the GUI's rings and by the biomarkers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.measure.optic_disc.result import OpticDisc

#: Zone name -> (inner, outer) distance from the disc margin, in disc diameters.
ZONES = {"A": (0.0, 0.5), "B": (0.5, 1.0), "C": (0.5, 2.0)}


@dataclass(frozen=True)
class Annulus:
    """A ring around (x, y) between two radii in image pixels."""

    x: float
    y: float
    inner: float
    outer: float

    def contains(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """True where a point lies in the ring (inner radius included, outer excluded)."""
        d2 = (np.asarray(x, dtype=np.float64) - self.x) ** 2 + (np.asarray(y, dtype=np.float64) - self.y) ** 2
        return (d2 >= self.inner ** 2) & (d2 < self.outer ** 2)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """H×W bool mask of the ring, pixel centres at integer coordinates."""
        yy, xx = np.ogrid[: shape[0], : shape[1]]
        return self.contains(xx, yy)


def zone(disc: OpticDisc, name: str) -> Annulus:
    """Zone ``name`` ("A", "B" or "C") around ``disc`` as a ring of radii in image pixels."""
    try:
        near, far = ZONES[name.upper()]
    except KeyError:
        raise ValueError(f"unknown zone {name!r}; expected one of {', '.join(ZONES)}") from None
    return Annulus(disc.x, disc.y, disc.radius + near * disc.diameter, disc.radius + far * disc.diameter)


def zone_radii(disc: OpticDisc) -> dict[str, tuple[float, float]]:
    """Every zone's (inner, outer) radius in image pixels, e.g. for drawing the rings."""
    return {name: (z.inner, z.outer) for name in ZONES for z in [zone(disc, name)]}
