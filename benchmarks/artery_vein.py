"""Artery/vein classification of one model on DRIVE test and HRF test, each image at its native resolution.

Scored on the reference's vessel pixels labelled artery or vein, inside the FOV (crossings and uncertain
pixels excluded: they have no single right answer), pooled over each split's pixels: accuracy, Se
(arteries called artery) and Sp (veins called vein). Two ways of typing the reference's vessels:
  per pixel     whichever of P(artery), P(vein) is larger at that pixel;
  per segment   each vessel segment (between branch and crossing points) takes the majority of its pixels'
                evidence (core.predict.artery_vein.classify_vessels), so vessels do not change colour;
and, for each, the fraction of segments (>= 10 px) whose pixels are not all one type. The reference's own
fraction is printed beside them (a segment where an artery and a vein touch is mixed in the reference too).
The vessel F1 of the model's own vessel probability at its stored threshold is printed for information.
Nothing here is chosen on these test splits. --write-card stores the figures in the model's metrics.

    python benchmarks/artery_vein.py [--model resources/models/arteries_veins_unet16.pt] [--data POOL] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.card import store_metrics  # noqa: E402
from core.io.artery_vein import ARTERY, VEIN  # noqa: E402
from core.io.datasets import FOLDERS, default_data_root, load_dataset  # noqa: E402
from core.measure.artery_vein import ArteryVeinAccumulator  # noqa: E402
from core.measure.metrics import Accumulator  # noqa: E402
from core.ml.inference import Segmenter  # noqa: E402
from core.predict.artery_vein import classify_vessels, inconsistent_fraction  # noqa: E402
from core.resources import default_artery_vein_model_path  # noqa: E402

DEFAULT_MODEL = default_artery_vein_model_path()
SPLITS = ("drive", "hrf")


def score_split(segmenter: Segmenter, dataset: str, pool: Path, limit: int | None) -> dict[str, Any]:
    samples = [s for s in load_dataset(dataset, pool / FOLDERS[dataset], "test") if s.av is not None][:limit]
    per_pixel, per_segment = ArteryVeinAccumulator(), ArteryVeinAccumulator()
    vessel = Accumulator()
    mixed = {"per_pixel": [], "per_segment": [], "reference": []}
    t0 = time.perf_counter()
    for s in samples:
        assert s.av is not None
        prediction = segmenter.predict(s.image, s.fov)
        p_artery, p_vein = prediction.probability("artery"), prediction.probability("vein")
        vessel.add(prediction.task.vessel_probability(prediction.probabilities), s.vessels, s.fov)
        pixel_labels = classify_vessels(s.vessels, p_artery, p_vein, consistent=False)
        segment_labels = classify_vessels(s.vessels, p_artery, p_vein, consistent=True)
        per_pixel.add(pixel_labels == ARTERY, s.av, s.fov)
        per_segment.add(segment_labels == ARTERY, s.av, s.fov)
        typed_reference = np.where(np.isin(s.av, (ARTERY, VEIN)), s.av, 0)
        mixed["per_pixel"].append(inconsistent_fraction(s.vessels, pixel_labels))
        mixed["per_segment"].append(inconsistent_fraction(s.vessels, segment_labels))
        mixed["reference"].append(inconsistent_fraction(s.vessels, typed_reference))
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"images": len(samples), "seconds": round(seconds, 1),
                           "vessel_f1": round(vessel.scores(segmenter.threshold).f1, 4)}
    for name, acc in (("per_pixel", per_pixel), ("per_segment", per_segment)):
        sc = acc.scores()
        out[name] = {"accuracy": round(sc.accuracy, 4), "se_artery": round(sc.sensitivity, 4),
                     "sp_vein": round(sc.specificity, 4), "mixed_segments": round(float(np.mean(mixed[name])), 4),
                     "pixels": sc.pixels}
    out["reference_mixed_segments"] = round(float(np.mean(mixed["reference"])), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--data", type=Path, default=default_data_root() or Path("../shared/data"))
    ap.add_argument("--datasets", nargs="+", choices=SPLITS, default=list(SPLITS))
    ap.add_argument("--limit", type=int, default=None, help="first N images of each split (a quick look)")
    ap.add_argument("--write-card", action="store_true", help="store the figures in the model's metrics and card")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: the data pool {args.data} is not there (--data or $RETINASEG_DATA)", file=sys.stderr)
        return 2
    segmenter = Segmenter(args.model)
    if segmenter.task.name != "arteries_veins":
        print(f"error: {args.model} is a {segmenter.task.name} model, not an artery/vein one", file=sys.stderr)
        return 2
    print(f"model {args.model} (vessel threshold {segmenter.threshold:.2f}), inside the FOV, native resolution; "
          "scored on reference artery/vein pixels (crossings and uncertain excluded)")
    print(f"{'test split':<12}{'typing':<13}{'accuracy':>9}{'Se(art)':>9}{'Sp(vein)':>9}{'mixed seg':>10}"
          f"{'ref mixed':>10}{'vessel F1':>10}")
    results: dict[str, Any] = {}
    for dataset in args.datasets:
        r = score_split(segmenter, dataset, args.data, args.limit)
        results[dataset] = r
        for name in ("per_pixel", "per_segment"):
            f = r[name]
            print(f"{dataset + ' (' + str(r['images']) + ')':<12}{name.replace('_', ' '):<13}{f['accuracy']:>9.4f}"
                  f"{f['se_artery']:>9.4f}{f['sp_vein']:>9.4f}{f['mixed_segments']:>10.3f}"
                  f"{r['reference_mixed_segments']:>10.3f}{r['vessel_f1']:>10.4f}")
    if args.write_card and args.limit is None:
        print("card:", store_metrics(args.model, {"artery_vein_test": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
