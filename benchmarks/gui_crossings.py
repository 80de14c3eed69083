"""What the crossing marks cost on a 3504×2336 image: in the worker (finding them), on the GUI thread (drawing).

Worker side (gui.jobs.crossings): core.predict.crossings.mark_crossings on artery/vein labels, and the box of the
marks that changed. GUI thread: the artery/vein layer redrawn whole with the marks (a new result, the Crossings
box toggled), redrawn inside the changed box only (new marks after a stroke), and the export's check that the
shown marks belong to the labels it writes. The labels are a synthetic tree of wavy lines, each an artery or a
vein, crossing each other (no model is run).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_crossings.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QRect  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.timing import timed  # noqa: E402

H, W = 2336, 3504


def typed_tree(rng: np.random.Generator, lines: int = 40) -> np.ndarray:
    """Labels (0 background, 1 artery, 2 vein): wavy lines of 4–14 px, half of each direction arteries."""
    yy, xx = np.mgrid[0:H, 0:W]
    labels = np.zeros((H, W), np.uint8)
    for i in range(lines):
        if i % 2:
            centre = rng.uniform(0, H) + 80 * np.sin(xx / rng.uniform(150, 400) + rng.uniform(0, 6))
            line = np.abs(yy - centre) < rng.uniform(2, 7)
        else:
            centre = rng.uniform(0, W) + 80 * np.sin(yy / rng.uniform(150, 400) + rng.uniform(0, 6))
            line = np.abs(xx - centre) < rng.uniform(2, 7)
        labels[line] = 1 + (i // 2) % 2
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])

    from core.predict.crossings import find_crossings
    from core.predict.prediction import Prediction
    from core.predict.tasks import get_task
    from gui.canvas.layers.labels import ArteryVeinLabelsAdapter
    from gui.canvas.style import OverlayValues
    from gui.document.document import ImageDocument
    from gui.jobs.crossings import CrossingMarks, LiveCrossings, changed_box, crossing_marks
    from gui.jobs.runner import JobRunner

    labels = typed_tree(np.random.default_rng(0))
    print(f"labels {W}x{H}: {np.count_nonzero(labels) / labels.size:.1%} vessel, "
          f"{len(find_crossings(labels))} places where an artery touches a vein")
    rows: list[tuple[str, str, float]] = []
    ms, marks = timed(lambda: crossing_marks(labels), args.repeat)
    rows.append(("worker", "find the crossing marks (mark_crossings)", ms))
    moved = marks.copy()
    moved[1000:1040, 1500:1540] = ~moved[1000:1040, 1500:1540]
    ms, box = timed(lambda: changed_box(marks, moved), args.repeat)
    rows.append(("worker", "box of the marks that changed", ms))

    # the GUI side: a document holding the labels, the layer drawing them with the marks
    av = np.stack([labels == 0, labels == 1, labels == 2]).astype(np.float32)
    doc = ImageDocument(np.zeros((H, W, 3), np.uint8))
    doc.set_prediction(Prediction(av, get_task("arteries_veins"), {"vessel": 0.5}, np.ones((H, W), bool)))
    jobs = JobRunner("bench")
    live = LiveCrossings(jobs)
    layer = ArteryVeinLabelsAdapter()
    layer.draw_crossings(live)
    layer.bind(doc)
    layer.apply(OverlayValues())
    live.found = CrossingMarks(doc.artery_vein.copy(), marks, None)  # as if the worker had delivered them
    ms, _ = timed(layer.refresh, args.repeat)
    rows.append(("GUI", "redraw the artery/vein layer whole, with the marks", ms))
    y0, x0, y1, x1 = box  # type: ignore[misc]
    ms, _ = timed(lambda: layer.refresh(QRect(x0, y0, x1 - x0, y1 - y0)), args.repeat)
    rows.append(("GUI", f"redraw the changed box ({x1 - x0}x{y1 - y0} px)", ms))
    ms, _ = timed(lambda: live.for_export(doc), args.repeat)
    rows.append(("GUI", "export: check the shown marks belong to the labels", ms))
    jobs.shutdown()

    for side, what, ms in rows:
        print(f"{side:7s}{ms:9.1f} ms  {what}")
    del app


if __name__ == "__main__":
    main()
