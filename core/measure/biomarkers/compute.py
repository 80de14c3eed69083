"""One entry point: every biomarker of one image from plain arrays.

Inputs:

- ``vessels``: H×W vessel mask, bool or integer (non-zero is vessel);
- ``fov``: H×W field of view (None: the whole image); everything is measured inside it;
- ``labels``: H×W uint8 artery/vein label map, 0 background, 1 artery, 2 vein, 3 (or more) both:
  a crossing, or a vessel whose type is uncertain. The vessel mask decides what is vessel; the labels
  only say which tree a vessel pixel belongs to (3+ belongs to both). None: no per-type figures;
- ``disc``: the optic disc as ``(cx, cy, diameter_px)`` or any object with ``x``, ``y``,
  ``diameter`` (None: no zone calibres, and no disc-based scale);
- ``pixel_spacing_mm`` / ``field_angle_deg``: where the scale comes from (see scale.py).

Pixel parameters (smoothing, shortest segment, reaches) are set for DRIVE's 540-px FOV and scale with
the FOV diameter, so a figure means the same at every resolution.

The artery and vein trees are the skeleton of all vessels restricted to each type's pixels (one
thinning instead of three; at a crossing each tree keeps its own path through the crossing pixels and
the stubs of the other vessel are pruned as spurs).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from core.measure.biomarkers.bifurcation import bifurcations
from core.measure.biomarkers.calibre import (
    ARTERIOLE_CONSTANT,
    HUBBARD_VENULE,
    PARR_ARTERIOLE,
    VENULE_CONSTANT,
    VESSELS_SUMMARISED,
    ZoneCalibre,
    parr_hubbard,
    tree_widths,
    zone_calibre,
    zone_inside_fov,
)
from core.measure.biomarkers.density import average_width, vessel_density
from core.measure.biomarkers.fractal import FIT_RANGE, box_counting_dimension, fit_sizes
from core.measure.biomarkers.results import BiomarkerInputError, BiomarkerReport, Entry, Measurement, Missing
from core.measure.biomarkers.scale import Scale, fov_diameter_px, resolve_scale
from core.measure.biomarkers.skeleton import (
    VesselGraph,
    build_graph,
    half_width,
    path_lengths,
    skeleton_of,
    smooth_paths,
)
from core.measure.biomarkers.tortuosity import summarise, tortuosities
from core.measure.biomarkers.zones import ZONES, Disc, DiscLike, as_disc

ARTERY, VEIN, BOTH = 1, 2, 3
GROUPS = ("density", "fractal", "tortuosity", "bifurcation", "calibre")
ZONE_NAMES = {"zone_b": "zone B", "zone_c": "zone C"}


@dataclass(frozen=True)
class BiomarkerOptions:
    reference_fov: float = 540.0  # px: the FOV diameter the pixel parameters below are set for (DRIVE)
    smoothing: float = 4.0  # px, Gaussian σ along centrelines (at least 2 px at any resolution)
    min_segment: float = 10.0  # px, shortest segment judged for tortuosity
    inflection_curvature: float = 0.02  # 1/px, curvature that counts for an inflection (tortuosity density)
    spur_factor: float = 1.5  # terminal branches shorter than this × half-width (+1 px) are spurs
    bifurcation_reach: float = 6.0  # px, the least distance along a branch at which its direction is taken
    fractal_range: tuple[float, float] = FIT_RANGE  # box sizes as fractions of the FOV diameter
    calibre_vessels: int = VESSELS_SUMMARISED
    min_zone_inside_fov: float = 0.5  # share of a zone that must lie inside the FOV to measure calibres


@dataclass
class _Tree:
    kind: str
    mask: np.ndarray
    graph: VesselGraph = None  # type: ignore[assignment]  # set once the skeleton is traced
    smooth: list[np.ndarray] = field(default_factory=list)  # the segments' smoothed centrelines
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their lengths, px


#: The longest centreline measured, in FOV diameters: the manual annotations of DRIVE and HRF have 15–25,
#: noise (a random mask) hundreds, on which tracing the vessel graph takes minutes and cannot be interrupted.
MAX_CENTRELINE = 100


def compute_biomarkers(vessels: np.ndarray, fov: np.ndarray | None = None, labels: np.ndarray | None = None,
                       disc: DiscLike | tuple[float, float, float] | None = None, *,
                       pixel_spacing_mm: float | tuple[float, float] | None = None,
                       field_angle_deg: float | None = None, options: BiomarkerOptions | None = None,
                       groups: Collection[str] = GROUPS, skeleton: np.ndarray | None = None) -> BiomarkerReport:
    """Every biomarker in ``groups`` (default: all of :data:`GROUPS`); see the module docstring.

    ``skeleton``: the centreline of ``vessels`` inside the FOV when the caller has it (the report's
    ``skeleton`` of an earlier call, brought up to date with :func:`update_skeleton` after a local
    edit), which saves the thinning, about a quarter of the time on a 3504×2336 image.

    Raises :class:`BiomarkerInputError` (one line) when the inputs do not fit together, or when the mask
    is no vessel tree (a centreline over :data:`MAX_CENTRELINE` FOV diameters long).
    """
    opts = options or BiomarkerOptions()
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise BiomarkerInputError(f"unknown biomarker groups {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    vessels, fov, labels = _checked(vessels, fov, labels)
    try:
        the_disc = as_disc(disc)
    except ValueError as exc:
        raise BiomarkerInputError(str(exc)) from None
    timings: dict[str, float] = {}
    clock = time.thread_time()

    def lap(stage: str) -> None:  # CPU seconds of this thread: the work's cost, whatever else runs
        nonlocal clock
        now = time.thread_time()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now

    fov_d = fov_diameter_px(fov)
    scale = resolve_scale(pixel_spacing_mm, field_angle_deg, fov_d, the_disc.diameter if the_disc else None)
    k = fov_d / opts.reference_fov
    vessels = vessels & fov
    trees = [_Tree("all", vessels)]
    if labels is not None:
        trees.append(_Tree("artery", vessels & ((labels == ARTERY) | (labels >= BOTH))))
        trees.append(_Tree("vein", vessels & ((labels == VEIN) | (labels >= BOTH))))
    lap("inputs")
    if skeleton is None:
        skeleton = skeleton_of(vessels)  # every group needs it (lengths, trees, zones)
    elif np.shape(skeleton) != vessels.shape:
        raise BiomarkerInputError(f"the skeleton is {_size(np.shape(skeleton))} px but the vessel mask "
                                  f"{_size(vessels.shape)}")
    else:
        skeleton = np.asarray(skeleton, bool) & vessels
    if fov.any() and (length := np.count_nonzero(skeleton) / fov_d) > MAX_CENTRELINE:
        raise BiomarkerInputError(f"the vessel mask is not a vessel tree: its centreline is {length:.0f} FOV "
                                  f"diameters long (annotated retinas: 15–25, at most {MAX_CENTRELINE}); is it noise?")
    lap("skeleton")
    # the half-width of all vessels serves every tree: it only judges spurs and sets reaches
    radius = half_width(vessels)
    sigma = max(opts.smoothing * k, 2.0)
    for tree in trees:
        tree.graph = build_graph(skeleton & tree.mask, radius, opts.spur_factor)
        tree.smooth = smooth_paths([s.points for s in tree.graph.segments], sigma)
        tree.lengths = path_lengths(tree.smooth)
    lap("graph")

    out = _Entries(scale)
    for tree in trees:
        if "density" in groups:
            _density(out, tree, fov, sigma)
            lap("density")
        if "fractal" in groups:
            _fractal(out, tree, fov, fov_d, opts)
            lap("fractal")
        if "tortuosity" in groups:
            _tortuosity(out, tree, sigma, opts, k)
            lap("tortuosity")
        if "bifurcation" in groups:
            _bifurcation(out, tree, radius, opts, k)
            lap("bifurcation")
    if labels is None:
        for name in _per_type_names(groups):
            for kind in ("artery", "vein"):
                out.missing(name, kind, "fov", "no artery/vein labels")
    if "calibre" in groups:
        _calibres(out, trees, fov, labels, the_disc, radius, max(1, int(k / 2)), opts)
        lap("calibre")
    return BiomarkerReport(tuple(out.entries), scale, timings, skeleton, out.calibre_vessels)


def _checked(vessels: np.ndarray, fov: np.ndarray | None,
             labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    v = np.asarray(vessels)
    if v.ndim != 2:
        raise BiomarkerInputError(f"the vessel mask must be one H×W plane, got shape {v.shape}")
    if v.dtype.kind not in "biu":
        raise BiomarkerInputError(f"the vessel mask must be binary (bool or integer), got {v.dtype}: "
                                  "threshold the probability map first")
    if fov is None:
        f = np.ones(v.shape, bool)
    else:
        f = np.asarray(fov)
        if f.shape != v.shape:
            raise BiomarkerInputError(f"the FOV mask is {_size(f.shape)} px but the vessel mask {_size(v.shape)}")
        f = f > 0
        if not f.any():
            raise BiomarkerInputError("the FOV mask is empty: nothing to measure inside it")
    lab = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != v.shape:
            raise BiomarkerInputError(f"the artery/vein labels are {_size(lab.shape)} px but the vessel mask "
                                      f"{_size(v.shape)}")
        if lab.dtype.kind not in "biu":
            raise BiomarkerInputError(f"the artery/vein labels must be an integer label map, got {lab.dtype}")
    return v > 0, f, lab


def _size(shape: tuple[int, ...]) -> str:
    """``565×584`` (width × height) for a 2-D shape, the shape itself otherwise."""
    return f"{shape[1]}×{shape[0]}" if len(shape) == 2 else str(shape)


class _Entries:
    """Collects entries, adding the physical value when the scale is known."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.entries: list[Entry] = []
        self.calibre_vessels: dict[tuple[str, str], tuple] = {}

    def add(self, name: str, vessels: str, region: str, value: float, unit: str, method: str,
            power: int = 0, physical_unit: str | None = None, note: str = "") -> None:
        physical = self.scale.convert(value, power, physical_unit) if physical_unit else None
        if physical is None:
            physical_unit = None
        self.entries.append(Measurement(name, vessels, region, float(value), unit, method, physical, physical_unit,
                                        self.scale.short() if physical is not None else "", note))

    def missing(self, name: str, vessels: str, region: str, reason: str, method: str = "") -> None:
        self.entries.append(Missing(name, vessels, region, reason, method))


def _per_type_names(groups: Collection[str]) -> list[str]:
    names = []
    if "density" in groups:
        names += ["vessel_density", "vessel_length", "average_width"]
    if "fractal" in groups:
        names += ["fractal_dimension_skeleton", "fractal_dimension_mask"]
    if "tortuosity" in groups:
        names += ["tortuosity_distance_factor", "tortuosity_curvature", "tortuosity_density"]
    if "bifurcation" in groups:
        names += ["bifurcation_count", "bifurcation_angle"]
    return names


def _density(out: _Entries, tree: _Tree, fov: np.ndarray, sigma: float) -> None:
    length = float(tree.lengths.sum())
    density = vessel_density(tree.mask, fov)
    out.add("vessel_density", tree.kind, "fov", density or 0.0, "", "vessel pixels / FOV pixels")
    out.add("vessel_length", tree.kind, "fov", length, "px",
            f"summed centreline length of {len(tree.graph.segments)} segments (smoothed, σ = {sigma:.3g} px)",
            1, "mm")
    width = average_width(float(np.count_nonzero(tree.mask)), length)
    if width is None:
        out.missing("average_width", tree.kind, "fov", f"no {_vessel_word(tree.kind)} in the FOV")
    else:
        out.add("average_width", tree.kind, "fov", width, "px", "vessel area / centreline length", 1, "µm")


def _fractal(out: _Entries, tree: _Tree, fov: np.ndarray, fov_d: float, opts: BiomarkerOptions) -> None:
    sizes = fit_sizes(fov_d, opts.fractal_range)
    rows, cols = np.flatnonzero(fov.any(1)), np.flatnonzero(fov.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    span = f"{sizes[0]}–{sizes[-1]} px" if sizes else "none"
    for name, image, what in (("fractal_dimension_skeleton", tree.graph.skeleton, "skeleton"),
                              ("fractal_dimension_mask", tree.mask, "mask")):
        method = (f"box counting on the {what}, boxes {span} (FOV diameter × {opts.fractal_range[0]:.3g}–"
                  f"{opts.fractal_range[1]:.3g}, powers of 2), least-squares slope")
        if len(sizes) < 3:
            out.missing(name, tree.kind, "fov", f"the FOV ({fov_d:.0f} px) is too small for three box sizes", method)
            continue
        value = box_counting_dimension(image[box], sizes)
        if value is None:
            out.missing(name, tree.kind, "fov", f"no {_vessel_word(tree.kind)} in the FOV", method)
        else:
            out.add(name, tree.kind, "fov", value, "", method)


def _tortuosity(out: _Entries, tree: _Tree, sigma: float, opts: BiomarkerOptions, k: float) -> None:
    min_length = opts.min_segment * max(k, 1.0)
    threshold = opts.inflection_curvature / max(k, 1.0)
    judged = [p for p, length in zip(tree.smooth, tree.lengths, strict=True) if length >= min_length]
    summary = summarise(tortuosities(judged, threshold))
    names = ("tortuosity_distance_factor", "tortuosity_curvature", "tortuosity_density")
    if summary is None:
        for name in names:
            out.missing(name, tree.kind, "fov", f"no {_vessel_word(tree.kind)} segment of at least {min_length:.0f} px")
        return
    base = (f"{summary.segments} segments ≥ {min_length:.0f} px between branch/end points, "
            f"centrelines smoothed σ = {sigma:.3g} px")
    out.add(names[0], tree.kind, "fov", summary.distance_factor, "",
            f"length-weighted mean arc/chord over {base}")
    out.add(names[1], tree.kind, "fov", summary.curvature, "1/px²",
            f"total squared curvature / total length over {base}", -2, "1/mm²")
    out.add(names[2], tree.kind, "fov", summary.density, "1/px",
            f"Grisan tortuosity density, length-weighted mean over {base}; inflections at |κ| ≥ {threshold:.3g}/px",
            -1, "1/mm")


def _bifurcation(out: _Entries, tree: _Tree, radius: np.ndarray, opts: BiomarkerOptions, k: float) -> None:
    reach = opts.bifurcation_reach * max(k, 1.0)
    found = bifurcations(tree.graph, radius, reach)
    what = "branch points (nodes of 3+ segments; on all vessels this includes artery–vein crossings)" \
        if tree.kind == "all" else "bifurcations (nodes of 3+ segments of this tree)"
    out.add("bifurcation_count", tree.kind, "fov", found.count, "", f"number of {what}")
    method = (f"mean angle between the two daughters (parent: the widest branch), directions "
              f"over ≥ {reach:.0f} px")
    if not found.angles:
        out.missing("bifurcation_angle", tree.kind, "fov", "no three-way branch point with long enough branches",
                    method)
    else:
        out.add("bifurcation_angle", tree.kind, "fov", float(np.mean(found.angles)), "°", method,
                note=f"{len(found.angles)} bifurcations, median {np.median(found.angles):.1f}°")


def _calibres(out: _Entries, trees: list[_Tree], fov: np.ndarray, labels: np.ndarray | None, disc: Disc | None,
              radius: np.ndarray, stride: int, opts: BiomarkerOptions) -> None:
    by_kind = {t.kind: t for t in trees}
    widths: dict[str, list[np.ndarray | None]] = {}
    for zone in ZONES:
        where = ZONE_NAMES[zone]
        reason = None
        if labels is None:
            reason = "no artery/vein labels"
        elif disc is None:
            reason = "no optic disc"
        else:
            inside = zone_inside_fov(fov, disc, zone)
            if inside < opts.min_zone_inside_fov:
                reason = f"{where} leaves the FOV (only {inside:.0%} of it is inside)"
        if reason is not None:
            for name in ("crae", "crve", "avr", "crae_hubbard", "crve_hubbard", "avr_hubbard"):
                out.missing(name, _CALIBRE_TREES[name.split("_")[0]], zone, reason)
            continue
        summaries = {}
        founds = {}
        for name, kind, code, constant, word in (("crae", "artery", ARTERY, ARTERIOLE_CONSTANT, "arteries"),
                                                 ("crve", "vein", VEIN, VENULE_CONSTANT, "veins")):
            tree = by_kind[kind]
            if kind not in widths:  # one profile sampling per tree serves every zone
                widths[kind] = tree_widths(tree.graph, tree.smooth, tree.mask, radius, disc, stride)
            found = zone_calibre(tree.graph, widths[kind], labels, code, disc, zone, constant, opts.calibre_vessels)
            founds[name] = found
            method = (f"revised Knudtson (k = {constant}) of the {opts.calibre_vessels} widest {word} on each "
                      f"of {found.circles} circles across {where}, averaged; widths from cross-section profiles")
            if found.value is None:
                if found.most_vessels < opts.calibre_vessels:
                    plural = word if found.most_vessels != 1 else kind
                    reason = f"only {found.most_vessels} {plural} cross {where} (needs {opts.calibre_vessels})"
                else:
                    reason = (f"{opts.calibre_vessels} or more {word} cross only {found.summarised} of the "
                              f"{found.circles} circles in {where} (needs half)")
                out.missing(name, kind, zone, reason, method)
                continue
            summaries[name] = found.value
            out.calibre_vessels[(name, zone)] = found.used
            out.add(name, kind, zone, found.value, "px", method, 1, "µm",
                    note=f"{len(found.widths)} {word} measured, {found.summarised} of {found.circles} circles, "
                         f"{inside:.0%} of {where} inside the FOV")
        if len(summaries) == 2:
            out.add("avr", "all", zone, summaries["crae"] / summaries["crve"], "", "CRAE / CRVE")
        else:
            lacking = " and ".join(n.upper() for n in ("crae", "crve") if n not in summaries)
            out.missing("avr", "all", zone, f"{lacking} not measured", "CRAE / CRVE")
        _parr_hubbard(out, zone, founds)


_CALIBRE_TREES = {"crae": "artery", "crve": "vein", "avr": "all"}


def _parr_hubbard(out: _Entries, zone: str, founds: dict[str, ZoneCalibre]) -> None:
    """CRAE, CRVE and AVR by the Parr–Hubbard formulas on the circles Knudtson's summary used (all
    vessels on each); missing for the same reason as Knudtson's, or without a scale (the constants are µm)."""
    where = ZONE_NAMES[zone]
    um = out.scale.um_per_px
    summaries = {}
    for name, kind, coefficients, who in (("crae", "artery", PARR_ARTERIOLE, "Parr's arteriolar"),
                                          ("crve", "vein", HUBBARD_VENULE, "Hubbard's venular")):
        found = founds[name]
        method = (f"{who} formula (Hubbard et al. 1999) pairing all {_vessel_word(kind)} widths in µm on each "
                  f"circle across {where} that has {VESSELS_SUMMARISED} or more, averaged")
        if found.value is None:
            knudtson_entry = next(e for e in reversed(out.entries) if (e.name, e.region) == (name, zone))
            out.missing(f"{name}_hubbard", kind, zone, getattr(knudtson_entry, "reason", "not measured"), method)
        elif um is None:
            out.missing(f"{name}_hubbard", kind, zone, "its constants are in µm and the image has no scale", method)
        else:
            value = float(np.mean([parr_hubbard([w * um for w in ws], coefficients) for ws in found.circle_widths]))
            summaries[name] = value
            out.add(f"{name}_hubbard", kind, zone, value / um, "px", method, 1, "µm",
                    note=f"{found.summarised} circles, {max(len(ws) for ws in found.circle_widths)} vessels "
                         "on the busiest")
    if len(summaries) == 2:
        out.add("avr_hubbard", "all", zone, summaries["crae"] / summaries["crve"], "", "Parr–Hubbard CRAE / CRVE")
    else:
        lacking = " and ".join(f"{n.upper()} (Parr–Hubbard)" for n in ("crae", "crve") if n not in summaries)
        out.missing("avr_hubbard", "all", zone, f"{lacking} not measured", "Parr–Hubbard CRAE / CRVE")


def _vessel_word(kind: str) -> str:
    return {"all": "vessel", "artery": "artery", "vein": "vein"}[kind]
