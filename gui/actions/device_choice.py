"""DeviceChoice: the Device menu's actions and the device in use (Auto / CUDA / MPS / CPU).

Availability is unknown until the worker has probed it (that imports torch, so it happens after
the window is shown); until then only Auto and CPU can be chosen.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup

from gui.settings import AppSettings

DEVICES = (("auto", "Auto"), ("cuda", "CUDA"), ("mps", "Apple MPS"), ("cpu", "CPU"))


class DeviceChoice(QObject):
    changed = Signal(str)  # the chosen device name
    textChanged = Signal(str)  # what the status bar shows
    availableChanged = Signal(object)  # {name: description}

    def __init__(self, settings: AppSettings, initial: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.name = initial if initial in dict(DEVICES) else "auto"
        self.available: dict[str, str] | None = None  # None until probed
        self.used = ""  # what the last run actually ran on, shown until the choice changes
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for name, label in DEVICES:
            a = QAction(f"{label} (checking…)" if name in ("cuda", "mps") else label, self)
            a.setCheckable(True)
            a.setData(name)
            a.setEnabled(name in ("auto", "cpu"))
            self.group.addAction(a)
            self.actions[name] = a
        self.actions[self.name].setChecked(True)
        self.group.triggered.connect(lambda a: self.select(a.data()))

    def set_available(self, found: dict[str, str]) -> str:
        """Enable what the probe found. Returns a message when the chosen device is missing here."""
        self.available = dict(found)
        for name, label in DEVICES:
            a = self.actions[name]
            if name in ("cuda", "mps"):
                a.setText(found.get(name, f"{label} (not available)"))
            a.setEnabled(name == "auto" or name in found)
        message = ""
        if self.name != "auto" and self.name not in found:
            message = f"{self.name} is not available here: using Auto"
            self.select("auto", remember=False)
        self.availableChanged.emit(self.available)
        self.textChanged.emit(self.text())
        return message

    def select(self, name: str, remember: bool = True) -> None:
        """Choose a device; ``remember=False`` keeps the saved preference (fallbacks are per session)."""
        if name != self.name:
            self.used = ""
        self.name = name
        if remember:
            self.settings.device = name
        action = self.actions.get(name)
        if action is not None and not action.isChecked():
            action.setChecked(True)
        self.changed.emit(name)
        self.textChanged.emit(self.text())

    def note_used(self, description: str) -> None:
        self.used = description
        self.textChanged.emit(self.text())

    def text(self) -> str:
        if self.used:
            return self.used
        if self.available is None:
            return self.name
        if self.name == "auto":
            best = next((self.available[d] for d in ("cuda", "mps", "cpu") if d in self.available), "CPU")
            return f"Auto ({best})"
        return self.available.get(self.name, self.name)
