"""A task's label mask (the vessel mask, the artery/vein labels), each label value coloured through a colour table.

A brush stroke repaints only its dirty rectangle (the layer keeps its own ARGB image), so painting
stays fluid on 3504×2336 images; a null rectangle (new prediction, threshold) rebuilds the layer.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from PySide6.QtCore import QRect

from core.io.artery_vein import ARTERY, CROSSING, VEIN
from core.predict.tasks import VESSEL
from gui.canvas.image_layer import ImageLayer
from gui.canvas.layers.base import Connection, LayerAdapter
from gui.canvas.render import labels_color_table, labels_to_qimage
from gui.canvas.style import OverlayValues
from gui.document.document import ARTERIES_VEINS, ImageDocument
from gui.jobs.crossings import LiveCrossings, with_marks


class LabelsAdapter(LayerAdapter):
    """The label mask of ``task``; subclasses say which labels get which colour in :meth:`style_look`."""

    task: str = ""
    item: ImageLayer

    def __init__(self) -> None:
        super().__init__(ImageLayer())
        self._table: list[int] = [0] * 256


    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(document.maskChanged, self.refresh)]

    def style_look(self, values: OverlayValues) -> Hashable:
        """(shown, ((label, colour name), ...), opacity, anything else the subclass draws with)."""
        raise NotImplementedError

    def apply(self, values: OverlayValues) -> None:
        look = self.style_look(values)
        if look != self.look:
            _show, colors, opacity = look[:3]
            self._table = labels_color_table(dict(colors), opacity)
        super().apply(values)

    def _shown(self, labels: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        """The label values drawn in ``labels[rows, cols]`` (a subclass may leave some out)."""
        return labels[rows, cols]

    def _labels(self) -> np.ndarray | None:
        d = self.document
        if d is None or self.task not in d.state.results:
            return None
        return d.state.results[self.task].mask

    def refresh(self, rect: QRect | None = None) -> None:
        labels = self._labels()
        shown = bool(self.look and self.look[0])
        if labels is None or not shown:
            self.item.setVisible(False)
            self.item.set_image(None)
            return
        if rect is None or rect.isNull() or self.item.is_empty():
            self.item.set_image(labels_to_qimage(self._shown(labels, slice(None), slice(None)), self._table))
            self.item.setVisible(True)
            return
        r = rect.intersected(QRect(0, 0, labels.shape[1], labels.shape[0]))
        if not r.isEmpty():
            patch = self._shown(labels, slice(r.top(), r.bottom() + 1), slice(r.left(), r.right() + 1))
            self.item.update_region(labels_to_qimage(patch, self._table), r.left(), r.top())

    def shown(self) -> bool:
        return self.item.isVisible() and not self.item.is_empty()


class VesselLabelsAdapter(LabelsAdapter):
    """The vessel mask, in the mask colour; while arteries and veins are shown, only the vessel pixels they
    leave untyped (drawn after the labelling), so the two colours never mix."""

    name = "vessels"
    task = "vessels"

    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(document.maskChanged, self.refresh), (document.labelsChanged, self._on_labels)]

    def _on_labels(self, task: str, rect: QRect) -> None:
        if task == ARTERIES_VEINS and self.look and self.look[3]:
            self.refresh(rect)

    def style_look(self, values: OverlayValues) -> Hashable:
        return values.show_mask, ((VESSEL, values.mask_color),), values.mask_opacity, values.show_av

    def _shown(self, labels: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        typed = self.document.artery_vein if self.document is not None and self.look[3] else None
        if typed is None:
            return labels[rows, cols]
        return np.where(typed[rows, cols] != 0, 0, labels[rows, cols]).astype(np.uint8)


class ArteryVeinLabelsAdapter(LabelsAdapter):
    """The artery/vein labels: arteries, veins and crossings each in their colour.

    The model has no crossing class: with crossings shown, the pixels where an artery touches a vein
    (core.predict.crossings, found in the worker by the LiveCrossings given to :meth:`draw_crossings`) are
    drawn in the crossing colour instead of their label's. Display only: the document's labels never hold
    them, so undo, autosave and the hand-edit flag never see them. A canvas given no LiveCrossings shows none.
    """

    name = "arteries_veins"
    task = ARTERIES_VEINS

    def __init__(self) -> None:
        super().__init__()
        self.crossings: LiveCrossings | None = None

    def draw_crossings(self, live: LiveCrossings) -> None:
        """Draw the crossing marks ``live`` finds (it follows this layer's document and style)."""
        self.crossings = live
        live.changed.connect(self.refresh)
        live.set_document(self.document)
        live.set_active(self._crossings_shown())

    def bind(self, document: ImageDocument | None) -> None:
        if self.crossings is not None:
            self.crossings.set_document(document)
        super().bind(document)

    def connections(self, document: ImageDocument) -> list[Connection]:
        return [(document.labelsChanged, self._on_labels)]

    def _on_labels(self, task: str, rect: QRect) -> None:
        if task == self.task:
            self.refresh(rect)
            if self.crossings is not None:
                self.crossings.labels_changed()

    def style_look(self, values: OverlayValues) -> Hashable:
        colors = ((ARTERY, values.artery_color), (VEIN, values.vein_color), (CROSSING, values.crossing_color))
        return values.show_av, colors, values.av_opacity, values.show_crossings

    def apply(self, values: OverlayValues) -> None:
        super().apply(values)
        if self.crossings is not None:
            self.crossings.set_active(self._crossings_shown())

    def _crossings_shown(self) -> bool:
        return bool(self.look and self.look[0] and self.look[3])

    def _shown(self, labels: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
        marks = self.crossings.marks if self.crossings is not None and self._crossings_shown() else None
        part = labels[rows, cols]
        if marks is None or marks.shape != labels.shape:
            return part
        return with_marks(part, marks[rows, cols])
