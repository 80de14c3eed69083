"""What a reader returns: the pixels and what the file said about them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from core.io.dicom_metadata import DicomInfo


@dataclass(frozen=True)
class ImageMetadata:
    """Facts about a loaded image, as the file stated them.

    ``size`` is (width, height) of the returned pixels, after ``orientation`` was applied.
    ``pixel_spacing_mm`` is (along rows, along columns), i.e. (vertical, horizontal) millimetres per
    pixel in numpy axis order, as DICOM's PixelSpacing; it is set only when the file's resolution
    tags name a physical unit (inch, cm, metre) and is the file's claim, not a calibration: many
    cameras write a nominal 72 dpi. ``orientation`` is the EXIF orientation (1-8) that was applied
    (1: none). ``extra`` holds format-specific fields. ``dicom``: what a DICOM file says (patient, study,
    laterality, device, field of view), None for other formats.
    """

    source: Path | None
    format: str
    size: tuple[int, int]
    pixel_spacing_mm: tuple[float, float] | None = None
    orientation: int = 1
    frame: int = 0
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    dicom: DicomInfo | None = None


@dataclass(frozen=True)
class LoadedImage:
    """Pixels (H×W gray or H×W×3 RGB, uint8 or uint16) with their :class:`ImageMetadata`."""

    pixels: np.ndarray
    metadata: ImageMetadata
