"""Vessel calibres in the zones around the optic disc, and their summaries CRAE, CRVE and AVR.

**Width at a centreline point**: the mask is sampled across the vessel, along the normal of the
smoothed centreline, every 0.25 px with bilinear interpolation; the width is the distance between the
two points, either side of the centre, where the profile falls to 0.5 (interpolated between samples).
For a straight vessel w pixels wide this gives w exactly whatever its direction within the sampling
step; the Euclidean distance transform would give 2d − 1, off by a pixel for even widths, which is
15 % of a DRIVE arteriole.

**A vessel's width in a zone**: the interquartile mean (the mean of the middle half) of the widths at
its segment's centreline points inside the zone, leaving out the points within two half-widths of a
branch point (the profile there runs along the other branch). The middle half ignores outliers as a
median would, but a median of widths read off a binary mask snaps to whole pixels along a vessel that
runs close to a pixel axis (every profile there crosses the same number of pixels): with the median,
turning a DRIVE image moved its AVR by up to 1.5 % and drawing a synthetic tree at half the resolution
moved its CRVE by 1.8 %; the interquartile mean averages the pixel phase out (0.5 % each). Its type is
the label most of those points carry (crossings and uncertain pixels do not vote).

**Which vessels**: the zone is cut by circles every 0.1 disc diameter (five in zone B, fifteen in
zone C); the vessels on one circle are the segments that cross it. A vessel that branches inside the
zone is then counted once on each circle, as its trunk before the branch point and as its two
branches after, never trunk and branches together, and a vessel split by a crossing is not counted
twice.

**Summaries** (Knudtson et al. 2003, the revised formulas): on each circle the six widest vessels are
combined in pairs, widest with narrowest, into Ŵ = k·√(w₁² + w₂²), k = 0.88 for arterioles and 0.95
for venules; an odd one in the middle is carried to the next round, until one value is left. CRAE
(arterioles) and CRVE (venules) are the mean of that value over the circles crossed by at least six
vessels, required of at least half of the zone's circles (SIVA likewise averages zone C over its
rings); AVR = CRAE / CRVE.

**Parr–Hubbard** (Hubbard et al. 1999, the ARIC study's formulas, which Knudtson's replaced): on the
same circles, all vessels crossing each one (not only the six widest) are paired widest with narrowest,
odd middle one carried, by W = √(0.87·Wₐ² + 1.01·W_b² − 0.22·Wₐ·W_b − 10.76) for arterioles (Parr) and
W = √(0.72·Wₐ² + 0.91·W_b² + 450.05) for venules (Hubbard), Wₐ the narrower and W_b the wider branch in
µm: the constants are in µm, so these need the image's scale. Known to depend on how many vessels
were measured, which is why Knudtson et al. 2003 revised them; kept for comparison with older studies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from core.measure.biomarkers.skeleton import JUNCTION, VesselGraph
from core.measure.biomarkers.zones import ZONES, Disc

ARTERIOLE_CONSTANT = 0.88
VENULE_CONSTANT = 0.95
#: Parr's arteriolar and Hubbard's venular formula: W² = a·Wₐ² + b·W_b² + c·Wₐ·W_b + d, widths in µm,
#: Wₐ the narrower branch (Hubbard et al. 1999).
PARR_ARTERIOLE = (0.87, 1.01, -0.22, -10.76)
HUBBARD_VENULE = (0.72, 0.91, 0.0, 450.05)
VESSELS_SUMMARISED = 6
PROFILE_STEP = 0.25
#: Spacing of the circles a zone's vessels are counted on, in disc diameters.
CIRCLE_STEP = 0.1


@dataclass(frozen=True)
class CalibreVessel:
    """A vessel that entered a zone's summary: its width, on how many of the summarised circles it was among
    the widest, and its centreline inside the zone."""

    width: float  # px
    circles: int
    points: np.ndarray = field(repr=False, compare=False)  # N×2 (row, col), the centreline points in the zone


@dataclass(frozen=True)
class ZoneCalibre:
    """A zone's summary (Knudtson over each circle, averaged) or why there is none."""

    value: float | None  # px
    circles: int  # circles in the zone
    summarised: int  # circles with enough vessels, averaged into value
    most_vessels: int  # the most vessels crossing any one circle
    widths: tuple[float, ...]  # px, every vessel measured in the zone (once each)
    #: every vessel among the ``count`` widest on some summarised circle (what the value is made of), those on
    #: the most circles first, then the widest; more than ``count`` when circles differ (a branch replaces its
    #: trunk, a thin vessel fills the sixth place where only six cross); empty without a value
    used: tuple[CalibreVessel, ...] = ()
    #: the widths (px) of all vessels crossing each circle that entered the value (for other summaries)
    circle_widths: tuple[tuple[float, ...], ...] = ()


def knudtson(widths: list[float], constant: float, count: int = VESSELS_SUMMARISED) -> float:
    """The revised Knudtson summary of the ``count`` widest ``widths`` (iterative pairing)."""
    values = sorted(widths, reverse=True)[:count]
    if not values:
        raise ValueError("no vessel widths to summarise")
    while len(values) > 1:
        values.sort(reverse=True)
        paired = [constant * float(np.hypot(values[i], values[-1 - i])) for i in range(len(values) // 2)]
        if len(values) % 2:
            paired.append(values[len(values) // 2])
        values = paired
    return values[0]


def parr_hubbard(widths_um: Sequence[float], coefficients: tuple[float, float, float, float]) -> float:
    """The Parr–Hubbard summary of all ``widths_um`` (µm): iterative pairing, widest with narrowest, by
    :data:`PARR_ARTERIOLE` or :data:`HUBBARD_VENULE` (a negative square, impossible for real calibres of
    a few µm and more, gives 0)."""
    a, b, c, d = coefficients
    values = sorted(widths_um, reverse=True)
    if not values:
        raise ValueError("no vessel widths to summarise")
    while len(values) > 1:
        values.sort(reverse=True)
        paired = []
        for i in range(len(values) // 2):
            narrow, wide = values[-1 - i], values[i]
            paired.append(float(np.sqrt(max(a * narrow * narrow + b * wide * wide + c * narrow * wide + d, 0.0))))
        if len(values) % 2:
            paired.append(values[len(values) // 2])
        values = paired
    return values[0]


def interquartile_mean(values: np.ndarray) -> float:
    """The mean of the middle half of ``values`` (all of them when there are fewer than four)."""
    ordered = np.sort(np.asarray(values, float))
    quarter = ordered.size // 4
    return float(ordered[quarter:ordered.size - quarter].mean())


def profile_widths(image: np.ndarray, points: np.ndarray, tangents: np.ndarray, reach: float) -> np.ndarray:
    """Width (px) of the vessel in ``image`` (a float mask, 1 vessel, 0 background) across each point,
    along the normal of its unit tangent; NaN where the point is not on the vessel or the vessel is
    wider than 2·``reach``."""
    n = len(points)
    if n == 0:
        return np.zeros(0)
    t = np.arange(-reach, reach + PROFILE_STEP / 2, PROFILE_STEP)
    centre = len(t) // 2
    normals = np.stack([tangents[:, 1], -tangents[:, 0]], axis=1)
    rows = points[:, 0, None] + normals[:, 0, None] * t[None, :]
    cols = points[:, 1, None] + normals[:, 1, None] * t[None, :]
    values = ndi.map_coordinates(image, [rows.ravel(), cols.ravel()], order=1,
                                 mode="constant", cval=0.0).reshape(n, len(t))
    inside = values >= 0.5
    back, ahead = inside[:, centre::-1], inside[:, centre:]
    ok = inside[:, centre] & ~back.all(axis=1) & ~ahead.all(axis=1)  # else wider than the reach
    left = centre - np.argmin(back, axis=1)  # the last sample below 0.5 before the run
    right = centre + np.argmin(ahead, axis=1)  # the first one after it
    left, right = np.where(ok, left, centre), np.where(ok, right, centre + 1)
    pick = np.arange(n)
    v_l, v_l1 = values[pick, left], values[pick, np.minimum(left + 1, len(t) - 1)]
    v_r, v_r1 = values[pick, right], values[pick, right - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        edge_left = t[left] + (0.5 - v_l) / (v_l1 - v_l) * PROFILE_STEP
        edge_right = t[right - 1] + (v_r1 - 0.5) / (v_r1 - v_r) * PROFILE_STEP
    return np.where(ok, edge_right - edge_left, np.nan)


def _tangents(points: np.ndarray) -> np.ndarray:
    d = np.gradient(points, axis=0) if len(points) > 1 else np.array([[0.0, 1.0]])
    norm = np.hypot(d[:, 0], d[:, 1])[:, None]
    return np.divide(d, norm, out=np.tile([[0.0, 1.0]], (len(d), 1)), where=norm > 0)


def tree_widths(graph: VesselGraph, smooth: Sequence[np.ndarray], mask: np.ndarray, half_width: np.ndarray,
                disc: Disc, stride: int = 1) -> list[np.ndarray | None]:
    """Per segment, the width at every ``stride``-th centreline point inside any zone and away from
    branch points (NaN at the other points); None for a segment outside every zone. ``smooth``: the
    segments' smoothed centrelines. One profile sampling for the whole tree and every zone."""
    lo = min(z[0] for z in ZONES.values()) * disc.diameter
    hi = max(z[1] for z in ZONES.values()) * disc.diameter
    centre = np.array([disc.y, disc.x])
    h, w = mask.shape
    r0, r1 = max(int(disc.y - hi) - 2, 0), min(int(disc.y + hi) + 3, h)
    c0, c1 = max(int(disc.x - hi) - 2, 0), min(int(disc.x + hi) + 3, w)
    out: list[np.ndarray | None] = [None] * len(graph.segments)
    if r0 >= r1 or c0 >= c1:
        return out
    chosen, points, tangents = [], [], []
    for k, seg in enumerate(graph.segments):
        radial = np.hypot(*(seg.points - centre).T)
        keep = (radial >= lo) & (radial < hi)
        if not keep.any():
            continue
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(seg.points, axis=0).T))])
        for node, at in ((seg.start, 0), (seg.end, -1)):
            if node >= 0 and graph.nodes[node].kind == JUNCTION:
                r = float(half_width[int(seg.points[at][0]), int(seg.points[at][1])])
                keep &= np.abs(arc - arc[at]) > 2 * r + 1
        index = np.flatnonzero(keep)[::stride]
        if index.size == 0:
            continue
        chosen.append((k, index))
        points.append(smooth[k][index])
        tangents.append(_tangents(smooth[k])[index])
    if not chosen:
        return out
    pts = np.concatenate(points)
    near = np.clip(np.rint(pts).astype(int), 0, [h - 1, w - 1])
    # the chessboard half-width is at most √2 short of the true one: twice it clears the vessel's edge
    reach = 2.0 * float(half_width[near[:, 0], near[:, 1]].max()) + 3.0
    margin = int(reach) + 2
    r0, r1, c0, c1 = max(r0 - margin, 0), min(r1 + margin, h), max(c0 - margin, 0), min(c1 + margin, w)
    image = mask[r0:r1, c0:c1].astype(np.float32)  # one float copy, around the zones only
    widths = profile_widths(image, pts - np.array([r0, c0], float), np.concatenate(tangents), reach)
    at = 0
    for k, index in chosen:
        full = np.full(len(graph.segments[k].points), np.nan)
        full[index] = widths[at:at + index.size]
        out[k] = full
        at += index.size
    return out


def zone_calibre(graph: VesselGraph, widths: Sequence[np.ndarray | None], labels: np.ndarray | None,
                 kind: int | None, disc: Disc, zone: str, constant: float,
                 count: int = VESSELS_SUMMARISED) -> ZoneCalibre:
    """The zone's calibre summary (see the module docstring) from :func:`tree_widths`. ``kind``: the
    label value most of a vessel's zone points must carry (None: no label check)."""
    inner, outer = (k * disc.diameter for k in ZONES[zone])
    circles = np.arange(inner + CIRCLE_STEP * disc.diameter / 2, outer, CIRCLE_STEP * disc.diameter)
    centre = np.array([disc.y, disc.x])
    per_circle: list[list[tuple[float, int]]] = [[] for _ in circles]  # (width, segment) of each crossing
    measured = []
    in_zone_points: dict[int, np.ndarray] = {}
    for k, seg in enumerate(graph.segments):
        if widths[k] is None or len(seg.points) < 2:
            continue
        radial = np.hypot(*(seg.points - centre).T)
        side = radial[:, None] >= circles[None, :]
        crossed = np.flatnonzero((side[1:] != side[:-1]).any(axis=0))
        if crossed.size == 0:
            continue
        in_zone = (radial >= inner) & (radial < outer)
        if labels is not None and kind is not None:
            pts = seg.points[in_zone].astype(int)
            votes = labels[pts[:, 0], pts[:, 1]]
            typed = np.count_nonzero(np.isin(votes, (1, 2)))
            if typed == 0 or np.count_nonzero(votes == kind) * 2 <= typed:
                continue
        found = widths[k][in_zone]
        found = found[np.isfinite(found)]
        if found.size < 3:
            continue
        width = interquartile_mean(found)
        measured.append(width)
        in_zone_points[k] = seg.points[in_zone]
        for c in crossed:
            per_circle[c].append((width, k))
    full = [ws for ws in per_circle if len(ws) >= count]
    enough = [knudtson([w for w, _ in ws], constant, count) for ws in full]
    most = max((len(ws) for ws in per_circle), default=0)
    value = float(np.mean(enough)) if len(enough) * 2 >= len(circles) else None
    used: dict[int, tuple[int, float]] = {}  # segment -> (circles, width)
    if value is not None:
        for ws in full:
            for w, k in sorted(ws, reverse=True)[:count]:
                used[k] = (used.get(k, (0, w))[0] + 1, w)
    order = sorted(used.items(), key=lambda item: (-item[1][0], -item[1][1]))
    vessels = tuple(CalibreVessel(w, n, in_zone_points[k]) for k, (n, w) in order)
    summarised = tuple(tuple(w for w, _ in ws) for ws in full) if value is not None else ()
    return ZoneCalibre(value, len(circles), len(enough), most, tuple(measured), vessels, circle_widths=summarised)


def zone_inside_fov(fov: np.ndarray, disc: Disc, zone: str) -> float:
    """Share of the zone's area that lies inside the FOV (parts outside the image count as outside)."""
    inner, outer = (k * disc.diameter for k in ZONES[zone])
    h, w = fov.shape
    r0, r1 = int(np.floor(disc.y - outer)), int(np.ceil(disc.y + outer)) + 1
    c0, c1 = int(np.floor(disc.x - outer)), int(np.ceil(disc.x + outer)) + 1
    rows = np.arange(max(r0, 0), min(r1, h))
    cols = np.arange(max(c0, 0), min(c1, w))
    if rows.size == 0 or cols.size == 0:
        return 0.0
    r2 = (rows[:, None] - disc.y) ** 2 + (cols[None, :] - disc.x) ** 2
    ring = (r2 >= inner * inner) & (r2 < outer * outer)
    inside = np.count_nonzero(ring & fov[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    return float(inside / (np.pi * (outer * outer - inner * inner)))
