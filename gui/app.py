"""main(): QApplication, an excepthook that shows a dialog instead of dying, settings, CLI arguments.

    retinaseg-gui [IMAGE_OR_FOLDER] [--model PATH] [--device auto|cpu|cuda|mps]
                  [--segment] [--arteries-veins] [--screenshot OUT.png]
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from core.predict.devices import DEVICE_CHOICES, DEVICE_HELP
from gui.main_window import MainWindow
from gui.settings import APPLICATION, ORGANIZATION, AppSettings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="retinaseg-gui", description="Review retinal vessel segmentations.")
    p.add_argument("image", nargs="?", help="image file or folder of images to open")
    p.add_argument("--model", help="model checkpoint to use instead of the default model")
    p.add_argument("--device", choices=DEVICE_CHOICES,
                   help=f"compute device: {DEVICE_HELP} (default: as last time; a missing one falls back to the CPU)")
    p.add_argument("--segment", action="store_true", help="segment the image once it is open")
    p.add_argument("--arteries-veins", action="store_true",
                   help="segment the image, then find its arteries, veins and optic disc")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="save a screenshot of the window and exit (after --segment or --arteries-veins finishes)")
    args = p.parse_args(list(argv) if argv is not None else None)
    if (args.segment or args.arteries_veins or args.screenshot) and not args.image:
        p.error("--segment, --arteries-veins and --screenshot need an IMAGE to open")
    return args


def install_excepthook(window_getter) -> None:  # noqa: ANN001
    """Uncaught exceptions on the GUI thread become a dialog; the app keeps running."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(text)
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                          f"Something went wrong: {value}\n\nThe app is still running; "
                          "please report this with the details below.", QMessageBox.StandardButton.Ok,
                          window_getter())
        box.setDetailedText(text)
        box.open()

    sys.excepthook = hook


class ScreenshotRun:
    """--segment / --arteries-veins / --screenshot: open, optionally segment (and find arteries, veins and the
    disc), grab the window, exit with a status."""

    def __init__(self, app: QApplication, window: MainWindow, out: str | None, segment: bool,
                 arteries_veins: bool = False) -> None:
        self.app, self.window, self.out, self.segment = app, window, out, segment
        self.arteries_veins = arteries_veins
        self.exit_code = 0
        self._reported: set[str] = set()  # what the (headless) window has printed already
        window.errorShown.connect(self._reported.add)

    def start(self, opened: bool) -> None:
        if not opened:
            self.finish(False, self.window.last_error or "could not open the image")
            return
        if self.arteries_veins:
            self.window.av.finished.connect(self.finish)
            self.window.av.find()  # segments first; finished(False, …) reports any failure on the way
        elif self.segment:
            self.window.segmentFinished.connect(self.finish)
            if self.window.segment() is None:
                return  # segment() already reported and emitted segmentFinished(False, …)
        elif self.out:
            QTimer.singleShot(300, lambda: self.finish(True, ""))

    def finish(self, ok: bool, message: str) -> None:
        if self.out is None:
            return  # --segment alone: stay open with the result (or the error dialog)
        if not ok:
            if message not in self._reported:  # every error is printed once
                print(f"retinaseg-gui: {message}", file=sys.stderr)
            self.exit_code = 1
            self.app.exit(1)
            return
        QTimer.singleShot(200, self._grab)  # let the overlay paint first

    def _grab(self) -> None:
        if self.window.jobs.busy():  # what the window still computes for the picture (the crossing marks)
            QTimer.singleShot(100, self._grab)
            return
        out = Path(self.out)  # type: ignore[arg-type]
        if not self.window.grab().save(str(out)):
            print(f"retinaseg-gui: cannot write the screenshot {out}", file=sys.stderr)
            self.exit_code = 1
        else:
            print(f"screenshot saved to {out}")
        self.app.exit(self.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(argv if argv is not None else sys.argv[1:])
    if "--self-test" in argv:
        # The installation check needs no display: no QApplication is created.
        from core.selftest import main as self_test

        return self_test(argv)
    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "retinaseg-gui"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("RetinaSeg")
    window = MainWindow(AppSettings(), model_path=args.model, device=args.device, headless=bool(args.screenshot))
    install_excepthook(lambda: window)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    run = ScreenshotRun(app, window, args.screenshot, args.segment, args.arteries_veins)
    if args.image:
        QTimer.singleShot(0, lambda: run.start(window.open_path(args.image)))
    code = app.exec()
    window.shutdown()
    return code or run.exit_code


if __name__ == "__main__":
    sys.exit(main())
