"""Model versions: the user's adapted checkpoints, kept in the app's data folder beside (never over) the
shipped model.

A version is two files in the store's folder: ``<id>.pt``, a checkpoint any part of the app loads (the
Model menu, the CLI, a colleague's copy), and ``<id>.json``, its card: the base model, the images it
learnt from (names and SHA-256 of the files, never pixels), the settings, when, and the before/after
figures. The card is written last and is the version's commit mark: a save that dies before it leaves no
version, only a stray checkpoint that the next save removes. Each file is a temp file + ``os.replace``.

The checkpoint is written by ``write_checkpoint(checkpoint, path)`` (core.ml's ``save_checkpoint``,
imported when a version is saved, so this module stays torch-free); tests may pass their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import RetinaSegError
from core.io.atomic import write_bytes_atomic

CARD_SCHEMA = "retinaseg-model-version"
CARD_VERSION = 1
CHECKPOINT_SUFFIX = ".pt"
CARD_SUFFIX = ".json"
#: A checkpoint without its card is a save that died; removed once this old (a save in progress is younger).
ORPHAN_SECONDS = 600
_ID = re.compile(r"^\d{8}-\d{6}(-\d{2})?$")

CheckpointWriter = Callable[[Any, Path], object]


class ModelVersionError(RetinaSegError, OSError):
    """A version cannot be saved, found, exported or deleted; the message says which and why."""


def _save_checkpoint(checkpoint: Any, path: Path) -> None:
    from core.ml.checkpoint import save_checkpoint

    save_checkpoint(checkpoint, path)


@dataclass(frozen=True)
class ModelVersion:
    """One saved version: its id (sortable by time), checkpoint file and card."""

    id: str
    path: Path
    card: Mapping[str, Any]

    @property
    def name(self) -> str:
        """What menus show: the card's name, else the id."""
        return str(self.card.get("name") or self.id)

    @property
    def created(self) -> str:
        return str(self.card.get("created", ""))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex): names an image in a card without its pixels."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_card(*, base_model: str, images: Iterable[tuple[str, str | os.PathLike[str] | None]],
              settings: Mapping[str, Any], results: Mapping[str, Any], name: str = "",
              created: datetime | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A version's card. ``images``: (name, image file or None when there is no file to hash).

    ``results``: the before/after figures (held-out image and F1, wrong pixels per image, steps, seconds).
    ``extra``: what the fine-tuning itself reports, kept under ``"finetune"``.
    """
    when = (created or datetime.now().astimezone()).isoformat(timespec="seconds")
    used = [{"name": str(n), "sha256": file_sha256(p) if p is not None and Path(p).is_file() else None}
            for n, p in images]
    default = f"Adapted {when[:16].replace('T', ' ')} ({len(used)} image{'s' if len(used) != 1 else ''})"
    return {"schema": CARD_SCHEMA, "schema_version": CARD_VERSION, "name": name or default, "created": when,
            "base_model": base_model, "images": used, "settings": _plain(settings), "results": _plain(results),
            "finetune": _plain(extra or {})}


def _plain(value: Any) -> Any:
    """JSON-ready: mappings as dicts, tuples as lists, numbers as Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


class ModelVersionStore:
    """The versions in one folder (created on the first save)."""

    def __init__(self, folder: str | os.PathLike[str], write_checkpoint: CheckpointWriter | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.folder = Path(folder)
        self._write_checkpoint = write_checkpoint or _save_checkpoint
        self._now = now or (lambda: datetime.now().astimezone())

    # reading ------------------------------------------------------------------------------------------
    def list(self) -> list[ModelVersion]:
        """Every complete version, newest first; a damaged or half-written one is left out."""
        if not self.folder.is_dir():
            return []
        found = []
        for card_path in self.folder.glob(f"*{CARD_SUFFIX}"):
            version = self._read(card_path.stem)
            if version is not None:
                found.append(version)
        return sorted(found, key=lambda v: v.id, reverse=True)

    def get(self, version_id: str) -> ModelVersion:
        version = self._read(version_id) if _ID.match(version_id) else None
        if version is None:
            raise ModelVersionError(f"no model version {version_id!r} in {self.folder}")
        return version

    def find(self, model_path: str | os.PathLike[str] | None) -> ModelVersion | None:
        """The version whose checkpoint is ``model_path``, if it is one of this store's."""
        if not model_path:
            return None
        p = Path(model_path)
        if p.parent.resolve() != self.folder.resolve() or p.suffix != CHECKPOINT_SUFFIX:
            return None
        return self._read(p.stem) if _ID.match(p.stem) else None

    def _read(self, version_id: str) -> ModelVersion | None:
        checkpoint, card_path = self._paths(version_id)
        if not checkpoint.is_file():
            return None
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(card, dict) or card.get("schema") != CARD_SCHEMA:
            return None
        return ModelVersion(version_id, checkpoint, card)

    def _paths(self, version_id: str) -> tuple[Path, Path]:
        return self.folder / f"{version_id}{CHECKPOINT_SUFFIX}", self.folder / f"{version_id}{CARD_SUFFIX}"

    # writing ------------------------------------------------------------------------------------------
    def save(self, checkpoint: Any, card: Mapping[str, Any]) -> ModelVersion:
        """Store ``checkpoint`` with ``card`` as a new version; all of it or (on any failure) nothing."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelVersionError(f"cannot create the model folder {self.folder} ({exc.strerror or exc})") from exc
        self._remove_orphans()
        version_id = self._new_id()
        final, card_path = self._paths(version_id)
        part = self.folder / f".{final.name}.part"
        data = (json.dumps(_plain(card), indent=2) + "\n").encode("utf-8")
        try:
            self._write_checkpoint(checkpoint, part)
            _fsync_file(part)
            os.replace(part, final)
            write_bytes_atomic(card_path, lambda f: f.write(data))  # the commit: now the version exists
            _fsync_dir(self.folder)
        except BaseException as exc:
            for leftover in (part, final):
                leftover.unlink(missing_ok=True)
            if isinstance(exc, Exception) and not isinstance(exc, ModelVersionError):
                raise ModelVersionError(f"cannot save the model version in {self.folder}: {_reason(exc)}") from exc
            raise
        return ModelVersion(version_id, final, json.loads(data))

    def delete(self, version_id: str) -> None:
        """Remove a version (its card first: a failure half-way leaves a stray checkpoint, no broken version)."""
        version = self.get(version_id)
        checkpoint, card_path = self._paths(version.id)
        try:
            card_path.unlink()
            checkpoint.unlink(missing_ok=True)
        except OSError as exc:
            raise ModelVersionError(f"cannot delete model version {version.name}: {_reason(exc)}") from exc

    def export(self, version: ModelVersion | str, path: str | os.PathLike[str]) -> Path:
        """Copy a version's checkpoint to ``path`` (atomically): a file anyone can load as a checkpoint."""
        v = self.get(version) if isinstance(version, str) else version
        target = Path(path)
        try:
            with v.path.open("rb") as src:
                write_bytes_atomic(target, lambda f: shutil.copyfileobj(src, f))
        except OSError as exc:
            raise ModelVersionError(f"cannot export {v.name} to {target}: {_reason(exc)}") from exc
        return target

    def _new_id(self) -> str:
        base = self._now().strftime("%Y%m%d-%H%M%S")
        taken = {p.stem for p in self.folder.glob(f"{base}*")}
        if base not in taken:
            return base
        return next(f"{base}-{n:02d}" for n in range(1, 100) if f"{base}-{n:02d}" not in taken)

    def _remove_orphans(self) -> None:
        """Checkpoints whose card never came, and temp files, left by saves that died long enough ago."""
        limit = time.time() - ORPHAN_SECONDS
        for p in [*self.folder.glob(f"*{CHECKPOINT_SUFFIX}"), *self.folder.glob(".*.part")]:
            orphan = p.suffix == ".part" or not p.with_suffix(CARD_SUFFIX).is_file()
            try:
                if orphan and p.stat().st_mtime < limit:
                    p.unlink()
            except OSError:
                pass


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0]


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable (POSIX; Windows cannot open a folder for this)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
