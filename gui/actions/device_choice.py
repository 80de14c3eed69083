"""DeviceChoice: the Device menu's actions and the device in use (Auto / CUDA / MPS / CPU).

Availability is unknown until the worker has probed it (that imports torch, so it happens after
the window is shown); until then only Auto and CPU can be chosen. A device asked for (on the command
line, or saved from another machine) that the probe does not find falls back to the CPU, with one
line saying so.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup

from core.predict.devices import DEVICE_CHOICES, DEVICE_LABELS
from gui.settings import AppSettings

#: devices that need the probe before they can be chosen
_PROBED = ("cuda", "mps")


def absent_device_message(name: str) -> str:
    """The one line shown when device ``name`` is not on this machine and the CPU is used instead."""
    return f"{DEVICE_LABELS.get(name, name)} is not available on this machine: using the CPU"


class DeviceChoice(QObject):
    changed = Signal(str)  # the chosen device name
    textChanged = Signal(str)  # what the status bar shows
    availableChanged = Signal(object)  # {name: description}

    def __init__(self, settings: AppSettings, initial: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.name = initial if initial in DEVICE_LABELS else "auto"
        self.available: dict[str, str] | None = None  # None until probed
        self.used = ""  # what the last run actually ran on, shown until the choice changes
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for name in DEVICE_CHOICES:
            label = DEVICE_LABELS[name]
            a = QAction(f"{label} (checking…)" if name in _PROBED else label, self)
            a.setCheckable(True)
            a.setData(name)
            a.setEnabled(name not in _PROBED)
            self.group.addAction(a)
            self.actions[name] = a
        self.actions[self.name].setChecked(True)
        self.group.triggered.connect(lambda a: self.select(a.data()))

    def set_available(self, found: dict[str, str]) -> str:
        """Enable what the probe found. Returns a message when the chosen device is missing here (the CPU
        is then used for this session; the saved preference stays)."""
        self.available = dict(found)
        for name in DEVICE_CHOICES:
            a = self.actions[name]
            if name in _PROBED:
                a.setText(found.get(name, f"{DEVICE_LABELS[name]} (not available)"))
            a.setEnabled(name == "auto" or name in found)
        message = ""
        if self.name != "auto" and self.name not in found:
            message = absent_device_message(self.name)
            self.select("cpu", remember=False)
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
            return DEVICE_LABELS.get(self.name, self.name)
        if self.name == "auto":
            best = next((self.available[d] for d in ("cuda", "mps", "cpu") if d in self.available), "CPU")
            return f"Auto ({best})"
        return self.available.get(self.name, self.name)
