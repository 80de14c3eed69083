"""BrushSizes: a brush that suits the image shown, remembered per image size class.

The brush diameter is in image pixels (a stroke paints the same pixels at any zoom), so one number
cannot suit every camera: 12 px is a fat line on a 565-px DRIVE image and a hairline on a 3504-px HRF
image seen fitted to the window. The default grows with the image's longer side, and the size the user
picks is kept for images of that size class (in the settings), so going back to a large image gives back
the large brush.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from gui.canvas.tools import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, ToolState
from gui.document.document import ImageDocument
from gui.settings import AppSettings

#: images whose longer side is at most this many pixels get DEFAULT_SIZE; larger ones a proportional brush
REFERENCE_SIDE = 1200
#: (largest longer side, name) of each size class; anything larger is "huge"
SIZE_CLASSES = ((1200, "small"), (2400, "medium"), (4800, "large"))


def size_class(width: int, height: int) -> str:
    """The size class of a width × height image, by its longer side."""
    side = max(width, height)
    return next((name for limit, name in SIZE_CLASSES if side <= limit), "huge")


def default_size(width: int, height: int) -> int:
    """The brush diameter (image pixels) a new user gets: DEFAULT_SIZE, scaled up for large images so it
    looks about as wide on screen at fit-to-window."""
    scaled = round(DEFAULT_SIZE * max(width, height) / REFERENCE_SIDE)
    return int(min(MAX_SIZE, max(MIN_SIZE, DEFAULT_SIZE, scaled)))


class BrushSizes(QObject):
    """Sets ``tools``' size for each document shown and remembers the user's choice per size class."""

    def __init__(self, tools: ToolState, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.settings = settings
        self.size_class: str | None = None
        self._following = False
        tools.changed.connect(self._remember)

    def follow(self, doc: ImageDocument | None) -> None:
        """Use the brush of ``doc``'s size class (the remembered one, else the default for its size)."""
        if doc is None:
            return
        self.size_class = size_class(doc.width, doc.height)
        size = self.settings.brush_size_for(self.size_class) or default_size(doc.width, doc.height)
        self._following = True
        try:
            self.tools.set_size(size)
        finally:
            self._following = False

    def _remember(self) -> None:
        if self.size_class is not None and not self._following:
            self.settings.set_brush_size_for(self.size_class, self.tools.size)
