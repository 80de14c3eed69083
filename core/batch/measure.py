"""The biomarkers of a batch result as flat table columns (``--measure``).

Each measured biomarker of all vessels in the FOV becomes one column named with its unit
(``vessel_length_px``, ``bifurcation_angle_deg``; with a known scale also ``vessel_length_mm``);
those that could not be measured are listed with their reasons in ``biomarkers_missing``, never
given a number. Calibres (CRAE, CRVE, AVR) need artery/vein labels and the optic disc, which a
vessel mask alone does not give: they are not measured here. Definitions: docs/biomarkers.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.io.loaded import ImageMetadata

#: The biomarker groups a vessel mask alone supports.
GROUPS = ("density", "fractal", "tortuosity", "bifurcation")
_UNIT_SUFFIX = {"": "", "px": "_px", "1/px": "_per_px", "1/px²": "_per_px2", "°": "_deg", "µm": "_um",
                "mm": "_mm", "1/mm": "_per_mm", "1/mm²": "_per_mm2"}


@dataclass(frozen=True)
class BiomarkerColumns:
    """A picklable ``measure`` for :func:`core.batch.job.run_one`: the biomarkers of one result as columns.

    ``field_angle_deg``: the camera's field of view in degrees, which gives a scale (values in µm and mm
    too) when the file states no pixel spacing; None: pixel units only, unless a DICOM file states one.
    """

    field_angle_deg: float | None = None

    def __call__(self, vessel: np.ndarray, fov: np.ndarray, metadata: ImageMetadata) -> dict[str, Any]:
        from core.measure.biomarkers import BiomarkerInputError, compute_biomarkers

        dicom = metadata.dicom
        spacing = dicom.pixel_spacing_mm if dicom is not None else None
        try:
            report = compute_biomarkers(vessel, fov, pixel_spacing_mm=spacing, field_angle_deg=self.field_angle_deg,
                                        groups=GROUPS)
        except BiomarkerInputError as exc:
            return {"measured": True, "biomarkers_missing": f"all: {exc}"}
        row: dict[str, Any] = {"measured": True, "biomarker_scale": report.scale.short()}
        missing = []
        for entry in report.entries:
            if entry.vessels != "all" or entry.region != "fov":
                continue  # artery/vein figures need labels, which a vessel mask lacks
            if entry.missing:
                missing.append(f"{entry.name}: {entry.reason}")
                continue
            row[entry.name + _suffix(entry.unit)] = entry.value
            if entry.physical is not None and entry.physical_unit:
                row[entry.name + _suffix(entry.physical_unit)] = entry.physical
        row["biomarkers_missing"] = "; ".join(missing)
        return row


def _suffix(unit: str) -> str:
    return _UNIT_SUFFIX.get(unit, "_" + "".join(c if c.isalnum() else "_" for c in unit))
