"""The biomarker table's columns: fixed names in a fixed order (outside tools read them by name), and one row
per report that holds every measured value in its column and every reason in its ``_missing`` column."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.batch.measure_image import table_columns
from core.measure.biomarkers import Measurement, biomarker_columns, biomarker_row, compute_biomarkers
from core.measure.biomarkers.table import SCHEMA_VERSION, column_stem, unit_suffix
from tests.core.test_biomarkers import radial_vessels

#: The table of schema version 1. A change here is a change of the file format: bump SCHEMA_VERSION with it.
VERSION_1 = """
    schema_version program_version image status error vessel_mask vessel_model vessel_model_sha256 av_labels
    av_model av_model_sha256 av_missing disc_x disc_y disc_diameter_px disc_score disc_missing fov_diameter_px
    scale_um_per_px scale_source vessel_density vessel_density_missing vessel_length_px vessel_length_mm
    vessel_length_missing average_width_px average_width_um average_width_missing fractal_dimension_skeleton
    fractal_dimension_skeleton_missing fractal_dimension_mask fractal_dimension_mask_missing
    tortuosity_distance_factor tortuosity_distance_factor_missing tortuosity_curvature_per_px2
    tortuosity_curvature_per_mm2 tortuosity_curvature_missing tortuosity_density_per_px
    tortuosity_density_per_mm tortuosity_density_missing bifurcation_count bifurcation_count_missing
    bifurcation_angle_deg bifurcation_angle_missing vessel_density_artery vessel_density_artery_missing
    vessel_length_artery_px vessel_length_artery_mm vessel_length_artery_missing average_width_artery_px
    average_width_artery_um average_width_artery_missing fractal_dimension_skeleton_artery
    fractal_dimension_skeleton_artery_missing fractal_dimension_mask_artery
    fractal_dimension_mask_artery_missing tortuosity_distance_factor_artery
    tortuosity_distance_factor_artery_missing tortuosity_curvature_artery_per_px2
    tortuosity_curvature_artery_per_mm2 tortuosity_curvature_artery_missing tortuosity_density_artery_per_px
    tortuosity_density_artery_per_mm tortuosity_density_artery_missing bifurcation_count_artery
    bifurcation_count_artery_missing bifurcation_angle_artery_deg bifurcation_angle_artery_missing
    vessel_density_vein vessel_density_vein_missing vessel_length_vein_px vessel_length_vein_mm
    vessel_length_vein_missing average_width_vein_px average_width_vein_um average_width_vein_missing
    fractal_dimension_skeleton_vein fractal_dimension_skeleton_vein_missing fractal_dimension_mask_vein
    fractal_dimension_mask_vein_missing tortuosity_distance_factor_vein tortuosity_distance_factor_vein_missing
    tortuosity_curvature_vein_per_px2 tortuosity_curvature_vein_per_mm2 tortuosity_curvature_vein_missing
    tortuosity_density_vein_per_px tortuosity_density_vein_per_mm tortuosity_density_vein_missing
    bifurcation_count_vein bifurcation_count_vein_missing bifurcation_angle_vein_deg
    bifurcation_angle_vein_missing crae_zone_b_px crae_zone_b_um crae_zone_b_missing crve_zone_b_px
    crve_zone_b_um crve_zone_b_missing avr_zone_b avr_zone_b_missing crae_hubbard_zone_b_px
    crae_hubbard_zone_b_um crae_hubbard_zone_b_missing crve_hubbard_zone_b_px crve_hubbard_zone_b_um
    crve_hubbard_zone_b_missing avr_hubbard_zone_b avr_hubbard_zone_b_missing crae_zone_c_px crae_zone_c_um
    crae_zone_c_missing crve_zone_c_px crve_zone_c_um crve_zone_c_missing avr_zone_c avr_zone_c_missing
    crae_hubbard_zone_c_px crae_hubbard_zone_c_um crae_hubbard_zone_c_missing crve_hubbard_zone_c_px
    crve_hubbard_zone_c_um crve_hubbard_zone_c_missing avr_hubbard_zone_c avr_hubbard_zone_c_missing
""".split()


def test_the_columns_of_schema_version_1_never_change() -> None:
    assert SCHEMA_VERSION == 1
    assert table_columns() == VERSION_1
    assert len(set(VERSION_1)) == len(VERSION_1)


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    mask, labels = radial_vessels([9, 8, 7, 6, 5, 4], [12, 11, 10, 9, 8, 7])
    return compute_biomarkers(mask, labels=labels, disc=(320.0, 320.0, 60.0))


def test_every_entry_of_a_report_has_its_columns(report) -> None:  # type: ignore[no-untyped-def]
    row = biomarker_row(report)
    assert list(row) == biomarker_columns()
    for e in report:
        stem = column_stem(e.name, e.vessels, e.region)
        if isinstance(e, Measurement):
            assert row[stem + unit_suffix(e.unit)] == pytest.approx(e.value), e.name
            if e.physical is not None:
                assert row[stem + unit_suffix(e.physical_unit or "")] == pytest.approx(e.physical), e.name
            assert row[stem + "_missing"] == ""
        else:
            assert row[stem + "_missing"] == e.reason
    assert row["scale_source"] == "disc_convention" and row["scale_um_per_px"] == pytest.approx(30.0)
    assert row["crae_zone_b_um"] == pytest.approx(report.get("crae", "artery", "zone_b").physical)
    assert isinstance(row["bifurcation_count"], int)
    # per biomarker: its pixel value is a finite number and its reason empty, or the value empty and the reason said
    group: list[str] = []
    for column in biomarker_columns()[2:]:
        if not column.endswith("_missing"):
            group.append(column)
            continue
        first = row[group[0]]
        if row[column]:
            assert all(row[c] == "" for c in group), column
        else:
            assert isinstance(first, int | float) and math.isfinite(first), column
        group = []


def test_what_was_not_computed_or_not_measured_says_so() -> None:
    mask = np.zeros((64, 64), bool)
    mask[30:34, 5:60] = True
    row = biomarker_row(compute_biomarkers(mask, groups=["density"]))
    assert row["vessel_density"] == pytest.approx(mask.mean())
    assert row["fractal_dimension_mask_missing"] == "not computed"
    assert row["vessel_density_artery_missing"] == "no artery/vein labels"
    assert row["scale_um_per_px"] == "" and row["scale_source"] == "none" and row["vessel_length_mm"] == ""
    empty = biomarker_row(None, "the image could not be read")
    assert all(v == "" for k, v in empty.items() if not k.endswith("_missing"))
    assert {v for k, v in empty.items() if k.endswith("_missing")} == {"the image could not be read"}
