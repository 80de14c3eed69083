"""Typed biomarker results: a :class:`Measurement` with its unit and method, or a :class:`Missing` with a reason.

A number that cannot be measured is never -1 or NaN: it is a :class:`Missing` that says why
("CRAE: only 4 arteries cross zone B"). Every entry names what it describes:

- ``name``: a stable key (``vessel_density``, ``crae`` ...), used in files and tests;
- ``vessels``: ``all``, ``artery`` or ``vein``;
- ``region``: ``fov`` (the whole field of view), ``zone_b`` or ``zone_c`` (rings around the optic disc).

Values are kept in pixel units (``value`` / ``unit``); when the image scale is known the same value
in physical units is in ``physical`` / ``physical_unit`` and ``scale`` says where that scale came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.errors import RetinaSegError
from core.measure.biomarkers.scale import Scale

VESSEL_KINDS = ("all", "artery", "vein")


class BiomarkerInputError(RetinaSegError, ValueError):
    """The inputs of a biomarker computation do not fit together; the message says how."""


@dataclass(frozen=True)
class Measurement:
    name: str
    vessels: str
    region: str
    value: float
    unit: str  # pixel-based: "px", "1/px", "1/px²", "°", "" for ratios and counts
    method: str
    physical: float | None = None
    physical_unit: str | None = None
    scale: str = ""  # where the physical value's scale came from; "" when there is none
    note: str = ""  # context that qualifies the number (e.g. "from 6 of 9 arteries in zone B")

    @property
    def missing(self) -> bool:
        return False

    def text(self) -> str:
        """One line for people: ``crae (artery, zone_b): 11.2 px = 151 µm [disc diameter convention]``."""
        head = f"{self.name} ({self.vessels}, {self.region}): {_number(self.value)}{_unit(self.unit)}"
        if self.physical is not None:
            head += f" = {_number(self.physical)}{_unit(self.physical_unit or '')} ({self.scale})"
        return head + (f"; {self.note}" if self.note else "")


@dataclass(frozen=True)
class Missing:
    name: str
    vessels: str
    region: str
    reason: str
    method: str = ""

    @property
    def missing(self) -> bool:
        return True

    def text(self) -> str:
        return f"{self.name} ({self.vessels}, {self.region}): not measured, {self.reason}"


Entry = Measurement | Missing


@dataclass(frozen=True)
class BiomarkerReport:
    """Every biomarker of one image, the scale they used, what each stage cost (CPU seconds of the
    computing thread, so a busy machine does not inflate them), the skeleton they were measured on
    (keep it to recompute after a local edit) and the vessels each calibre summarised."""

    entries: tuple[Entry, ...]
    scale: Scale
    timings: dict[str, float] = field(default_factory=dict)
    skeleton: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: (name, region) of each measured calibre (``("crae", "zone_b")``) -> the vessels it was made of
    #: (calibre.CalibreVessel: width, circles, centreline in the zone; ZoneCalibre.used), to show them on the image
    calibre_vessels: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def get(self, name: str, vessels: str = "all", region: str = "fov") -> Entry | None:
        for e in self.entries:
            if (e.name, e.vessels, e.region) == (name, vessels, region):
                return e
        return None

    def value(self, name: str, vessels: str = "all", region: str = "fov") -> float | None:
        """The pixel-unit value, or None when the entry is missing or absent."""
        e = self.get(name, vessels, region)
        return e.value if isinstance(e, Measurement) else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for the sidecar): the scale and one record per entry."""
        rows = []
        for e in self.entries:
            row = asdict(e)
            row["status"] = "missing" if e.missing else "measured"
            rows.append(row)
        return {"scale": asdict(self.scale), "entries": rows}

    def lines(self) -> list[str]:
        return [f"scale: {self.scale.describe()}"] + [e.text() for e in self.entries]


def _number(v: float) -> str:
    if abs(v) >= 1000 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.4g}" if abs(v) >= 0.01 else f"{v:.3e}"


def _unit(unit: str) -> str:
    if not unit:
        return ""
    return unit if unit == "°" else f" {unit}"
