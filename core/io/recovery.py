"""Autosave and crash recovery of edited masks, in an app-data folder given by the caller.

One file per source image, ``<key>.npz`` where ``key`` hashes the image's absolute path, so a
newer autosave of the same image replaces the older one. The file holds the vessel mask (bit-packed),
any further label maps (e.g. the artery/vein labels, ``labels_<name>`` members, uint8) and a JSON
description in a single atomic write: a crash mid-save leaves the previous autosave intact, never a
mask without its description. Files without label maps (older ones included) read as having none.

Reading never crashes: :func:`list_recoverable` reports unreadable files in ``skipped`` with a
reason, and :func:`load_autosave` raises only :class:`RecoveryError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ImageWriteError
from core.io.atomic import write_bytes_atomic

SUFFIX = ".npz"
#: Prefix of the archive members holding label maps other than the vessel mask.
LABELS_PREFIX = "labels_"
FORMAT = "retinaseg-autosave"
VERSION = 1


class RecoveryError(ValueError):
    """An autosave cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class RecoveryEntry:
    """One recoverable autosave."""

    path: Path  # the autosave file
    source_path: Path  # the image it belongs to
    saved_at: str  # ISO 8601, UTC
    shape: tuple[int, int]
    meta: dict[str, Any] = field(default_factory=dict)  # what the caller stored (threshold, model...)

    @property
    def source_exists(self) -> bool:
        return self.source_path.is_file()


@dataclass(frozen=True)
class SkippedAutosave:
    """An autosave file that could not be read, and why (offer to discard it)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class RecoveryScan:
    entries: list[RecoveryEntry]  # newest first
    skipped: list[SkippedAutosave]


def _normalised(source_path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(Path(source_path).expanduser()))


def autosave_key(source_path: str | os.PathLike[str]) -> str:
    """Stable file-name-safe key of an image path (same file, same key)."""
    text = os.path.normcase(str(_normalised(source_path)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def autosave_path(folder: str | os.PathLike[str], source_path: str | os.PathLike[str]) -> Path:
    return Path(folder) / f"{autosave_key(source_path)}{SUFFIX}"


def save_autosave(folder: str | os.PathLike[str], source_path: str | os.PathLike[str], mask: np.ndarray,
                  meta: dict[str, Any] | None = None, labels: Mapping[str, np.ndarray] | None = None) -> Path:
    """Atomically store ``mask`` (non-zero is vessel) for ``source_path``; returns the file.

    ``labels``: further label maps of the mask's size by name (uint8 values, e.g. "arteries_veins"),
    read back by :func:`load_autosave_labels`. ``meta`` must be JSON-serialisable. The folder is created
    when missing. Raises :class:`core.io.images.ImageWriteError` (an OSError) when the file cannot be written.
    Cheap enough for an idle timer (a 3504×2336 mask is packed to 1 MB, then compressed), but
    pass a copy of the mask when calling from a worker thread.
    """
    m = np.asarray(mask)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"an autosaved mask must be a non-empty 2-D array, got shape {m.shape}")
    maps = {}
    for name, values in (labels or {}).items():
        v = np.asarray(values)
        if v.shape != m.shape or not name.isidentifier():
            raise ValueError(f"autosaved labels {name!r} must be named like an identifier and have the mask's "
                             f"size {m.shape[1]}x{m.shape[0]}, got shape {v.shape}")
        maps[LABELS_PREFIX + name] = v.astype(np.uint8)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "source_path": str(_normalised(source_path)),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "shape": [int(m.shape[0]), int(m.shape[1])],
        "meta": meta or {},
    }
    try:
        text = json.dumps(header)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"autosave metadata must be JSON-serialisable: {exc}") from exc
    buf = io.BytesIO()
    np.savez_compressed(buf, header=np.frombuffer(text.encode("utf-8"), np.uint8),
                        bits=np.packbits(m != 0, axis=None), **maps)
    data = buf.getvalue()
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{target}: cannot create the autosave folder ({exc.strerror or exc})") from exc
    path = autosave_path(target, source_path)
    write_bytes_atomic(path, lambda f: f.write(data))
    return path


def _read_header(path: Path, archive: Any) -> dict[str, Any]:
    if "header" not in archive.files or "bits" not in archive.files:
        raise RecoveryError(f"{path}: not a RetinaSeg autosave (missing parts)")
    try:
        header = json.loads(bytes(archive["header"]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecoveryError(f"{path}: autosave description is damaged ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecoveryError(f"{path}: not a RetinaSeg autosave")
    if header.get("version") != VERSION:
        raise RecoveryError(f"{path}: autosave version {header.get('version')} is not supported")
    shape = header.get("shape")
    if (not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(v, int) and v > 0 for v in shape)
            or not isinstance(header.get("source_path"), str) or not isinstance(header.get("meta"), dict)):
        raise RecoveryError(f"{path}: autosave description is incomplete")
    return header


def _open(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise RecoveryError(f"{path}: autosave no longer exists") from exc
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise RecoveryError(f"{path}: autosave is damaged or truncated ({exc})") from exc


def _entry(path: Path) -> RecoveryEntry:
    with _open(path) as archive:
        header = _read_header(path, archive)
    h, w = header["shape"]
    return RecoveryEntry(path, Path(header["source_path"]), str(header.get("saved_at", "")), (h, w),
                         header["meta"])


def list_recoverable(folder: str | os.PathLike[str]) -> RecoveryScan:
    """Autosaves in ``folder``, newest first; unreadable ones are skipped with a reason. Never raises."""
    d = Path(folder)
    entries: list[RecoveryEntry] = []
    skipped: list[SkippedAutosave] = []
    try:
        candidates = sorted(p for p in d.iterdir() if p.suffix == SUFFIX and not p.name.startswith("."))
    except OSError:
        return RecoveryScan([], [])  # no folder yet (nothing was ever autosaved) or unreadable
    for p in candidates:
        try:
            entries.append(_entry(p))
        except RecoveryError as exc:
            skipped.append(SkippedAutosave(p, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bad file must never stop recovery of the others
            skipped.append(SkippedAutosave(p, f"{p}: cannot read autosave ({type(exc).__name__}: {exc})"))
    entries.sort(key=lambda e: e.saved_at, reverse=True)
    return RecoveryScan(entries, skipped)


def load_autosave(entry: RecoveryEntry) -> tuple[np.ndarray, dict[str, Any]]:
    """The autosaved mask (bool, H×W) and the caller's ``meta``; raises :class:`RecoveryError` only."""
    path = entry.path
    try:
        with _open(path) as archive:
            header = _read_header(path, archive)
            bits = archive["bits"]
    except RecoveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip CRC errors, truncated members, bad dtypes...
        raise RecoveryError(f"{path}: autosave is damaged ({type(exc).__name__}: {exc})") from exc
    h, w = header["shape"]
    if bits.dtype != np.uint8 or bits.ndim != 1 or bits.size != (h * w + 7) // 8:
        raise RecoveryError(f"{path}: autosaved mask does not match its size {w}x{h}")
    mask = np.unpackbits(bits, count=h * w).astype(bool).reshape(h, w)
    return mask, header["meta"]


def load_autosave_labels(entry: RecoveryEntry) -> dict[str, np.ndarray]:
    """The label maps stored beside the mask (uint8, H×W, by name; empty when there are none); raises
    :class:`RecoveryError` only."""
    path = entry.path
    try:
        with _open(path) as archive:
            header = _read_header(path, archive)
            maps = {name[len(LABELS_PREFIX):]: archive[name] for name in archive.files
                    if name.startswith(LABELS_PREFIX)}
    except RecoveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip CRC errors, truncated members, bad dtypes...
        raise RecoveryError(f"{path}: autosave is damaged ({type(exc).__name__}: {exc})") from exc
    h, w = header["shape"]
    for name, values in maps.items():
        if values.dtype != np.uint8 or values.shape != (h, w):
            raise RecoveryError(f"{path}: autosaved {name} labels do not match the mask's size {w}x{h}")
    return maps


def _remove(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        return False  # e.g. a read-only app-data folder: it is offered again later, which is harmless
    return True


def discard(entry: RecoveryEntry | SkippedAutosave) -> bool:
    """Delete an autosave (recovered, declined, or unreadable); False when it could not be deleted."""
    return _remove(entry.path)


def discard_for(folder: str | os.PathLike[str], source_path: str | os.PathLike[str]) -> bool:
    """Delete the autosave of one image (after it was saved or its edits were discarded)."""
    return _remove(autosave_path(folder, source_path))
