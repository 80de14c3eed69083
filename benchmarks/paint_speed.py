"""How long one brush segment takes on a 3504×2336 mask (the issue's target: <= 16 ms to apply and display).

Measures, per segment of a drag (radius 10, 30 px long, random direction):
  * compute: ``paint_segment`` (the delta of the touched pixels)
  * apply: ``delta.apply`` + merging into the drag's delta (what StrokeCommand.redo/mergeWith do)
  * display proxy: the dirty rectangle of the label mask turned into an 8-bit indexed QImage through the
    labels layer's colour table (gui/canvas/render.py); the canvas's real repaint (drawing that image into
    the layer's image) comes on top.
Then the undo of a whole 200-segment drag and the memory its delta holds.

    python benchmarks/paint_speed.py [--repeats 500] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from core.edit.mask_ops import MaskDelta, paint_segment
from core.predict.tasks import BACKGROUND, VESSEL

H, W = 2336, 3504
RADIUS = 10.0
LENGTH = 30.0


def synthetic_mask(seed: int) -> np.ndarray:
    """~10 % vessel pixels in thin random lines, like a thresholded prediction."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), np.uint8)  # a label mask, as the document holds it
    for _ in range(400):
        a = rng.uniform((0, 0), (W, H))
        b = a + rng.normal(0, 250, 2)
        d = paint_segment(mask, tuple(a), tuple(b), rng.uniform(1, 5), VESSEL)
        if d is not None:
            d.apply(mask)
    return mask


def qimage_of_rect(mask: np.ndarray, box: tuple[int, int, int, int]) -> object:
    from PySide6.QtGui import QColor

    from gui.canvas.render import labels_color_table, labels_to_qimage

    y0, x0, y1, x1 = box
    return labels_to_qimage(mask[y0:y1, x0:x1], labels_color_table({VESSEL: QColor("#ff2020")}, 0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500, help="segments to time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    mask = synthetic_mask(args.seed)
    print(f"mask {W}x{H} ({mask.nbytes / 1e6:.1f} MB), {np.mean(mask == VESSEL):.1%} vessel; "
          f"segments: radius {RADIUS:g}, length {LENGTH:g} px, {args.repeats} timed")

    qimage_of_rect(mask, (0, 0, 8, 8))  # warm up: the first call imports Qt
    compute, apply_, display, total = [], [], [], []
    drag: MaskDelta | None = None
    p = np.array([W / 2, H / 2])
    angle = 0.0
    for i in range(args.repeats):
        angle += rng.normal(0, 0.5)
        q = p + LENGTH * np.array([math.cos(angle), math.sin(angle)])
        if not (50 < q[0] < W - 50 and 50 < q[1] < H - 50):  # bounce off the border
            angle += math.pi
            q = p + LENGTH * np.array([math.cos(angle), math.sin(angle)])
        value = VESSEL if i % 50 < 40 else BACKGROUND  # mostly paint, sometimes erase
        t0 = time.perf_counter()
        delta = paint_segment(mask, tuple(p), tuple(q), RADIUS, value)
        t1 = time.perf_counter()
        if delta is not None:
            delta.apply(mask)
            drag = delta if drag is None else drag.merge(delta)
        t2 = time.perf_counter()
        if delta is not None:
            qimage_of_rect(mask, delta.box)
        t3 = time.perf_counter()
        compute.append(t1 - t0)
        apply_.append(t2 - t1)
        display.append(t3 - t2)
        total.append(t3 - t0)
        p = q

    def row(name: str, times: list[float]) -> None:
        ms = np.asarray(times) * 1e3
        print(f"  {name:<38} median {np.median(ms):7.3f} ms   p95 {np.percentile(ms, 95):7.3f} ms   "
              f"max {ms.max():7.3f} ms")

    row("compute delta (paint_segment)", compute)
    row("apply + merge into the drag", apply_)
    row("display proxy (dirty rect -> QImage)", display)
    row("one segment, all of the above", total)
    core_ms = float(np.median(np.asarray(compute) + np.asarray(apply_)) * 1e3)
    print(f"median apply time per segment (compute + apply): {core_ms:.3f} ms  (target <= 16 ms incl. display)")

    if drag is not None:
        t0 = time.perf_counter()
        drag.revert(mask)
        t1 = time.perf_counter()
        drag.apply(mask)
        t2 = time.perf_counter()
        print(f"whole drag of {len(drag.patches)} segments: undo {1e3 * (t1 - t0):.2f} ms, "
              f"redo {1e3 * (t2 - t1):.2f} ms, delta holds {drag.nbytes / 1e3:.1f} kB "
              f"({drag.nbytes / mask.nbytes:.2%} of the mask)")


if __name__ == "__main__":
    main()
