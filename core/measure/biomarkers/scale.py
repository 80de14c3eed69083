"""The image scale (micrometres per pixel) and where it came from.

Tried in this order, the first that applies wins:

1. ``metadata``: a pixel spacing the file states for the retina (DICOM ophthalmic photography's
   PixelSpacing). Not a PNG/TIFF print resolution: those are nominal (often 72 dpi) and say nothing
   about the eye, so callers should not pass them.
2. ``field_angle``: the camera's field of view in degrees, spread over the FOV mask's diameter, at
   :data:`MICROMETRES_PER_DEGREE` on the retina (a standard emmetropic eye; refraction and axial
   length change the true value by several per cent).
3. ``disc_convention``: the optic disc is taken to be :data:`DISC_DIAMETER_UM` across (the convention
   that zone B and disc-relative calibres rest on).

Otherwise there is no scale and every value stays in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Retinal distance per degree of visual angle near the posterior pole (Drasdo & Fowler 1974, ~0.29 mm/°).
MICROMETRES_PER_DEGREE = 288.0
#: The disc-diameter convention: an average optic disc is about 1800 µm across.
DISC_DIAMETER_UM = 1800.0

SOURCES = ("metadata", "field_angle", "disc_convention", "none")
_SOURCE_WORDS = {"metadata": "pixel spacing from the file", "field_angle": "camera field angle",
                 "disc_convention": f"disc diameter taken as {DISC_DIAMETER_UM:g} µm", "none": "no scale"}

#: Physical unit -> its size in micrometre-based units (1 mm = 1000 µm, so 1/µm = 1000/mm).
_FACTORS = {"µm": 1.0, "mm": 1e-3, "1/mm": 1e3, "1/mm²": 1e6}


@dataclass(frozen=True)
class Scale:
    um_per_px: float | None
    source: str  # one of SOURCES
    detail: str  # how the number was obtained, for people

    @classmethod
    def unknown(cls) -> Scale:
        return cls(None, "none", "no scale: pixel units only")

    @property
    def known(self) -> bool:
        return self.um_per_px is not None

    def describe(self) -> str:
        if self.um_per_px is None:
            return self.detail
        return f"{self.um_per_px:.3g} µm/px from {self.source.replace('_', ' ')} ({self.detail})"

    def short(self) -> str:
        """``3.97 µm/px, camera field angle``: what every physical value carries."""
        if self.um_per_px is None:
            return "no scale"
        return f"{self.um_per_px:.3g} µm/px, {_SOURCE_WORDS[self.source]}"

    def convert(self, value: float, power: int, physical_unit: str) -> float | None:
        """``value`` in px**power as ``physical_unit`` (µm, mm, 1/mm, 1/mm²), or None without a scale."""
        if self.um_per_px is None:
            return None
        return value * self.um_per_px ** power * _FACTORS[physical_unit]


def fov_diameter_px(fov: np.ndarray) -> float:
    """The FOV's diameter: its larger extent across rows or columns (a camera may cut the disk at the
    top and bottom, never on both axes)."""
    rows = np.flatnonzero(fov.any(1))
    cols = np.flatnonzero(fov.any(0))
    if rows.size == 0:
        return 0.0
    return float(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))


def resolve_scale(pixel_spacing_mm: float | tuple[float, float] | None = None,
                  field_angle_deg: float | None = None, fov_diameter: float | None = None,
                  disc_diameter_px: float | None = None) -> Scale:
    """The first scale that applies, in the order of the module docstring."""
    if pixel_spacing_mm is not None:
        spacing = np.atleast_1d(np.asarray(pixel_spacing_mm, float))
        if spacing.size and np.all(np.isfinite(spacing)) and np.all(spacing > 0):
            um = float(spacing.mean()) * 1000.0
            detail = f"pixel spacing {um:.3g} µm"
            if spacing.size > 1 and spacing.max() > 1.01 * spacing.min():
                detail += f" (mean of rows {spacing[0] * 1000:.3g} and columns {spacing[1] * 1000:.3g})"
            return Scale(um, "metadata", detail)
    if field_angle_deg is not None and fov_diameter and field_angle_deg > 0:
        um = field_angle_deg * MICROMETRES_PER_DEGREE / fov_diameter
        return Scale(um, "field_angle", f"{field_angle_deg:g}° over a {fov_diameter:.0f}-px FOV at "
                                        f"{MICROMETRES_PER_DEGREE:g} µm/°")
    if disc_diameter_px is not None and disc_diameter_px > 0:
        return Scale(DISC_DIAMETER_UM / disc_diameter_px, "disc_convention",
                     f"disc {disc_diameter_px:.0f} px taken as {DISC_DIAMETER_UM:g} µm")
    return Scale.unknown()
