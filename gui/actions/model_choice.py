"""ModelChoice: which checkpoint segments (None = the default model), validated in the worker.

A checkpoint becomes current only after core has loaded it without error in the worker thread;
a bad file is reported and the current model stays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.predict.service import PredictionService, model_display_name
from gui.jobs.runner import JobRunner
from gui.settings import AppSettings


class ModelChoice(QObject):
    changed = Signal(str)  # new model path ("" = default model)
    cardReady = Signal(object)  # card dict, after show_card()
    #: the card of the current model is known (after fetch_card, a load, or a change back to the default)
    cardKnown = Signal(object)
    failed = Signal(str, str)  # title, message
    message = Signal(str)  # status-bar text

    def __init__(self, jobs: JobRunner, service: PredictionService, settings: AppSettings, path: str | None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._service = service
        self.settings = settings
        remembered = settings.model_path
        if not path and remembered and not Path(remembered).is_file():
            remembered = ""  # a checkpoint loaded last time has gone: back to the default model
        self.path: str | None = path or remembered or None
        self._requests: dict[int, tuple[str, str | None]] = {}
        self._cards: dict[str | None, dict[str, Any]] = {}
        #: a model version's name for its checkpoint path (None: not a version); set by the versions menu
        self.version_name: Callable[[str | None], str | None] = lambda _path: None
        jobs.finished.connect(self._on_checked)
        jobs.failed.connect(self._on_failed)
        jobs.cancelled.connect(lambda rid: self._requests.pop(rid, None))  # superseded by a newer check

    @property
    def name(self) -> str:
        return self.version_name(self.path) or model_display_name(self.path)

    def load(self, path: str) -> int:
        """Validate ``path`` in the worker; it becomes current only if valid."""
        rid = self._check(path, "load")
        self.message.emit(f"Checking {Path(path).name}…")
        return rid

    def use_default(self) -> None:
        self.path = None
        self.settings.model_path = ""
        self.message.emit(f"Model: {self.name}")
        self.changed.emit("")
        self.fetch_card()

    def fetch_card(self) -> int | None:
        """Read the current model's card in the worker (``cardKnown`` follows); None when it is known already."""
        card = self._cards.get(self.path)
        if card is not None:
            self.cardKnown.emit(card)
            return None
        return self._check(self.path, "info")

    def show_card(self) -> None:
        card = self._cards.get(self.path)
        if card is not None:
            self.cardReady.emit(card)
            return
        self._check(self.path, "show")

    def _check(self, path: str | None, purpose: str) -> int:
        """Validate ``path`` in the worker (the newest check of a purpose wins); returns the request id."""
        service = self._service
        rid = self._jobs.submit(lambda _progress, _cancel: service.model_card(path), kind=f"model-{purpose}")
        self._requests[rid] = (purpose, path)
        return rid

    def _on_checked(self, rid: int, card: dict[str, Any]) -> None:
        purpose, path = self._requests.pop(rid, ("", None))
        if not purpose:
            return
        self._cards[path] = card
        if purpose == "load":
            self.path = path
            self.settings.model_path = path or ""
            self.message.emit(f"Model: {self.name} (the next segmentation uses it)")
            self.changed.emit(path or "")
        elif purpose == "show":
            self.cardReady.emit(card)
        if path == self.path:
            self.cardKnown.emit(card)

    def _on_failed(self, rid: int, message: str) -> None:
        purpose, _path = self._requests.pop(rid, ("", None))
        if purpose == "load":
            self.failed.emit("Cannot load model", f"{message}\n\nThe current model ({self.name}) stays in use.")
        elif purpose == "show":
            self.failed.emit("No model card", message)
