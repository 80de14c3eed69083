"""The biomarkers of one image as one flat table row with fixed, versioned columns.

:func:`biomarker_row` turns a :class:`BiomarkerReport` into a dict whose keys are always
:func:`biomarker_columns` in that order, whatever was measured, so rows of many images (``retinaseg
measure``, the app's CSV export) stack into one table. Per biomarker:

- its value in pixel units, named ``<name>[_<tree>|_<zone>]<unit>``: ``vessel_length_px``,
  ``average_width_artery_px``, ``crae_zone_b_px``, ``avr_zone_c`` (the tree is left out for all vessels
  and for the calibres, whose tree their name says; units as core.batch.measure names them);
- its physical value where it has one (``vessel_length_mm``, ``crae_zone_b_um``), empty without a scale;
- ``<name>[_<tree>|_<zone>]_missing``: why it was not measured, empty when it was.

and once per row the scale: ``scale_um_per_px`` and ``scale_source`` (scale.SOURCES). An empty cell is
never a number: a value is missing exactly when its ``_missing`` cell says why.

Changing a column's name, unit or order changes :data:`SCHEMA_VERSION` (tests pin the list).
"""

from __future__ import annotations

from typing import Any

from core.measure.biomarkers.results import BiomarkerReport, Measurement

#: Version of the column set below; stored in every ``retinaseg measure`` table.
SCHEMA_VERSION = 1

#: name -> (pixel unit, physical unit or None), for every biomarker of each tree in the FOV.
TREE_BIOMARKERS: dict[str, tuple[str, str | None]] = {
    "vessel_density": ("", None),
    "vessel_length": ("px", "mm"),
    "average_width": ("px", "µm"),
    "fractal_dimension_skeleton": ("", None),
    "fractal_dimension_mask": ("", None),
    "tortuosity_distance_factor": ("", None),
    "tortuosity_curvature": ("1/px²", "1/mm²"),
    "tortuosity_density": ("1/px", "1/mm"),
    "bifurcation_count": ("", None),
    "bifurcation_angle": ("°", None),
}
#: name -> (tree, pixel unit, physical unit or None), for each zone around the disc.
ZONE_BIOMARKERS: dict[str, tuple[str, str, str | None]] = {
    "crae": ("artery", "px", "µm"), "crve": ("vein", "px", "µm"), "avr": ("all", "", None),
    "crae_hubbard": ("artery", "px", "µm"), "crve_hubbard": ("vein", "px", "µm"), "avr_hubbard": ("all", "", None),
}
TREES = ("all", "artery", "vein")
ZONE_REGIONS = ("zone_b", "zone_c")
SCALE_COLUMNS = ("scale_um_per_px", "scale_source")

_UNIT_SUFFIX = {"": "", "px": "_px", "1/px": "_per_px", "1/px²": "_per_px2", "°": "_deg", "µm": "_um",
                "mm": "_mm", "1/mm": "_per_mm", "1/mm²": "_per_mm2"}


def column_stem(name: str, vessels: str = "all", region: str = "fov") -> str:
    """``name`` with its zone, or its tree where it is not all vessels: ``crae_zone_b``, ``average_width_vein``."""
    if region != "fov":
        return f"{name}_{region}"
    return name if vessels == "all" else f"{name}_{vessels}"


def unit_suffix(unit: str) -> str:
    """``_px``, ``_um``, ``_per_mm2`` ... ('' for a ratio or a count)."""
    return _UNIT_SUFFIX.get(unit, "_" + "".join(c if c.isalnum() else "_" for c in unit))


def _schema() -> list[tuple[tuple[str, str, str], str, str, str | None]]:
    """(key, stem, pixel unit, physical unit) of every biomarker, in column order."""
    rows = []
    for vessels in TREES:
        for name, (unit, physical) in TREE_BIOMARKERS.items():
            rows.append(((name, vessels, "fov"), column_stem(name, vessels), unit, physical))
    for region in ZONE_REGIONS:
        for name, (vessels, unit, physical) in ZONE_BIOMARKERS.items():
            rows.append(((name, vessels, region), column_stem(name, vessels, region), unit, physical))
    return rows


_SCHEMA = _schema()


def biomarker_columns() -> list[str]:
    """Every column of :func:`biomarker_row`, in order."""
    columns = list(SCALE_COLUMNS)
    for _, stem, unit, physical in _SCHEMA:
        columns.append(stem + unit_suffix(unit))
        if physical is not None:
            columns.append(stem + unit_suffix(physical))
        columns.append(stem + "_missing")
    return columns


def biomarker_row(report: BiomarkerReport | None, reason: str = "") -> dict[str, Any]:
    """One table row of ``report``: exactly :func:`biomarker_columns`, values as floats (counts as ints),
    "" where there is nothing. ``report`` None: every value empty and every ``_missing`` cell ``reason``
    (e.g. why the image could not be measured at all). A biomarker the report lacks (a group not
    computed) reads "not computed"."""
    row: dict[str, Any] = dict.fromkeys(biomarker_columns(), "")
    if report is None:
        for _, stem, _, _ in _SCHEMA:
            row[stem + "_missing"] = reason
        return row
    row["scale_um_per_px"] = report.scale.um_per_px if report.scale.um_per_px is not None else ""
    row["scale_source"] = report.scale.source
    for key, stem, unit, physical in _SCHEMA:
        entry = report.get(*key)
        if entry is None:
            row[stem + "_missing"] = "not computed"
        elif isinstance(entry, Measurement):
            value = entry.value
            row[stem + unit_suffix(unit)] = int(value) if key[0] == "bifurcation_count" else value
            if physical is not None and entry.physical is not None:
                row[stem + unit_suffix(physical)] = entry.physical
        else:
            row[stem + "_missing"] = entry.reason
    return row
