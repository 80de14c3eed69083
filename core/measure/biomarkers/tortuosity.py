"""Tortuosity of vessel segments (centrelines between branch and end points).

Three measures, each per segment and summarised over all segments long enough to judge:

- **Distance factor** (arc / chord, Lotmar et al. 1979): 1 for a straight segment. The image's value
  is the length-weighted mean over segments.
- **Curvature tortuosity** (Hart et al. 1999, τ₄-style): total squared curvature per length,
  ∫κ² ds / L, in 1/px². The image's value is Σ∫κ² ds / Σ L (length-weighted mean).
- **Tortuosity density** (Grisan et al. 2008): TD = (n − 1)/n · (1/L) · Σᵢ (Lᵢ / Cᵢ − 1) over the n
  sub-arcs between inflection points, in 1/px; 0 for a straight line and for a single arc of a
  circle, large for a vessel that turns often. The image's value is the length-weighted mean.

Centrelines are smoothed first (:func:`smooth_path`), lengths and curvature are taken on the smooth
curve, so pixel staircases add neither length nor curvature. Inflections need the curvature to change
sign with at least ``inflection_curvature`` on both sides (hysteresis against residual noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.measure.biomarkers.skeleton import smooth_path


@dataclass(frozen=True)
class SegmentTortuosity:
    length: float  # px, along the smoothed centreline
    chord: float  # px
    distance_factor: float | None  # None for a closed loop (chord < 1 px)
    squared_curvature: float  # ∫κ² ds, 1/px
    density: float | None  # tortuosity density, 1/px; None with the distance factor

    @property
    def curvature(self) -> float:
        """∫κ² ds / L in 1/px²."""
        return self.squared_curvature / self.length if self.length > 0 else 0.0


@dataclass(frozen=True)
class TortuositySummary:
    distance_factor: float
    curvature: float  # 1/px²
    density: float  # 1/px
    segments: int  # segments summarised
    length: float  # their total length, px


def _gradient(f: np.ndarray, back: np.ndarray, ahead: np.ndarray, first: np.ndarray,
              last: np.ndarray) -> np.ndarray:
    """numpy.gradient over many concatenated paths at once: second-order central differences for
    uneven spacing inside a path (``back``/``ahead``: distance to the previous/next point), one-sided
    at its ends, 0 for a single point."""
    prev = np.roll(f, 1)
    nxt = np.roll(f, -1)
    out = (-ahead / (back * (back + ahead)) * prev + (ahead - back) / (back * ahead) * f
           + back / (ahead * (ahead + back)) * nxt)
    out = np.where(first, (nxt - f) / ahead, out)
    out = np.where(last, (f - prev) / back, out)
    return np.where(first & last, 0.0, out)


def curvatures(paths: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Signed curvature (1/px) at each point of each smooth path, and the arc length s at each point."""
    if not paths:
        return [], []
    sizes = np.array([len(p) for p in paths])
    points = np.concatenate(paths).astype(np.float64)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    first = np.zeros(len(points), bool)
    last = np.zeros(len(points), bool)
    first[bounds[:-1][sizes > 0]] = True
    last[bounds[1:][sizes > 0] - 1] = True
    steps = np.maximum(np.hypot(*np.diff(points, axis=0).T), 1e-9)
    ahead = np.append(steps, 1.0)
    back = np.insert(steps, 0, 1.0)
    ahead[last] = 1.0
    back[first] = 1.0
    dy, dx = (_gradient(points[:, i], back, ahead, first, last) for i in (0, 1))
    ddy, ddx = _gradient(dy, back, ahead, first, last), _gradient(dx, back, ahead, first, last)
    kappa = (dx * ddy - dy * ddx) / np.maximum((dx * dx + dy * dy) ** 1.5, 1e-12)
    arc = np.where(first, 0.0, back)
    arc = np.cumsum(arc)
    arc -= np.repeat(arc[first], sizes[sizes > 0])
    return np.split(kappa, bounds[1:-1]), np.split(arc, bounds[1:-1])


def curvature(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`curvatures` of one path."""
    kappa, arc = curvatures([points])
    return kappa[0], arc[0]


def _sub_arcs(kappa: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(first, last) point index of each arc of one curvature sign; a sign change counts only when
    |κ| exceeds ``threshold`` on both sides, and the arcs meet at the zero crossing between."""
    strong = np.flatnonzero(np.abs(kappa) >= threshold)
    if strong.size == 0:
        return [(0, len(kappa) - 1)]
    signs = np.sign(kappa[strong])
    flips = np.flatnonzero(signs[1:] != signs[:-1])
    cuts = []
    for f in flips:
        left, right = strong[f], strong[f + 1]
        between = kappa[left:right + 1]
        # the last point still on the left's side of zero
        cross = left + int(np.flatnonzero(np.sign(between) == signs[f])[-1])
        cuts.append(cross)
    bounds = [0, *cuts, len(kappa) - 1]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def tortuosities(smooth_paths: Sequence[np.ndarray], inflection_curvature: float) -> list[SegmentTortuosity]:
    """The tortuosity of each already smoothed centreline."""
    kappas, arcs = curvatures(smooth_paths)
    out = []
    for p, kappa, s in zip(smooth_paths, kappas, arcs, strict=True):
        length = float(s[-1]) if s.size else 0.0
        chord = float(np.hypot(*(p[-1] - p[0]))) if len(p) else 0.0
        squared = float(np.trapezoid(kappa * kappa, s)) if s.size > 1 else 0.0
        if chord < 1.0 or length <= 0:
            out.append(SegmentTortuosity(length, chord, None, squared, None))
            continue
        arcs_ = _sub_arcs(kappa, inflection_curvature)
        n = len(arcs_)
        excess = 0.0
        for first, last in arcs_ if n > 1 else ():
            sub_chord = float(np.hypot(*(p[last] - p[first])))
            if sub_chord > 0:
                excess += (s[last] - s[first]) / sub_chord - 1.0
        out.append(SegmentTortuosity(length, chord, max(length / chord, 1.0), squared, (n - 1) / n * excess / length))
    return out


def segment_tortuosity(points: np.ndarray, sigma: float, inflection_curvature: float) -> SegmentTortuosity:
    """The tortuosity of one raw (pixel) centreline, smoothed with ``sigma`` first."""
    return tortuosities([smooth_path(points, sigma)], inflection_curvature)[0]


def summarise(values: Sequence[SegmentTortuosity]) -> TortuositySummary | None:
    """Length-weighted image values over segments with a chord; None when there are none."""
    open_ = [v for v in values if v.distance_factor is not None and v.length > 0]
    if not open_:
        return None
    lengths = np.array([v.length for v in open_])
    total = float(lengths.sum())
    df = float(np.dot(lengths, [v.distance_factor for v in open_]) / total)
    td = float(np.dot(lengths, [v.density for v in open_]) / total)
    curv = float(sum(v.squared_curvature for v in open_) / total)
    return TortuositySummary(df, curv, td, len(open_), total)
