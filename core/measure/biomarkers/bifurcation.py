"""Branch points and bifurcation angles of a vessel tree.

Every node where three or more segments meet is a branch point. On the tree of all vessels that
includes artery–vein crossings (they look like four-way branch points on a mask); on the artery or
the vein tree alone it counts bifurcations.

The angle is measured where exactly three segments meet: each branch's direction is the line through
its centreline points ``reach`` and 2·``reach`` px from the branch point, ``reach`` being three
half-widths of the vessel at the branch point but at least ``min_reach``: the skeleton bends inside
the junction's blob of pixels, so a direction taken there, or from the branch point itself, widens
the angle (by 10° on a synthetic 80° Y). The two daughters are the two branches that enclose the
smallest of the three angles, and the bifurcation angle is that angle, in degrees. Geometry rather than
width picks the parent because widths a few pixels across cannot rank the branches reliably (a DRIVE
daughter is often as wide as its parent to the pixel); the rule is right whenever the daughters
enclose less than 120°, which holds for nearly all retinal bifurcations (their mean is about 75°,
Zamir et al. 1979), and it cannot report more than 120°. A branch shorter than 1.5 reaches leaves the
angle unmeasured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.measure.biomarkers.skeleton import VesselGraph


@dataclass(frozen=True)
class Bifurcations:
    count: int  # nodes where three or more segments meet
    angles: tuple[float, ...]  # degrees, one per measured three-way branch point


def bifurcations(graph: VesselGraph, half_width: np.ndarray, min_reach: float) -> Bifurcations:
    angles = []
    junctions = graph.junctions()
    for j in junctions:
        node = graph.nodes[j]
        if len(node.segments) != 3 or len(set(node.segments)) != 3:
            continue
        r = float(half_width[int(round(node.row)), int(round(node.col))])
        reach = max(3.0 * r, min_reach)
        directions = []
        for k in node.segments:
            seg = graph.segments[k]
            pts = seg.points if seg.start == j else seg.points[::-1]
            arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
            if arc[-1] < 1.5 * reach:
                break
            near = pts[int(np.searchsorted(arc, reach))]
            far = pts[min(int(np.searchsorted(arc, 2 * reach)), len(pts) - 1)]
            direction = far - near
            norm = float(np.hypot(*direction))
            if norm == 0:
                break
            directions.append(direction / norm)
        else:
            d = np.array(directions)
            between = np.degrees(np.arccos(np.clip([d[0] @ d[1], d[0] @ d[2], d[1] @ d[2]], -1.0, 1.0)))
            angles.append(float(between.min()))
    return Bifurcations(len(junctions), tuple(angles))

