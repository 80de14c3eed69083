"""The optic disc: find it in a fundus photograph, describe it, and the measurement zones around it.

>>> disc = find_optic_disc(image)          # OpticDisc(x, y, diameter, score, method) or DiscNotFound
>>> zone(disc, "B").mask(image.shape[:2])  # ring 0.5–1 disc diameter from the disc margin
"""

from core.measure.optic_disc.detector import find_optic_disc
from core.measure.optic_disc.result import METHODS, DiscNotFound, OpticDisc
from core.measure.optic_disc.zones import ZONES, Annulus, zone, zone_radii

__all__ = ["METHODS", "ZONES", "Annulus", "DiscNotFound", "OpticDisc", "find_optic_disc", "zone", "zone_radii"]
