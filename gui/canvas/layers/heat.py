"""The probability heat map of the vessel prediction."""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import QRect

from gui.canvas.image_layer import ImageLayer
from gui.canvas.layers.base import Connection, LayerAdapter
from gui.canvas.render import heat_to_qimage
from gui.canvas.style import OverlayValues
from gui.document.document import ImageDocument


class HeatAdapter(LayerAdapter):
    name = "heat"
    item: ImageLayer

    def __init__(self) -> None:
        super().__init__(ImageLayer())


    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(document.predictionChanged, self.refresh)]

    def style_look(self, values: OverlayValues) -> Hashable:
        return values.show_heat, values.heatmap, values.heat_opacity

    def refresh(self, rect: QRect | None = None) -> None:
        d = self.document
        show, heatmap, opacity = self.look or (False, "", 0.0)
        if d is None or d.probability_u8 is None or not show:
            self.item.setVisible(False)
            self.item.set_image(None)
            return
        self.item.set_image(heat_to_qimage(d.probability_u8, heatmap, opacity))
        self.item.setVisible(True)

    def shown(self) -> bool:
        return self.item.isVisible() and not self.item.is_empty()
