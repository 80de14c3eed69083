"""Plausibility guard calibration: the measures on every annotated image of the pool, and what they catch.

For each image of DRIVE, CHASE_DB1 and HRF (both splits) with its FOV and manual vessel label: the image
measures of core.measure.plausibility, the label's vessel fraction, any warning the guard raises on the
original (there should be none), and whether it warns on the same image blurred (Gaussian, σ = 2 px at the
work scale) and darkened (×0.15). Prints each measure's range per dataset: the numbers quoted in the
module's docstring. No model runs; about a minute per 40 small images, several for HRF.

    python benchmarks/plausibility.py [--data DIR] [--datasets drive chase hrf]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.datasets import FOLDERS, default_data_root, load_dataset  # noqa: E402
from core.measure import plausibility as guard  # noqa: E402
from core.measure.fov import estimate_fov  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_root(), help="folder holding DRIVE/, CHASE_DB1/, HRF/")
    ap.add_argument("--datasets", nargs="+", default=list(FOLDERS), choices=list(FOLDERS))
    args = ap.parse_args()
    if args.data is None:
        ap.error("no data folder: pass --data or set RETINASEG_DATA")
    for name in args.datasets:
        values: dict[str, list[float]] = {}
        flagged, missed = 0, []
        for split in ("training", "test"):
            for s in load_dataset(name, args.data / FOLDERS[name], split):
                measures = guard.measure_image(s.image, s.fov) or {}
                found = guard.check_plausibility(s.image, estimate_fov(s.image), s.vessels) + guard.check_fov(s.fov)
                if found:
                    flagged += 1
                    print(f"{name} {s.name}: " + "; ".join(w.message for w in found))
                diameter = float(np.count_nonzero(s.fov.any(0)))
                blurred = np.asarray(Image.fromarray(s.image).filter(
                    ImageFilter.GaussianBlur(diameter / guard.WORK_DIAMETER * 2)))
                for kind, bad in (("blurred", blurred), ("too_dark", (s.image * 0.15).astype(np.uint8))):
                    if kind not in [w.code for w in guard.check_plausibility(bad, s.fov)]:
                        missed.append(f"{s.name} {kind}")
                measures["vessel_fraction"] = float((s.vessels & s.fov).sum() / s.fov.sum())
                measures["fov_roundness"] = guard.fov_roundness(s.fov)
                for key, value in measures.items():
                    values.setdefault(key, []).append(value)
        count = len(values.get("vessel_fraction", []))
        print(f"{name}: {count} images, {flagged} with a warning; perturbations not caught: {missed or 'none'}")
        for key, v in values.items():
            print(f"  {key:16s} {min(v):8.3f} .. {max(v):8.3f}  (median {float(np.median(v)):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
