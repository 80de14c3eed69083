"""Where the time goes when the app types arteries and veins on a 3504×2336 image, and what the GUI thread pays.

Worker side (gui.jobs): laying the model's types on the vessel mask (segment map + votes), finding the optic
disc, the swap click's segment map (first click) and a cached click, writing ``<stem>_av.png``. GUI thread:
adopting the labels into the document and drawing the artery/vein and vessel layers, one artery-brush
segment with its repaint, applying a swap. The artery/vein probabilities are made up (no model is run: the
network's time is benchmarks/infer_speed.py's); the vessels are a synthetic tree of curved lines.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_artery_vein.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.timing import timed  # noqa: E402

H, W = 2336, 3504


def vessel_tree(rng: np.random.Generator) -> np.ndarray:
    """About 8 % of the image: wavy lines of 4–14 px crossing each other."""
    yy, xx = np.mgrid[0:H, 0:W]
    vessels = np.zeros((H, W), bool)
    for _ in range(40):
        if rng.random() < 0.5:
            centre = rng.uniform(0, H) + 80 * np.sin(xx / rng.uniform(150, 400) + rng.uniform(0, 6))
            vessels |= np.abs(yy - centre) < rng.uniform(2, 7)
        else:
            centre = rng.uniform(0, W) + 80 * np.sin(yy / rng.uniform(150, 400) + rng.uniform(0, 6))
            vessels |= np.abs(xx - centre) < rng.uniform(2, 7)
    return vessels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])

    from core.io.export import export_artery_vein
    from core.measure.optic_disc import find_optic_disc
    from core.predict.artery_vein import typed_prediction
    from core.predict.prediction import Prediction
    from core.predict.tasks import get_task
    from gui.canvas.style import OverlayStyle
    from gui.canvas.view import ImageCanvas
    from gui.document.document import ARTERIES_VEINS, ImageDocument
    from gui.jobs.swap import SegmentCache, swap_job
    from tests.predictions import vessel_prediction

    rng = np.random.default_rng(0)
    vessels = vessel_tree(rng)
    image = np.zeros((H, W, 3), np.uint8)
    image[...] = (190, 90, 40)
    image[vessels] = (120, 50, 25)
    p_artery = rng.random((H, W), np.float32)
    av = Prediction(np.stack([1 - vessels, p_artery * vessels, (1 - p_artery) * vessels]).astype(np.float32),
                    get_task(ARTERIES_VEINS), {"vessel": 0.5}, np.ones((H, W), bool))
    rows: list[tuple[str, str, float]] = []

    ms, typed = timed(lambda: typed_prediction(vessels, av), args.repeat)
    rows.append(("worker", "types laid on the vessel mask (segment votes)", ms))
    ms, _ = timed(lambda: find_optic_disc(image), args.repeat)
    rows.append(("worker", "optic disc found (or not)", ms))

    canvas = ImageCanvas(OverlayStyle())
    canvas.resize(1280, 860)
    canvas.show()
    doc = ImageDocument(image)
    doc.set_prediction(vessel_prediction(vessels.astype(np.float32)))
    canvas.set_document(doc)
    app.processEvents()

    def adopt() -> None:
        doc.state.results.pop(ARTERIES_VEINS, None)
        doc.set_prediction(typed)  # type: ignore[arg-type]
        app.processEvents()

    ms, _ = timed(adopt, args.repeat)
    rows.append(("GUI", "labels adopted and both layers drawn", ms))

    ys, xs = np.nonzero(vessels[H // 2 - 200:H // 2 + 200, W // 2 - 200:W // 2 + 200])
    y, x = int(ys[0]) + H // 2 - 200, int(xs[0]) + W // 2 - 200
    strokes = iter(range(1, 10_000))

    def brush() -> None:  # the other type each time, so every segment changes pixels
        label = 2 if doc.artery_vein[y, x] == 1 else 1
        assert doc.paint_type((x + 0.5, y + 0.5), (x + 6, y + 2), 10, label, next(strokes), "Artery brush")
        app.processEvents()

    ms, _ = timed(brush, max(args.repeat, 20))
    rows.append(("GUI", "one artery-brush segment, repainted", ms))

    cache = SegmentCache()
    labels = doc.artery_vein.copy()
    ms, swapped = timed(lambda: swap_job(SegmentCache(), labels, y, x, 6)(None, lambda: False), 1)  # type: ignore[arg-type]
    rows.append(("worker", "swap click, first (segment map)", ms))
    swap_job(cache, labels, y, x, 6)(None, lambda: False)  # type: ignore[arg-type]
    ms, _ = timed(lambda: swap_job(cache, labels, y, x, 6)(None, lambda: False), args.repeat)  # type: ignore[arg-type]
    rows.append(("worker", "swap click, segment map cached", ms))

    def apply_swap() -> None:
        assert np.array_equal(doc.artery_vein, labels)
        doc.replace_labels(ARTERIES_VEINS, swapped, "Swap artery/vein")  # type: ignore[arg-type]
        app.processEvents()
        doc.undo_stack.undo()

    ms, _ = timed(apply_swap, args.repeat)
    rows.append(("GUI", "swap applied (compare, delta, repaint)", ms))

    with tempfile.TemporaryDirectory() as folder:
        ms, _ = timed(lambda: export_artery_vein(Path(folder) / "x_av.png", labels, overwrite=True), args.repeat)
    rows.append(("worker", "<stem>_av.png written", ms))

    print(f"{W}×{H}, vessels {vessels.mean():.1%} of the image, best of {args.repeat}")
    print(f"{'thread':7} {'step':48} {'ms':>8}")
    for thread, step, ms in rows:
        print(f"{thread:7} {step:48} {ms:8.1f}")


if __name__ == "__main__":
    main()
