"""The Model menu's versions: the default model and each adapted version (one click switches to it),
"Adapt to My Images…" and "Export This Version…".

Versions live in ``<app data>/models`` (core.io.model_versions; never in the bundle, never over the
shipped model). A version is a checkpoint file, so switching goes through ModelChoice's usual path
(validated in the worker, then current) and an exported version loads with Load Checkpoint anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from core.io.model_versions import ModelVersion, ModelVersionStore
from core.predict.service import model_display_name
from gui.actions.model_choice import ModelChoice
from gui.dialogs.adapt import AdaptDialog
from gui.jobs.adapt import Finetune, LoadBase
from gui.jobs.runner import JobRunner
from gui.settings import AppSettings

Report = Callable[[str, str], None]


def default_versions_dir() -> Path:
    """``<app data>/models`` (e.g. ~/.local/share/RetinaSeg/RetinaSeg/models on Linux)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "models"


class ModelVersionsUi(QObject):
    """Actions and menu section for model versions; ``dialog`` is the last Adapt dialog opened."""

    message = Signal(str)  # status-bar text

    def __init__(self, parent: QWidget, models: ModelChoice, jobs: JobRunner, io_jobs: JobRunner,
                 settings: AppSettings, documents: Callable[[], Sequence[Any]], report: Report,
                 folder: str | Path | None = None) -> None:
        super().__init__(parent)
        self._parent, self._models, self._jobs, self._io_jobs = parent, models, jobs, io_jobs
        self._settings, self._documents, self._report = settings, documents, report
        self.store = ModelVersionStore(folder if folder is not None else default_versions_dir())
        #: what the Adapt dialog fine-tunes with (None: core.ml's); tests pass fakes
        self.finetune: Finetune | None = None
        self.load_base: LoadBase | None = None
        self.dialog: AdaptDialog | None = None
        models.version_name = lambda path: (v.name if (v := self.store.find(path)) is not None else None)
        self.act_adapt = QAction("&Adapt to My Images…", self)
        self.act_adapt.setStatusTip("Fine-tune the current model on the images you corrected by hand")
        self.act_adapt.triggered.connect(self.adapt)
        self.act_export = QAction("&Export This Version…", self)
        self.act_export.setStatusTip("Write the current model version as a checkpoint file to share")
        self.act_export.triggered.connect(lambda: self.export_current())
        self._group = QActionGroup(self)
        self._group.setExclusive(True)
        self.version_actions: list[QAction] = []

    # the menu ---------------------------------------------------------------------------------------
    def add_to(self, menu: QMenu) -> None:
        """Add the section to ``menu``: Adapt…, the versions (rebuilt each time it opens), Export…"""
        menu.addAction(self.act_adapt)
        self._section = menu.addSection("Versions")
        menu.addAction(self.act_export)
        menu.aboutToShow.connect(lambda: self.refresh(menu))
        self.refresh(menu)

    def refresh(self, menu: QMenu) -> None:
        """List "Default model" and every version, the current one checked."""
        for action in self.version_actions:
            menu.removeAction(action)
            self._group.removeAction(action)
            action.deleteLater()
        current = self._models.path
        entries: list[tuple[str, ModelVersion | None]] = [(f"Default Model ({model_display_name(None)})", None)]
        entries += [(v.name, v) for v in self.store.list()]
        self.version_actions = []
        for text, version in entries:
            action = QAction(text.replace("&", "&&"), self)
            action.setCheckable(True)
            action.setChecked(current is None if version is None else _same(current, version.path))
            action.triggered.connect(lambda _checked=False, v=version: self.switch_to(v))
            self._group.addAction(action)
            menu.insertAction(self.act_export, action)
            self.version_actions.append(action)
        self.act_export.setEnabled(self.current_version() is not None)

    def current_version(self) -> ModelVersion | None:
        return self.store.find(self._models.path)

    # doing ------------------------------------------------------------------------------------------
    def switch_to(self, version: ModelVersion | None) -> None:
        """Use ``version`` (None: the default model) for the next segmentation."""
        if version is None:
            self._models.use_default()
        else:
            self._models.load(str(version.path))

    def adapt(self) -> AdaptDialog:
        """Open the Adapt dialog on the current model, the open images and the last export folder."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        folders = [self._settings.export_dir] if self._settings.export_dir else []
        self.dialog = AdaptDialog(self._jobs, self.store, self._models.path, self._models.name,
                                  self._documents(), folders, self._parent, finetune=self.finetune,
                                  load_base=self.load_base)
        self.dialog.kept.connect(self._on_kept)
        self.dialog.show()
        return self.dialog

    def _on_kept(self, version: ModelVersion) -> None:
        self.message.emit(f"Saved {version.name}; switching to it")
        self.switch_to(version)

    def export_current(self, path: str | None = None) -> Path | None:
        """Write the current version's checkpoint to ``path`` (asked when None)."""
        version = self.current_version()
        if version is None:
            self._report("No version to export", "The current model is not one of your adapted versions.")
            return None
        if path is None:
            start = str(Path(self._settings.last_dir or Path.home()) / f"{_file_name(version.name)}.pt")
            path, _ = QFileDialog.getSaveFileName(self._parent, "Export model version", start,
                                                  "Checkpoints (*.pt);;All files (*)")
            if not path:
                return None
        ok, answer = self._io_jobs.call(lambda _p, _c: self.store.export(version, path), kind="version-export")
        if not ok:
            self._report("Cannot export the model version", str(answer))
            return None
        self.message.emit(f"Exported {version.name} to {answer}")
        return answer


def _same(a: str | None, b: Path) -> bool:
    return a is not None and Path(a).resolve() == b.resolve()


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or "model"
