"""Quality of one model on every test split (DRIVE, CHASE_DB1, HRF), each image at its native resolution.

The model runs with the inference settings its checkpoint recommends, at the threshold stored in it
(chosen on validation images of the training splits); scores are pooled over each split's pixels
inside the FOV. Per split: F1, ROC AUC, PR AUC, Se, Sp, the worst single image, the vessel fraction
predicted against annotated (too-wide vessels show as a ratio above 1), and the threshold that would
have been best on the test split itself, reported ONLY as a calibration diagnostic (its gap to the
stored one; never used). The human second observers (DRIVE 2nd_manual, CHASE_DB1 _2ndHO) are
scored against the same reference beside the model. --write-card stores the figures in the
checkpoint's metrics ("test") and the model card JSON beside it (threshold untouched).

    python benchmarks/quality.py [--model PATH] [--data POOL] [--datasets drive chase hrf] [--limit N] [--write-card]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.card import store_metrics  # noqa: E402
from core.io.datasets import FOLDERS, Sample, default_data_root  # noqa: E402
from core.io.images import read_image  # noqa: E402
from core.measure.evaluate import EvaluationResult, dataset_folder, dataset_samples, evaluate  # noqa: E402
from core.measure.metrics import Scores, confusion, scores_from_confusion  # noqa: E402
from core.ml.inference import Segmenter  # noqa: E402
from core.resources import default_model_path  # noqa: E402


def second_observer_file(dataset: str, root: Path, sample: Sample) -> Path | None:
    """The second human annotation of ``sample`` (DRIVE test and CHASE_DB1 have one)."""
    if dataset == "drive":
        return root / "test" / "2nd_manual" / f"{sample.name}_manual2.gif"
    if dataset == "chase":
        return root / f"{sample.name}_2ndHO.png"
    return None


def second_observer(dataset: str, root: Path, samples: Iterable[Sample]) -> Scores | None:
    """Pooled scores of the second annotation against the first (the reference), inside the FOV."""
    totals = np.zeros(4, np.int64)
    for s in samples:
        path = second_observer_file(dataset, root, s)
        if path is None or not path.is_file():
            return None
        totals += confusion(read_image(path, mode="L") > 127, s.vessels, s.fov)
    return scores_from_confusion(*map(int, totals))


def figures(result: EvaluationResult, observer: Scores | None, seconds: float) -> dict[str, Any]:
    d = result.as_dict()
    out = {k: d[k] for k in ("threshold", "pooled", "mean_per_image", "worst_image", "vessel_fraction")}
    out["best_threshold_diagnostic"] = {**d["best_threshold_diagnostic"],
                                        "gap": d["best_threshold_diagnostic"]["threshold"] - result.threshold,
                                        "note": "best on the test split itself: a calibration check, never used"}
    out["images"] = len(result.per_image)
    out["seconds_per_image"] = seconds / max(len(result.per_image), 1)
    if observer is not None:  # a drawn annotation ranks no pixels: it has no ROC or PR AUC, left out, not NaN
        out["second_observer"] = {k: v for k, v in observer.as_dict().items() if not math.isnan(v)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--data", type=Path, default=default_data_root() or Path("../shared/data"),
                        help="the folder holding DRIVE/, CHASE_DB1/, HRF/ (default: $RETINASEG_DATA)")
    parser.add_argument("--datasets", nargs="+", choices=list(FOLDERS), default=list(FOLDERS))
    parser.add_argument("--limit", type=int, default=0, help="only the first N images of each split (a quick check)")
    parser.add_argument("--write-card", action="store_true", help="store the test figures in the model card")
    args = parser.parse_args()
    if args.write_card and (args.limit or set(args.datasets) != set(FOLDERS)):
        parser.error("--write-card stores whole test splits of every dataset: drop --limit and --datasets")

    seg = Segmenter(args.model, device="cpu")
    print(f"model {args.model}; {seg.precision}{' + flips' if seg.tta else ''}; threshold {seg.threshold:.4f} "
          "(from the checkpoint, chosen on validation images); test splits, native resolution, inside the FOV\n")
    results: dict[str, dict[str, Any]] = {}
    for name in args.datasets:
        samples = dataset_samples(name, args.data, "test")
        samples = samples[: args.limit] if args.limit else samples
        t0 = time.perf_counter()
        result = evaluate(seg, samples)
        seconds = time.perf_counter() - t0
        observer = second_observer(name, dataset_folder(name, args.data), samples) if name != "hrf" else None
        results[name] = figures(result, observer, seconds)
        print(f"{FOLDERS[name]}: {len(samples)} images, {seconds / len(samples):.1f} s/image", flush=True)

    head = (f"{'test split':<11}{'n':>4}{'F1':>8}{'AUC':>8}{'PR AUC':>8}{'Se':>8}{'Sp':>8}{'worst F1':>10}"
            f"  {'worst':<11}{'vessel % pred/ann':>19}{'max ratio':>11}{'best thr':>10}{'gap':>8}")
    print("\n" + head + "\n" + "-" * len(head))
    for name, r in results.items():
        p, vf, best = r["pooled"], r["vessel_fraction"], r["best_threshold_diagnostic"]
        fractions = f"{100 * vf['pooled']['predicted']:.1f} / {100 * vf['pooled']['annotated']:.1f}"
        print(f"{FOLDERS[name]:<11}{r['images']:>4}{p['f1']:>8.4f}{p['roc_auc']:>8.4f}{p['pr_auc']:>8.4f}"
              f"{p['sensitivity']:>8.4f}{p['specificity']:>8.4f}{r['worst_image']['f1']:>10.4f}  "
              f"{r['worst_image']['name']:<11}{fractions:>19}{vf['max_ratio']:>10.2f}x{best['threshold']:>10.3f}"
              f"{best['gap']:>+8.3f}")
    print("(best thr: the threshold best on the test split itself, a calibration diagnostic only, never used)")

    observed = {name: r for name, r in results.items() if "second_observer" in r}
    if observed:
        head = f"{'test split':<11}{'model F1':>10}{'Se':>8}{'Sp':>8}   {'2nd observer F1':>15}{'Se':>8}{'Sp':>8}"
        print("\nthe model and the second human observer, each against the first observer\n" + head + "\n"
              + "-" * len(head))
        for name, r in observed.items():
            p, o = r["pooled"], r["second_observer"]
            print(f"{FOLDERS[name]:<11}{p['f1']:>10.4f}{p['sensitivity']:>8.4f}{p['specificity']:>8.4f}   "
                  f"{o['f1']:>15.4f}{o['sensitivity']:>8.4f}{o['specificity']:>8.4f}")

    if args.write_card:
        test = {name: {"data": f"{FOLDERS[name]} test ({r['images']} images, first observer), native resolution, "
                               "inside the FOV", **r} for name, r in results.items()}
        test["settings"] = {"precision": seg.precision, "tta": seg.tta}
        print(f"wrote {store_metrics(args.model, {'test': test})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
