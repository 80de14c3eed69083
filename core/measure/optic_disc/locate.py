"""Where is the disc? Two cues that fail in different ways, multiplied so that both must agree.

- **Brightness**: the disc is a compact spot brighter than its surroundings on *every* side. The
  contrast is the mean inside a circle minus the brightest of four quadrants of the ring around it,
  so a bright band, a reflex along the FOV edge or a vignetting gradient (bright on one side only)
  scores low, while a disc beside the FOV edge (one quadrant missing) still scores.
- **Vessel convergence**: the large vessels leave the eye through the disc. Every pixel of a thick
  vessel votes along its own direction; the votes pile up where vessels converge.

All sizes are fractions of the FOV width, so the same numbers serve a 565 px and a 3504 px photograph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from core.measure.optic_disc.filters import disk, fill_vessels, masked_mean, vessel_contrast
from core.measure.optic_disc.scale import WorkImage

#: FOV width (px) at which the disc is located.
LOCATE_WIDTH = 256
#: Disc radii tried, as fractions of the FOV width (disc diameters of 7–22 % of the FOV: 30°–50° cameras).
RADII = (0.036, 0.048, 0.06, 0.075, 0.09, 0.108)
#: Vessels are filled by a closing of this radius (FOV fraction): wider than the widest vessel.
VESSEL_FILL = 0.008
#: Share of the FOV's pixels taken as vessel for the convergence votes (the most contrasted ones).
VESSEL_SHARE = 0.10
#: How far a vessel pixel votes along its direction (FOV fraction).
VOTE_REACH = 0.3
#: Quadrants of the ring around a candidate, and the share of one that must lie in the FOV to count.
QUADRANTS = 4
MIN_QUADRANT_COVER = 0.3
#: Band along the FOV's edge left out of both cues (FOV fraction).
RIM = 0.012


@dataclass(frozen=True)
class Location:
    """The most disc-like point at the locating scale, with the evidence for it."""

    x: float
    y: float
    radius: float  # working px, the best-contrast radius (often the cup on disc-centred photos)
    contrast: float  # brightness contrast in units of the FOV's brightness spread
    convergence: float  # vessel votes at the point relative to their mean over the FOV


def _brightness(work: WorkImage, fov: np.ndarray) -> np.ndarray:
    """Red+green with vessels filled, divided by its local background and standardised in ``fov``."""
    width = work.fov.any(axis=0).sum()
    channel = 0.5 * (work.rgb[..., 0] + work.rgb[..., 1])
    filled = fill_vessels(channel, fov, max(1, round(VESSEL_FILL * width)))
    background, _ = masked_mean(filled, fov, disk(0.12 * width))
    norm = filled / np.maximum(background, 1.0)
    inside = norm[fov]
    return ((norm - np.median(inside)) / (inside.std() + 1e-6)).astype(np.float32)


def brightness_contrast(norm: np.ndarray, fov: np.ndarray, radii: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Best contrast over ``radii`` at every pixel (-inf where a disc cannot be) and its radius."""
    best = np.full(norm.shape, -np.inf, np.float32)
    best_radius = np.zeros(norm.shape, np.float32)
    for r in radii:
        inside, cover = masked_mean(norm, fov, disk(r, 2 * r))
        brightest = np.full(norm.shape, -np.inf, np.float32)
        counted = np.zeros(norm.shape, np.int32)
        for quadrant in _quadrant_kernels(r):
            mean, share = masked_mean(norm, fov, quadrant)
            ok = share >= MIN_QUADRANT_COVER
            brightest = np.where(ok, np.maximum(brightest, mean), brightest)
            counted += ok
        score = inside - brightest
        score[(cover < 0.95) | (counted < QUADRANTS - 1) | ~fov] = -np.inf
        better = score > best
        best[better] = score[better]
        best_radius[better] = r
    return best, best_radius


def _quadrant_kernels(r: float) -> list[np.ndarray]:
    n = int(np.ceil(2 * r))
    y, x = np.mgrid[-n:n + 1, -n:n + 1]
    ring = (np.hypot(x, y) > r) & (np.hypot(x, y) <= 2 * r)
    angle = np.arctan2(y, x)
    step = 2 * np.pi / QUADRANTS
    return [(ring & (angle >= -np.pi + k * step) & (angle < -np.pi + (k + 1) * step)).astype(np.float32)
            for k in range(QUADRANTS)]


def vessel_convergence(work: WorkImage, fov: np.ndarray) -> np.ndarray:
    """Votes cast by thick-vessel pixels along their own direction, smoothed, relative to their mean
    in ``fov`` (so 3 means three times the average pile; 0 outside ``fov``)."""
    width = int(work.fov.any(axis=0).sum())
    contrast = vessel_contrast(work.rgb[..., 1], fov, max(2, round(0.012 * width)))
    inside = contrast[fov]
    vessels = contrast > np.quantile(inside, 1 - VESSEL_SHARE)
    labels, n = ndi.label(vessels)
    sizes = ndi.sum(vessels, labels, np.arange(1, n + 1))
    vessels = (np.concatenate([[False], sizes >= 0.00023 * width * width]))[labels]  # drop specks
    # Structure tensor: the vessel runs perpendicular to the dominant gradient of its contrast.
    gy, gx = np.gradient(ndi.gaussian_filter(contrast, 0.003 * width))
    rho = 0.008 * width
    jxx, jyy, jxy = (ndi.gaussian_filter(g, rho) for g in (gx * gx, gy * gy, gx * gy))
    direction = 0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (jxx + jyy + 1e-12)
    ys, xs = np.nonzero(vessels)
    weight = (contrast[ys, xs] * coherence[ys, xs]).astype(np.float32)
    angle = direction[ys, xs]
    h, w = contrast.shape
    votes = np.zeros(h * w, np.float32)
    reach = np.arange(0.016 * width, VOTE_REACH * width, 1.0, dtype=np.float32)
    for sign in (1.0, -1.0):
        px = np.rint(xs[:, None] + sign * reach[None] * np.cos(angle)[:, None]).astype(np.int64)
        py = np.rint(ys[:, None] + sign * reach[None] * np.sin(angle)[:, None]).astype(np.int64)
        ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        np.add.at(votes, (py * w + px)[ok], np.broadcast_to(weight[:, None], px.shape)[ok])
    votes = ndi.gaussian_filter(votes.reshape(h, w), 0.03 * width)
    votes[~fov] = 0.0
    mean = float(votes[fov].mean()) if fov.any() else 0.0
    return votes / mean if mean > 0 else votes


def locate(work: WorkImage) -> Location | None:
    """The point where brightness contrast × vessel convergence peaks; None when nothing is brighter
    than its surroundings anywhere a disc fits."""
    width = int(work.fov.any(axis=0).sum())
    # Away from the FOV's edge, where the dark border would pass for a vessel or a bright disc's ring.
    fov = ndi.binary_erosion(work.fov, iterations=max(1, round(RIM * width)))
    if not fov.any():
        return None
    norm = _brightness(work, fov)
    contrast, radius = brightness_contrast(norm, fov, [f * width for f in RADII])
    valid = np.isfinite(contrast)
    if not valid.any() or contrast[valid].max() <= 0:
        return None
    convergence = vessel_convergence(work, fov)
    combined = np.where(valid, np.maximum(contrast, 0), 0) * convergence
    y, x = np.unravel_index(int(np.argmax(combined)), combined.shape)
    return Location(float(x), float(y), float(radius[y, x]), float(contrast[y, x]), float(convergence[y, x]))
