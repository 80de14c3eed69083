"""Artery/vein types carried along the vessel tree: segments joined where one vessel runs on.

The segments of a vessel mask (:mod:`core.edit.vessel_segments`) meet at junctions of its skeleton. Junctions
linked by a piece no longer than 1.5 vessel widths are one junction (a crossing skeletonises into two branch
points a few pixels apart); that piece, and spurs (short pieces ending free), are not arms. At a junction:

- 3 arms, a branching: each pair of arms the vessel runs on through (turning by less than 90°) is joined,
  so a trunk is joined to both its branches, the two branches only through it;
- 4 arms, a crossing: each arm is joined to the arm straight across from it, the two vessels kept apart;
- any other count: nothing is joined (a 2-arm junction is mostly a crossing whose other arms were spurs).

On the DRIVE training labels 6 % of the 3-arm joins that run on link an artery to a vein (22 % of those
turning back, which are left out) and 8-10 % of the 4-arm ones: a join is a hint, not a rule.
The types then minimise the segments' evidence against the type they get, plus ``strength`` × the smaller
joined segment's pixel count for every joined pair typed differently; a graph cut finds the exact minimum.
``strength`` is in the evidence's unit per pixel (the model's log-odds): at 0 each segment votes alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from core.edit.vessel_segments import centreline_pieces, segment_map

_EIGHT = np.ones((3, 3), bool)
#: A piece no longer than this many vessel widths is part of the junction(s) it touches, or a spur.
SHORT_PIECE_WIDTHS = 1.5
#: Capacities are scaled to integers (the cut needs them) with at most this value.
_CAPACITY_SCALE = 1_000_000


@dataclass(frozen=True)
class SegmentGraph:
    """A vessel mask's segments and which pairs of them are one vessel running on."""

    segments: np.ndarray  # int32 H×W, segment_map numbering (0 off the mask)
    count: int  # number of segments
    pixels: np.ndarray  # float64 (count + 1,): each segment's pixel count (index 0 unused)
    joins: np.ndarray  # int64 (J, 2): joined segment pairs, each once, smaller number first
    arms: np.ndarray  # int64 (J,): how many arms the junction of each join has (3 or 4)


def segment_graph(vessels: np.ndarray) -> SegmentGraph:
    """The segments of ``vessels`` and the pairs joined at its junctions (see the module's rules)."""
    vessels = np.asarray(vessels, bool)
    pieces, junctions = centreline_pieces(vessels)
    segments = segment_map(vessels, pieces)
    count = int(segments.max())
    pixels = np.bincount(segments.ravel(), minlength=count + 1).astype(np.float64)
    joins = np.zeros((0, 3), np.int64)
    if count and int(pieces.max()) and junctions.any():
        rows, cols = np.nonzero(pieces)
        labels = pieces[rows, cols]
        length = np.bincount(labels, minlength=count + 1).astype(np.float64)
        radius = _distance_to_background(vessels)[rows, cols]
        width = np.maximum(2 * np.bincount(labels, radius, count + 1) / np.maximum(length, 1) - 1, 1.0)
        joins = _joins(pieces, junctions, length, width)
    return SegmentGraph(segments, count, pixels, joins[:, :2], joins[:, 2])


def _distance_to_background(vessels: np.ndarray) -> np.ndarray:
    """Each vessel pixel's distance to the nearest background pixel, computed inside the vessels' box."""
    out = np.zeros(vessels.shape)
    rows, cols = np.flatnonzero(vessels.any(1)), np.flatnonzero(vessels.any(0))
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    out[box] = ndi.distance_transform_edt(np.pad(vessels[box], 1))[1:-1, 1:-1]
    return out


def _joins(pieces: np.ndarray, junctions: np.ndarray, length: np.ndarray, width: np.ndarray) -> np.ndarray:
    """(J, 3) int64: segment, segment, the junction's arm count."""
    count = int(pieces.max())
    short = length <= np.maximum(SHORT_PIECE_WIDTHS * width, 3)
    junction_labels, junction_count = ndi.label(junctions, structure=_EIGHT)
    touching = ndi.grey_dilation(junction_labels, footprint=_EIGHT)
    contact = (pieces > 0) & (touching > 0)
    pairs = np.unique(np.stack([pieces[contact], touching[contact]], 1), axis=0)  # (piece, junction)

    node_of = _merged_junctions(pairs, short, junction_count)
    rows, cols = np.nonzero(junctions)
    pixel_node = node_of[junction_labels[rows, cols]]
    size = np.maximum(np.bincount(pixel_node, minlength=junction_count + 1), 1)
    node_centres = np.stack([np.bincount(pixel_node, rows, junction_count + 1) / size,
                             np.bincount(pixel_node, cols, junction_count + 1) / size], 1)

    arms: dict[int, list[int]] = {}
    for piece, junction in pairs:
        piece, node = int(piece), int(node_of[junction])
        if not short[piece] and piece not in arms.setdefault(node, []):
            arms[node].append(piece)
    coords = _coordinates(pieces, count)
    joins: list[tuple[int, int, int]] = []
    for node, members in arms.items():
        if len(members) in (3, 4):
            directions = {m: _direction(coords[m], node_centres[node], width[m]) for m in members}
            joins.extend((a, b, len(members)) for a, b in _runs_on(members, directions))
    if not joins:
        return np.zeros((0, 3), np.int64)
    out = np.asarray(joins, np.int64)
    out[:, :2] = np.sort(out[:, :2], axis=1)
    _, first = np.unique(out[:, :2], axis=0, return_index=True)
    return out[np.sort(first)]


def _merged_junctions(pairs: np.ndarray, short: np.ndarray, junction_count: int) -> np.ndarray:
    """Junction -> node: junctions linked by a short piece are one node."""
    parent = np.arange(junction_count + 1)

    def find(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = int(parent[j])
        return j

    touched: dict[int, list[int]] = {}
    for piece, junction in pairs:
        if short[piece]:
            touched.setdefault(int(piece), []).append(int(junction))
    for ends in touched.values():
        for other in ends[1:]:
            parent[find(other)] = find(ends[0])
    return np.array([find(j) for j in range(junction_count + 1)])


def _coordinates(pieces: np.ndarray, count: int) -> list[np.ndarray]:
    """Per piece (index 0 unused) the (row, col) of its skeleton pixels."""
    rows, cols = np.nonzero(pieces)
    labels = pieces[rows, cols]
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 2))
    points = np.stack([rows[order], cols[order]], 1).astype(np.float64)
    return [points[bounds[i]:bounds[i + 1]] for i in range(count + 1)]


def _direction(points: np.ndarray, centre: np.ndarray, width: float) -> np.ndarray:
    """Unit vector from the junction's centre towards where the arm goes (its pixels within a few widths)."""
    distance = np.hypot(*(points - centre).T)
    near = points[distance <= max(3 * width, distance.min() + 6)]
    step = near.mean(0) - centre
    norm = float(np.hypot(*step))
    return step / norm if norm > 0 else np.zeros(2)


def _runs_on(members: list[int], directions: dict[int, np.ndarray]) -> list[tuple[int, int]]:
    """The pairs of arms one vessel runs on through: at a branching those turning by less than 90°, at a
    crossing the pairing whose two pairs are together the straightest."""
    straightness = {(a, b): -float(directions[a] @ directions[b])
                    for i, a in enumerate(members) for b in members[i + 1:]}
    if len(members) == 3:
        return [pair for pair, s in straightness.items() if s >= 0]
    a, b, c, d = members
    pairings = (((a, b), (c, d)), ((a, c), (b, d)), ((a, d), (b, c)))
    best = max(pairings, key=lambda p: straightness[p[0]] + straightness[p[1]])
    return [pair for pair in best if straightness[pair] >= 0]


def tree_types(graph: SegmentGraph, evidence: np.ndarray, strength: float) -> np.ndarray:
    """bool (count + 1,): True where a segment is typed artery (index 0 unused). ``evidence`` (count + 1,):
    each segment's summed artery-against-vein evidence; see the module's docstring for the rule."""
    n = graph.count
    evidence = np.asarray(evidence, np.float64)
    artery = evidence >= 0
    if n == 0 or len(graph.joins) == 0 or strength <= 0:
        return artery
    a, b = graph.joins[:, 0], graph.joins[:, 1]
    pair = strength * np.minimum(graph.pixels[a], graph.pixels[b])
    scale = _CAPACITY_SCALE / max(float(np.abs(evidence[1:]).max(initial=0)), float(pair.max(initial=0)), 1e-9)
    source, sink = 0, n + 1  # node i (1..n) is segment i; the source's side is artery
    segment = np.arange(1, n + 1)
    for_artery = evidence[1:] >= 0
    unary = np.rint(np.abs(evidence[1:]) * scale).astype(np.int64)
    weight = np.rint(pair * scale).astype(np.int64)
    rows = np.concatenate([np.full(int(for_artery.sum()), source), segment[~for_artery], a, b])
    cols = np.concatenate([segment[for_artery], np.full(int((~for_artery).sum()), sink), b, a])
    data = np.concatenate([unary[for_artery], unary[~for_artery], weight, weight])
    keep = data > 0
    capacity = csr_array((data[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(n + 2, n + 2))
    residual = (capacity - maximum_flow(capacity, source, sink).flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int32)
    residual.eliminate_zeros()
    artery = np.zeros(n + 1, bool)
    artery[breadth_first_order(residual, source, directed=True, return_predecessors=False)] = True
    joined = np.zeros(n + 1, bool)
    joined[graph.joins.ravel()] = True
    artery |= (evidence == 0) & ~joined  # a segment without evidence or joins: ties go to artery, as per segment
    artery[0] = False
    return artery
