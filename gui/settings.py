"""Persistent preferences (recent files, device, model, overlay style) over one QSettings.

Tests pass their own QSettings (an ini file in tmp_path) so they never touch the user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "RetinaSeg"
APPLICATION = "RetinaSeg"
MAX_RECENT = 10


class AppSettings:
    """Typed accessors over a QSettings store."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORGANIZATION, APPLICATION)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> AppSettings:
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    # recent files -------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.store.value("recent/files", [])
        if isinstance(value, str):  # QSettings returns a lone string for one-element lists
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.store.setValue("recent/files", files[:MAX_RECENT])

    def remove_recent(self, path: str | os.PathLike[str]) -> None:
        p = str(Path(path).resolve())
        self.store.setValue("recent/files", [f for f in self.recent_files() if f != p])

    def clear_recent(self) -> None:
        self.store.setValue("recent/files", [])

    # simple values --------------------------------------------------------------------------
    def _get_str(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return str(value) if value is not None else default

    @property
    def device(self) -> str:
        return self._get_str("inference/device", "auto") or "auto"

    @device.setter
    def device(self, name: str) -> None:
        self.store.setValue("inference/device", name)

    @property
    def model_path(self) -> str:
        """A checkpoint the user loaded; empty means the default model."""
        return self._get_str("inference/model", "")

    @model_path.setter
    def model_path(self, path: str) -> None:
        self.store.setValue("inference/model", path)

    @property
    def av_model_path(self) -> str:
        """An artery/vein checkpoint the user loaded; empty means the default one."""
        return self._get_str("inference/av_model", "")

    @av_model_path.setter
    def av_model_path(self, path: str) -> None:
        self.store.setValue("inference/av_model", path)

    @property
    def last_dir(self) -> str:
        return self._get_str("files/last_dir", "")

    @last_dir.setter
    def last_dir(self, path: str) -> None:
        self.store.setValue("files/last_dir", path)

    @property
    def export_dir(self) -> str:
        """The folder of the last export (the next export dialog starts there)."""
        return self._get_str("files/export_dir", "")

    @export_dir.setter
    def export_dir(self, path: str) -> None:
        self.store.setValue("files/export_dir", path)

    def brush_size_for(self, size_class: str) -> int:
        """Brush diameter in image pixels chosen for images of ``size_class`` (0: not chosen yet)."""
        try:
            return max(0, int(self._get_str(f"edit/brush_sizes/{size_class}", "0") or 0))
        except ValueError:
            return 0

    def set_brush_size_for(self, size_class: str, size: int) -> None:
        self.store.setValue(f"edit/brush_sizes/{size_class}", int(size))

    @property
    def show_measurements(self) -> bool:
        """Whether the Measurements panel is open (closed until the user opens it: it halves the image)."""
        return self._get_str("view/measurements", "false") == "true"

    @show_measurements.setter
    def show_measurements(self, shown: bool) -> None:
        self.store.setValue("view/measurements", "true" if shown else "false")

    @property
    def batch_dirs(self) -> tuple[str, str]:
        """Input and output folders of the last batch run."""
        return self._get_str("batch/input", ""), self._get_str("batch/output", "")

    def set_batch_dirs(self, input_dir: str, output_dir: str) -> None:
        self.store.setValue("batch/input", input_dir)
        self.store.setValue("batch/output", output_dir)

    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, data: QByteArray) -> None:
        self.store.setValue("window/geometry", data)

    def overlay(self) -> dict[str, str]:
        """Overlay style as strings (OverlayStyle.restore parses them)."""
        self.store.beginGroup("overlay")
        try:
            return {k: str(self.store.value(k)) for k in self.store.childKeys()}
        finally:
            self.store.endGroup()

    def set_overlay(self, values: dict[str, str]) -> None:
        self.store.beginGroup("overlay")
        try:
            for k, v in values.items():
                self.store.setValue(k, v)
        finally:
            self.store.endGroup()

    def sync(self) -> None:
        self.store.sync()
