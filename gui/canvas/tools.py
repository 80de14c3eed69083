"""ToolState: the current drawing tool and brush size (a small model; widgets and the canvas follow it).

Tools: brush (paint vessel), eraser, lasso fill (add a closed region) and lasso cut (remove one) for the
vessel mask; artery and vein brushes (retype the vessel pixels under them), a click that swaps artery and
vein on one vessel segment, and the optic disc (drag it, or its margin to resize it) for the artery/vein
layers. Holding Shift swaps each tool with its opposite for as long as it is held (brush <-> eraser,
fill <-> cut, artery <-> vein); the swap is decided when the stroke starts.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import QObject, Signal

MIN_SIZE = 1
MAX_SIZE = 300
DEFAULT_SIZE = 12
SIZE_STEP = 1.25  # [ and ] change the brush diameter by this factor


class Tool(Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    LASSO_ADD = "lasso_add"
    LASSO_REMOVE = "lasso_remove"
    ARTERY = "artery_brush"
    VEIN = "vein_brush"
    SWAP = "swap_av"
    DISC = "disc"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_lasso(self) -> bool:
        return self in (Tool.LASSO_ADD, Tool.LASSO_REMOVE)

    @property
    def adds_vessel(self) -> bool:
        return self in (Tool.BRUSH, Tool.LASSO_ADD)

    @property
    def is_brush(self) -> bool:
        """Paints along a drag with the brush size (the size outline follows the cursor)."""
        return self in (Tool.BRUSH, Tool.ERASER, Tool.ARTERY, Tool.VEIN)

    @property
    def types_vessels(self) -> bool:
        """Edits the artery/vein labels (usable once the image has them)."""
        return self in (Tool.ARTERY, Tool.VEIN, Tool.SWAP)

    def swapped(self) -> Tool:
        """The opposite tool (what the temporary modifier gives)."""
        return _OPPOSITE[self]


_LABELS = {Tool.BRUSH: "Brush", Tool.ERASER: "Eraser", Tool.LASSO_ADD: "Lasso fill", Tool.LASSO_REMOVE: "Lasso cut",
           Tool.ARTERY: "Artery brush", Tool.VEIN: "Vein brush", Tool.SWAP: "Swap artery/vein",
           Tool.DISC: "Optic disc"}
_OPPOSITE = {Tool.BRUSH: Tool.ERASER, Tool.ERASER: Tool.BRUSH,
             Tool.LASSO_ADD: Tool.LASSO_REMOVE, Tool.LASSO_REMOVE: Tool.LASSO_ADD,
             Tool.ARTERY: Tool.VEIN, Tool.VEIN: Tool.ARTERY, Tool.SWAP: Tool.SWAP, Tool.DISC: Tool.DISC}


class ToolState(QObject):
    """Current tool and brush diameter in image pixels; ``changed`` after either changes."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tool = Tool.BRUSH
        self.size = DEFAULT_SIZE

    @property
    def radius(self) -> float:
        return self.size / 2.0

    def set_tool(self, tool: Tool) -> None:
        if tool != self.tool:
            self.tool = tool
            self.changed.emit()

    def set_size(self, size: int) -> None:
        size = int(min(MAX_SIZE, max(MIN_SIZE, round(size))))
        if size != self.size:
            self.size = size
            self.changed.emit()

    def grow(self) -> None:
        """``]``: a bigger brush (at least one pixel more)."""
        self.set_size(max(self.size + 1, round(self.size * SIZE_STEP)))

    def shrink(self) -> None:
        """``[``: a smaller brush (at least one pixel less)."""
        self.set_size(min(self.size - 1, round(self.size / SIZE_STEP)))

    def effective(self, swap: bool) -> Tool:
        return self.tool.swapped() if swap else self.tool
