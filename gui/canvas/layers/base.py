"""LayerAdapter: what the canvas needs from one layer type (as napari maps a layer to a visual).

An adapter owns one QGraphicsItem and draws one thing of the document into it. The canvas calls
``attach`` once, ``bind`` when the document changes, ``apply`` when the overlay style changes and
``set_zoom`` when the zoom does; the adapter connects the document signals it needs itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import ClassVar

from PySide6.QtCore import QRect, SignalInstance
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from gui.canvas.style import OverlayValues
from gui.document.document import ImageDocument

Connection = tuple[SignalInstance, Callable[..., None]]


class LayerAdapter:
    """Base of the layer adapters; subclasses set ``name``, pass their item and implement ``refresh``."""

    #: how the canvas and the tests find the layer
    name: ClassVar[str] = ""

    def __init__(self, item: QGraphicsItem) -> None:
        self.item = item  # the one scene item this layer draws into
        self.document: ImageDocument | None = None
        self.look: Hashable = None  # the part of the overlay style this layer draws with
        self._connections: list[Connection] = []

    def attach(self, scene: QGraphicsScene, z: float) -> None:
        self.item.setZValue(z)
        scene.addItem(self.item)

    def bind(self, document: ImageDocument | None) -> None:
        """Show ``document`` (None: nothing), following the signals :meth:`connections` names."""
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self.document = document
        self._connections = self.connections(document) if document is not None else []
        for signal, slot in self._connections:
            signal.connect(slot)
        self.refresh()

    def connections(self, document: ImageDocument) -> list[Connection]:
        """The document signals this layer follows, with their slots."""
        return []

    def style_look(self, values: OverlayValues) -> Hashable:
        """The part of ``values`` this layer draws with (compared to skip redraws it does not need)."""
        return None

    def apply(self, values: OverlayValues) -> None:
        """Take a new overlay style; redraws only when the part this layer uses changed."""
        look = self.style_look(values)
        if look != self.look:
            self.look = look
            self.refresh()

    def refresh(self, rect: QRect | None = None) -> None:
        """Redraw from the document: everything, or only ``rect`` (image pixels) where possible."""
        raise NotImplementedError

    def set_zoom(self, factor: float) -> None:
        """The view's zoom changed (most layers draw the same at any zoom)."""

    def shown(self) -> bool:
        """Visible with something to show."""
        return self.item.isVisible()
