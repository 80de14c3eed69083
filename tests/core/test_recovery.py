"""Autosave and recovery: what was saved comes back; damaged files are skipped, never fatal."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.errors import ImageWriteError
from core.io.recovery import (
    RecoveryError,
    autosave_key,
    autosave_path,
    discard,
    discard_for,
    list_recoverable,
    load_autosave,
    save_autosave,
)


@pytest.fixture
def mask() -> np.ndarray:
    return np.random.default_rng(0).random((37, 53)) < 0.2  # odd size: bit packing pads


def test_saved_mask_and_meta_come_back(tmp_path: Path, mask: np.ndarray):
    store = tmp_path / "autosave"  # created on first save
    source = tmp_path / "images" / "01_test.tif"
    path = save_autosave(store, source, mask, {"threshold": 0.4, "model": "unet16"})
    assert path.parent == store
    scan = list_recoverable(store)
    assert scan.skipped == []
    [entry] = scan.entries
    assert entry.source_path == source and entry.shape == mask.shape
    assert entry.meta == {"threshold": 0.4, "model": "unet16"}
    assert not entry.source_exists
    back, meta = load_autosave(entry)
    assert back.dtype == np.bool_ and np.array_equal(back, mask)
    assert meta["threshold"] == 0.4


def test_one_file_per_image_newer_replaces_older(tmp_path: Path, mask: np.ndarray):
    save_autosave(tmp_path, "a.tif", mask)
    save_autosave(tmp_path, "a.tif", ~mask)
    save_autosave(tmp_path, "b.tif", mask)
    entries = list_recoverable(tmp_path).entries
    assert sorted(e.source_path.name for e in entries) == ["a.tif", "b.tif"]
    a = next(e for e in entries if e.source_path.name == "a.tif")
    assert np.array_equal(load_autosave(a)[0], ~mask)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_key_depends_on_the_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert autosave_key("x.tif") == autosave_key(tmp_path / "x.tif")
    assert autosave_key("x.tif") != autosave_key("y.tif")
    assert len(autosave_key("x.tif")) == 32


def test_missing_folder_lists_nothing(tmp_path: Path):
    scan = list_recoverable(tmp_path / "never-created")
    assert scan.entries == [] and scan.skipped == []


def _damaged(folder: Path, mask: np.ndarray) -> dict[str, Path]:
    """One autosave per kind of damage, named after it."""
    good = save_autosave(folder, "good.tif", mask)
    data = good.read_bytes()
    files = {}

    def put(name: str, content: bytes) -> None:
        files[name] = folder / f"{name}.npz"
        files[name].write_bytes(content)

    put("empty", b"")
    put("truncated", data[: len(data) // 2])
    put("garbage", b"not a zip file at all" * 10)
    buf = io.BytesIO()
    np.savez(buf, other=np.zeros(3))
    put("foreign", buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(b"{not json", np.uint8), bits=np.zeros(3, np.uint8))
    put("bad-header", buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, header=np.array(["x"], dtype=object), bits=np.zeros(3, np.uint8))  # pickled member
    put("pickled", buf.getvalue())
    return files


def test_damaged_autosaves_are_skipped_with_a_reason(tmp_path: Path, mask: np.ndarray):
    files = _damaged(tmp_path, mask)
    scan = list_recoverable(tmp_path)
    assert [e.source_path.name for e in scan.entries] == ["good.tif"]
    assert {s.path for s in scan.skipped} == set(files.values())
    for s in scan.skipped:
        assert str(s.path) in s.reason


def test_a_mask_damaged_after_listing_raises_recovery_error_only(tmp_path: Path, mask: np.ndarray):
    path = save_autosave(tmp_path, "a.tif", mask)
    [entry] = list_recoverable(tmp_path).entries
    # flip bytes inside the compressed mask, keeping the zip directory: zlib or the CRC must notice
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("bits.npy")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + info.compress_size - 2):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(RecoveryError, match=str(path)):
        load_autosave(entry)
    path.unlink()
    with pytest.raises(RecoveryError, match="no longer exists"):
        load_autosave(entry)


def test_wrong_bit_count_is_refused(tmp_path: Path, mask: np.ndarray):
    path = save_autosave(tmp_path, "a.tif", mask)
    with np.load(path) as z:
        header = z["header"]
    np.savez(path.with_suffix(""), header=header, bits=np.zeros(5, np.uint8))
    [entry] = list_recoverable(tmp_path).entries
    with pytest.raises(RecoveryError, match="does not match its size 53x37"):
        load_autosave(entry)


def test_discard(tmp_path: Path, mask: np.ndarray):
    save_autosave(tmp_path, "a.tif", mask)
    save_autosave(tmp_path, "b.tif", mask)
    (tmp_path / "bad.npz").write_bytes(b"junk")
    scan = list_recoverable(tmp_path)
    assert discard(scan.entries[0]) and discard(scan.skipped[0])
    assert discard(scan.entries[0])  # already gone: fine
    assert len(list_recoverable(tmp_path).entries) == 1
    remaining = list_recoverable(tmp_path).entries[0].source_path
    assert discard_for(tmp_path, remaining) and not autosave_path(tmp_path, remaining).exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_save_keeps_the_previous_autosave(tmp_path: Path, mask: np.ndarray,
                                                     monkeypatch: pytest.MonkeyPatch):
    save_autosave(tmp_path, "a.tif", mask)

    def killed(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("core.io.images.os.replace", killed)
    with pytest.raises(ImageWriteError, match="No space left"):
        save_autosave(tmp_path, "a.tif", ~mask)
    [entry] = list_recoverable(tmp_path).entries
    assert np.array_equal(load_autosave(entry)[0], mask)
    assert len(list(tmp_path.iterdir())) == 1


def test_stray_temp_files_are_ignored(tmp_path: Path, mask: np.ndarray):
    save_autosave(tmp_path, "a.tif", mask)
    (tmp_path / ".abc.npz.1234.part").write_bytes(b"half")
    (tmp_path / "notes.txt").write_text("hello")
    scan = list_recoverable(tmp_path)
    assert len(scan.entries) == 1 and scan.skipped == []


def test_meta_must_be_json(tmp_path: Path, mask: np.ndarray):
    with pytest.raises(ValueError, match="JSON"):
        save_autosave(tmp_path, "a.tif", mask, {"bad": object()})


def test_a_large_mask_is_small_on_disk(tmp_path: Path):
    big = np.zeros((2336, 3504), bool)
    big[1000:1100, :] = True
    path = save_autosave(tmp_path, "big.tif", big)
    assert path.stat().st_size < big.nbytes / 100
    [entry] = list_recoverable(tmp_path).entries
    assert np.array_equal(load_autosave(entry)[0], big)
