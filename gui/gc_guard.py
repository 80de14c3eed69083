"""Python's cycle collector runs on the GUI thread only, once worker threads exist.

The collector runs in whichever thread happens to allocate when a threshold is crossed. With QThreads
running Python code (inference, batch), that is often a worker thread, and the Qt objects of a closed
window or dialog (whose wrappers sit in reference cycles) are then destroyed in the wrong thread: Qt
prints "QObject::killTimer: Timers cannot be stopped from another thread" and leaves a dangling timer in
the GUI thread's event dispatcher, a later crash or hang. The usual remedy for PyQt/PySide programs:
switch automatic collection off and let a GUI-thread timer collect, generation by generation, when the
counts cross the same thresholds the automatic collector uses.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

#: How often the GUI thread looks at the allocation counts (a gen-0 pass costs well under 1 ms).
INTERVAL_MS = 500

_guard: GuiThreadCollector | None = None


class GuiThreadCollector(QObject):
    """Collects on a GUI-thread timer; collect_on_gui_thread() switches automatic collection off."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def check(self) -> int:
        """Collect the oldest generation whose count crossed its threshold; returns objects freed."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        """Hand collection back to Python (automatic, any thread)."""
        self._timer.stop()
        gc.enable()


def collect_on_gui_thread() -> GuiThreadCollector:
    """Install the application's collector once (idempotent); call it on the GUI thread."""
    global _guard
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("collect_on_gui_thread() must be called on the GUI thread of a running QApplication")
    if _guard is None or not _guard.active:
        _guard = GuiThreadCollector(parent=app)
    gc.disable()  # also when reused: something may have switched automatic collection back on
    return _guard
