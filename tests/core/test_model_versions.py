"""The model version store: what a version holds, newest first, and all-or-nothing saves.

Most tests use a fake checkpoint writer (bytes, no torch); one saves, exports and reloads a real
checkpoint. A save that fails, or a process killed in the middle of one, leaves the folder listing
exactly the versions completed before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.io import model_versions
from core.io.model_versions import ModelVersionError, ModelVersionStore, file_sha256, make_card

REPO = Path(__file__).resolve().parents[2]


def write_bytes(checkpoint: bytes, path: Path) -> None:
    path.write_bytes(checkpoint)


class Clock:
    """A clock that moves one second a call: saves get distinct, ordered ids."""

    def __init__(self) -> None:
        self.t = datetime(2025, 3, 1, 9, 30, 0)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def card(**results: object) -> dict:
    return make_card(base_model="vessels_unet16.pt", images=[], settings={"minutes": 4.0},
                     results=results or {"after_f1": 0.8})


@pytest.fixture
def store(tmp_path: Path) -> ModelVersionStore:
    return ModelVersionStore(tmp_path / "models", write_checkpoint=write_bytes, now=Clock())


def test_an_empty_or_missing_folder_has_no_versions(store: ModelVersionStore) -> None:
    assert store.list() == []
    assert not store.folder.exists()  # listing creates nothing


def test_a_saved_version_is_a_checkpoint_file_and_its_card(store: ModelVersionStore) -> None:
    v = store.save(b"weights", card(before_f1=0.7, after_f1=0.8))
    assert v.path.read_bytes() == b"weights"
    assert v.path.parent == store.folder and v.path.suffix == ".pt"
    beside = json.loads(v.path.with_suffix(".json").read_text())
    assert beside["results"] == {"before_f1": 0.7, "after_f1": 0.8}
    assert store.get(v.id) == v
    assert store.find(str(v.path)) == v
    assert store.find(store.folder.parent / "other.pt") is None


def test_the_card_names_images_by_hash_and_holds_no_pixels(tmp_path: Path) -> None:
    image = tmp_path / "eye.png"
    image.write_bytes(b"\x89PNG pretend")
    c = make_card(base_model="base.pt", images=[("eye.png", image), ("unsaved", None)],
                  settings={"crop": 256, "shape": (2, 3)}, results={"wrong_pixels": {"eye.png": (120, 40)}},
                  created=datetime(2025, 3, 1, 10, 0).astimezone(), extra={"seed": 0})
    assert c["images"] == [{"name": "eye.png", "sha256": file_sha256(image)}, {"name": "unsaved", "sha256": None}]
    assert len(c["images"][0]["sha256"]) == 64
    assert c["base_model"] == "base.pt" and c["settings"] == {"crop": 256, "shape": [2, 3]}
    assert c["results"]["wrong_pixels"] == {"eye.png": [120, 40]}
    assert c["name"] == "Adapted 2025-03-01 10:00 (2 images)"
    assert c["created"].startswith("2025-03-01T10:00:00")
    json.dumps(c)  # JSON-ready as it is


def test_versions_are_listed_newest_first_even_within_one_second(tmp_path: Path) -> None:
    fixed = datetime(2025, 3, 1, 9, 30, 0)
    store = ModelVersionStore(tmp_path / "models", write_checkpoint=write_bytes, now=lambda: fixed)
    first, second, third = (store.save(b"%d" % i, card()) for i in range(3))
    assert [v.id for v in store.list()] == [third.id, second.id, first.id]
    assert third.path.read_bytes() == b"2"


def test_delete_removes_a_version_and_its_card(store: ModelVersionStore) -> None:
    keep, gone = store.save(b"a", card()), store.save(b"b", card())
    store.delete(gone.id)
    assert store.list() == [keep]
    assert sorted(p.name for p in store.folder.iterdir()) == [f"{keep.id}.json", f"{keep.id}.pt"]
    with pytest.raises(ModelVersionError, match="no model version"):
        store.delete(gone.id)
    with pytest.raises(ModelVersionError, match="no model version"):
        store.get("../../etc/passwd")


def test_export_copies_the_checkpoint(store: ModelVersionStore, tmp_path: Path) -> None:
    v = store.save(b"weights", card())
    out = store.export(v, tmp_path / "for a colleague.pt")
    assert out.read_bytes() == b"weights"
    with pytest.raises(ModelVersionError, match="cannot export"):
        store.export(v, tmp_path / "no such folder" / "x.pt")


def test_a_real_checkpoint_saved_as_a_version_loads_after_export(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    from core.ml.checkpoint import load_checkpoint

    base = load_checkpoint(tiny_checkpoint_path)
    store = ModelVersionStore(tmp_path / "models")
    v = store.save(base, card())
    exported = load_checkpoint(store.export(v, tmp_path / "shared.pt"))
    assert exported.arch == base.arch
    assert all((exported.state_dict[k] == t).all() for k, t in base.state_dict.items())
    assert load_checkpoint(v.path).thresholds == base.thresholds


def test_a_failed_save_leaves_nothing_behind(store: ModelVersionStore) -> None:
    before = store.save(b"good", card())

    def dies_half_way(checkpoint: bytes, path: Path) -> None:
        path.write_bytes(checkpoint[:2])
        raise OSError(28, "No space left on device")

    failing = ModelVersionStore(store.folder, write_checkpoint=dies_half_way, now=Clock())
    with pytest.raises(ModelVersionError, match="No space left on device"):
        failing.save(b"new weights", card())
    assert store.list() == [before]
    assert sorted(p.name for p in store.folder.iterdir()) == [f"{before.id}.json", f"{before.id}.pt"]


def test_a_failed_card_write_leaves_no_version(store: ModelVersionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(path: Path, writer: object) -> None:
        raise model_versions.ModelVersionError(f"{path}: cannot write (No space left on device)")

    monkeypatch.setattr(model_versions, "write_bytes_atomic", full_disk)
    with pytest.raises(ModelVersionError, match="No space"):
        store.save(b"weights", card())
    assert store.list() == [] and list(store.folder.iterdir()) == []


def test_a_damaged_card_hides_its_version_and_nothing_else(store: ModelVersionStore) -> None:
    good, damaged = store.save(b"a", card()), store.save(b"b", card())
    damaged.path.with_suffix(".json").write_text('{"schema": "retinaseg-model-ver')
    assert store.list() == [good]


SAVE_AND_STALL = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.io import model_versions
    from core.io.model_versions import ModelVersionStore, make_card

    folder, stage, ready = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

    def stall(path):
        ready.write_text(str(path))
        time.sleep(60)

    def write_checkpoint(checkpoint, path):
        path.write_bytes(checkpoint[: len(checkpoint) // 2])
        if stage == "checkpoint":
            stall(path)
        path.write_bytes(checkpoint)

    real_atomic = model_versions.write_bytes_atomic

    def card_write(path, writer):
        if stage == "card":
            stall(path)
        real_atomic(path, writer)

    model_versions.write_bytes_atomic = card_write
    store = ModelVersionStore(folder, write_checkpoint=write_checkpoint)
    store.save(b"x" * 100_000, make_card(base_model="b", images=[], settings={}, results={}))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("stage", ["checkpoint", "card"])
def test_a_process_killed_mid_save_leaves_the_folder_readable_and_complete(store: ModelVersionStore, tmp_path: Path,
                                                                          stage: str) -> None:
    done = store.save(b"complete", card())
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", SAVE_AND_STALL, str(store.folder), stage, str(ready)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the saving process ended before it stalled"
            assert time.monotonic() < deadline, "the saving process never reached the stall"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert len(list(store.folder.iterdir())) > 2  # the killed save did leave something
    assert store.list() == [done]
    assert done.path.read_bytes() == b"complete"
    # a later save works and, once the leftovers are old, removes them
    old = time.time() - model_versions.ORPHAN_SECONDS - 1
    for p in store.folder.iterdir():
        os.utime(p, (old, old))
    later = store.save(b"later", card())
    assert {p.name for p in store.folder.iterdir()} == {f"{v.id}{s}" for v in (done, later) for s in (".pt", ".json")}
