"""MeasurementsPanel: the biomarkers of the shown result as a table, with their units and scale.

One row per biomarker and vessel tree (all vessels; arteries and veins once there are labels), the calibres
(CRAE, CRVE, AVR) per zone. Values are in pixel units, and in µm or mm in a second column when the scale is
known; the line above the table says where the scale comes from. A biomarker that could not be measured
shows its reason in grey instead of a number. While new values are computed the old ones are greyed.
Selecting a measured calibre asks for its vessels to be shown (``calibreSelected``); any other row clears.
The panel only shows: gui.widgets.measurements_live computes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from core.measure.biomarkers import BiomarkerReport

#: Display names; a biomarker not listed shows its key with spaces.
TITLES = {
    "vessel_density": "Vessel density", "vessel_length": "Vessel length", "average_width": "Average width",
    "fractal_dimension_skeleton": "Fractal dimension (skeleton)", "fractal_dimension_mask": "Fractal dimension (mask)",
    "tortuosity_distance_factor": "Tortuosity (arc / chord)", "tortuosity_curvature": "Tortuosity (curvature)",
    "tortuosity_density": "Tortuosity density", "bifurcation_count": "Branch points",
    "bifurcation_angle": "Bifurcation angle", "crae": "CRAE", "crve": "CRVE", "avr": "AVR",
    "crae_hubbard": "CRAE (Parr–Hubbard)", "crve_hubbard": "CRVE (Parr–Hubbard)", "avr_hubbard": "AVR (Parr–Hubbard)",
}
VESSEL_WORDS = {"all": "all", "artery": "arteries", "vein": "veins"}
ZONE_WORDS = {"zone_b": "zone B", "zone_c": "zone C"}
#: The calibres whose vessels can be shown on the image.
CALIBRES = ("crae", "crve", "avr")
COLUMNS = ("Biomarker", "Vessels", "Value", "Physical")


def title(name: str, region: str) -> str:
    """``CRAE, zone B``; ``Vessel density`` for a biomarker of the whole FOV."""
    base = TITLES.get(name, name.replace("_", " ").capitalize())
    return base if region == "fov" else f"{base}, {ZONE_WORDS.get(region, region)}"


def number(value: float, unit: str) -> str:
    """A value with four significant digits and its unit: ``7.67 px``, ``0.109``, ``68.0°``, ``169``."""
    if value == int(value) and abs(value) < 1e6:
        text = f"{value:.0f}"
    elif abs(value) >= 0.01:
        text = f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    else:
        text = f"{value:.3e}"
    if not unit:
        return text
    return text + unit if unit == "°" else f"{text} {unit}"


def ordered(report: BiomarkerReport) -> list:
    """The entries grouped by biomarker and zone (all vessels, arteries, veins), in the report's order."""
    groups: dict[tuple[str, str], list] = {}
    for entry in report.entries:
        groups.setdefault((entry.name, entry.region), []).append(entry)
    rank = {"all": 0, "artery": 1, "vein": 2}
    return [e for entries in groups.values() for e in sorted(entries, key=lambda e: rank.get(e.vessels, 3))]


class MeasurementsPanel(QWidget):
    #: a measured calibre was selected: (name, region); None when the selection is anything else
    calibreSelected = Signal(object)
    #: the camera field angle the user gave, degrees (None: unknown)
    fieldAngleChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: BiomarkerReport | None = None
        self.stale = False
        self._keys: list[tuple[str, str, str, bool]] = []  # per row: name, vessels, region, missing
        self.scale = QLabel()
        self.scale.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.field_angle = QDoubleSpinBox()
        self.field_angle.setRange(0.0, 220.0)
        self.field_angle.setDecimals(0)
        self.field_angle.setSuffix("°")
        self.field_angle.setSpecialValueText("unknown")
        self.field_angle.setToolTip("The camera's field of view (45° for most fundus cameras). It gives a scale "
                                    "when the file states no pixel spacing; unknown: a DICOM file's own field of "
                                    "view, else the optic disc taken as 1800 µm across, else pixels only.")
        self.field_angle.valueChanged.connect(lambda v: self.fieldAngleChanged.emit(float(v) if v > 0 else None))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        metrics = self.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 6)
        # wide enough for every column of the longest row without scrolling sideways
        widest = ("Fractal dimension (skeleton)", "arteries", "1.234e-04 1/px²", "1.234 1/mm²")
        self.table.setMinimumWidth(sum(metrics.horizontalAdvance(t) + 18 for t in widest) + 24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Field angle", self.field_angle)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scale)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.show_empty("No image open.")

    # what to show ----------------------------------------------------------------------------------------
    def show_report(self, report: BiomarkerReport) -> None:
        """Show ``report``'s values (current: no longer greyed)."""
        self.report = report
        self.stale = False
        scale = report.scale
        self.scale.setText(f"Scale: {scale.short()}" if scale.known else
                           "Scale: unknown, values in pixels (give the field angle, or place the optic disc)")
        self.scale.setToolTip(scale.describe())
        seconds = sum(report.timings.values())
        self.status.setText(f"Measured in {seconds:.2f} s of CPU. Click CRAE, CRVE or AVR to see its vessels.")
        self._fill(report)

    def show_stale(self) -> None:
        """The values no longer describe the image: grey them until new ones arrive."""
        self.stale = True
        self.status.setText("Updating…")
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for row in range(self.table.rowCount()):
            for col in range(self.table.columnCount()):
                if (item := self.table.item(row, col)) is not None:
                    item.setForeground(grey)

    def show_failed(self, message: str) -> None:
        self.show_empty(f"Cannot measure: {message}")

    def show_empty(self, message: str) -> None:
        self.report = None
        self.stale = False
        self.scale.setText("")
        self.status.setText(message)
        self._keys = []
        self.table.setRowCount(0)

    # the table -------------------------------------------------------------------------------------------
    def _fill(self, report: BiomarkerReport) -> None:
        table = self.table
        table.blockSignals(True)  # a rebuild is no selection by the user
        table.clearSelection()
        table.clearSpans()
        entries = ordered(report)
        self._keys = [(e.name, e.vessels, e.region, e.missing) for e in entries]
        table.setRowCount(len(entries))
        normal = self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        previous = None
        for row, entry in enumerate(entries):
            head = title(entry.name, entry.region)
            cells = [head if head != previous else "", VESSEL_WORDS.get(entry.vessels, entry.vessels)]
            previous = head
            if entry.missing:
                cells.append(entry.reason)
                tip = f"{head} ({cells[1]}): not measured, {entry.reason}"
            else:
                cells.append(number(entry.value, entry.unit))
                cells.append(number(entry.physical, entry.physical_unit or "") if entry.physical is not None else "")
                tip = "\n".join(t for t in (entry.method, entry.note, entry.scale) if t)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setForeground(grey if entry.missing and col >= 2 else normal)
                if col >= 2 and not entry.missing:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, col, item)
            if entry.missing:
                table.setSpan(row, 2, 1, 2)
        table.blockSignals(False)
        self.calibreSelected.emit(None)

    def row_of(self, name: str, vessels: str = "all", region: str = "fov") -> int:
        """The table row of an entry (-1 when it is not shown)."""
        for row, key in enumerate(self._keys):
            if key[:3] == (name, vessels, region):
                return row
        return -1

    def _on_selection(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        key = self._keys[rows.pop()] if len(rows) == 1 else None
        if key is not None and key[0] in CALIBRES and not key[3] and not self.stale:
            self.calibreSelected.emit((key[0], key[2]))
        else:
            self.calibreSelected.emit(None)

    def text_color(self, row: int, col: int) -> QColor:
        """The colour a cell's text is drawn in (grey for stale values and missing reasons)."""
        return self.table.item(row, col).foreground().color()
