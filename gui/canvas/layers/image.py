"""The photograph itself, at the bottom."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from gui.canvas.layers.base import LayerAdapter
from gui.canvas.render import image_to_qimage


class ImageAdapter(LayerAdapter):
    name = "image"
    item: QGraphicsPixmapItem

    def __init__(self) -> None:
        super().__init__(QGraphicsPixmapItem())


    def refresh(self, rect: QRect | None = None) -> None:
        d = self.document
        self.item.setPixmap(QPixmap() if d is None else QPixmap.fromImage(image_to_qimage(d.image)))

    def set_zoom(self, factor: float) -> None:
        # Pixels stay crisp when zoomed in; downscaled images are smoothed.
        mode = Qt.TransformationMode.FastTransformation if factor >= 1 else Qt.TransformationMode.SmoothTransformation
        self.item.setTransformationMode(mode)

    def shown(self) -> bool:
        return self.item.isVisible() and not self.item.pixmap().isNull()
