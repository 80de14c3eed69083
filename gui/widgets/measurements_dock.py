"""MeasurementsDock: the Measurements panel and its live computation, as one dock.

The window adds the dock, puts its ``toggleViewAction`` in the View menu and tells it the shown document;
the rest is wired here: the live measurements (gui.widgets.measurements_live) feed the panel, and the
computing pauses while the dock is hidden.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QWidget

from gui.document.document import ImageDocument
from gui.jobs.runner import JobRunner
from gui.widgets.measurements import MeasurementsPanel
from gui.widgets.measurements_live import LiveMeasurements


class MeasurementsDock(QDockWidget):
    def __init__(self, jobs: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Measurements", parent)
        self.setObjectName("measurements_dock")
        self.panel = MeasurementsPanel()
        self.live = LiveMeasurements(jobs, self)
        self.setWidget(self.panel)
        self.toggleViewAction().setText("&Measurements")
        self.toggleViewAction().setStatusTip("Show or hide the vessel biomarkers of this image")
        live, panel = self.live, self.panel
        live.stale.connect(panel.show_stale)
        live.measured.connect(panel.show_report)
        live.failed.connect(panel.show_failed)
        live.empty.connect(panel.show_empty)
        panel.fieldAngleChanged.connect(live.set_field_angle)
        self.visibilityChanged.connect(live.set_active)

    def set_document(self, doc: ImageDocument | None) -> None:
        self.live.set_document(doc)
