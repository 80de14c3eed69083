"""ImageLayer: a QGraphicsItem that owns its QImage, so a small region can be repainted in place.

A QGraphicsPixmapItem cannot do that cheaply (changing its pixmap copies the whole image), and
issue 5's brush strokes must repaint only the rectangle they touch on 3504×2336 masks.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

_FORMAT = QImage.Format.Format_ARGB32_Premultiplied  # what the raster engine draws fastest


class ImageLayer(QGraphicsItem):
    """Draws one image at the scene origin, one scene unit per pixel."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)  # exposedRect

    @property
    def image(self) -> QImage:
        return self._image

    def is_empty(self) -> bool:
        return self._image.isNull()

    def set_image(self, image: QImage | None) -> None:
        """Replace the whole layer (None clears it)."""
        self.prepareGeometryChange()
        self._image = QImage() if image is None else image.convertToFormat(_FORMAT)
        self.update()

    def update_region(self, patch: QImage, x: int, y: int) -> None:
        """Overwrite the pixels at (x, y) with ``patch`` (alpha included) and repaint only there."""
        if self._image.isNull():
            return
        painter = QPainter(self._image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(x, y, patch)
        painter.end()
        self.update(QRectF(x, y, patch.width(), patch.height()))

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        area = option.exposedRect.intersected(self.boundingRect())
        src = area.toAlignedRect()  # whole pixels that cover the exposed area
        painter.drawImage(QRectF(src), self._image, src)
