"""Self-test of an installation: default model + sample image -> a plausible vessel mask.

Run by the bundled executable (``RetinaSeg --self-test``) and usable from a checkout
(``python -m core.selftest``). It needs no display and never imports Qt, so clinics and CI
can check an installed folder in a terminal; the exit status says whether it works.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.resources import default_model_path, sample_image_path

#: Share of the field of view a real vessel mask covers. The DRIVE ground truth has about
#: 12 %; a mask outside this range means wrong weights, wrong preprocessing or a broken build.
VESSEL_FRACTION_RANGE = (0.03, 0.25)
#: A fundus photograph's field of view covers at least this share of the frame.
MIN_FOV_FRACTION = 0.2
#: The sample is reduced to this longer side first: one tile, about a second on a laptop CPU,
#: and close to the scale of the DRIVE images the model learnt from (565x584).
SELF_TEST_SIDE = 768


class SelfTestFailure(Exception):
    """One step of the self-test failed; the message says which and why."""


def reduce_image(image: np.ndarray, side: int = SELF_TEST_SIDE) -> np.ndarray:
    """``image`` shrunk (box filter, aspect kept) so that its longer side is at most ``side``."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1.0:
        return image
    from PIL import Image

    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def check_plausible(prob: np.ndarray, fov: np.ndarray, threshold: float,
                    vessel_range: tuple[float, float] | None = None) -> float:
    """Vessel fraction inside the FOV; raises :class:`SelfTestFailure` when the result is implausible."""
    if prob.shape != fov.shape:
        raise SelfTestFailure(f"the probability map is {prob.shape} but the image is {fov.shape}")
    if prob.dtype != np.float32:
        raise SelfTestFailure(f"the probability map is {prob.dtype}, expected float32")
    if not np.isfinite(prob).all():
        raise SelfTestFailure("the probability map contains NaN or infinite values")
    if prob.min() < 0.0 or prob.max() > 1.0:
        raise SelfTestFailure(f"probabilities outside [0, 1]: {prob.min():.3g}..{prob.max():.3g}")
    fov_fraction = float(fov.mean())
    if fov_fraction < MIN_FOV_FRACTION:
        raise SelfTestFailure(f"the field of view covers only {fov_fraction:.0%} of the sample image")
    vessels = float((prob[fov] >= threshold).mean())
    lo, hi = vessel_range or VESSEL_FRACTION_RANGE
    if not lo <= vessels <= hi:
        raise SelfTestFailure(
            f"implausible mask: vessels cover {vessels:.1%} of the field of view, expected "
            f"{lo:.0%}-{hi:.0%} (wrong or damaged model file?)"
        )
    return vessels


def run_self_test(
    model_path: str | Path | None = None,
    image_path: str | Path | None = None,
    device: str = "auto",
    vessel_range: tuple[float, float] | None = None,
) -> tuple[bool, str]:
    """Load the model, segment the sample, check the mask. Returns ``(ok, one-line report)``.

    Defaults are the shipped model and sample image, found through :mod:`core.resources`.
    Never raises for a broken installation: the report says what failed.
    """
    model = Path(model_path) if model_path else default_model_path()
    image_file = Path(image_path) if image_path else sample_image_path()
    step = "start"
    start = time.perf_counter()
    try:
        step = "importing torch"
        # Imported here so that a broken torch install is reported, not raised.
        from core.io.images import read_image
        from core.measure.fov import estimate_fov
        from core.ml.inference import Segmenter

        step = f"loading the model {model}"
        if not model.is_file():
            raise SelfTestFailure(f"model file {model} not found")
        t0 = time.perf_counter()
        segmenter = Segmenter(model, device=device)
        t_load = time.perf_counter() - t0

        step = f"reading the sample image {image_file}"
        image = reduce_image(read_image(image_file))

        step = "segmenting the sample image"
        t0 = time.perf_counter()
        fov = estimate_fov(image)
        prob = segmenter.predict(image, fov=fov).probability("vessel")
        t_predict = time.perf_counter() - t0

        step = "checking the mask"
        vessels = check_plausible(prob, fov, segmenter.threshold, vessel_range)
    except SelfTestFailure as exc:
        return False, f"self-test FAILED: {exc}"
    except Exception as exc:  # noqa: BLE001 - any failure of an installation is a result, not a crash
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return False, f"self-test FAILED while {step}: {type(exc).__name__}: {first}"
    total = time.perf_counter() - start
    h, w = image.shape[:2]
    return True, (
        f"self-test OK: vessels {vessels:.1%} of the FOV of the sample ({w}x{h}), {segmenter.device_name}; "
        f"model load {t_load:.2f} s, segmentation {t_predict:.2f} s, total {total:.2f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print a one-line report; exit status 0 when the installation works, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="RetinaSeg --self-test", description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)  # as passed by the launcher
    parser.add_argument("--model", type=Path, help="model file (default: the shipped model)")
    parser.add_argument("--image", type=Path, help="image file (default: the shipped sample)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    args = parser.parse_args(argv)
    ok, message = run_self_test(args.model, args.image, args.device)
    # A windowed Windows executable has no stdout; the exit status still tells the result.
    stream = sys.stdout if ok else sys.stderr
    if stream is not None:
        print(message, file=stream, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
