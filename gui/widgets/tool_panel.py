"""ToolPanel: the drawing tool buttons and the brush size slider, bound to a ToolState."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QToolButton, QWidget

from gui.actions.shortcuts import first_key
from gui.canvas.tools import MAX_SIZE, MIN_SIZE, ToolState


class ToolPanel(QGroupBox):
    """One button per tool action (checkable, exclusive) and the brush diameter in image pixels."""

    def __init__(self, tools: ToolState, tool_actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__("Edit mask", parent)
        self.tools = tools
        grid = QGridLayout(self)
        self.buttons: list[QToolButton] = []
        for i, action in enumerate(tool_actions):
            b = QToolButton()
            b.setDefaultAction(action)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(b.sizePolicy().horizontalPolicy().Expanding, b.sizePolicy().verticalPolicy())
            grid.addWidget(b, i // 2, i % 2)
            self.buttons.append(b)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(MIN_SIZE, MAX_SIZE)
        self.slider.setToolTip(f"Brush diameter in image pixels ( {first_key('smaller_brush')} smaller, "
                               f"{first_key('bigger_brush')} bigger )")
        self.spin = QSpinBox()
        self.spin.setRange(MIN_SIZE, MAX_SIZE)
        self.spin.setSuffix(" px")
        row = QHBoxLayout()
        row.addWidget(QLabel("Size"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        grid.addLayout(row, (len(tool_actions) + 1) // 2, 0, 1, 2)
        self.zoom = 1.0
        self.on_screen = QLabel()  # what the image-pixel size means at the current zoom
        self.on_screen.setStyleSheet("color: gray")
        self.on_screen.setWordWrap(True)
        grid.addWidget(self.on_screen, (len(tool_actions) + 1) // 2 + 1, 0, 1, 2)
        hint = QLabel("Left button draws; hold Shift for the opposite tool; Space or middle button pans.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: gray")
        grid.addWidget(hint, (len(tool_actions) + 1) // 2 + 2, 0, 1, 2)
        self.slider.valueChanged.connect(tools.set_size)
        self.spin.valueChanged.connect(tools.set_size)
        tools.changed.connect(self._show)
        self._show()

    def set_zoom(self, factor: float) -> None:
        self.zoom = factor
        self._show()

    def _show(self) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(self.tools.size)
            self.spin.setValue(self.tools.size)
        self.on_screen.setText(f"image pixels, {self.tools.size * self.zoom:.0f} px on screen")
