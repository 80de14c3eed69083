"""MeasurementsDock: the Measurements panel, its live computation and the calibre highlight, as one dock.

The window adds the dock, puts its ``toggleViewAction`` in the View menu and tells it the shown document;
the rest is wired here: the live measurements (gui.widgets.measurements_live) feed the panel, the panel's
selected calibre is drawn by the canvas layer (gui.canvas.layers.calibre), and the computing pauses while
the dock is hidden.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QWidget

from gui.canvas.layers.calibre import CalibreVesselsAdapter
from gui.document.document import ImageDocument
from gui.jobs.runner import JobRunner
from gui.widgets.measurements import MeasurementsPanel
from gui.widgets.measurements_live import LiveMeasurements


class MeasurementsDock(QDockWidget):
    def __init__(self, jobs: JobRunner, highlight: CalibreVesselsAdapter, parent: QWidget | None = None) -> None:
        super().__init__("Measurements", parent)
        self.setObjectName("measurements_dock")
        self.panel = MeasurementsPanel()
        self.live = LiveMeasurements(jobs, self)
        self.highlight = highlight
        self.setWidget(self.panel)
        self.toggleViewAction().setText("&Measurements")
        self.toggleViewAction().setStatusTip("Show or hide the vessel biomarkers of this image")
        live, panel = self.live, self.panel
        live.stale.connect(panel.show_stale)
        live.stale.connect(highlight.clear)
        live.measured.connect(panel.show_report)
        live.failed.connect(panel.show_failed)
        live.empty.connect(panel.show_empty)
        panel.fieldAngleChanged.connect(live.set_field_angle)
        panel.calibreSelected.connect(self._show_calibre)
        self.visibilityChanged.connect(live.set_active)

    def set_document(self, doc: ImageDocument | None) -> None:
        self.live.set_document(doc)

    def _show_calibre(self, key: tuple[str, str] | None) -> None:
        """Draw the vessels of the calibre ``key`` = (name, region); AVR shows both CRAE's and CRVE's."""
        report = self.live.report
        if key is None or report is None or not self.live.current:
            self.highlight.clear()
            return
        name, region = key
        names = ("crae", "crve") if name == "avr" else (name,)
        vessels = {n: report.calibre_vessels.get((n, region), ()) for n in names}
        if name == "avr":
            self.highlight.show_vessels({"A": vessels["crae"], "V": vessels["crve"]})
        else:
            self.highlight.show_vessels({"": vessels[name]})
