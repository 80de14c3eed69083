"""Child processes for tests/gui/test_crash.py: the app doing real work until the test SIGKILLs it.

    python -m tests.gui.crash_driver export IMAGE OUT_DIR PAUSE FILE_INDEX
        open IMAGE in a MainWindow, give it a large mask, export to OUT_DIR; with PAUSE "write" or
        "rename" the FILE_INDEX-th file of the export stops half written (or written, not yet renamed),
        prints ``PAUSED <temp file>`` and waits to be killed; with PAUSE "none" it prints ``EXPORTING``
        and runs on.
    python -m tests.gui.crash_driver edit IMAGE EXPECTED.npy
        gui.app.main(IMAGE): paint a stroke on the canvas, wait for the autosave, save the mask to
        EXPECTED.npy, print ``AUTOSAVED <file>`` and wait to be killed.
    python -m tests.gui.crash_driver recover RESULT.npy
        gui.app.main(): answer Recover to the offer at start-up, save the recovered mask to RESULT.npy
        and print one JSON line describing the window.

App data and settings come from XDG_DATA_HOME / XDG_CONFIG_HOME, which the test points at tmp_path.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import numpy as np

MASK_SHAPE = (2336, 3504)  # a full-size fundus camera image


def large_mask() -> np.ndarray:
    """Random vessels: compresses badly, so the PNG takes many writes."""
    return np.random.default_rng(7).random(MASK_SHAPE) > 0.6


def large_image(path: Path) -> Path:
    from core.io.images import write_image

    h, w = MASK_SHAPE
    yy, xx = np.mgrid[0:h, 0:w]
    disk = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= (0.45 * h) ** 2
    image = np.zeros((h, w, 3), np.uint8)
    image[disk] = (200, 90, 40)
    return write_image(path, image)


def say(text: str) -> None:
    print(text, flush=True)


def wait_to_be_killed() -> None:
    threading.Event().wait(120)
    os._exit(3)  # the test did not kill us: it failed anyway


def export(image: str, out_dir: str, pause: str, file_index: str) -> None:
    import tempfile

    from PySide6.QtWidgets import QApplication

    import gui.dialogs.prompts
    from core.edit.task_result import MaskSource
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    app = QApplication([])
    window = MainWindow(AppSettings.from_file(Path(out_dir).parent / "settings.ini"), headless=True,
                        autosave_dir=Path(out_dir).parent / "autosave")
    gui.dialogs.prompts.ask_overwrite = lambda *_a: True
    if not Path(image).exists():
        large_image(Path(image))
    assert window.open_path(image)
    window.autosave.idle_ms = 24 * 3600 * 1000  # the export runs in a job: keep the autosave from writing meanwhile
    window.document.replace_mask(large_mask(), MaskSource.EMPTY, "paint")
    target = int(file_index)
    count = [0]
    real_mkstemp, real_fdopen, real_replace = tempfile.mkstemp, os.fdopen, os.replace
    temps: list[str] = []

    def mkstemp(*a, **k):  # noqa: ANN002, ANN003, ANN202
        fd, tmp = real_mkstemp(*a, **k)
        temps.append(tmp)
        return fd, tmp

    from tests.gui.file_proxy import FileProxy

    class Pausing(FileProxy):
        def __init__(self, f) -> None:  # noqa: ANN001
            super().__init__(f)
            self._written = 0

        def write(self, data) -> int:  # noqa: ANN001
            n = self._f.write(data)
            self._written += n
            if self._written > 64 * 1024:  # well into the file: flush what we have and stop here
                self._f.flush()
                os.fsync(self._f.fileno())
                say(f"PAUSED {temps[-1]}")
                wait_to_be_killed()
            return n

    def fdopen(fd, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        f = real_fdopen(fd, *a, **k)
        count[0] += 1
        return Pausing(f) if pause == "write" and count[0] == target else f

    def replace(src, dst, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        if pause == "rename" and count[0] == target:
            say(f"PAUSED {src}")
            wait_to_be_killed()
        return real_replace(src, dst, *a, **k)

    tempfile.mkstemp, os.fdopen, os.replace = mkstemp, fdopen, replace
    say("EXPORTING")
    ok = window.export(out_dir)
    say(f"EXPORTED {ok}")
    window.shutdown()
    del app


def _main_window():  # noqa: ANN202
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return found[0] if found else None


def edit(image: str, expected: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import gui.app
    from tests.gui.test_editing import drag

    app = QApplication([sys.argv[0]])

    def paint() -> None:
        window = _main_window()
        if window is None or window.document is None:
            QTimer.singleShot(20, paint)
            return
        window.autosave.idle_ms = 50

        def saved(path: Path) -> None:
            np.save(expected, window.document.mask)
            say(f"AUTOSAVED {path}")
            wait_to_be_killed()  # a crash with unsaved edits: no close, no question

        window.autosave.saved.connect(saved)
        window.canvas.zoom_100()
        window.canvas.centerOn(56, 48)
        drag(window.canvas, [(10, 10), (60, 40), (90, 40)])

    QTimer.singleShot(0, paint)
    gui.app.main([image, "--device", "cpu"])
    del app


def recover(result: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import gui.app
    import gui.dialogs.prompts

    app = QApplication([sys.argv[0]])
    asked: list[list[str]] = []
    gui.dialogs.prompts.ask_recover = lambda _parent, names, missing=0: asked.append(list(names)) or "recover"

    def report() -> None:
        window = _main_window()
        if window is None or window.document is None:
            QTimer.singleShot(20, report)
            return
        doc = window.document
        np.save(result, doc.mask)
        say(json.dumps({"asked": asked, "name": doc.name, "source": doc.mask_source,
                        "modified": window.isWindowModified(), "undo": doc.undo_stack.undoText(),
                        "autosave_dir": str(window.autosave.folder)}))
        os._exit(0)  # no need to wait for the device probe; the test has what it needs

    QTimer.singleShot(0, report)
    gui.app.main([])
    del app


if __name__ == "__main__":
    {"export": export, "edit": edit, "recover": recover}[sys.argv[1]](*sys.argv[2:])
