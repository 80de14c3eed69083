"""How soon the Measurements panel shows new values after an edit of a DRIVE-sized image, and where the time goes;
``--screenshot`` instead makes the README's picture of the panel.

Timing: a headless MainWindow shows DRIVE training image 21 (565×584) with its manual vessel mask, its RITE
artery/vein labels and the optic disc the detector finds, measured once. Then each kind of edit (a brush
segment, an artery/vein brush segment, the disc moved, the field angle changed) is made ``--repeat`` times,
and the wall time from the edit to the panel's new values is printed: the pause after the last change
(gui.widgets.measurements_live.DELAY_MS) included, with the CPU time of each stage of compute_biomarkers.

Screenshot: the CC0 sample photo (resources/samples) segmented and typed by the shipped models, its optic disc
found, the Measurements panel beside the image and CRAE of zone B selected, its vessels drawn on the image.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_measurements.py [--data DRIVE_DIR] [--repeat 5]
    QT_QPA_PLATFORM=offscreen python benchmarks/gui_measurements.py --screenshot docs/measurements.png
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QAbstractItemView, QApplication  # noqa: E402


def wait(signal: object, timeout_s: float = 60.0) -> tuple:
    """Run the event loop until ``signal`` fires; its arguments (RuntimeError after the timeout)."""
    loop, got = QEventLoop(), []

    def done(*args: object) -> None:
        got.append(args)
        loop.quit()

    signal.connect(done)  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(done)  # type: ignore[attr-defined]
    if not got:
        raise RuntimeError(f"no signal within {timeout_s:.0f} s")
    return got[0]


def make_window(tmp: Path):  # noqa: ANN201
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    settings = AppSettings.from_file(tmp / "settings.ini")
    settings.show_measurements = True  # the panel as a user who opened it sees it
    window = MainWindow(settings, headless=True, autosave_dir=tmp / "autosave")
    window.resize(1600, 960)
    window.show()
    return window


def timing(data: Path | None, repeat: int) -> None:
    from core.io.artery_vein import ARTERY, VEIN
    from core.io.datasets import default_drive_root, find_drive, load_sample
    from core.measure.optic_disc import find_optic_disc
    from gui.document.document import ARTERIES_VEINS
    from gui.widgets.measurements_live import DELAY_MS

    root = data or default_drive_root()
    if root is None:
        sys.exit("no DRIVE folder: pass --data or set RETINASEG_DRIVE / RETINASEG_DATA")
    files = next(f for f in find_drive(root, "training") if f.name == "21")
    sample = load_sample(files)
    with tempfile.TemporaryDirectory() as folder:
        window = make_window(Path(folder))
        live, panel = window.measurements.live, window.measurements.panel
        window.open_path(files.image)
        doc = window.document
        doc.set_fov(sample.fov)
        disc = find_optic_disc(sample.image, sample.fov)
        doc.replace_mask(sample.vessels, "file", "manual")
        doc.replace_labels(ARTERIES_VEINS, sample.av, "RITE")
        doc.put_disc(disc)
        report = wait(live.measured)[0]
        print(f"DRIVE 21 ({doc.width}×{doc.height}), disc {disc.diameter:.0f} px; pause before measuring {DELAY_MS} ms")
        print("stages (CPU ms of the worker): "
              + ", ".join(f"{k} {v * 1000:.0f}" for k, v in report.timings.items()))
        x, y = disc.x, disc.y
        arteries = np.argwhere(sample.av == ARTERY)[::97]  # artery pixels to retype, spread over the image

        def vein_brush(i: int) -> object:
            row, col = (float(v) for v in arteries[i % len(arteries)])
            return doc.paint_type((col - 3, row), (col + 3, row), 3.0, VEIN, 2000 + i, "Vein brush")

        edits: dict[str, Callable[[int], object]] = {
            "brush segment": lambda i: doc.paint((300 + 4 * i, 100), (330 + 4 * i, 140), 2.0, True, 1000 + i),
            "vein brush segment": vein_brush,
            "disc moved": lambda i: doc.set_disc(disc.moved(x + (i % 2) * 6, y), "Move optic disc"),
            "field angle": lambda i: panel.field_angle.setValue(45 + i % 2 * 5),
        }
        print(f"{'edit':20s} {'edit -> new values, wall ms':>30s} {'compute, CPU ms':>18s}")
        for name, edit in edits.items():
            walls, cpus = [], []
            for i in range(repeat):
                t0 = time.perf_counter()
                if edit(i) is False:
                    sys.exit(f"{name}: the edit changed nothing")
                report = wait(live.measured)[0]
                walls.append((time.perf_counter() - t0) * 1000)
                cpus.append(sum(report.timings.values()) * 1000)
            spread = f"median {statistics.median(walls):5.0f}, max {max(walls):5.0f}"
            print(f"{name:20s} {spread:>30s} {'median':>11s} {statistics.median(cpus):6.0f}")
        window.shutdown()


def screenshot(out: Path) -> None:
    from core.resources import resource_path

    sample = resource_path("samples", "fundus_cc0.jpg")
    with tempfile.TemporaryDirectory() as folder:
        window = make_window(Path(folder))
        live, panel = window.measurements.live, window.measurements.panel
        assert window.open_path(sample)
        window.av.find()  # segments first, then types the vessels and finds the disc
        ok, message = wait(window.av.finished)
        if not ok:
            sys.exit(f"finding arteries and veins failed: {message}")
        while not live.current:
            wait(live.measured)
        row = panel.row_of("crae", "artery", "zone_b")
        entry = live.report.get("crae", "artery", "zone_b")
        print(f"CRAE zone B: {entry.text()}")
        if row < 0 or entry.missing:
            sys.exit("CRAE of zone B was not measured: nothing to highlight")
        panel.table.selectRow(row)
        panel.table.scrollToItem(panel.table.item(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        loop = QEventLoop()
        QTimer.singleShot(500, loop.quit)  # let everything paint
        loop.exec()
        if not window.grab().save(str(out)):
            sys.exit(f"cannot write {out}")
        print(f"screenshot saved to {out}")
        window.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="the DRIVE folder (training/, test/)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--screenshot", type=Path, metavar="OUT.png")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841 - the window needs it alive
    if args.screenshot:
        screenshot(args.screenshot)
    else:
        timing(args.data, args.repeat)


if __name__ == "__main__":
    main()
