"""OverlayControls: visibility, colour and opacity of the mask, heat map and FOV outline."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.actions.shortcuts import first_key
from gui.canvas.render import HEATMAPS
from gui.canvas.style import OverlayStyle
from gui.widgets.color_bar import ColorBar


def _opacity_slider() -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, 100)
    return s


class OverlayControls(QWidget):
    def __init__(self, style: OverlayStyle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay_style = style
        self.show_mask = QCheckBox(f"Show ({first_key('show_mask')})")
        self.mask_color = QPushButton()
        self.mask_color.setToolTip("Colour of the vessel mask")
        self.mask_opacity = _opacity_slider()
        self.show_heat = QCheckBox(f"Show as heat map ({first_key('show_heat')})")
        self.heatmap = QComboBox()
        self.heatmap.addItems(list(HEATMAPS))
        self.heat_opacity = _opacity_slider()
        self.color_bar = ColorBar(style.values.heatmap)
        self.show_fov = QCheckBox(f"Show outline ({first_key('show_fov')})")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, rows in (("Vessel mask", [self.show_mask, ("Colour", self.mask_color),
                                              ("Opacity", self.mask_opacity)]),
                            ("Probability map", [self.show_heat, ("Colours", self.heatmap), ("Scale", self.color_bar),
                                                 ("Opacity", self.heat_opacity)]),
                            ("Field of view", [self.show_fov])):
            box = QGroupBox(title)
            form = QFormLayout(box)
            for row in rows:
                form.addRow(*row) if isinstance(row, tuple) else form.addRow(row)
            layout.addWidget(box)
        self.show_mask.toggled.connect(lambda on: style.update(show_mask=on))
        self.mask_opacity.valueChanged.connect(lambda v: style.update(mask_opacity=v / 100))
        self.mask_color.clicked.connect(self._pick_color)
        self.show_heat.toggled.connect(lambda on: style.update(show_heat=on))
        self.heatmap.currentTextChanged.connect(lambda name: style.update(heatmap=name))
        self.heat_opacity.valueChanged.connect(lambda v: style.update(heat_opacity=v / 100))
        self.show_fov.toggled.connect(lambda on: style.update(show_fov=on))
        style.changed.connect(self._show)
        self._show()

    def _show(self, _names: set | None = None) -> None:
        v = self.overlay_style.values
        widgets = (self.show_mask, self.mask_opacity, self.show_heat, self.heatmap, self.heat_opacity, self.show_fov)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.show_mask.setChecked(v.show_mask)
        self.mask_opacity.setValue(round(v.mask_opacity * 100))
        self.show_heat.setChecked(v.show_heat)
        self.heatmap.setCurrentText(v.heatmap)
        self.heat_opacity.setValue(round(v.heat_opacity * 100))
        self.show_fov.setChecked(v.show_fov)
        self.color_bar.set_heatmap(v.heatmap)
        for b in blockers:
            b.unblock()
        self.mask_color.setStyleSheet(f"background-color: {v.mask_color}; min-width: 3em;")
        self.mask_color.setText(v.mask_color)

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self.overlay_style.values.mask_color), self, "Vessel mask colour")
        if color.isValid():
            self.overlay_style.update(mask_color=color.name())
