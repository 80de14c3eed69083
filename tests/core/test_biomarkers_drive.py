"""Biomarkers of DRIVE's manual reference masks fall where published figures for such masks and
healthy eyes lie (training images only; skipped without $RETINASEG_DRIVE)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from core.io.datasets import find_drive, load_sample
from core.measure.biomarkers import Measurement, compute_biomarkers
from core.measure.biomarkers.scale import DISC_DIAMETER_UM, MICROMETRES_PER_DEGREE, fov_diameter_px

FIELD_ANGLE = 45.0  # DRIVE's Canon CR5


def stand_in_disc(image: np.ndarray, fov: np.ndarray) -> tuple[float, float, float]:
    """Until the optic disc finder lands: the brightest blurred spot inside the FOV, and the diameter
    an 1800 µm disc has under a 45° field (about 75 px on DRIVE)."""
    d = fov_diameter_px(fov)
    luminance = image.astype(np.float32).mean(axis=2)
    luminance[~ndi.binary_erosion(fov, iterations=int(d / 40))] = 0
    y, x = np.unravel_index(np.argmax(ndi.gaussian_filter(luminance, d / 40)), luminance.shape)
    return float(x), float(y), d * DISC_DIAMETER_UM / (FIELD_ANGLE * MICROMETRES_PER_DEGREE)


@pytest.fixture(scope="module")
def reports(drive_root) -> list:  # type: ignore[no-untyped-def]
    out = []
    for files in find_drive(drive_root, "training")[:6]:
        s = load_sample(files, "drive")
        assert s.av is not None, f"{files.name}: DRIVE's av/ labels are missing"
        out.append(compute_biomarkers(s.vessels, s.fov, s.av, stand_in_disc(s.image, s.fov),
                                      field_angle_deg=FIELD_ANGLE))
    return out


def _values(reports: list, name: str, vessels: str = "all", region: str = "fov") -> list[float]:
    return [r.value(name, vessels, region) for r in reports if r.value(name, vessels, region) is not None]


def test_drive_masks_have_published_magnitudes(reports: list) -> None:
    # vessel fraction of DRIVE's manual masks inside the FOV: about 12 %
    assert all(0.07 < v < 0.17 for v in _values(reports, "vessel_density"))
    # box-counting dimension of manual masks: about 1.4 (Huang et al. 2016 discuss the spread)
    assert all(1.3 < v < 1.6 for v in _values(reports, "fractal_dimension_mask"))
    assert all(1.15 < v < 1.5 for v in _values(reports, "fractal_dimension_skeleton"))
    # healthy retinal vessels are nearly straight between branch points
    assert all(1.0 < v < 1.1 for v in _values(reports, "tortuosity_distance_factor"))
    # retinal bifurcation angles average about 75° (Zamir et al. 1979)
    assert all(50 < v < 90 for v in _values(reports, "bifurcation_angle"))
    # arteries and veins share the tree: the two densities add up to the whole (crossings twice)
    for r in reports:
        both = r.value("vessel_density", "artery") + r.value("vessel_density", "vein")
        assert r.value("vessel_density") <= both < 1.2 * r.value("vessel_density")


def test_drive_calibres_are_those_of_healthy_eyes(reports: list) -> None:
    avr = _values(reports, "avr", "all", "zone_b")
    crae = _values(reports, "crae", "artery", "zone_b")
    assert len(avr) >= 3, "zone B calibres should be measurable on most DRIVE training images"
    assert all(0.5 < v < 0.9 for v in avr)  # healthy adults: about 0.6–0.8
    # in px, arteries of 5–9 px at DRIVE's ~24 µm/px; every missing one says why
    assert all(4 < v < 10 for v in crae)
    for r in reports:
        for e in r:
            assert isinstance(e, Measurement) or e.reason
