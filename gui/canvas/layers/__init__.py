"""The canvas's layers, bottom to top: one small adapter class per layer type, registered here.

A new overlay (artery/vein labels, the disc outline) is one new adapter class added to ``LAYERS``.
"""

from __future__ import annotations

from gui.canvas.layers.base import LayerAdapter
from gui.canvas.layers.calibre import CalibreVesselsAdapter
from gui.canvas.layers.disc import DiscAdapter
from gui.canvas.layers.heat import HeatAdapter
from gui.canvas.layers.image import ImageAdapter
from gui.canvas.layers.labels import ArteryVeinLabelsAdapter, VesselLabelsAdapter
from gui.canvas.layers.outline import OutlineAdapter

LAYERS: tuple[type[LayerAdapter], ...] = (ImageAdapter, HeatAdapter, VesselLabelsAdapter, ArteryVeinLabelsAdapter,
                                          DiscAdapter, OutlineAdapter, CalibreVesselsAdapter)

__all__ = ["LAYERS", "LayerAdapter"]
