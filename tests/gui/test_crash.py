"""The app killed (SIGKILL) mid-export leaves no partial file under a final name, and a crash with
unsaved edits is recovered on the next start. Real child processes (tests/gui/crash_driver.py)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.io.export import read_mask
from core.io.images import write_image
from tests.conftest import synthetic_fundus
from tests.gui.crash_driver import large_mask

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and XDG folders are POSIX")

ROOT = Path(__file__).resolve().parents[2]
FINAL_NAMES = ["eye_mask.png", "eye_overlay.png", "eye_info.json"]  # no prediction: no _prob.png


def start(args: list[str], tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.Popen([sys.executable, "-m", "tests.gui.crash_driver", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_line(proc: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
    """The child's first stdout line starting with ``prefix`` (fails with its stderr when it dies first)."""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                line = proc.stdout.readline()
                if line.startswith(prefix):
                    return line.strip()
                if not line:
                    break
    proc.kill()
    _, err = proc.communicate()
    pytest.fail(f"child never said {prefix!r}; stderr:\n{err[-3000:]}")


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def assert_absent_or_complete(out: Path, expected_mask: np.ndarray, old: dict[str, bytes]) -> list[str]:
    """Every final name is missing, the old file untouched, or the new file whole. Returns the names found."""
    found = []
    for name in FINAL_NAMES:
        p = out / name
        if not p.exists():
            continue
        found.append(name)
        data = p.read_bytes()
        if data == old.get(name):
            continue  # the previous export, intact
        if name == "eye_mask.png":
            np.testing.assert_array_equal(read_mask(p), expected_mask)
        elif name == "eye_overlay.png":
            from core.io.images import read_image

            assert read_image(p, mode=None).shape == (*expected_mask.shape, 3)
        else:
            assert json.loads(data)["width"] == expected_mask.shape[1]
    return found


@pytest.fixture(scope="module")
def big_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.gui.crash_driver import large_image

    return large_image(tmp_path_factory.mktemp("big") / "eye.png")


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-folder", "over-an-old-export"])
@pytest.mark.parametrize(("pause", "file_index"), [("write", 1), ("rename", 1), ("write", 2)],
                         ids=["mid-mask-write", "mask-written-not-renamed", "mid-overlay-write"])
def test_killed_mid_export_never_leaves_a_partial_file(tmp_path: Path, big_image: Path, pause: str,
                                                       file_index: int, overwrite: bool) -> None:
    out = tmp_path / "out"
    out.mkdir()
    old: dict[str, bytes] = {}
    if overwrite:  # an earlier export of another mask: it must survive whole, or be replaced whole
        write_image(out / "eye_mask.png", np.zeros(large_mask().shape, np.uint8))
        (out / "eye_info.json").write_text('{"old": true}')
        old = {p.name: p.read_bytes() for p in out.iterdir()}

    proc = start(["export", str(big_image), str(out), pause, str(file_index)], tmp_path)
    temp = Path(read_line(proc, "PAUSED").split(" ", 1)[1])
    assert temp.parent == out and temp.name.startswith(".eye_") and temp.stat().st_size > 0  # really mid-way
    kill(proc)

    expected = large_mask()
    found = assert_absent_or_complete(out, expected, old)
    if file_index == 1:  # killed inside the first file: the mask is the old one or absent
        assert (out / "eye_mask.png").exists() == overwrite
        assert not overwrite or (out / "eye_mask.png").read_bytes() == old["eye_mask.png"]
    else:  # the mask was finished before the kill: it is the new one, complete
        np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), expected)
        assert "eye_overlay.png" not in found
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(found)


def test_killed_at_an_unplanned_moment_of_an_export(tmp_path: Path, big_image: Path) -> None:
    """No pause in the child: kill it as soon as a temp file shows up in the folder (a write is under
    way); whatever it had reached, no final name is partial."""
    out = tmp_path / "out"
    out.mkdir()
    proc = start(["export", str(big_image), str(out), "none", "0"], tmp_path)
    read_line(proc, "EXPORTING")
    deadline = time.monotonic() + 60
    while not any(p.suffix == ".part" for p in out.iterdir()) and proc.poll() is None:
        assert time.monotonic() < deadline, "the export never started writing"
    if proc.poll() is None:
        kill(proc)
    else:  # a very fast machine finished first: the files must then be complete
        proc.communicate(timeout=30)
    assert_absent_or_complete(out, large_mask(), {})


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="app data is redirected through XDG_DATA_HOME, which Qt honours on Linux only")
def test_a_crash_with_unsaved_edits_is_recovered_on_the_next_start(tmp_path: Path) -> None:
    image = write_image(tmp_path / "eye.png", synthetic_fundus(96, 112))
    expected_file, result_file = tmp_path / "expected.npy", tmp_path / "recovered.npy"

    first = start(["edit", str(image), str(expected_file)], tmp_path)
    autosave = Path(read_line(first, "AUTOSAVED").split(" ", 1)[1])
    kill(first)  # no close event, no Save/Discard question: the edits exist only in the autosave
    expected = np.load(expected_file)
    assert expected.any()
    assert autosave.parent == tmp_path / "data" / "RetinaSeg" / "RetinaSeg" / "autosave"

    second = start(["recover", str(result_file)], tmp_path)
    state = json.loads(read_line(second, "{"))
    second.communicate(timeout=30)

    assert state["asked"] == [["eye.png"]] and state["name"] == "eye.png"
    np.testing.assert_array_equal(np.load(result_file), expected)  # exactly the edited mask
    assert state["source"] == "recovered" and state["modified"]  # unsaved until exported
    assert state["undo"] == "Recover autosaved edits"  # one undo step
    assert autosave.exists()  # kept until the recovered edits are exported or discarded

