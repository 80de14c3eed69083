"""Time from launching the app to its window on screen, and to the first result on a DRIVE image.

Each measurement starts a fresh Python process (offscreen Qt, isolated settings) and times, from
the parent, the moment the child reports: window shown (after its first paint), then, when a DRIVE
image is available, the image segmented with the app's worker (which imports torch and loads the
model on that first run). The issue's target for the window: <= 1.5 s.

    python benchmarks/gui_startup.py [--repeats 3] [--model PATH] [--device cpu]

DRIVE comes from $RETINASEG_DRIVE (default ../shared/data/DRIVE); the model defaults to the
default model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import gui.app  # what `retinaseg-gui` imports first
from gui.main_window import MainWindow
from gui.settings import AppSettings

image, model, device = sys.argv[1], sys.argv[2] or None, sys.argv[3]
app = QApplication(sys.argv[:1])
window = MainWindow(AppSettings(), model_path=model, device=device, headless=True)

def shown():
    print("shown", "torch" in sys.modules, flush=True)
    if not image:
        app.quit()
        return
    window.segmentFinished.connect(done)
    if window.open_path(image):
        window.segment()
    else:
        app.exit(1)

def done(ok, message):
    print("result", ok, message, flush=True)
    app.exit(0 if ok else 1)

window.show()
QTimer.singleShot(0, shown)  # runs after the show/paint events of this first loop iteration
app.exec()
window.shutdown()
"""


def launch(image: str, model: str, device: str, config: Path) -> dict[str, float | str]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "XDG_CONFIG_HOME": str(config), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, image, model, device], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: dict[str, float | str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        now = time.perf_counter() - start
        if line.startswith("shown"):
            out["shown"] = now
            out["torch_before_window"] = line.split()[1]
        elif line.startswith("result"):
            out["result"] = now
            out["result_line"] = line.strip()
    proc.wait(timeout=600)
    if proc.returncode != 0:
        out["error"] = (proc.stderr.read() if proc.stderr else "")[-800:]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="", help="checkpoint (default: the default model)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    config = Path(tempfile.mkdtemp(prefix="gui_startup_"))

    shown = []
    for _ in range(args.repeats):
        r = launch("", args.model, args.device, config)
        if "shown" not in r:
            sys.exit(f"the window never appeared: {r.get('error', '')}")
        shown.append(float(r["shown"]))
    print(f"launch -> window shown: median {statistics.median(shown):.2f} s over {args.repeats} launches "
          f"(min {min(shown):.2f}, max {max(shown):.2f}); torch imported before the window: "
          f"{r['torch_before_window']}")

    drive = Path(os.environ.get("RETINASEG_DRIVE", ROOT.parent / "shared" / "data" / "DRIVE"))
    images = sorted((drive / "test" / "images").glob("*.tif")) if drive.is_dir() else []
    if not images:
        print(f"time to first result: skipped (no DRIVE test images under {drive}; set RETINASEG_DRIVE)")
        return
    r = launch(str(images[0]), args.model, args.device, config)
    if "result" not in r or "True" not in str(r.get("result_line")):
        print(f"time to first result on {images[0].name}: FAILED {r.get('result_line', '')} {r.get('error', '')}")
        return
    print(f"launch -> first result on DRIVE {images[0].name} ({args.device}, "
          f"model {args.model or 'default'}): {float(r['result']):.2f} s (window shown at {float(r['shown']):.2f} s; "
          "includes torch import and model load in the worker)")


if __name__ == "__main__":
    main()
