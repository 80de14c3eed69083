"""StatusPanel: the permanent part of the status bar (pixel, zoom, size, device, progress, Cancel)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar


class StatusPanel:
    """Labels and the segmentation progress bar, added to ``bar`` as permanent widgets."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
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
        self.cancel.setToolTip("Stop the segmentation (Esc)")
        self.cancel.hide()
        # all permanent: temporary messages ("Segmented … in 2.1 s") must not hide the pixel readout
        for w in (self.pixel, self.zoom, self.size, self.device, self.progress, self.cancel):
            bar.addPermanentWidget(w)

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
