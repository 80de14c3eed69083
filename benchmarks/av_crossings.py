"""Crossings marked where arteries and veins touch (core.predict.crossings) against the RITE crossings (green) of
the DRIVE **training** images; nothing here looks at a test split.

For each image the shipped artery/vein model types two vessel masks, as the CLI and the app do (one type per
segment): the reference's own vessels (any non-black RITE pixel: what typing alone gives) and the shipped vessel
model's mask at its threshold (what ``segment --av`` gives). Scored per crossing: a reference crossing (a
connected group of green pixels) is found when a marked crossing's centre lies within its local vessel width
plus 2 px of it; precision is the share of marked crossings that find one. Pixel Dice of the marked disks
(``radius_factor`` local vessel widths) against the green pixels is printed too. "val" is the shipped model's
four validation images (23, 25, 27, 40); it was trained on the others, so their typing is optimistic.

    python benchmarks/av_crossings.py [--data POOL] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.io.artery_vein import CROSSING  # noqa: E402
from core.io.datasets import default_data_root, load_dataset  # noqa: E402
from core.predict.artery_vein import classify_vessels  # noqa: E402
from core.predict.crossings import find_crossings, mark_crossings  # noqa: E402

VALIDATION = {"23", "25", "27", "40"}
RADIUS_FACTORS = (0.5, 0.75, 1.0, 1.5)


def predictions(samples: list, cache: Path) -> dict[str, dict[str, np.ndarray]]:  # type: ignore[type-arg]
    """Per image: P(artery), P(vein) of the artery/vein model and the vessel model's mask (cached on disk)."""
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, np.ndarray]] = {}
    models = None
    for s in samples:
        path = cache / f"{s.name}.npz"
        if not path.is_file():
            if models is None:
                from core.ml.inference import Segmenter
                from core.resources import default_artery_vein_model_path

                models = Segmenter(device="cpu"), Segmenter(default_artery_vein_model_path(), device="cpu")
            vessel, av = (m.predict(s.image, s.fov) for m in models)
            np.savez_compressed(path, artery=av.probability("artery"), vein=av.probability("vein"),
                                vessels=vessel.decode() != 0)
        with np.load(path) as data:
            out[s.name] = {k: data[k] for k in data.files}
    return out


def score(samples: list, preds: dict, which: str,  # type: ignore[type-arg]
          radius_factor: float) -> dict[str, float]:
    found = total = hits = marked = 0
    overlap = marked_px = green_px = 0
    for s in samples:
        green = (s.av == CROSSING) & s.fov
        vessels = (s.av != 0) if which == "reference" else preds[s.name]["vessels"] & s.fov
        labels = classify_vessels(vessels, preds[s.name]["artery"], preds[s.name]["vein"])
        crossings = [c for c in find_crossings(labels) if s.fov[int(c.row), int(c.col)]]
        groups, count = ndi.label(green, structure=np.ones((3, 3), bool))
        total += count
        marked += len(crossings)
        hit_groups: set[int] = set()
        distance, where = ndi.distance_transform_edt(~green, return_indices=True)
        for c in crossings:
            r, col = int(round(c.row)), int(round(c.col))
            if distance[r, col] <= c.width + 2:
                hits += 1
                hit_groups.add(int(groups[where[0][r, col], where[1][r, col]]))
        found += len(hit_groups)
        disks = mark_crossings(labels, radius_factor) == CROSSING
        overlap += int((disks & green).sum())
        marked_px += int(disks.sum())
        green_px += int(green.sum())
    return {"recall": found / max(total, 1), "precision": hits / max(marked, 1), "reference": total,
            "marked": marked, "dice": 2 * overlap / max(marked_px + green_px, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_root() or Path("../shared/data"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/retinaseg_av_crossings"))
    args = ap.parse_args(argv)
    samples = [s for s in load_dataset("drive", args.data / "DRIVE", "training") if s.av is not None]
    preds = predictions(samples, args.cache)
    subsets = {"all 20": samples, "val 4": [s for s in samples if s.name in VALIDATION]}
    print("vessels    images  radius  ref  marked  recall  precision  dice")
    for which in ("reference", "model"):
        for name, subset in subsets.items():
            for radius in RADIUS_FACTORS:
                r = score(subset, preds, which, radius)
                print(f"{which:<10} {name:<7} {radius:>6} {r['reference']:>4} {r['marked']:>7} "
                      f"{r['recall']:>7.3f} {r['precision']:>10.3f} {r['dice']:>5.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
