"""The program: no torch before the window shows, and the --segment --screenshot path end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def run_py(args: list[str], tmp_path: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_window_appears_without_importing_torch(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        import gui.app
        from PySide6.QtWidgets import QApplication
        from gui.main_window import MainWindow
        from gui.settings import AppSettings
        app = QApplication([])
        w = MainWindow(AppSettings.from_file({str(tmp_path / 's.ini')!r}))
        w.show()
        app.processEvents()  # painted; the device probe (which imports torch) starts later
        assert w.isVisible()
        print("torch" in sys.modules)
        w.shutdown()
    """)
    r = run_py(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"


def test_segment_and_screenshot(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    from core.io.images import write_image
    from tests.conftest import synthetic_fundus

    image = write_image(tmp_path / "eye.png", synthetic_fundus(120, 140))
    out = tmp_path / "shot.png"
    r = run_py(["-m", "gui", str(image), "--model", str(tiny_checkpoint_path), "--device", "cpu",
                "--segment", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    shot = QImage(str(out))
    assert not shot.isNull() and shot.width() >= 640 and shot.height() >= 480


@pytest.mark.parametrize("case", ["unreadable image", "bad model"])
def test_screenshot_run_fails_with_a_message(tmp_path: Path, tiny_checkpoint_path: Path, case: str) -> None:
    from core.io.images import write_image
    from tests.conftest import synthetic_fundus

    image = write_image(tmp_path / "eye.png", synthetic_fundus(64, 64))
    model = tiny_checkpoint_path
    if case == "unreadable image":
        image = tmp_path / "broken.png"
        image.write_bytes(b"garbage")
    else:
        model = tmp_path / "bad.pt"
        model.write_bytes(b"garbage")
    out = tmp_path / "shot.png"
    r = run_py(["-m", "gui", str(image), "--model", str(model), "--segment", "--screenshot", str(out)], tmp_path)
    assert r.returncode != 0
    assert (image.name if case == "unreadable image" else "bad.pt") in r.stderr
    assert not out.exists()


def test_closing_the_window_mid_segmentation_exits_cleanly(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    from core.io.images import write_image
    from tests.conftest import synthetic_fundus

    image = write_image(tmp_path / "big.png", synthetic_fundus(1500, 2100))
    code = textwrap.dedent(f"""
        import sys
        from PySide6.QtWidgets import QApplication
        from gui.main_window import MainWindow
        from gui.settings import AppSettings
        app = QApplication([])
        w = MainWindow(AppSettings.from_file({str(tmp_path / 's.ini')!r}), model_path={str(tiny_checkpoint_path)!r},
                       device="cpu", headless=True)
        w.show()
        w.open_path({str(image)!r})
        w.jobs.progress.connect(lambda *_: w.close())  # close as soon as the first tile reports
        w.jobs.progress.connect(lambda *_: app.quit())
        w.segment()
        sys.exit(app.exec())
    """)
    r = run_py(["-c", code], tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "QThread" not in r.stderr and "Traceback" not in r.stderr


def test_uncaught_exception_shows_a_dialog_and_the_app_lives_on(qtbot, monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox, QWidget

    from gui.app import install_excepthook

    parent = QWidget()
    qtbot.addWidget(parent)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook(lambda: parent)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    boxes = parent.findChildren(QMessageBox)
    assert boxes and "boom in a slot" in boxes[0].text() and "boom in a slot" in boxes[0].detailedText()
    boxes[0].accept()


def test_self_test_runs_without_a_display(tmp_path) -> None:
    """`retinaseg-gui --self-test` / `python -m gui --self-test` check the install and exit, no window."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "gui", "--self-test"], capture_output=True, text=True,
                          timeout=180, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("self-test OK")
