"""Offline (issue 7): the whole GUI flow — start, open, segment with a real model, paint, autosave,
export, model card, batch, recovery offer — never opens a network connection or resolves a name.

Python sockets are blocked before the window exists (so the worker's torch import and every thread
run under the block), and each attempt is recorded, so a swallowed OSError cannot hide one. The real
program (``python -m gui … --segment --screenshot``) runs too, with the block installed by a
sitecustomize before anything (torch included) is imported. Qt's own networking would bypass Python
sockets, so a static check makes sure no app module imports it.
"""

from __future__ import annotations

import ast
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gui.dialogs.prompts
from core.io.export import read_mask
from tests.gui.test_editing import drag
from tests.offline import offline_env

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60_000
NETWORK_MODULES = ("socket", "ssl", "urllib", "http", "requests", "httpx", "aiohttp", "ftplib", "smtplib",
                   "PySide6.QtNetwork", "PySide6.QtWebEngineCore", "PySide6.QtWebSockets", "torch.hub")


def test_the_block_records_an_attempt(no_network: list[str]) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("localhost", 9))
    assert no_network and no_network[0].startswith("create_connection")


def test_the_full_gui_flow_stays_offline(qtbot, no_network: list[str], make_window, image_file: Path,  # noqa: ANN001
                                         image_folder: Path, tmp_path: Path, tiny_checkpoint_path: Path,
                                         monkeypatch) -> None:
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda *_a: "later")
    window = make_window()  # the real PredictionService: torch, the tiny checkpoint, the CPU
    window.offer_recovery()
    window.autosave.idle_ms = 20

    assert window.open_path(image_file)
    with qtbot.waitSignal(window.segmentFinished, timeout=TIMEOUT) as done:
        window.act_segment.trigger()
    assert done.args[0], done.args
    window.canvas.zoom_100()
    window.canvas.centerOn(56, 48)
    with qtbot.waitSignal(window.autosave.saved, timeout=TIMEOUT):
        drag(window.canvas, [(5, 5), (40, 20)])
    out = tmp_path / "export"
    out.mkdir()
    assert window.export(str(out))
    np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), window.document.mask)
    with qtbot.waitSignal(window.models.cardReady, timeout=TIMEOUT):
        window.show_model_card()

    dialog = window.show_batch()
    dialog.input_edit.setText(str(image_folder))
    dialog.output_edit.setText(str(tmp_path / "batch"))
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as batch:
        assert dialog.start()
    assert [p.name for p in batch.args[0].done] == ["a.png", "b.png"]  # c_broken.png is listed as failed
    dialog.close()

    assert no_network == []


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="settings are redirected through XDG_CONFIG_HOME, which Qt honours on Linux only")
def test_the_gui_program_segments_offline(tmp_path: Path, image_file: Path, tiny_checkpoint_path: Path) -> None:
    env, log = offline_env(tmp_path, ROOT)
    shot = tmp_path / "shot.png"
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.getaddrinfo('example.com', 80)"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0 and log.read_text().split() == ["getaddrinfo"]  # the block is in place
    log.unlink()

    r = subprocess.run([sys.executable, "-m", "gui", str(image_file), "--model", str(tiny_checkpoint_path),
                        "--device", "cpu", "--segment", "--screenshot", str(shot)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert shot.is_file() and not log.exists()


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_app_module_imports_a_network_library() -> None:
    """Qt's QNetworkAccessManager or torch.hub downloads would not go through the socket block above."""
    found = {}
    for path in sorted([*ROOT.glob("gui/**/*.py"), *ROOT.glob("core/**/*.py")]):
        bad = sorted(n for n in _imports(path) if any(n == m or n.startswith(m + ".") for m in NETWORK_MODULES))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    assert found == {}
