"""Find the optic disc in a colour fundus photograph: locate it, fit its margin, or say why not.

1. The FOV is taken from the caller or estimated; the image is scaled so the FOV is
   :data:`~core.measure.optic_disc.locate.LOCATE_WIDTH` px wide (any camera looks alike).
2. :func:`~core.measure.optic_disc.locate.locate` finds the point where a compact bright spot and
   converging vessels agree.
3. :func:`~core.measure.optic_disc.boundary.fit_circle` fits the disc margin near it at a finer scale,
   in red (where the margin, not the cup, has the sharpest edge); in green only when the red circle
   is no visible disc (red saturated on some cameras) and the green one is brighter.
4. :func:`~core.measure.optic_disc.evidence.relative_contrast` says how much brighter the fitted
   disc is than the retina around it; below :data:`MIN_CONTRAST` percent the photograph gets
   :class:`DiscNotFound` (no visible disc), not a guess. The confidence grows with that contrast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.measure.optic_disc.boundary import FIT_WIDTH, MAX_RADIUS, SEARCH, Circle, fit_circle
from core.measure.optic_disc.evidence import relative_contrast
from core.measure.optic_disc.locate import LOCATE_WIDTH, RIM, VESSEL_FILL, Location, locate
from core.measure.optic_disc.result import DiscNotFound, OpticDisc
from core.measure.optic_disc.scale import WorkImage, as_rgb, fov_of, fov_width, resized, work_image

#: Smallest image side and FOV width (px) worth searching.
MIN_SIDE = 64
#: An image whose brightest FOV pixels (99th percentile of the brightest channel) stay below this is black.
DARK_LEVEL = 20
#: Least contrast (percent, see evidence.py) of a disc; set on training images with and without a disc
#: (docs/optic_disc.md, ``benchmarks/optic_disc.py --calibrate``): 2 % of their discs fall below it,
#: 87 % of the disc-free fields cut from them.
MIN_CONTRAST = 12.0
#: Contrast at which the confidence reaches 1 (about the median disc of the training images).
FULL_CONTRAST = 40.0


@dataclass(frozen=True)
class Detection:
    """Everything the detector saw: the result plus the evidence behind it (for benchmarks)."""

    result: OpticDisc | DiscNotFound
    location: Location | None = None
    circle: Circle | None = None
    #: Percent by which the disc outshines the retina around it (evidence.relative_contrast).
    contrast: float | None = None


def find_optic_disc(image: np.ndarray, fov: np.ndarray | None = None) -> OpticDisc | DiscNotFound:
    """The optic disc of ``image`` (H×W×3 or H×W, any bit depth) as a circle in image pixels, or
    :class:`DiscNotFound` with the reason. ``fov``: the field-of-view mask when known (estimated otherwise)."""
    return detect(image, fov).result


def detect(image: np.ndarray, fov: np.ndarray | None = None) -> Detection:
    """:func:`find_optic_disc` with its evidence."""
    rgb = as_rgb(image)
    h, w = rgb.shape[:2]
    if fov is not None and np.shape(fov) != (h, w):
        raise ValueError(f"FOV mask is {np.shape(fov)[1]}×{np.shape(fov)[0]} but the image is {w}×{h}")
    if min(h, w) < MIN_SIDE:
        return Detection(DiscNotFound(f"the image is too small to find a disc ({w}×{h} px)"))
    fov_mask = fov_of(rgb, fov)
    width = fov_width(fov_mask)
    if width < MIN_SIDE or fov_mask.mean() < 0.05:
        return Detection(DiscNotFound("no field of view found: the image is dark or empty"))
    coarse = work_image(rgb, fov_mask, LOCATE_WIDTH)
    if float(np.percentile(coarse.rgb.max(axis=2)[coarse.fov], 99)) < DARK_LEVEL:
        return Detection(DiscNotFound("the image is too dark to show a disc"))
    location = locate(coarse)
    if location is None:
        return Detection(DiscNotFound("no spot is brighter than its surroundings on every side"))
    x, y = coarse.to_image(location.x, location.y)
    red, green = _fit_near(rgb, fov_mask, x, y, width)
    circle, contrast = red, _contrast(coarse, red, width)
    if contrast is None or contrast < MIN_CONTRAST:
        # Red saturated, or its sharpest circle not the disc: the green margin, if that one is a visible disc.
        green_contrast = _contrast(coarse, green, width)
        if green_contrast is not None and (contrast is None or green_contrast > contrast):
            circle, contrast = green, green_contrast
    diameter = 2 * circle.radius * width / FIT_WIDTH
    if contrast is None:
        return Detection(DiscNotFound("the brightest spot lies at the very edge of the field"), location, circle)
    if contrast < MIN_CONTRAST:
        return Detection(DiscNotFound(f"no visible disc: the best candidate is only {contrast:.0f} % brighter than "
                                      f"the retina around it (a disc: at least {MIN_CONTRAST:.0f} %)"),
                         location, circle, contrast)
    score = min(1.0, contrast / FULL_CONTRAST)
    return Detection(OpticDisc(circle.x, circle.y, diameter, score, "detector"), location, circle, contrast)


def _fit_near(rgb: np.ndarray, fov: np.ndarray, x: float, y: float, width: int) -> tuple[Circle, Circle]:
    """The margin circles in red and in green fitted in a window around (x, y), in image pixels (radius at
    the fitting scale)."""
    h, w = rgb.shape[:2]
    half = (SEARCH + MAX_RADIUS + 0.03) * width
    x0, x1 = max(0, int(x - half)), min(w, int(np.ceil(x + half)) + 1)
    y0, y1 = max(0, int(y - half)), min(h, int(np.ceil(y + half)) + 1)
    window = resized(rgb[y0:y1, x0:x1], fov[y0:y1, x0:x1], FIT_WIDTH / width)
    sx = window.rgb.shape[1] / (x1 - x0)
    sy = window.rgb.shape[0] / (y1 - y0)
    wx, wy = (x - x0 + 0.5) * sx - 0.5, (y - y0 + 0.5) * sy - 0.5
    red, green = (fit_circle(window.rgb[..., c], window.fov, wx, wy, FIT_WIDTH) for c in (0, 1))
    return (Circle(x0 + (red.x + 0.5) / sx - 0.5, y0 + (red.y + 0.5) / sy - 0.5, red.radius, red.edge),
            Circle(x0 + (green.x + 0.5) / sx - 0.5, y0 + (green.y + 0.5) / sy - 0.5, green.radius, green.edge))


def _contrast(coarse: WorkImage, circle: Circle, width: int) -> float | None:
    """The circle's relative contrast (evidence.relative_contrast) measured at the locating scale."""
    cx, cy = (circle.x + 0.5) * coarse.scale - 0.5, (circle.y + 0.5) * coarse.scale - 0.5
    return relative_contrast(coarse, cx, cy, circle.radius * width / FIT_WIDTH * coarse.scale,
                             round(RIM * LOCATE_WIDTH), round(VESSEL_FILL * LOCATE_WIDTH))

