"""Biomarkers on synthetic vessels whose answers are known by construction or by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from skimage.draw import circle_perimeter, disk

from core.measure.biomarkers import (
    BiomarkerInputError,
    Disc,
    Measurement,
    Missing,
    compute_biomarkers,
    resolve_scale,
)
from core.measure.biomarkers.bifurcation import bifurcations
from core.measure.biomarkers.calibre import HUBBARD_VENULE, PARR_ARTERIOLE, knudtson, parr_hubbard
from core.measure.biomarkers.fractal import box_counting_dimension, fit_sizes
from core.measure.biomarkers.skeleton import (
    END,
    JUNCTION,
    build_graph,
    half_width,
    skeleton_of,
    smooth_path,
    update_skeleton,
)
from core.measure.biomarkers.tortuosity import segment_tortuosity

# ---------------------------------------------------------------- drawing helpers


def band(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], width: float,
         value: int | bool = True) -> None:
    """Draw a straight vessel exactly ``width`` px wide from ``start`` to ``end`` ((row, col) of its
    centreline): the pixels whose centre lies at −w/2 ≤ d < w/2 across it (half-open, so a horizontal
    vessel 4 px wide covers 4 rows, not 5)."""
    (r0, c0), (r1, c1) = start, end
    length = math.hypot(r1 - r0, c1 - c0)
    ur, uc = (r1 - r0) / length, (c1 - c0) / length
    pad = width / 2 + 1
    top, bottom = max(int(min(r0, r1) - pad), 0), min(int(max(r0, r1) + pad) + 1, mask.shape[0])
    left, right = max(int(min(c0, c1) - pad), 0), min(int(max(c0, c1) + pad) + 1, mask.shape[1])
    rows, cols = np.mgrid[top:bottom, left:right]
    along = (rows - r0) * ur + (cols - c0) * uc
    across = (rows - r0) * -uc + (cols - c0) * ur
    inside = (along >= 0) & (along < length) & (across >= -width / 2) & (across < width / 2)
    mask[top:bottom, left:right][inside] = value


def pixel_chain(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A densely sampled curve as the skeleton would trace it: rounded to pixels, thinned to one
    8-connected pixel chain, ordered from one end."""
    mask = np.zeros((int(rows.max()) + 3, int(cols.max()) + 3), bool)
    mask[np.rint(rows).astype(int), np.rint(cols).astype(int)] = True
    segments = build_graph(skeleton_of(mask)).segments
    assert len(segments) == 1
    return segments[0].points


def arc_chain(radius: float, angle: float, sign: float = 1.0, start: tuple[float, float] = (0.0, 0.0),
              heading: float = 0.0) -> np.ndarray:
    """A circular arc of ``radius`` turning by ``angle`` radians (left for sign > 0), as float points."""
    t = np.linspace(0.0, angle, max(int(radius * angle * 5), 10))
    # parametrise: start at origin heading along +col, centre to the left (row -radius * sign)
    rows = start[0] - sign * radius * (1 - np.cos(t))
    cols = start[1] + radius * np.sin(t)
    c, s = math.cos(heading), math.sin(heading)
    dr, dc = rows - start[0], cols - start[1]
    return np.stack([start[0] + c * dr + s * dc, start[1] - s * dr + c * dc], axis=1)


# ---------------------------------------------------------------- tortuosity


SIGMA, INFLECTION = 4.0, 0.02  # the defaults at DRIVE's scale


@pytest.mark.parametrize("angle_deg", [0, 3, 5, 17, 45, 63])
def test_a_straight_line_has_distance_factor_one_and_no_curvature(angle_deg: float) -> None:
    a = math.radians(angle_deg)
    t = np.linspace(0, 300, 3000)
    chain = pixel_chain(10 + t * math.sin(a), 10 + t * math.cos(a))
    result = segment_tortuosity(chain, SIGMA, INFLECTION)
    assert result.distance_factor == pytest.approx(1.0, abs=2e-3)
    # pixel steps leave a little: at most 1.5e-4 (near-axis lines are worst), where a circle of
    # radius 50 px has 4e-4 and DRIVE's manual vessels about 1e-3
    assert result.curvature < 1.5e-4
    assert result.density == 0.0


@pytest.mark.parametrize("radius, angle_deg", [(60, 90), (120, 60), (40, 150), (25, 270)])
def test_a_circle_arc_has_its_analytic_tortuosity(radius: float, angle_deg: float) -> None:
    theta = math.radians(angle_deg)
    points = arc_chain(radius, theta, start=(200.0, 50.0))
    chain = pixel_chain(points[:, 0], points[:, 1])
    result = segment_tortuosity(chain, SIGMA, INFLECTION)
    # arc / chord = Rθ / (2R sin(θ/2)); ∫κ² ds / L = 1/R²; one arc of one curvature sign: density 0.
    # Smoothing shortens a tight arc a little (−1.4 % at R = 25 px) and fades the curvature over σ at
    # each end.
    assert result.distance_factor == pytest.approx(theta / (2 * math.sin(theta / 2)), rel=0.02)
    assert result.curvature == pytest.approx(1 / radius**2, rel=0.15)
    assert result.density == pytest.approx(0.0, abs=1e-9)


def test_tortuosity_density_counts_the_turns_of_an_s_curve() -> None:
    radius, theta = 40.0, math.radians(90)  # curvature 1/40 px, above the inflection threshold
    first = arc_chain(radius, theta, sign=1.0, start=(300.0, 50.0))
    end_heading = -theta  # the first arc turned left by θ; the second turns back right
    second = arc_chain(radius, theta, sign=-1.0, start=tuple(first[-1]), heading=end_heading)
    curve = np.concatenate([first, second[1:]])
    chain = pixel_chain(curve[:, 0], curve[:, 1])
    result = segment_tortuosity(chain, SIGMA, INFLECTION)
    # two arcs (n = 2), each with arc/chord = θ / (2 sin(θ/2)); TD = (n-1)/n · (1/L) · Σ(Lᵢ/Cᵢ − 1)
    per_arc = theta / (2 * math.sin(theta / 2)) - 1
    expected = 0.5 * (2 * per_arc) / (2 * radius * theta)
    assert result.density == pytest.approx(expected, rel=0.1)


def test_a_more_tortuous_vessel_scores_higher_on_every_measure() -> None:
    x = np.linspace(0, 400, 4000)
    gentle = segment_tortuosity(pixel_chain(200 + 8 * np.sin(x / 15), x), SIGMA, INFLECTION)
    wild = segment_tortuosity(pixel_chain(200 + 15 * np.sin(x / 10), x), SIGMA, INFLECTION)
    assert 1.0 < gentle.distance_factor < wild.distance_factor
    assert 0 < gentle.curvature < wild.curvature
    assert 0 < gentle.density < wild.density


def test_smoothing_keeps_the_ends_and_straight_lines() -> None:
    chain = pixel_chain(np.linspace(0, 30, 300), np.linspace(0, 80, 300))
    smooth = smooth_path(chain, SIGMA)
    np.testing.assert_allclose(smooth[[0, -1]], chain[[0, -1]])
    # every smoothed point lies on the true line r = 30/80·c within a fraction of a pixel
    assert np.abs(smooth[:, 0] - smooth[:, 1] * 30 / 80).max() < 0.3


# ---------------------------------------------------------------- skeleton graph


def test_a_t_junction_has_one_branch_point_and_three_segments() -> None:
    mask = np.zeros((120, 160), bool)
    band(mask, (30, 10), (30, 150), 5)
    band(mask, (30, 80), (110, 80), 5)
    skeleton = skeleton_of(mask)
    graph = build_graph(skeleton, half_width(mask))
    kinds = sorted(n.kind for n in graph.nodes)
    assert kinds.count(JUNCTION) == 1 and kinds.count(END) == 3
    assert len(graph.segments) == 3
    assert all(len(graph.nodes[j].segments) == 3 for j in graph.junctions())


def test_a_bump_on_the_vessel_border_is_pruned_as_a_spur() -> None:
    mask = np.zeros((80, 200), bool)
    band(mask, (40, 10), (40, 190), 9)
    rr, cc = disk((35, 100), 7)  # a bulge on the upper border
    mask[rr, cc] = True
    graph = build_graph(skeleton_of(mask), half_width(mask))
    assert graph.junctions() == []
    assert len(graph.segments) == 1


def test_a_staircase_is_a_path_not_a_chain_of_branch_points() -> None:
    skeleton = np.zeros((20, 20), bool)
    for i in range(8):  # an L-shaped step at every pixel: (i, i), (i, i+1)
        skeleton[i, i] = skeleton[i, i + 1] = True
    graph = build_graph(skeleton)
    assert graph.junctions() == []
    assert len(graph.segments) == 1


def test_a_closed_loop_is_one_segment() -> None:
    skeleton = np.zeros((40, 40), bool)
    skeleton[circle_perimeter(20, 20, 12)] = True
    graph = build_graph(skeleton)
    assert len(graph.segments) == 1
    assert graph.junctions() == []
    assert graph.segments[0].chord < 3  # both ends meet where the loop was cut


def test_a_local_skeleton_update_equals_thinning_the_whole_mask() -> None:
    rng = np.random.default_rng(3)
    mask = np.zeros((200, 260), bool)
    for _ in range(12):
        band(mask, tuple(rng.uniform(5, 195, 2) * [1, 1.3]), tuple(rng.uniform(5, 195, 2) * [1, 1.3]),
             rng.uniform(2, 9))
    skeleton = skeleton_of(mask)
    for _ in range(20):
        r, c, radius = int(rng.integers(0, 200)), int(rng.integers(0, 260)), int(rng.integers(2, 10))
        rr, cc = disk((r, c), radius, shape=mask.shape)
        mask[rr, cc] = bool(rng.random() < 0.5)
        box = slice(max(r - radius, 0), r + radius + 1), slice(max(c - radius, 0), c + radius + 1)
        skeleton = update_skeleton(skeleton, mask, *box)
        np.testing.assert_array_equal(skeleton, skeleton_of(mask))


# ---------------------------------------------------------------- widths and calibres


@pytest.mark.parametrize("width", [3, 4, 5, 6, 9])
@pytest.mark.parametrize("angle_deg", [0, 30, 45, 80])
def test_a_vessel_of_known_width_measures_that_width(width: int, angle_deg: float) -> None:
    a = math.radians(angle_deg)
    mask = np.zeros((400, 400), bool)
    start = (200 - 150 * math.sin(a), 200 - 150 * math.cos(a))
    end = (200 + 150 * math.sin(a), 200 + 150 * math.cos(a))
    band(mask, start, end, width)
    labels = mask.astype(np.uint8)  # all artery
    # a disc far up-left so that zone C (1–2.5 DD) covers the middle of the vessel
    report = compute_biomarkers(mask, labels=labels, disc=(200 - 80 * math.cos(a + 1.2), 200 - 80 *
                                                           math.sin(a + 1.2), 50.0))
    assert report.value("average_width") == pytest.approx(width, abs=1.0)
    profile = _zone_widths(mask, labels, Disc(200 - 80 * math.cos(a + 1.2), 200 - 80 * math.sin(a + 1.2), 50.0))
    assert profile and all(abs(w - width) <= 1.0 for w in profile)


def _zone_widths(mask: np.ndarray, labels: np.ndarray, disc: Disc) -> list[float]:
    from core.measure.biomarkers.calibre import tree_widths
    from core.measure.biomarkers.skeleton import smooth_paths

    radius = half_width(mask)
    graph = build_graph(skeleton_of(mask), radius)
    widths = tree_widths(graph, smooth_paths([s.points for s in graph.segments], 2.0), mask, radius, disc)
    return [float(np.nanmedian(w)) for w in widths if w is not None and np.isfinite(w).any()]


def test_knudtson_pairing_matches_a_worked_example() -> None:
    # By hand, arterioles 20, 18, 16, 14, 12, 10 (k = 0.88):
    #   round 1: 0.88·√(20²+10²) = 19.6774, 0.88·√(18²+12²) = 19.0373, 0.88·√(16²+14²) = 18.7091
    #   round 2: 0.88·√(19.6774²+18.7091²) = 23.8937, 19.0373 carried over
    #   round 3: 0.88·√(23.8937²+19.0373²) = 26.8844
    assert knudtson([20, 18, 16, 14, 12, 10], 0.88) == pytest.approx(26.8844, abs=1e-3)
    # only the six widest count, in any order
    assert knudtson([10, 30, 12, 14, 5, 16, 18, 20], 0.88) == pytest.approx(knudtson([30, 20, 18, 16, 14, 12], 0.88))
    # five venules 10, 8, 6, 4, 2 (k = 0.95): 0.95·√(10²+2²) = 9.6882, 0.95·√(8²+4²) = 8.4971, 6 carried;
    #   then 0.95·√(9.6882²+6²) = 10.8260, 8.4971 carried; then 0.95·√(10.8260²+8.4971²) = 13.0741
    assert knudtson([10, 8, 6, 4, 2], 0.95) == pytest.approx(13.0741, abs=1e-3)


SIX_AND_SIX = ([9, 8, 7, 6, 5, 4], [12, 11, 10, 9, 8, 7])


@pytest.fixture(scope="module")
def six_and_six() -> tuple[np.ndarray, np.ndarray, object]:
    """Six arteries and six veins around a disc at (320, 320), 60 px across, and their report."""
    mask, labels = radial_vessels(*SIX_AND_SIX)
    return mask, labels, compute_biomarkers(mask, labels=labels, disc=(320.0, 320.0, 60.0))


def radial_vessels(artery_widths: list[float], vein_widths: list[float], size: int = 640,
                   disc: tuple[float, float, float] = (320.0, 320.0, 60.0)) -> tuple[np.ndarray, np.ndarray]:
    """Straight vessels leaving the disc like spokes, arteries and veins alternating, with their labels."""
    cx, cy, dd = disc
    mask = np.zeros((size, size), bool)
    labels = np.zeros((size, size), np.uint8)
    spokes = [(1, w) for w in artery_widths] + [(2, w) for w in vein_widths]
    order = sorted(range(len(spokes)), key=lambda i: (i % max(len(artery_widths), 1), i))
    for slot, i in enumerate(order):
        kind, width = spokes[i]
        a = 2 * math.pi * slot / len(spokes)
        inner, outer = 0.7 * dd, 4.5 * dd
        start = (cy + inner * math.sin(a), cx + inner * math.cos(a))
        end = (cy + outer * math.sin(a), cx + outer * math.cos(a))
        band(mask, start, end, width)
        band(labels, start, end, width, kind)
    return mask, labels


def test_crae_crve_and_avr_from_six_arteries_and_six_veins(six_and_six) -> None:  # type: ignore[no-untyped-def]
    arteries, veins = SIX_AND_SIX
    report = six_and_six[2]
    crae, crve = knudtson(arteries, 0.88), knudtson(veins, 0.95)
    assert report.value("crae", "artery", "zone_b") == pytest.approx(crae, rel=0.05)
    assert report.value("crve", "vein", "zone_b") == pytest.approx(crve, rel=0.05)
    assert report.value("avr", "all", "zone_b") == pytest.approx(crae / crve, rel=0.06)
    assert report.value("crae", "artery", "zone_c") == pytest.approx(crae, rel=0.05)


def test_parr_hubbard_pairs_widest_with_narrowest_by_the_aric_formulas() -> None:
    # hand-worked: √(0.87·100² + 1.01·120² − 0.22·100·120 − 10.76) and √(0.72·150² + 0.91·200² + 450.05)
    assert parr_hubbard([120, 100], PARR_ARTERIOLE) == pytest.approx(143.5034, abs=1e-3)
    assert parr_hubbard([150, 200], HUBBARD_VENULE) == pytest.approx(230.3260, abs=1e-3)
    # three vessels: 130 with 100 gives 151.32, then 120 (the narrower) with that gives 177.90
    assert parr_hubbard([100, 120, 130], PARR_ARTERIOLE) == pytest.approx(177.9033, abs=1e-3)
    assert parr_hubbard([87.0], HUBBARD_VENULE) == 87.0


def test_parr_hubbard_calibres_beside_knudtson(six_and_six) -> None:  # type: ignore[no-untyped-def]
    arteries, veins = SIX_AND_SIX
    report = six_and_six[2]
    um = report.scale.um_per_px  # the disc convention: 1800 µm over 60 px
    assert um == pytest.approx(30.0)
    crae = report.get("crae_hubbard", "artery", "zone_b")
    crve = report.get("crve_hubbard", "vein", "zone_b")
    assert isinstance(crae, Measurement) and isinstance(crve, Measurement)
    assert crae.physical == pytest.approx(parr_hubbard([w * um for w in arteries], PARR_ARTERIOLE), rel=0.05)
    assert crve.physical == pytest.approx(parr_hubbard([w * um for w in veins], HUBBARD_VENULE), rel=0.05)
    assert crae.value == pytest.approx(crae.physical / um)
    assert "Hubbard et al. 1999" in crae.method
    assert report.value("avr_hubbard", "all", "zone_b") == pytest.approx(crae.value / crve.value)
    # too few arteries: missing for Knudtson's reason, and so is the AVR
    mask, labels = radial_vessels([9, 8, 7, 6], [12, 11, 10, 9, 8, 7])
    few = compute_biomarkers(mask, labels=labels, disc=(320.0, 320.0, 60.0), groups=["calibre"])
    assert few.get("crae_hubbard", "artery", "zone_b").reason == "only 4 arteries cross zone B (needs 6)"
    assert isinstance(few.get("crve_hubbard", "vein", "zone_b"), Measurement)
    assert few.get("avr_hubbard", "all", "zone_b").reason == "CRAE (Parr–Hubbard) not measured"
    assert compute_biomarkers(mask, disc=(320.0, 320.0, 60.0)).get("crve_hubbard", "vein",
                                                                    "zone_c").reason == "no artery/vein labels"


def test_too_few_arteries_in_zone_b_is_missing_with_the_count() -> None:
    mask, labels = radial_vessels([9, 8, 7, 6], [12, 11, 10, 9, 8, 7])
    report = compute_biomarkers(mask, labels=labels, disc=(320.0, 320.0, 60.0))
    crae = report.get("crae", "artery", "zone_b")
    assert isinstance(crae, Missing)
    assert crae.reason == "only 4 arteries cross zone B (needs 6)"
    assert isinstance(report.get("crve", "vein", "zone_b"), Measurement)
    avr = report.get("avr", "all", "zone_b")
    assert isinstance(avr, Missing) and "CRAE" in avr.reason


def test_a_zone_outside_the_fov_is_missing_not_guessed(six_and_six) -> None:  # type: ignore[no-untyped-def]
    mask, labels, _ = six_and_six
    fov = np.zeros(mask.shape, bool)
    rr, cc = disk((320, 600), 300, shape=mask.shape)  # the disc sits at the FOV's left edge
    fov[rr, cc] = True
    report = compute_biomarkers(mask, fov, labels, disc=(320.0, 320.0, 60.0), groups=["calibre"])
    crae = report.get("crae", "artery", "zone_c")
    assert isinstance(crae, Missing) and crae.reason.startswith("zone C leaves the FOV (only ")


def test_without_labels_or_disc_the_reasons_say_so(six_and_six) -> None:  # type: ignore[no-untyped-def]
    mask, labels, _ = six_and_six
    no_labels = compute_biomarkers(mask, disc=(320.0, 320.0, 60.0))
    assert no_labels.get("crae", "artery", "zone_b").reason == "no artery/vein labels"
    assert no_labels.get("tortuosity_curvature", "vein").reason == "no artery/vein labels"
    no_disc = compute_biomarkers(mask, labels=labels)
    assert no_disc.get("crve", "vein", "zone_b").reason == "no optic disc"
    assert isinstance(no_disc.get("vessel_density", "artery"), Measurement)


def test_a_disc_object_with_x_y_diameter_is_accepted(six_and_six) -> None:  # type: ignore[no-untyped-def]
    class OpticDisc:  # what the disc finder returns: only these three attributes matter
        def __init__(self) -> None:
            self.x, self.y, self.diameter, self.confidence = 320.0, 320.0, 60.0, 0.9

    mask, labels, by_tuple = six_and_six
    by_object = compute_biomarkers(mask, labels=labels, disc=OpticDisc(), groups=["calibre"])
    assert by_object.value("crae", "artery", "zone_b") == by_tuple.value("crae", "artery", "zone_b")


# ---------------------------------------------------------------- bifurcations


def test_a_symmetric_y_has_its_bifurcation_angle() -> None:
    mask = np.zeros((400, 400), bool)
    junction = (220.0, 200.0)
    band(mask, (390.0, 200.0), junction, 6)
    for side in (-1, 1):  # daughters 40° either side of the parent's direction: 80° between them
        a = math.radians(40) * side
        band(mask, junction, (junction[0] - 170 * math.cos(a), junction[1] + 170 * math.sin(a)), 5)
    radius = half_width(mask)
    graph = build_graph(skeleton_of(mask), radius)
    found = bifurcations(graph, radius, min_reach=6.0)
    assert found.count == 1
    assert found.angles[0] == pytest.approx(80.0, abs=5.0)


# ---------------------------------------------------------------- fractal dimension


def test_box_counting_gives_two_for_a_filled_square_and_one_for_a_line() -> None:
    sizes = [2, 4, 8, 16, 32, 64]
    square = np.zeros((512, 512), bool)
    square[:256, :256] = True
    assert box_counting_dimension(square, sizes) == pytest.approx(2.0, abs=0.01)
    line = np.zeros((512, 512), bool)
    line[100, :] = True
    assert box_counting_dimension(line, sizes) == pytest.approx(1.0, abs=0.01)
    diagonal = np.eye(512, dtype=bool)
    assert box_counting_dimension(diagonal, sizes) == pytest.approx(1.0, abs=0.05)
    assert box_counting_dimension(np.zeros((512, 512), bool), sizes) is None


def test_the_fit_range_scales_with_the_fov() -> None:
    assert fit_sizes(540) == [4, 8, 16, 32, 64]  # 540/256 = 2.1 … 540/8 = 67.5
    assert fit_sizes(3300) == [16, 32, 64, 128, 256]
    with pytest.raises(ValueError, match="powers of two"):
        box_counting_dimension(np.ones((8, 8), bool), [2, 3, 4])


# ---------------------------------------------------------------- scale and units


def test_the_scale_comes_from_metadata_then_field_angle_then_disc() -> None:
    both = resolve_scale(pixel_spacing_mm=(0.005, 0.005), field_angle_deg=45, fov_diameter=3300,
                         disc_diameter_px=450)
    assert (both.source, both.um_per_px) == ("metadata", pytest.approx(5.0))
    angle = resolve_scale(field_angle_deg=45, fov_diameter=3240, disc_diameter_px=450)
    assert (angle.source, angle.um_per_px) == ("field_angle", pytest.approx(45 * 288 / 3240))
    disc = resolve_scale(disc_diameter_px=90)
    assert (disc.source, disc.um_per_px) == ("disc_convention", pytest.approx(20.0))
    assert resolve_scale().um_per_px is None


def test_every_length_carries_its_micrometres_and_their_source(six_and_six) -> None:  # type: ignore[no-untyped-def]
    mask, labels, report = six_and_six  # disc convention: 1800 µm / 60 px = 30 µm/px
    crae = report.get("crae", "artery", "zone_b")
    assert crae.physical == pytest.approx(crae.value * 30.0) and crae.physical_unit == "µm"
    assert "disc diameter taken as 1800 µm" in crae.scale
    length = report.get("vessel_length")
    assert length.physical == pytest.approx(length.value * 30.0 / 1000) and length.physical_unit == "mm"
    curvature = report.get("tortuosity_curvature")
    assert curvature.physical == pytest.approx(curvature.value / 30.0**2 * 1e6)
    assert report.get("avr", "all", "zone_b").physical is None  # a ratio has no unit
    unscaled = compute_biomarkers(mask, labels=labels, groups=["density", "tortuosity"])
    assert unscaled.scale.source == "none"
    assert all(e.physical is None for e in unscaled if isinstance(e, Measurement))


# ---------------------------------------------------------------- whole reports and bad input


def test_an_empty_mask_gives_zeros_and_reasons_never_nan() -> None:
    report = compute_biomarkers(np.zeros((100, 120), bool), labels=np.zeros((100, 120), np.uint8),
                                disc=(60.0, 50.0, 20.0))
    assert report.value("vessel_density") == 0.0
    assert report.get("average_width").reason == "no vessel in the FOV"
    assert isinstance(report.get("fractal_dimension_skeleton"), Missing)
    for e in report:
        if isinstance(e, Measurement):
            assert math.isfinite(e.value), e
        else:
            assert e.reason, e
    json.dumps(report.to_dict())  # ready for the sidecar


def test_the_report_lists_every_biomarker_for_every_tree(six_and_six) -> None:  # type: ignore[no-untyped-def]
    report = six_and_six[2]
    names = {"vessel_density", "vessel_length", "average_width", "fractal_dimension_skeleton",
             "fractal_dimension_mask", "tortuosity_distance_factor", "tortuosity_curvature", "tortuosity_density",
             "bifurcation_count", "bifurcation_angle"}
    for kind in ("all", "artery", "vein"):
        assert {e.name for e in report if e.vessels == kind and e.region == "fov"} == names
    assert {(e.name, e.region) for e in report if e.region != "fov"} == {
        (n, z) for n in ("crae", "crve", "avr", "crae_hubbard", "crve_hubbard", "avr_hubbard")
        for z in ("zone_b", "zone_c")}
    assert report.value("vessel_density", "artery") + report.value("vessel_density", "vein") == pytest.approx(
        report.value("vessel_density"))
    assert all(line for line in report.lines())


def test_groups_compute_only_what_is_asked(six_and_six) -> None:  # type: ignore[no-untyped-def]
    mask, labels, _ = six_and_six
    report = compute_biomarkers(mask, labels=labels, groups=["density"])
    assert {e.name for e in report} == {"vessel_density", "vessel_length", "average_width"}
    again = compute_biomarkers(mask, labels=labels, groups=["density"], skeleton=report.skeleton)
    assert again.value("vessel_length", "vein") == report.value("vessel_length", "vein")


@pytest.mark.parametrize("call, message", [
    (lambda m: compute_biomarkers(m.astype(np.float32)), "threshold the probability map first"),
    (lambda m: compute_biomarkers(m, fov=np.ones((10, 10), bool)), "FOV mask is 10×10 px but the vessel mask 60×50"),
    (lambda m: compute_biomarkers(m, fov=np.zeros(m.shape, bool)), "the FOV mask is empty"),
    (lambda m: compute_biomarkers(m, labels=np.zeros((3, 3), np.uint8)), "the artery/vein labels are"),
    (lambda m: compute_biomarkers(m, disc=(10.0, 10.0)), "an optic disc is (cx, cy, diameter_px)"),
    (lambda m: compute_biomarkers(m, disc=(10.0, 10.0, -5.0)), "a positive diameter"),
    (lambda m: compute_biomarkers(m, disc=object()), "needs x, y and diameter"),
    (lambda m: compute_biomarkers(m, groups=["colour"]), "unknown biomarker groups"),
])
def test_bad_input_gets_one_clear_line(call, message: str) -> None:
    with pytest.raises(BiomarkerInputError) as caught:
        call(np.zeros((50, 60), bool))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_zone_b_is_the_ring_one_to_one_and_a_half_disc_diameters_from_the_centre() -> None:
    from core.measure.biomarkers.calibre import zone_inside_fov
    from core.measure.biomarkers.zones import zone_mask

    disc = Disc(200.0, 150.0, 40.0)
    ring = zone_mask((300, 400), disc, "zone_b")
    assert ring[150, 200 + 41] and ring[150, 200 + 59] and not ring[150, 200 + 39] and not ring[150, 200 + 61]
    assert ring.sum() == pytest.approx(math.pi * (60**2 - 40**2), rel=0.01)
    assert zone_inside_fov(np.ones((300, 400), bool), disc, "zone_b") == pytest.approx(1.0, abs=0.01)
    half = np.zeros((300, 400), bool)
    half[:, 200:] = True
    assert zone_inside_fov(half, disc, "zone_b") == pytest.approx(0.5, abs=0.02)


def test_a_mask_of_noise_is_refused_before_its_tracing_not_measured_for_minutes() -> None:
    from core.measure.biomarkers import BiomarkerInputError, compute_biomarkers

    noise = np.random.default_rng(0).random((400, 400)) < 0.5
    with pytest.raises(BiomarkerInputError, match="not a vessel tree"):
        compute_biomarkers(noise)
