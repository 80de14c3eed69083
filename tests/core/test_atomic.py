"""The atomic writer on each platform: POSIX permissions where they exist, no os.fchmod on Windows."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from core.io.atomic import write_bytes_atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_written_files_get_normal_permissions_not_mkstemps_0600(tmp_path: Path):
    write_bytes_atomic(tmp_path / "a.bin", lambda f: f.write(b"data"))
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o666 & ~_umask()


def test_on_windows_before_python_3_13_there_is_no_fchmod_and_the_write_succeeds(tmp_path: Path, monkeypatch):
    with monkeypatch.context() as m:
        m.delattr(os, "fchmod", raising=False)
        m.setattr(os, "name", "nt")
        write_bytes_atomic(tmp_path / "a.bin", lambda f: f.write(b"data"))
    assert (tmp_path / "a.bin").read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


@pytest.mark.parametrize(("platform", "calls"), [("nt", 0), ("posix", 1)])
def test_fchmod_is_used_only_on_posix(tmp_path: Path, monkeypatch, platform: str, calls: int):
    """Python 3.13 has os.fchmod on Windows, where it only toggles the read-only flag: not needed there."""
    seen: list[int] = []
    with monkeypatch.context() as m:
        m.setattr(os, "fchmod", lambda fd, mode: seen.append(mode), raising=False)
        m.setattr(os, "name", platform)
        write_bytes_atomic(tmp_path / "a.bin", lambda f: f.write(b"data"))
    assert len(seen) == calls
    assert (tmp_path / "a.bin").read_bytes() == b"data"
