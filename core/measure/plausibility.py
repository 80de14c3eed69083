"""The plausibility guard: warnings for results the program can tell are likely wrong.

A result is never silently wrong where the program could know. :func:`check_plausibility` looks at
the image inside its field of view (too dark, too bright, too little contrast, blurred, noise, colours
unlike a retina), at the FOV itself (found at all, big enough, round) and at the vessel mask (vessel
fraction far outside what annotated fundus photographs have). Each finding is one
:class:`PlausibilityWarning` with a stable ``code`` and one sentence a clinician understands.

The image measures are taken after scaling the FOV to about :data:`WORK_DIAMETER` px wide, so they
mean the same on a 565 px and a 3504 px photograph. Thresholds were set with wide margins around every
image of DRIVE (40), CHASE_DB1 (28) and HRF (45) with their manual labels, none of which raises a warning
(nor did the shipped model's masks of the five test images checked, nor the CC0 sample). Measured there:
mean luminance 62–150 (the same images ×0.15: 9–22), green std 8.9–43, sharpness 0.27–0.46 (blurred with a
Gaussian of σ = 2 px at the work scale: 0.07–0.12; white noise: 2.9), red / max(green, blue) 1.36–4.1,
FOV roundness 0.97–1.0 and share of the image 0.63–0.85 (``benchmarks/plausibility.py`` prints them).

Artery/vein labels are checked by the arteries' share of the typed vessel pixels
(:func:`check_artery_share`): in the reference labels it is 0.33–0.56 (DRIVE 40 and HRF 45 images), and a
model that types most of a camera's veins as arteries (the shipped one does on CHASE_DB1: 0.85–0.91) is
flagged rather than shown as if right.

The expected vessel fraction comes from the checkpoint when it records one:
``metrics["vessel_fraction_range"] = [low, high]``, the lowest and highest vessel fraction inside the
FOV among the model's annotated training images (:func:`expected_range`). Otherwise
:data:`DEFAULT_RANGE`. A result warns when it is :data:`RANGE_MARGIN` times beyond either end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from core.io.artery_vein import ARTERY, VEIN
from core.measure.fov import estimate_fov
from core.predict.prediction import Prediction
from core.predict.tasks import VESSEL


@dataclass(frozen=True)
class PlausibilityWarning:
    """One reason to doubt a result: a stable ``code`` (for files and tests) and a sentence for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class VesselRange:
    """Vessel fractions inside the FOV seen on annotated images (``low``..``high``) and whose they are."""

    low: float
    high: float
    source: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"a vessel fraction range needs 0 <= low <= high <= 1, got {self.low}, {self.high}")

    def text(self) -> str:
        return f"{self.low * 100:.0f}–{self.high * 100:.0f} %"


#: Manual vessel labels inside the FOV: DRIVE 1st observer 8.7–16.8 % (40 images, its FOV masks), CHASE_DB1
#: 1st observer 7.3–12.2 % (28, estimated FOV), HRF 6.0–12.5 % (45, its FOV masks).
DEFAULT_RANGE = VesselRange(0.06, 0.17, "annotated fundus photographs (DRIVE, CHASE_DB1, HRF)")
#: How far beyond the expected range a vessel fraction must be to warn (×high, ÷low).
RANGE_MARGIN = 1.6
#: The FOV width (px) the image measures are taken at; smaller images are measured as they are.
WORK_DIAMETER = 512

#: Image thresholds (8-bit scale, inside the FOV). Real photographs lie well inside them (see the module doc).
TOO_DARK = 25.0  # mean luminance
TOO_BRIGHT = 215.0  # mean luminance
SATURATED = 0.5  # share of FOV pixels with every channel at 250 or above
LOW_CONTRAST = 4.0  # std of the green channel
BLURRED = 0.18  # sharpness: finest detail / vessel-scale detail of the green channel
NOISY = 1.5  # the same ratio: white noise gives ~2.9
NOT_RED = 0.9  # mean red / max(mean green, mean blue) of a colour image
MIN_FOV_SHARE = 0.15  # of the image
MIN_ROUNDNESS = 0.85  # overlap of the FOV with the circle of its width


def expected_range(metrics: Mapping[str, Any] | None) -> VesselRange:
    """The checkpoint's ``metrics["vessel_fraction_range"]`` when it is a valid [low, high], else the default."""
    value = (metrics or {}).get("vessel_fraction_range")
    try:
        low, high = (float(v) for v in value)  # type: ignore[union-attr]
        return VesselRange(low, high, "the model's annotated training images")
    except (TypeError, ValueError):
        return DEFAULT_RANGE


def predictor_range(predictor: Any) -> VesselRange:
    """:func:`expected_range` of a predictor's model card (a predictor without a card: the default)."""
    card = getattr(predictor, "card", None)
    try:
        metrics = card().get("metrics") if callable(card) else None
    except Exception:  # a card is a nicety: a broken one must not stop a segmentation
        metrics = None
    return expected_range(metrics if isinstance(metrics, Mapping) else None)


def check_plausibility(image: np.ndarray, fov: np.ndarray | None = None,
                       vessels: np.ndarray | Prediction | None = None,
                       expected: VesselRange | None = None) -> list[PlausibilityWarning]:
    """Every warning for ``image`` (H×W or H×W×C, 8 or 16 bit) and its result.

    ``fov``: the FOV used (None: estimated here). ``vessels``: a label or vessel mask (non-zero is vessel)
    or a Prediction (decoded with its thresholds); None checks the image alone. ``expected``: the
    vessel fraction range of the model's training data (None: :data:`DEFAULT_RANGE`).
    """
    img = _as_8bit(image)
    fov = estimate_fov(img) if fov is None else np.asarray(fov, bool)
    if fov.shape != img.shape[:2]:
        raise ValueError(f"the FOV mask is {fov.shape[1]}x{fov.shape[0]} but the image is "
                         f"{img.shape[1]}x{img.shape[0]}")
    warnings = check_fov(fov) + check_image(img, fov)
    if vessels is not None:
        mask = vessels.decode() == VESSEL if isinstance(vessels, Prediction) else np.asarray(vessels) != 0
        warnings += check_vessel_fraction(_fraction(mask, fov), expected)
    return warnings


#: Keys of ``Prediction.info`` under which :func:`with_image_checks` stores what the app re-checks later.
IMAGE_WARNINGS, VESSEL_RANGE = "image_warnings", "vessel_range"


def with_image_checks(prediction: Prediction, image: np.ndarray, expected: VesselRange | None = None) -> Prediction:
    """``prediction`` carrying its image's and FOV's warnings and the expected vessel range in its ``info``.

    These do not change when the mask is re-thresholded or edited, so they are computed once (in a worker);
    :func:`result_warnings` adds the cheap vessel-fraction check of whatever the mask is now.
    """
    img = _as_8bit(image)
    found = tuple(check_fov(prediction.fov) + check_image(img, prediction.fov))
    return prediction.with_info(**{IMAGE_WARNINGS: found, VESSEL_RANGE: expected or DEFAULT_RANGE})


def result_warnings(prediction: Prediction | None, fraction: float | None,
                    artery_vein: np.ndarray | None = None) -> list[PlausibilityWarning]:
    """The warnings of a model's results: its prediction's stored image warnings (:func:`with_image_checks`),
    the vessel-fraction check of the current mask, edits included (``fraction`` of the FOV; None: no mask),
    and the balance of the model's artery/vein labels, edits included (``artery_vein``; None: none).

    No vessel warnings without a prediction: a mask drawn by hand or loaded from a file is the user's, not
    the model's (the same goes for artery/vein labels: pass None for labels that are not the model's).
    """
    balance = check_artery_share(artery_vein)
    if prediction is None:
        return balance
    info = prediction.info
    stored = [w for w in info.get(IMAGE_WARNINGS, ()) if isinstance(w, PlausibilityWarning)]
    expected = info.get(VESSEL_RANGE)
    return stored + check_vessel_fraction(fraction, expected if isinstance(expected, VesselRange) else None) + balance


def check_vessel_fraction(fraction: float | None, expected: VesselRange | None = None) -> list[PlausibilityWarning]:
    """A warning when the vessel share of the FOV is far outside ``expected`` (cheap: for every hand edit)."""
    if fraction is None:
        return []
    r = expected or DEFAULT_RANGE
    said = f"{fraction * 100:.1f} % of the field of view is marked as vessel; {r.source} have {r.text()}"
    if fraction > r.high * RANGE_MARGIN:
        return [PlausibilityWarning("vessel_fraction_high", f"{said}: check the result (vessels may be "
                                    "flooded by a colour cast, blur or a non-fundus image).")]
    if fraction < r.low / RANGE_MARGIN:
        return [PlausibilityWarning("vessel_fraction_low", f"{said}: check the result (vessels may be "
                                    "missed in a dark, blurred or low-contrast image).")]
    return []


#: Arteries' share of the artery and vein pixels in reference labels: DRIVE 0.34–0.56 (40 images, RITE),
#: HRF 0.33–0.51 (45). Warn outside twice that spread in artery:vein ratio (0.49–1.27 -> 0.25–2.5).
ARTERY_SHARE_RANGE = (0.20, 0.72)
#: Fewer typed pixels than this (a crop, a mask mostly erased) say too little to judge the balance.
MIN_TYPED_PIXELS = 2000


def check_artery_share(labels: np.ndarray | None) -> list[PlausibilityWarning]:
    """A warning when artery/vein ``labels`` call far more (or far fewer) pixels artery than retinas have."""
    if labels is None:
        return []
    arteries, veins = int(np.count_nonzero(labels == ARTERY)), int(np.count_nonzero(labels == VEIN))
    typed = arteries + veins
    if typed < MIN_TYPED_PIXELS:
        return []
    share = arteries / typed
    low, high = ARTERY_SHARE_RANGE
    if low <= share <= high:
        return []
    most, kind = (share, "arteries") if share > high else (1 - share, "veins")
    return [PlausibilityWarning("artery_share_implausible", f"{most * 100:.0f} % of the typed vessels are "
                                f"marked as {kind}; retinas have about as many arteries as veins (annotated "
                                "photographs: 33–56 % arteries). Check the artery/vein types: the model may not "
                                "know this camera.")]


def check_fov(fov: np.ndarray) -> list[PlausibilityWarning]:
    """Warnings about the field of view: not found (the whole image), too small, not round."""
    f = np.asarray(fov, bool)
    share = float(f.mean()) if f.size else 0.0
    if share >= 0.995:
        return [PlausibilityWarning("fov_not_found", "No dark border around a round field of view was found, "
                                    "so the whole image is treated as retina: check that this is a fundus "
                                    "photograph and the result is plausible.")]
    if share < MIN_FOV_SHARE:
        return [PlausibilityWarning("fov_small", f"The field of view found covers only {share * 100:.0f} % of "
                                    "the image: the image may be mostly dark, or not a fundus photograph.")]
    roundness = fov_roundness(f)
    if roundness < MIN_ROUNDNESS:
        return [PlausibilityWarning("fov_not_round", f"The field of view found is not round (it overlaps its "
                                    f"circle by {roundness * 100:.0f} %): check that this is a fundus photograph.")]
    return []


def check_image(image: np.ndarray, fov: np.ndarray) -> list[PlausibilityWarning]:
    """Warnings about the pixels inside ``fov``: too dark or bright, low contrast, blurred, noise, colours."""
    m = measure_image(image, fov)
    if m is None:
        return []
    out: list[PlausibilityWarning] = []
    if m["luminance"] < TOO_DARK:
        out.append(PlausibilityWarning("too_dark", f"The image is too dark to judge (mean brightness "
                                       f"{m['luminance']:.0f} of 255 inside the field of view)."))
    elif m["luminance"] > TOO_BRIGHT or m["saturated"] > SATURATED:
        out.append(PlausibilityWarning("too_bright", f"The image is too bright to judge ({m['saturated'] * 100:.0f} % "
                                       "of the field of view is saturated, mean brightness "
                                       f"{m['luminance']:.0f} of 255)."))
    if m["contrast"] < LOW_CONTRAST:
        out.append(PlausibilityWarning("low_contrast", f"The image has almost no contrast (green channel "
                                       f"varies by {m['contrast']:.1f} of 255): vessels cannot be told apart."))
    elif m["sharpness"] < BLURRED:
        out.append(PlausibilityWarning("blurred", f"The image is blurred (sharpness {m['sharpness']:.3f}, "
                                       f"photographs have over {BLURRED:.2f}): fine vessels will be missed."))
    elif m["sharpness"] > NOISY:
        out.append(PlausibilityWarning("noisy", f"The image is dominated by pixel noise (sharpness "
                                       f"{m['sharpness']:.2f}, photographs have under {NOISY:.1f}): "
                                       "it may not be a photograph at all."))
    if m["redness"] < NOT_RED:
        out.append(PlausibilityWarning("not_a_fundus", "The colours are unlike a retina's (red is not the "
                                       "strongest channel): check that this is a fundus photograph."))
    return out


def measure_image(image: np.ndarray, fov: np.ndarray) -> dict[str, float] | None:
    """The image measures the checks compare (8-bit scale, inside ``fov``); None for an empty FOV.

    ``luminance`` mean, ``saturated`` share (white pixels), ``contrast`` green std, ``sharpness`` the green
    channel's finest detail (minus its 3×3 mean) over its vessel-scale detail (3×3 mean minus 17×17 mean),
    both as std at the work scale (independent of exposure and contrast), ``redness`` red / max(green, blue)
    means (1.0 for a gray image).
    """
    img = _as_8bit(image)
    f = np.asarray(fov, bool)
    if not f.any():
        return None
    rgb = np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img[..., :3]
    if rgb.shape[2] < 3:
        rgb = np.repeat(rgb[..., :1], 3, 2)
    px = rgb[f].astype(np.float32)
    means = px.mean(0)
    luminance = float(means @ np.array([0.299, 0.587, 0.114], np.float32))
    saturated = float((px.min(1) >= 250).mean())
    colour = float(np.abs(px[:, 0] - px[:, 1]).mean() + np.abs(px[:, 1] - px[:, 2]).mean()) > 2.0
    redness = float(means[0] / max(means[1], means[2], 1e-6)) if colour else 1.0
    green, small_fov = _work_scale(rgb[..., 1], f)
    inner = _erode(small_fov, 3)
    if not inner.any():
        return None
    contrast = float(green[inner].std())
    smooth = _box_blur(green, 1)
    band = float((smooth - _box_blur(green, 8))[inner].std())
    # a smooth frame (a gradient, a flat field) has no detail to judge: sharpness is then taken as normal
    sharpness = float((green - smooth)[inner].std()) / band if band > 0.5 else (BLURRED + NOISY) / 2
    return {"luminance": luminance, "saturated": saturated, "contrast": contrast, "sharpness": sharpness,
            "redness": redness}


def _as_8bit(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        top = 1.0 if a.size and float(np.nanmax(a)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(a) * (255.0 / top), 0, 255).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


def _fraction(mask: np.ndarray, fov: np.ndarray) -> float:
    n = int(np.count_nonzero(fov))
    return float(np.count_nonzero(mask & fov)) / n if n else 0.0


def fov_roundness(fov: np.ndarray) -> float:
    """Intersection over union of ``fov`` with the circle as wide as it, centred on it, cut by the image."""
    cols = np.flatnonzero(fov.any(0))
    rows = np.flatnonzero(fov.any(1))
    r = (cols[-1] - cols[0] + 1) / 2
    cx, cy = (cols[0] + cols[-1]) / 2, (rows[0] + rows[-1]) / 2
    step = max(1, int(max(fov.shape) // 400))  # a coarse grid is plenty for a shape measure
    yy, xx = np.mgrid[0:fov.shape[0]:step, 0:fov.shape[1]:step]
    circle = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    f = fov[::step, ::step]
    union = np.count_nonzero(circle | f)
    return float(np.count_nonzero(circle & f)) / union if union else 0.0


def _work_scale(channel: np.ndarray, fov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``channel`` (float32) and ``fov`` shrunk so the FOV is about WORK_DIAMETER px wide (never enlarged)."""
    width = int(np.count_nonzero(fov.any(0)))
    scale = min(1.0, WORK_DIAMETER / max(width, 1))
    c = channel.astype(np.float32)
    if scale >= 1.0:
        return c, fov
    size = (max(1, round(c.shape[1] * scale)), max(1, round(c.shape[0] * scale)))
    small = np.asarray(Image.fromarray(c, "F").resize(size, Image.Resampling.BOX), np.float32)
    small_fov = np.asarray(Image.fromarray(fov.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)) > 250
    return small, small_fov


def _box_blur(a: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window (edges replicate), via summed-area tables."""
    p = np.pad(a.astype(np.float64), radius + 1, mode="edge")
    s = p.cumsum(0).cumsum(1)
    k = 2 * radius + 1
    out = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
    return (out[:a.shape[0], :a.shape[1]] / (k * k)).astype(np.float32)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` shrunk by ``radius`` px (the FOV rim's edge is no image detail)."""
    return _box_blur(mask.astype(np.float32), radius) > 0.999
