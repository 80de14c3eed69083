"""Time to apply AND display one brush segment on the real canvas with a 3504×2336 image (target <= 16 ms).

Each timed step is a mouse-move event delivered to ImageCanvas (left button held, brush tool): the
tool computes the segment's delta, pushes it on the document's QUndoStack (merging into the drag's
step), the mask layer repaints the dirty rectangle, and the pending viewport update is painted
(QApplication.processEvents, which draws only the exposed region into the window's backing store).
Measured at fit-to-window and 100 % zoom, with the mask overlay on, in a 1280×860 main window.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_paint.py [--segments 300] [--radius 10]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QObject, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

H, W = 2336, 3504
STEP = 6.0  # image pixels between mouse events (a brisk drag at 100 %)


def mouse(canvas, kind: QEvent.Type, scene: tuple[float, float]) -> None:  # noqa: ANN001
    pos = canvas.mapFromScene(QPointF(*scene))
    left = Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else left
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else left
    ev = QMouseEvent(kind, QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    {QEvent.Type.MouseButtonPress: canvas.mousePressEvent, QEvent.Type.MouseMove: canvas.mouseMoveEvent,
     QEvent.Type.MouseButtonRelease: canvas.mouseReleaseEvent}[kind](ev)


class PaintCounter(QObject):
    """Counts the viewport's paint events, to show each timed step really repainted."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def run(app: QApplication, window, zoom: str, segments: int, rng: np.random.Generator,  # noqa: ANN001
        counter: PaintCounter) -> tuple[np.ndarray, int]:
    canvas = window.canvas
    canvas.fit_to_window() if zoom == "fit" else canvas.zoom_100()
    canvas.centerOn(W / 2, H / 2)
    app.processEvents()
    centre = canvas.mapToScene(canvas.viewport().rect().center())
    p = np.array([centre.x(), centre.y()])
    step = STEP / min(1.0, canvas.zoom) if zoom == "fit" else STEP
    view = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    lo = np.array([view.left(), view.top()]) + 40
    hi = np.array([view.right(), view.bottom()]) - 40
    mouse(canvas, QEvent.Type.MouseButtonPress, tuple(p))
    app.processEvents()
    times = []
    painted = 0
    angle = 0.0
    for _ in range(segments):
        angle += rng.normal(0, 0.4)
        q = p + step * np.array([math.cos(angle), math.sin(angle)])
        if not ((lo < q) & (q < hi)).all():
            angle += math.pi
            q = p + step * np.array([math.cos(angle), math.sin(angle)])
        before = counter.count
        t0 = time.perf_counter()
        mouse(canvas, QEvent.Type.MouseMove, tuple(q))
        app.processEvents()  # the repaint of the dirty region
        times.append(time.perf_counter() - t0)
        painted += counter.count > before
        p = q
    mouse(canvas, QEvent.Type.MouseButtonRelease, tuple(p))
    return np.asarray(times) * 1e3, painted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--radius", type=float, default=10.0, help="brush radius in image pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from core.predict.prediction import Prediction
    from core.predict.tasks import VesselTask
    from gui.document.document import ImageDocument
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="gui_paint_"))
    window = MainWindow(AppSettings.from_file(tmp / "settings.ini"), headless=True, autosave_dir=tmp / "autosave")
    window.resize(1280, 860)
    window.show()
    rng = np.random.default_rng(args.seed)
    image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:H, 0:W]
    prob = (0.5 + 0.5 * np.sin(xx / 37.0) * np.cos(yy / 53.0)).astype(np.float32)  # ~10-40 % vessel
    doc = ImageDocument(image, tmp / "big.png", parent=window.session)
    window.session._documents[doc.path] = doc  # show it without reading a 24 MB file from disk
    window.session.paths = [doc.path]
    window.editing.adopt(doc)
    window.session._show(0, doc)
    doc.set_prediction(Prediction(np.stack([1 - prob, prob]), VesselTask(), {"vessel": 0.8}, np.ones((H, W), bool)))
    window.editing.tools.set_size(round(2 * args.radius))
    app.processEvents()
    print(f"image {W}x{H}, brush radius {args.radius:g} px, {args.segments} segments per zoom, "
          f"window {window.width()}x{window.height()}, platform {app.platformName()}")
    counter = PaintCounter()
    window.canvas.viewport().installEventFilter(counter)
    for zoom in ("fit", "100%"):
        ms, painted = run(app, window, zoom, args.segments, rng, counter)
        print(f"  zoom {zoom:<5} ({window.canvas.zoom * 100:5.1f} %): median {np.median(ms):6.2f} ms   "
              f"p95 {np.percentile(ms, 95):6.2f} ms   max {ms.max():6.2f} ms   "
              f"repainted in {painted}/{len(ms)} steps   (target <= 16 ms median)")
    stack = doc.undo_stack
    print(f"undo steps: {stack.count()} (one per drag); the two drags hold "
          f"{sum(stack.command(i).nbytes for i in range(stack.count())) / 1e3:.0f} kB")
    t0 = time.perf_counter()
    stack.undo()
    app.processEvents()
    print(f"undo of the last drag incl. repaint: {1e3 * (time.perf_counter() - t0):.1f} ms")
    window.close()
    window.shutdown()


if __name__ == "__main__":
    main()
