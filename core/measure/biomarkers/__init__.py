"""Retinal vessel biomarkers from plain arrays: density, length, width, fractal dimension, tortuosity,
branching, and the calibres CRAE, CRVE and AVR around the optic disc. Definitions: docs/biomarkers.md."""

from core.measure.biomarkers.compute import GROUPS, BiomarkerOptions, compute_biomarkers
from core.measure.biomarkers.results import BiomarkerInputError, BiomarkerReport, Measurement, Missing
from core.measure.biomarkers.scale import Scale, resolve_scale
from core.measure.biomarkers.table import SCHEMA_VERSION, biomarker_columns, biomarker_row
from core.measure.biomarkers.zones import Disc, DiscLike

__all__ = ["GROUPS", "SCHEMA_VERSION", "BiomarkerInputError", "BiomarkerOptions", "BiomarkerReport", "Disc",
           "DiscLike", "Measurement", "Missing", "Scale", "biomarker_columns", "biomarker_row", "compute_biomarkers",
           "resolve_scale"]
