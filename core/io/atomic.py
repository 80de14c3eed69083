"""Atomic file writes: a temp file beside the target, fsync, then rename over it."""

from __future__ import annotations

import errno
import glob
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from core.errors import ImageWriteError

STALE_PART_SECONDS = 600

_NO_SPACE = ": free some disk space or choose another folder"
_NO_RIGHTS = ": choose a folder you may write to"
#: What the user can do about common write failures (getattr: not every platform names every code).
_WRITE_HINTS = {
    code: hint
    for name, hint in (("ENOSPC", _NO_SPACE), ("EDQUOT", _NO_SPACE), ("EACCES", _NO_RIGHTS),
                       ("EPERM", _NO_RIGHTS), ("EROFS", ": the disk is read-only; choose another folder"))
    if (code := getattr(errno, name, None)) is not None
}


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask() is process-wide, racy in threads later


def _give_normal_permissions(fd: int) -> None:
    """mkstemp creates 0600 files; give ours the permissions a plain open() would (POSIX only).

    Windows has no os.fchmod before Python 3.13 and ignores all but the read-only bit anyway.
    """
    if os.name == "posix" and hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~_UMASK)


def _remove_stale_parts(path: Path) -> None:
    """Delete temp files of earlier writes to ``path`` that were killed mid-write (older than 10 min)."""
    now = time.time()
    for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass


def write_bytes_atomic(path: Path, writer: Callable[[BinaryIO], object]) -> None:
    """Run ``writer(fileobj)`` into a temp file beside ``path``, fsync, then rename over ``path``."""
    fd = -1
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        _give_normal_permissions(fd)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = ""
        _remove_stale_parts(path)
    except OSError as exc:
        hint = _WRITE_HINTS.get(exc.errno or 0, "")
        raise ImageWriteError(f"{path}: cannot write ({exc.strerror or exc}){hint}") from exc
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
