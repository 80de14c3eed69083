"""Editing a label mask: brush segments, polygon fills, whole-mask replacements, and their deltas.

Conventions
-----------
* Points are ``(x, y)`` in image coordinates, the scene coordinates of an image item at the
  origin: pixel ``(row r, column c)`` covers ``[c, c+1) × [r, r+1)`` and its centre is
  ``(c + 0.5, r + 0.5)``. A pixel belongs to a shape when its centre does.
* Boxes are ``(y0, x0, y1, x1)``, half-open like numpy slices: ``mask[y0:y1, x0:x1]``.
* The functions here never modify the mask: they return a :class:`MaskDelta` (or None when
  nothing would change) and ``delta.apply(mask)`` makes the change. That keeps undo commands
  simple: pushing a command applies its delta (see ``gui/document/commands.py``).
* Masks are 2-D, C-contiguous numpy arrays (uint8 label masks in the app; bool masks work too).

A delta stores only the pixels it changes (runs of flat indices plus old and new values), or the
old and new values of their bounding box when that is smaller, so the cost of painting and of
undo is proportional to the brush footprint, never to the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.measure.metrics import Scores, mask_scores

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), half-open
Point = tuple[float, float]  # (x, y)

#: Smallest brush radius: the pixel under the cursor is always painted (a point anywhere in a
#: pixel is at most sqrt(1/2) from its centre).
MIN_RADIUS = math.sqrt(0.5)


@dataclass(frozen=True, eq=False)
class Patch:
    """One change of a mask, in the smaller of two forms.

    * sparse (``starts`` set): the changed pixels as runs of consecutive flat indices
      (``starts[i] .. starts[i] + lengths[i] - 1``; ``lengths`` None: runs of one pixel), with
      their old and new values, each collapsed to a single value when all are equal (always so
      for a brush on a bool mask). A brush segment costs about 8 bytes per row it touches.
    * dense (``starts`` None): the old and new values of the whole ``box``.
    """

    box: Box
    starts: np.ndarray | None
    lengths: np.ndarray | None
    old: np.ndarray  # one value per pixel, or shape (1,): the same value for all
    new: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.starts, self.lengths, self.old, self.new) if a is not None)

    def indices(self) -> np.ndarray:
        """Flat indices of the changed pixels (sparse patches only)."""
        assert self.starts is not None
        if self.lengths is None:
            return self.starts
        offsets = np.cumsum(self.lengths) - self.lengths
        total = int(self.lengths.sum())
        return np.repeat(self.starts.astype(np.int64) - offsets, self.lengths) + np.arange(total)

    def write(self, mask: np.ndarray, values: np.ndarray) -> None:
        if self.starts is None:
            y0, x0, y1, x1 = self.box
            mask[y0:y1, x0:x1] = values
        else:
            mask.reshape(-1)[self.indices()] = values


def _collapse(values: np.ndarray) -> np.ndarray:
    """``values`` or, when they are all equal, just the first one (assignment broadcasts it)."""
    if values.size > 1 and (values == values[0]).all():
        return values[:1].copy()
    return values


def _sparse_patch(box: Box, flat: np.ndarray, old: np.ndarray, new: np.ndarray, mask_size: int) -> Patch:
    """A sparse patch of sorted flat indices, as runs when that is shorter."""
    idx_dtype = _index_dtype(mask_size)
    breaks = np.flatnonzero(np.diff(flat) != 1) + 1
    if 2 * (breaks.size + 1) < flat.size:
        bounds = np.concatenate(([0], breaks, [flat.size]))
        starts = flat[bounds[:-1]].astype(idx_dtype)
        lengths = np.diff(bounds).astype(idx_dtype)
    else:
        starts, lengths = flat.astype(idx_dtype), None
    return Patch(box, starts, lengths, _collapse(old), _collapse(new))


@dataclass(frozen=True, eq=False)
class MaskDelta:
    """A reversible change of one mask: its dirty rectangle and the patches that make it.

    Patches are applied in order and reverted in reverse order, so a merged delta is exact even
    when its parts overlap (each part's old values were read after the previous part was applied).
    """

    box: Box
    shape: tuple[int, int]
    patches: tuple[Patch, ...]

    def apply(self, mask: np.ndarray) -> None:
        """Make the change (mask must be in the state the delta was computed from)."""
        self._check(mask)
        for p in self.patches:
            p.write(mask, p.new)

    def revert(self, mask: np.ndarray) -> None:
        """Undo the change (mask must be in the state :meth:`apply` left it in)."""
        self._check(mask)
        for p in reversed(self.patches):
            p.write(mask, p.old)

    def merge(self, other: MaskDelta) -> MaskDelta:
        """This change followed by ``other`` (computed after this one was applied), as one delta.

        The patches are concatenated, not recomputed, so merging every segment of a long drag
        costs no pixel work.
        """
        if other.shape != self.shape:
            raise ValueError(f"cannot merge deltas of masks of different sizes ({self.shape} and {other.shape})")
        return MaskDelta(union_box(self.box, other.box), self.shape, self.patches + other.patches)

    @property
    def nbytes(self) -> int:
        """Bytes held by the delta's arrays (what an undo step costs in memory)."""
        return sum(p.nbytes for p in self.patches)

    def _check(self, mask: np.ndarray) -> None:
        if mask.shape != self.shape:
            raise ValueError(f"delta is for a {self.shape[1]}x{self.shape[0]} mask, "
                             f"not {mask.shape[1] if mask.ndim > 1 else '?'}x{mask.shape[0]}")
        if not mask.flags.c_contiguous or not mask.flags.writeable:
            raise ValueError("mask must be a writeable, C-contiguous array")


def union_box(a: Box, b: Box) -> Box:
    """Smallest box containing both boxes."""
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _check_mask(mask: np.ndarray) -> None:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise ValueError(f"mask must be a 2-D numpy array, got {type(mask).__name__} "
                         f"of shape {getattr(mask, 'shape', '?')}")
    if not mask.flags.c_contiguous:
        raise ValueError("mask must be C-contiguous (np.ascontiguousarray)")


def _index_dtype(size: int) -> type[np.signedinteger]:
    return np.int32 if size < 2**31 else np.int64


def _scalar(mask: np.ndarray, value: bool | int) -> np.generic:
    return mask.dtype.type(value)


def _sparse_delta(mask: np.ndarray, flat: np.ndarray, value: bool | int) -> MaskDelta | None:
    """Delta setting ``mask.flat[flat] = value``, keeping only the pixels that change."""
    if flat.size == 0:
        return None
    v = _scalar(mask, value)
    old = mask.reshape(-1)[flat]
    changed = old != v
    if not changed.any():
        return None
    index = flat[changed]
    rows, cols = np.divmod(index, mask.shape[1])
    box = (int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
    patch = _sparse_patch(box, index, old[changed], np.full(1, v, mask.dtype), mask.size)
    return MaskDelta(box, (mask.shape[0], mask.shape[1]), (patch,))


def _box_delta(mask: np.ndarray, box: Box, new_region: np.ndarray) -> MaskDelta | None:
    """Delta setting ``mask[box] = new_region``: changed pixels only, or the tight box if smaller."""
    y0, x0, y1, x1 = box
    region = mask[y0:y1, x0:x1]
    changed = region != new_region
    rows = np.flatnonzero(changed.any(1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(0))
    ty0, ty1, tx0, tx1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    tight = (y0 + ty0, x0 + tx0, y0 + ty1, x0 + tx1)
    changed = changed[ty0:ty1, tx0:tx1]
    old_t = region[ty0:ty1, tx0:tx1]
    new_t = new_region[ty0:ty1, tx0:tx1]
    dense_bytes = 2 * changed.size * mask.dtype.itemsize
    rr, cc = np.nonzero(changed)
    flat = (rr + tight[0]).astype(np.int64) * mask.shape[1] + (cc + tight[1])
    patch = _sparse_patch(tight, flat, old_t[rr, cc], np.asarray(new_t[rr, cc], mask.dtype), mask.size)
    if patch.nbytes >= dense_bytes:
        patch = Patch(tight, None, None, old_t.copy(), np.array(new_t, dtype=mask.dtype, copy=True))
    return MaskDelta(tight, (mask.shape[0], mask.shape[1]), (patch,))


def _spans_to_flat(rows: np.ndarray, c0: np.ndarray, c1: np.ndarray, width: int) -> np.ndarray:
    """Flat indices of the pixels ``(rows[i], c0[i] .. c1[i])`` (inclusive spans)."""
    lengths = c1 - c0 + 1
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    starts = rows.astype(np.int64) * width + c0
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def capsule_spans(shape: tuple[int, int], p0: Point, p1: Point, radius: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row spans ``(rows, first_col, last_col)`` of the pixels within ``radius`` of segment p0-p1.

    Computed row by row from the geometry (two disks and the strip between them), so the work is
    proportional to the number of rows, not to the area of the segment's bounding box.
    """
    h, w = shape
    r = max(float(radius), MIN_RADIUS)
    ax, ay = float(p0[0]), float(p0[1])
    bx, by = float(p1[0]), float(p1[1])
    if not all(math.isfinite(v) for v in (ax, ay, bx, by, r)):
        raise ValueError(f"brush segment must have finite coordinates, got {p0} -> {p1}, radius {radius}")
    r_first = max(0, math.ceil(min(ay, by) - r - 0.5))
    r_last = min(h - 1, math.floor(max(ay, by) + r - 0.5))
    empty = np.zeros(0, np.int64)
    if r_last < r_first or max(ax, bx) + r < 0 or min(ax, bx) - r > w:
        return empty, empty, empty
    rows = np.arange(r_first, r_last + 1, dtype=np.int64)
    yc = rows + 0.5
    lo = np.full(rows.size, np.inf)
    hi = np.full(rows.size, -np.inf)
    r2 = r * r
    for cx, cy in ((ax, ay), (bx, by)):  # the two round caps
        dy2 = (yc - cy) ** 2
        inside = dy2 <= r2
        half = np.sqrt(np.maximum(r2 - dy2, 0.0))
        lo = np.where(inside, np.minimum(lo, cx - half), lo)
        hi = np.where(inside, np.maximum(hi, cx + half), hi)
    length = math.hypot(bx - ax, by - ay)
    if length > 0:  # the strip: 0 <= along <= length and |across| <= r
        ux, uy = (bx - ax) / length, (by - ay) / length
        dy = yc - ay
        if abs(ux) > 1e-12:
            e1, e2 = -dy * uy / ux, (length - dy * uy) / ux
            a_lo, a_hi = np.minimum(e1, e2), np.maximum(e1, e2)
        else:
            ok = (dy * uy >= 0) & (dy * uy <= length)
            a_lo, a_hi = np.where(ok, -np.inf, np.inf), np.where(ok, np.inf, -np.inf)
        if abs(uy) > 1e-12:
            e1, e2 = (dy * ux - r) / uy, (dy * ux + r) / uy
            b_lo, b_hi = np.minimum(e1, e2), np.maximum(e1, e2)
        else:
            ok = np.abs(dy * ux) <= r
            b_lo, b_hi = np.where(ok, -np.inf, np.inf), np.where(ok, np.inf, -np.inf)
        s_lo, s_hi = np.maximum(a_lo, b_lo), np.minimum(a_hi, b_hi)
        valid = s_lo <= s_hi
        lo = np.where(valid, np.minimum(lo, ax + s_lo), lo)
        hi = np.where(valid, np.maximum(hi, ax + s_hi), hi)
    keep = lo <= hi
    rows, lo, hi = rows[keep], lo[keep], hi[keep]
    c0 = np.maximum(np.ceil(lo - 0.5), 0).astype(np.int64)
    c1 = np.minimum(np.floor(hi - 0.5), w - 1).astype(np.int64)
    keep = c0 <= c1
    return rows[keep], c0[keep], c1[keep]


def paint_segment(mask: np.ndarray, p0: Point, p1: Point, radius: float,
                  value: bool | int, where: np.ndarray | None = None) -> MaskDelta | None:
    """Delta that paints a thick line (round caps) from ``p0`` to ``p1`` with ``value``.

    A brush click is a segment with ``p0 == p1``. Parts outside the image are clipped. Returns
    None when no pixel would change (e.g. painting vessel over vessel). The mask is not modified.
    ``where``: paint only the pixels that are non-zero in it (an artery brush retypes vessel pixels
    and leaves the background alone); read under the brush only, never over the whole image.
    """
    _check_mask(mask)
    rows, c0, c1 = capsule_spans((mask.shape[0], mask.shape[1]), p0, p1, radius)
    flat = _spans_to_flat(rows, c0, c1, mask.shape[1])
    if where is not None:
        if np.shape(where) != mask.shape:
            raise ValueError(f"the paintable region is {_size(np.asarray(where))} but the mask is {_size(mask)}")
        flat = flat[np.asarray(where).reshape(-1)[flat] != 0]
    return _sparse_delta(mask, flat, value)


def polygon_spans(shape: tuple[int, int], points: Sequence[Point],
                  rule: Literal["nonzero", "evenodd"] = "nonzero"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row spans ``(rows, first_col, end_col_exclusive)`` of the pixels inside a closed polygon.

    Scanline rasterisation at pixel centres. ``nonzero`` fills every loop of a lasso that
    crosses itself; ``evenodd`` leaves holes where loops overlap (Qt's OddEvenFill).
    """
    h, w = shape
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    empty = np.zeros(0, np.int64)
    if len(pts) < 3:
        return empty, empty, empty
    if not np.isfinite(pts).all():
        raise ValueError("polygon points must be finite")
    xa, ya = pts[:, 0], pts[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    ymin, ymax = np.minimum(ya, yb), np.maximum(ya, yb)
    # rows whose centre y = r + 0.5 satisfies ymin <= y < ymax (half-open: vertices count once)
    r_start = np.clip(np.ceil(ymin - 0.5), 0, h).astype(np.int64)
    r_end = np.clip(np.ceil(ymax - 0.5), 0, h).astype(np.int64)
    counts = np.where(ya != yb, np.maximum(r_end - r_start, 0), 0)
    total = int(counts.sum())
    if total == 0:
        return empty, empty, empty
    edge = np.repeat(np.arange(len(pts)), counts)
    offsets = np.cumsum(counts) - counts
    row = np.repeat(r_start - offsets, counts) + np.arange(total)
    slope = (xb - xa)[edge] / (yb - ya)[edge]
    x = xa[edge] + (row + 0.5 - ya[edge]) * slope
    direction = np.where(yb[edge] > ya[edge], 1, -1)
    order = np.lexsort((x, row))
    row, x, direction = row[order], x[order], direction[order]
    winding = np.cumsum(direction)  # every row's crossings sum to zero, so this is per-row winding
    inside = winding != 0 if rule == "nonzero" else (winding % 2) != 0
    k = np.flatnonzero(inside[:-1] & (row[:-1] == row[1:]))
    c0 = np.clip(np.ceil(x[k] - 0.5), 0, w).astype(np.int64)
    c1 = np.clip(np.ceil(x[k + 1] - 0.5), 0, w).astype(np.int64)
    keep = c0 < c1
    return row[k][keep], c0[keep], c1[keep]


def fill_polygon(mask: np.ndarray, points: Sequence[Point], value: bool | int,
                 rule: Literal["nonzero", "evenodd"] = "nonzero") -> MaskDelta | None:
    """Delta that sets every pixel inside the closed polygon (lasso) to ``value``.

    ``points`` is the outline, closed implicitly (last point joins the first). The work is
    bounded by the polygon's bounding box. Returns None when nothing would change.
    """
    _check_mask(mask)
    rows, c0, c1 = polygon_spans((mask.shape[0], mask.shape[1]), points, rule)
    if rows.size == 0:
        return None
    y0, y1 = int(rows.min()), int(rows.max()) + 1
    x0, x1 = int(c0.min()), int(c1.max())
    # coverage of the box from the spans: +1 at each start, -1 at each end, cumulative sum
    edges = np.zeros((y1 - y0, x1 - x0 + 1), np.int8)
    np.add.at(edges, (rows - y0, c0 - x0), 1)
    np.add.at(edges, (rows - y0, c1 - x0), -1)
    covered = np.cumsum(edges, axis=1, dtype=np.int8)[:, :-1] > 0
    region = mask[y0:y1, x0:x1]
    new_region = np.where(covered, _scalar(mask, value), region)
    return _box_delta(mask, (y0, x0, y1, x1), new_region)


def replace_delta(mask: np.ndarray, new_mask: np.ndarray) -> MaskDelta | None:
    """Delta that turns ``mask`` into ``new_mask`` (apply a prediction, clear, load a mask file).

    Stores only the changed pixels (as runs where they are consecutive) or the old and new
    values of their bounding box, whichever is smaller. ``new_mask`` is
    converted to the mask's dtype (for a bool mask: non-zero is vessel).
    """
    _check_mask(mask)
    new = np.asarray(new_mask)
    if new.shape != mask.shape:
        raise ValueError(f"the new mask is {_size(new)} but the image is {_size(mask)}")
    new = new != 0 if mask.dtype == np.bool_ else new.astype(mask.dtype, copy=False)
    h, w = mask.shape
    return _box_delta(mask, (0, 0, h, w), new)


def _size(a: np.ndarray) -> str:
    return f"{a.shape[1]}x{a.shape[0]}" if a.ndim >= 2 else f"shape {a.shape}"


def manual_edit_region(base: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Pixels changed by hand: where ``current`` differs from ``base``, the mask the model gave.

    Derived from the masks rather than recorded stroke by stroke, so undone edits do not count.
    """
    base, current = np.asarray(base), np.asarray(current)
    if base.shape != current.shape:
        raise ValueError(f"the masks differ in size: {_size(base)} and {_size(current)}")
    return base != current


def merge_manual_edits(predicted: np.ndarray, current: np.ndarray, edited_region: np.ndarray) -> np.ndarray:
    """A new prediction with the manual edits kept: ``current`` where edited, ``predicted`` elsewhere."""
    predicted, current = np.asarray(predicted), np.asarray(current)
    edited = np.asarray(edited_region, bool)
    if not predicted.shape == current.shape == edited.shape:
        raise ValueError(f"sizes differ: prediction {_size(predicted)}, current mask {_size(current)}, "
                         f"edited region {_size(edited)}")
    return np.where(edited, current, predicted.astype(current.dtype, copy=False))


def vessel_fraction(mask: np.ndarray, fov: np.ndarray | None = None) -> float:
    """Fraction of the FOV (the whole image without one) covered by vessel; 0.0 for an empty FOV."""
    m = np.asarray(mask) != 0
    if fov is None:
        return float(np.count_nonzero(m)) / m.size if m.size else 0.0
    f = np.asarray(fov, bool)
    if f.shape != m.shape:
        raise ValueError(f"the FOV mask is {_size(f)} but the vessel mask is {_size(m)}")
    n = int(np.count_nonzero(f))
    return float(np.count_nonzero(m & f)) / n if n else 0.0


def agreement(mask: np.ndarray, reference: np.ndarray, fov: np.ndarray | None = None) -> Scores:
    """Agreement of the current mask with a reference (e.g. a manual annotation) inside the FOV.

    F1 (= Dice), IoU, sensitivity, specificity... from :func:`core.measure.metrics.mask_scores`;
    non-zero is vessel in both masks.
    """
    m, ref = np.asarray(mask), np.asarray(reference)
    if ref.shape != m.shape:
        raise ValueError(f"the reference mask is {_size(ref)} but the image is {_size(m)}")
    return mask_scores(m != 0, ref != 0, fov)
