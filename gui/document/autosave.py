"""Autosave of edited masks to the app-data folder after a few seconds of idle time, and recovery.

``Autosaver`` watches each document's undo stack: any change restarts an idle timer; when it fires,
every document changed since the last export is written with core.io.recovery.save_autosave (one file
per image, atomic: the vessel mask, the artery/vein labels and the optic disc), and the autosave of a
document that is clean again is deleted. At start-up the
window offers what core.io.recovery.list_recoverable finds. The folder comes from
QStandardPaths.AppDataLocation (never the bundle); tests pass their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QWidget

from core.edit.task_result import MaskSource
from core.io.recovery import (
    RecoveryEntry,
    RecoveryError,
    RecoveryScan,
    discard,
    discard_for,
    list_recoverable,
    load_autosave,
    load_autosave_labels,
    save_autosave,
)
from gui.dialogs import prompts
from gui.document.document import ARTERIES_VEINS, ImageDocument
from gui.document.session import ImageSession

if TYPE_CHECKING:  # the disc detector's imports are slow; only a recovery needs the class
    from core.measure.optic_disc import OpticDisc

IDLE_MS = 3000


def default_autosave_dir() -> Path:
    """``<app data>/autosave`` (e.g. ~/.local/share/RetinaSeg/RetinaSeg/autosave on Linux)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "autosave"


class Autosaver(QObject):
    """Writes the masks of modified documents once the user has been idle for ``idle_ms``."""

    saved = Signal(object)  # Path of the autosave written
    failed = Signal(str)

    def __init__(self, folder: str | os.PathLike[str] | None = None, idle_ms: int = IDLE_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder) if folder is not None else default_autosave_dir()
        self._pending: dict[int, ImageDocument] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(idle_ms)
        self._timer.timeout.connect(self.flush)
        self._failed_once = False

    @property
    def idle_ms(self) -> int:
        return self._timer.interval()

    @idle_ms.setter
    def idle_ms(self, ms: int) -> None:
        self._timer.setInterval(ms)

    def watch(self, doc: ImageDocument) -> None:
        """Autosave ``doc`` after each change (its undo stack moving, done or undone)."""
        # a bound method (not a lambda): Qt drops the connection when either side is destroyed
        doc.undo_stack.indexChanged.connect(self._on_index_changed)

    def _on_index_changed(self, _index: int) -> None:
        stack = self.sender()
        doc = stack.parent() if stack is not None else None
        if isinstance(doc, ImageDocument):
            self._touch(doc)

    def _touch(self, doc: ImageDocument) -> None:
        self._pending[id(doc)] = doc
        self._timer.start()  # restart: save only after the user paused

    def flush(self) -> None:
        """Write (or delete) the autosaves of the documents changed since the last flush."""
        self._timer.stop()
        pending, self._pending = list(self._pending.values()), {}
        for doc in pending:
            if doc.path is None:
                continue
            if not doc.modified or doc.mask is None:
                discard_for(self.folder, doc.path)
                continue
            meta = {"name": doc.name, "threshold": doc.threshold, "source": doc.mask_source}
            if doc.disc_circle is not None:
                meta["optic_disc"] = doc.disc_circle.as_dict()
            labels = {ARTERIES_VEINS: doc.artery_vein} if doc.artery_vein is not None else {}
            try:
                path = save_autosave(self.folder, doc.path, doc.mask, meta, labels)
            except (OSError, ValueError) as exc:
                if not self._failed_once:  # say it once, not every few seconds
                    self._failed_once = True
                    self.failed.emit(f"Autosave failed: {exc}")
                continue
            self._failed_once = False  # working again: the next failure must be said again
            self.saved.emit(path)

    def forget(self, doc: ImageDocument) -> None:
        """The edits were exported or discarded: no recovery offer for them."""
        self._pending.pop(id(doc), None)
        if doc.path is not None:
            discard_for(self.folder, doc.path)

    def scan(self) -> RecoveryScan:
        return list_recoverable(self.folder)


def recover(session: ImageSession, entries: list[RecoveryEntry]) -> tuple[list[ImageDocument], list[str]]:
    """Open each entry's image and put its autosaved mask back, then its artery/vein labels and optic disc
    (an undo step each; the document is then modified, so it is autosaved again until exported). Returns
    the documents and error lines."""
    docs: list[ImageDocument] = []
    errors: list[str] = []
    for entry in entries:
        try:
            mask, meta = load_autosave(entry)
            labels = load_autosave_labels(entry)
            disc = _saved_disc(meta)  # checked before the image is touched: a bad entry changes nothing
            doc = session.load(entry.source_path)
            threshold = meta.get("threshold")
            if isinstance(threshold, (int, float)) and doc.probability is None and 0 <= threshold <= 1:
                doc.set_threshold(float(threshold))
            doc.replace_mask(mask, MaskSource.RECOVERED, "Recover autosaved edits")
            if ARTERIES_VEINS in labels:
                doc.replace_labels(ARTERIES_VEINS, labels[ARTERIES_VEINS], "Recover autosaved artery/vein labels")
            if disc is not None:
                doc.set_disc(disc, "Recover autosaved optic disc")
            docs.append(doc)
        except (RecoveryError, OSError, ValueError) as exc:  # ImageReadError is an OSError/ValueError
            errors.append(str(exc))
    return docs, errors


def _saved_disc(meta: dict) -> OpticDisc | None:
    """The optic disc an autosave holds (None without one); ValueError naming what is wrong when damaged."""
    saved = meta.get("optic_disc")
    if saved is None:
        return None
    from core.measure.optic_disc import OpticDisc

    if not isinstance(saved, dict):
        raise ValueError(f"autosaved optic disc is not readable: {saved!r}")
    return OpticDisc.from_dict(saved)


def offer_recovery(parent: QWidget | None, autosaver: Autosaver, session: ImageSession
                   ) -> tuple[list[ImageDocument], list[str]]:
    """Ask Recover / Discard / Later for what the autosave folder holds (nothing asked when empty).

    Recover opens the images (as the session's list) with their masks restored; Discard deletes every
    autosave, unreadable ones and those of images that no longer exist included; Later keeps them.
    """
    scan = autosaver.scan()
    live = [e for e in scan.entries if e.source_exists]
    dead = [*(e for e in scan.entries if not e.source_exists), *scan.skipped]
    if not live and not dead:
        return [], []
    answer = prompts.ask_recover(parent, [e.source_path.name for e in live], len(dead))
    if answer == "later":
        return [], []
    if answer == "discard":
        for entry in [*live, *dead]:
            discard(entry)
        return [], []
    docs, errors = recover(session, live)
    if docs:
        session.open_files([d.path for d in docs if d.path is not None])
    return docs, errors
