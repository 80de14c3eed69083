"""StatusPanel: the status bar's message area and its permanent part (pixel, zoom, size, device, progress).

Messages have an area of their own to the left of the readouts: a long one is elided there ("…") with
the full text in its tooltip, never drawn under the pixel readout.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from gui.actions.shortcuts import first_key
from gui.widgets.elided_label import ElidedLabel


class StatusPanel:
    """The message area, the labels and the segmentation progress bar of ``bar``."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.message = ElidedLabel()
        self._expire = QTimer(self.message)
        self._expire.setSingleShot(True)
        self._expire.timeout.connect(self.clear_message)
        bar.addWidget(self.message, 1)
        self.pixel = QLabel()
        self.pixel.setMinimumWidth(280)
        self.zoom = QLabel()
        self.size = QLabel()
        self.device = QLabel("Device: auto")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip(f"Stop the segmentation ({first_key('cancel')})")
        self.cancel.hide()
        # all permanent: temporary messages ("Segmented … in 2.1 s") must not hide the pixel readout
        for w in (self.pixel, self.zoom, self.size, self.device, self.progress, self.cancel):
            bar.addPermanentWidget(w)

    def show_message(self, text: str, timeout_ms: int = 0) -> None:
        """Show ``text`` (elided to fit; full text in the tooltip) for ``timeout_ms`` (0: until replaced)."""
        self.message.set_full_text(text)
        self._expire.stop()
        if timeout_ms > 0:
            self._expire.start(timeout_ms)

    def clear_message(self) -> None:
        self._expire.stop()
        self.message.set_full_text("")

    def message_text(self) -> str:
        """The full text of the message shown now ('' when none)."""
        return self.message.full_text()

    def show_zoom(self, factor: float) -> None:
        self.zoom.setText(f"{factor * 100:.0f} %")

    def show_size(self, width: int, height: int) -> None:
        self.size.setText(f"{width} × {height}" if width else "")

    def show_device(self, text: str) -> None:
        self.device.setText(f"Device: {text}")

    def start_progress(self, text: str) -> None:
        self.progress.setRange(0, 0)  # busy until the first tile reports
        self.progress.setFormat(text)
        self.progress.show()
        self.cancel.show()
        self.cancel.setEnabled(True)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"tile {done}/{total}")

    def stop_progress(self) -> None:
        self.progress.hide()
        self.cancel.hide()
