"""Faults while writing results: a full disk, a read-only folder, a process killed mid-write.

Whatever happens, the final file name holds either the complete old file or the complete new
one (never a part), and the error is an ImageWriteError naming the file and the reason.

Real file systems are used where possible: a tiny tmpfs (full disk) and a read-only tmpfs in a
private mount namespace (``unshare -rm``; skipped where user namespaces are not available). As
root, chmod'ed folders are writable anyway, so a read-only mount is the honest test. The same
faults are also simulated with monkeypatch, which runs everywhere.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ImageWriteError
from core.io import images as imageio
from core.io.export import ExportPaths, default_export_paths, export_all, read_mask
from core.io.images import read_image, write_image
from tests.conftest import synthetic_fundus

REPO = Path(__file__).resolve().parents[2]


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Incompressible RGB: its PNG is about h*w*3 bytes."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# --- simulated faults (portable) -----------------------------------------------------------------

@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_disk_error_at_any_step_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch, failing: str):
    target = tmp_path / "out.png"
    write_image(target, _noise(20, 30))
    before = target.read_bytes()

    def enospc(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "write":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(bytes(data)[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

            def __getattr__(self, name):
                return getattr(self.f, name)

        monkeypatch.setattr(imageio.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(imageio.os, failing, enospc)

    with pytest.raises(ImageWriteError, match="out.png: cannot write \\(No space left on device\\)"):
        write_image(target, _noise(40, 50, seed=1))
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_export_all_failing_midway_names_the_file_and_keeps_every_old_file_whole(tmp_path: Path, monkeypatch):
    paths = default_export_paths(tmp_path, "eye")
    image = synthetic_fundus(40, 48)
    mask = image[..., 0] > 100
    export_all(paths, mask=mask, probability=np.full(mask.shape, 0.25, np.float32), image=image)
    before = {p: p.read_bytes() for p in paths.all()[:3]}
    calls = []
    real_replace = os.replace

    def replace_fails_on_the_overlay(src, dst):
        calls.append(Path(dst).name)
        if Path(dst) == paths.overlay:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(imageio.os, "replace", replace_fails_on_the_overlay)
    with pytest.raises(ImageWriteError, match="eye_overlay.png: cannot write"):
        export_all(paths, mask=~mask, probability=np.full(mask.shape, 0.75, np.float32), image=image, overwrite=True)
    assert paths.overlay.read_bytes() == before[paths.overlay], "the failed file is the old one, whole"
    assert np.array_equal(read_mask(paths.mask), ~mask), "files before the failure are the new ones, whole"
    assert _leftovers(tmp_path) == []


def test_autosave_into_a_folder_that_cannot_be_created_is_an_image_write_error(tmp_path: Path, monkeypatch):
    from core.io.recovery import save_autosave

    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    _expect_write_error(lambda: save_autosave(tmp_path / "autosave", "/data/eye.png", np.eye(4, dtype=bool)),
                        "autosave", "cannot create the autosave folder (Permission denied)")


# --- real file systems in a private mount namespace ------------------------------------------------

def _namespace_tmpfs_works(folder: Path) -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    folder.mkdir(exist_ok=True)
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1"', "sh", str(folder)],
                          capture_output=True, timeout=30)
    return proc.returncode == 0


@pytest.fixture
def private_mount(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run a scenario function of this module inside ``unshare -rm`` with a tmpfs mounted on a folder."""
    mnt = tmp_path / "mnt"
    if not _namespace_tmpfs_works(mnt):
        pytest.skip("needs unshare -rm and tmpfs mounts (Linux user namespaces)")

    def run(scenario: str, size: str, *args: str) -> subprocess.CompletedProcess[str]:
        code = f"import sys; from tests.core.test_write_faults import {scenario} as s; s(*sys.argv[1:])"
        script = 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"'
        proc = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", size, str(mnt), sys.executable, "-c",
                               code, str(mnt), *args], capture_output=True, text=True, timeout=300, cwd=REPO)
        assert proc.returncode == 0, f"{scenario} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    return run


def _expect_write_error(call, *words: str) -> str:  # type: ignore[no-untyped-def]
    try:
        call()
    except ImageWriteError as exc:
        message = str(exc)
        for word in words:
            assert word in message, message
        return message
    raise AssertionError(f"no ImageWriteError (expected one saying {words})")


def scenario_full_disk(mnt: str, model: str, inputs: str) -> None:
    """On a 512 KB tmpfs: exports and a batch that cannot fit fail cleanly; what was there stays whole."""
    from core.batch import plan, run_batch
    from core.io.recovery import save_autosave
    from core.ml.inference import Segmenter

    root = Path(mnt)
    paths = default_export_paths(root, "eye")
    small = synthetic_fundus(40, 48)
    small_mask = small[..., 0] > 100
    export_all(paths, mask=small_mask, image=small)
    before = {p: p.read_bytes() for p in (paths.mask, paths.overlay)}
    big = _noise(400, 500)  # a 600 KB overlay cannot fit
    big_mask = big[..., 0] > 128
    _expect_write_error(lambda: export_all(paths, mask=big_mask, image=big, overwrite=True),
                        "eye_", "No space left on device")
    assert paths.overlay.read_bytes() == before[paths.overlay]
    assert read_mask(paths.mask).shape in ((40, 48), (400, 500)), "the mask is one whole file, old or new"
    assert _leftovers(root) == []

    # fill the disk to the brim, then a batch: every image is reported, nothing half-written
    fd = os.open(root / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    files = sorted(Path(inputs).iterdir())
    summary = run_batch(plan(files, root / "out", save_prob=True, overwrite=False), Segmenter(model, device="cpu"))
    assert len(summary.done) + len(summary.failed) == len(files), summary.text()
    assert summary.failed and all("No space left on device" in why for _, why in summary.failed), summary.text()
    for p in (root / "out").iterdir():
        assert not p.name.endswith(".part"), p
        read_image(p, mode=None)  # anything under a final name is a whole image

    _expect_write_error(lambda: save_autosave(root, "/data/eye.png", big_mask), "No space left on device")
    assert _leftovers(root) == []
    print("full disk: ok")


def scenario_read_only(mnt: str, model: str, inputs: str) -> None:
    """On a read-only mount (refused even to root): clear errors before any work, old files untouched."""
    from core.batch import plan, run_batch
    from core.cli import main
    from core.io.recovery import save_autosave
    from core.ml.inference import Segmenter

    root = Path(mnt)
    paths = default_export_paths(root, "eye")
    image = synthetic_fundus(40, 48)
    mask = image[..., 0] > 100
    export_all(paths, mask=mask, image=image)
    (root / "out").mkdir()
    before = {p: p.read_bytes() for p in paths.all() if p.exists()}
    subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)

    _expect_write_error(lambda: export_all(paths, mask=~mask, image=image, overwrite=True), "read-only")
    _expect_write_error(lambda: write_image(paths.mask, mask), "Read-only file system")
    assert {p: p.read_bytes() for p in paths.all() if p.exists()} == before

    files = sorted(Path(inputs).iterdir())
    segmenter = Segmenter(model, device="cpu")
    calls = []
    real_predict = segmenter.predict
    segmenter.predict = lambda *a, **k: calls.append(1) or real_predict(*a, **k)  # type: ignore[method-assign]
    batch = lambda out: run_batch(plan(files, out, save_prob=False, overwrite=False), segmenter)  # noqa: E731
    _expect_write_error(lambda: batch(root / "out"), "out", "read-only")
    _expect_write_error(lambda: batch(root / "new" / "out"), "cannot create")
    assert calls == [], "no image was segmented for nothing"
    rc = main(["segment", *map(str, files), "-o", str(root / "out"), "--model", model])
    assert rc == 1
    _expect_write_error(lambda: save_autosave(root, "/data/eye.png", mask), "Read-only file system")
    _expect_write_error(lambda: save_autosave(root / "autosave", "/data/eye.png", mask), "autosave")
    assert sorted(p.name for p in root.iterdir()) == sorted([*[p.name for p in before], "out"])
    print("read-only: ok")


@pytest.fixture
def batch_inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(synthetic_fundus(60 + 10 * i, 80, seed=i)).save(folder / f"eye{i}.png")
    return folder


def test_full_disk_on_a_real_tiny_file_system(private_mount, tiny_checkpoint_path: Path, batch_inputs: Path):
    private_mount("scenario_full_disk", "512k", str(tiny_checkpoint_path), str(batch_inputs))


def test_read_only_file_system(private_mount, tiny_checkpoint_path: Path, batch_inputs: Path):
    private_mount("scenario_read_only", "1m", str(tiny_checkpoint_path), str(batch_inputs))


# --- a process killed in the middle of writing ------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys, numpy as np
    from pathlib import Path
    from core.io.export import default_export_paths, export_all
    from core.io.images import write_image
    target, what = Path(sys.argv[1]), sys.argv[2]
    big = np.random.default_rng(1).integers(0, 256, (3000, 3000, 3), dtype=np.uint8)
    print("ready", flush=True)
    for _ in range(1000):
        if what == "image":
            write_image(target, big)
        else:
            export_all(default_export_paths(target.parent, "eye"), mask=big[..., 0] > 128, image=big,
                       probability=big[..., 1] / 255.0, overwrite=True)
""")


@pytest.mark.parametrize("what", ["image", "export_all"])
def test_killed_mid_write_leaves_a_whole_file_under_the_final_name(tmp_path: Path, what: str):
    """SIGKILL a writer at random moments of a 27 MB write: the final names hold whole files, old or new."""
    folder = tmp_path / "out"
    folder.mkdir()
    if what == "image":
        targets = [folder / "big.png"]
        write_image(targets[0], np.zeros((30, 40, 3), np.uint8))
    else:
        paths: ExportPaths = default_export_paths(folder, "eye")
        targets = [paths.mask, paths.probability, paths.overlay]
        export_all(paths, mask=np.zeros((30, 40), bool), image=np.zeros((30, 40, 3), np.uint8),
                   probability=np.zeros((30, 40)), overwrite=True)
    olds = {t: t.read_bytes() for t in targets}
    kills_during_write = 0
    rng = np.random.default_rng(0)
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(targets[0]), what], cwd=REPO,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 60
            while not _leftovers(folder) and time.monotonic() < deadline:  # a temp file: a write is under way
                time.sleep(0.005)
            time.sleep(float(rng.uniform(0, 0.3)))
            during = bool(_leftovers(folder))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
        kills_during_write += during
        for t in targets:
            assert t.exists(), f"attempt {attempt}: {t.name} vanished"
            data = t.read_bytes()
            if data != olds[t]:  # a newer, whole file
                arr = read_image(t, mode=None)
                assert arr.shape[:2] == (3000, 3000), f"attempt {attempt}: {t.name} is {arr.shape}"
        for stale in folder.glob("*.part"):  # what a killed process leaves: hidden temp files only
            assert stale.name.startswith("."), stale
            stale.unlink()
    assert kills_during_write >= 2, "the kills should land during writes"


def test_a_full_disk_message_says_what_to_do(tmp_path) -> None:
    import errno as _errno

    from core.errors import ImageWriteError
    from core.io.atomic import write_bytes_atomic

    def no_space(_f) -> None:
        raise OSError(_errno.ENOSPC, "No space left on device")

    with pytest.raises(ImageWriteError, match="free some disk space"):
        write_bytes_atomic(tmp_path / "mask.png", no_space)
    assert list(tmp_path.iterdir()) == []


def test_temp_files_left_by_a_killed_write_are_cleaned_up_later(tmp_path) -> None:
    import os
    import time

    from core.io.atomic import STALE_PART_SECONDS
    from core.io.images import write_image

    stale = tmp_path / ".mask.png.abc123.part"
    fresh = tmp_path / ".mask.png.def456.part"  # possibly another writer's, in progress
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    write_image(tmp_path / "mask.png", np.zeros((4, 4), np.uint8))
    assert not stale.exists() and fresh.exists()
