"""OverlayControls: visibility, colour and opacity of the mask, heat map, FOV outline, arteries and veins (with
their crossings), and the optic disc."""

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
from gui.canvas.style import AV_PRESETS, OverlayStyle
from gui.widgets.color_bar import ColorBar

#: The artery/vein colour fields of the overlay style, with their labels.
AV_COLOR_FIELDS = {"artery_color": "Artery", "vein_color": "Vein", "crossing_color": "Crossing"}
#: The colour-set entry shown when the colours were chosen one by one.
CUSTOM = "Custom"


def _show_color(button: QPushButton, name: str) -> None:
    button.setStyleSheet(f"background-color: {name}; min-width: 3em;")
    button.setText(name)


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
        self.show_av = QCheckBox(f"Show ({first_key('show_av')})")
        self.av_preset = QComboBox()
        self.av_preset.addItems([*AV_PRESETS, CUSTOM])
        self.av_preset.setToolTip("Colour sets; the colour-blind one keeps arteries and veins apart for everyone")
        self.av_colors = {field: QPushButton() for field in AV_COLOR_FIELDS}
        self.av_opacity = _opacity_slider()
        self.show_crossings = QCheckBox(f"Show crossings ({first_key('show_crossings')})")
        self.show_crossings.setToolTip("Where an artery touches a vein, in the crossing colour (found on the labels "
                                       "for display and export; the labels themselves stay artery or vein)")
        self.show_disc = QCheckBox(f"Show with zones B and C ({first_key('show_disc')})")
        self.show_disc.setToolTip("Zone B (shaded): 0.5–1 disc diameter from the disc margin; zone C: 0.5–2")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        av_rows = [(label, self.av_colors[field]) for field, label in AV_COLOR_FIELDS.items()]
        for title, rows in (("Vessel mask", [self.show_mask, ("Colour", self.mask_color),
                                              ("Opacity", self.mask_opacity)]),
                            ("Probability map", [self.show_heat, ("Colours", self.heatmap), ("Scale", self.color_bar),
                                                 ("Opacity", self.heat_opacity)]),
                            ("Arteries and veins", [self.show_av, self.show_crossings, ("Colours", self.av_preset),
                                                    *av_rows, ("Opacity", self.av_opacity)]),
                            ("Optic disc", [self.show_disc]),
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
        self.show_av.toggled.connect(lambda on: style.update(show_av=on))
        self.show_crossings.toggled.connect(lambda on: style.update(show_crossings=on))
        self.av_preset.currentTextChanged.connect(lambda name: name in AV_PRESETS and style.use_av_preset(name))
        for field, button in self.av_colors.items():
            button.clicked.connect(lambda _on=False, f=field: self._pick_av_color(f))
        self.av_opacity.valueChanged.connect(lambda v: style.update(av_opacity=v / 100))
        self.show_disc.toggled.connect(lambda on: style.update(show_disc=on))
        style.changed.connect(self._show)
        self._show()

    def _show(self, _names: set | None = None) -> None:
        v = self.overlay_style.values
        widgets = (self.show_mask, self.mask_opacity, self.show_heat, self.heatmap, self.heat_opacity, self.show_fov,
                   self.show_av, self.show_crossings, self.av_preset, self.av_opacity, self.show_disc)
        blockers = [QSignalBlocker(w) for w in widgets]
        self.show_mask.setChecked(v.show_mask)
        self.mask_opacity.setValue(round(v.mask_opacity * 100))
        self.show_heat.setChecked(v.show_heat)
        self.heatmap.setCurrentText(v.heatmap)
        self.heat_opacity.setValue(round(v.heat_opacity * 100))
        self.show_fov.setChecked(v.show_fov)
        self.show_av.setChecked(v.show_av)
        self.show_crossings.setChecked(v.show_crossings)
        self.show_crossings.setEnabled(v.show_av)  # drawn over the arteries and veins only
        self.av_preset.setCurrentText(self.overlay_style.av_preset or CUSTOM)
        self.av_opacity.setValue(round(v.av_opacity * 100))
        self.show_disc.setChecked(v.show_disc)
        self.color_bar.set_heatmap(v.heatmap)
        for b in blockers:
            b.unblock()
        self.mask_color.setStyleSheet(f"background-color: {v.mask_color}; min-width: 3em;")
        self.mask_color.setText(v.mask_color)
        for field, button in self.av_colors.items():
            _show_color(button, getattr(v, field))

    def _pick_av_color(self, field: str) -> None:
        color = QColorDialog.getColor(QColor(getattr(self.overlay_style.values, field)), self,
                                      f"{AV_COLOR_FIELDS[field]} colour")
        if color.isValid():
            self.overlay_style.update(**{field: color.name()})

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self.overlay_style.values.mask_color), self, "Vessel mask colour")
        if color.isValid():
            self.overlay_style.update(mask_color=color.name())
