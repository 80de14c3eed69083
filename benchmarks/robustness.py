"""Camera-shift stress set: the model's validation images under perturbations other cameras bring.

Each perturbation of core.measure.camera_shift (old film, low contrast, gamma, blur, JPEG q10,
vignetting, exposure, 8-bit gray, noise) is applied to the checkpoint's VALIDATION images (never test
images; ``metrics["validation"]``), which are then segmented with the model's recommended settings at
its stored threshold and scored inside the FOV at native resolution. Per perturbation: pooled F1 and
AUC, the worst image's F1, and the largest ratio of predicted to annotated vessel fraction (a flood
shows as a ratio far above 1). The model must keep every perturbation's pooled F1 >= 0.70 and no
image above 2x its annotated vessel fraction. --write-card stores the table in the checkpoint's
metrics ("stress") and its JSON card.

    python benchmarks/robustness.py [--model PATH] [--data POOL] [--limit N] [--only NAME ...] [--write-card]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.card import store_metrics  # noqa: E402
from core.io.datasets import FINDERS, FOLDERS, Sample, default_data_root, load_sample  # noqa: E402
from core.measure.camera_shift import PERTURBATIONS  # noqa: E402
from core.measure.evaluate import EvaluationResult, dataset_folder, evaluate  # noqa: E402
from core.ml.checkpoint import Checkpoint, load_checkpoint  # noqa: E402
from core.ml.inference import Segmenter  # noqa: E402
from core.resources import default_model_path  # noqa: E402

MIN_F1, MAX_RATIO = 0.70, 2.0


def validation_samples(ckpt: Checkpoint, data: Path) -> list[Sample]:
    """The checkpoint's validation images, found in their datasets' training splits."""
    validation = ckpt.metrics.get("validation") or {}
    names = list(validation.get("images") or [])
    if not names:
        raise SystemExit("the checkpoint names no validation images (metrics['validation']['images'])")
    datasets: dict[str, str] = validation.get("datasets") or dict.fromkeys(names, "drive")
    samples = []
    for dataset in dict.fromkeys(datasets[n] for n in names):
        files = {f.name: f for f in FINDERS[dataset](dataset_folder(dataset, data), "training")}
        wanted = [n for n in names if datasets[n] == dataset]
        missing = [n for n in wanted if n not in files]
        if missing:
            raise SystemExit(f"validation images {', '.join(missing)} are not in the {FOLDERS[dataset]} training split")
        samples += [load_sample(files[n], dataset) for n in wanted]
    return samples


def perturbed(samples: list[Sample], name: str, seed: int) -> list[Sample]:
    perturb = PERTURBATIONS[name]
    return [Sample(s.name, perturb(s.image, seed + i), s.vessels, s.fov, s.dataset) for i, s in enumerate(samples)]


def row(result: EvaluationResult) -> dict[str, Any]:
    worst_name, worst = result.worst()
    ratio_name, fraction = max(result.fractions.items(), key=lambda item: item[1].ratio)
    fractions = fraction.as_dict()
    return {"f1": result.pooled.f1, "roc_auc": result.pooled.roc_auc, "sensitivity": result.pooled.sensitivity,
            "specificity": result.pooled.specificity, "worst_f1": worst.f1, "worst_image": worst_name,
            "max_fraction_ratio": fraction.ratio, "max_ratio_image": ratio_name,
            "fraction_predicted": fractions["predicted"], "fraction_annotated": fractions["annotated"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--data", type=Path, default=default_data_root() or Path("../shared/data"),
                        help="the folder holding DRIVE/, CHASE_DB1/, HRF/ (default: $RETINASEG_DATA)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N validation images (a quick check)")
    parser.add_argument("--only", nargs="+", choices=list(PERTURBATIONS), help="only these perturbations")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random perturbations (noise)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], help="override the model's setting (quick checks)")
    parser.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                        help="override the model's flip averaging (quick checks)")
    parser.add_argument("--write-card", action="store_true", help="store the table in the model card")
    args = parser.parse_args()
    if args.write_card and (args.limit or args.only or args.precision or args.tta is not None):
        parser.error("--write-card stores the full stress set only: drop --limit, --only, --precision and --tta")

    ckpt = load_checkpoint(args.model)
    samples = validation_samples(ckpt, args.data)
    samples = samples[: args.limit] if args.limit else samples
    seg = Segmenter(args.model, checkpoint=ckpt, device="cpu", precision=args.precision, tta=args.tta)
    where = ", ".join(f"{FOLDERS[s.dataset]} {s.name}" for s in samples)
    print(f"model {args.model}; {seg.precision}{' + flips' if seg.tta else ''}, threshold {seg.threshold:.4f}")
    print(f"stress set: {len(samples)} validation images ({where}), native resolution, inside the FOV")
    head = (f"{'perturbation':<14}{'F1':>8}{'AUC':>8}{'Se':>8}{'Sp':>8}{'worst F1':>10}  {'worst image':<12}"
            f"{'max pred/ann':>13}  image")
    print(head + "\n" + "-" * len(head))
    table: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for name in ["none", *(args.only or PERTURBATIONS)]:
        result = evaluate(seg, samples if name == "none" else perturbed(samples, name, args.seed))
        r = table[name] = row(result)
        print(f"{name:<14}{r['f1']:>8.4f}{r['roc_auc']:>8.4f}{r['sensitivity']:>8.4f}{r['specificity']:>8.4f}"
              f"{r['worst_f1']:>10.4f}  {r['worst_image']:<12}{r['max_fraction_ratio']:>12.2f}x  "
              f"{r['max_ratio_image']}", flush=True)
    stressed = {k: v for k, v in table.items() if k != "none"}
    worst_name = min(stressed, key=lambda k: stressed[k]["f1"]) if stressed else "none"
    flood_name = max(table, key=lambda k: table[k]["max_fraction_ratio"])
    passed = table[worst_name]["f1"] >= MIN_F1 and table[flood_name]["max_fraction_ratio"] <= MAX_RATIO
    print(f"\nworst perturbation: {worst_name}, pooled F1 {table[worst_name]['f1']:.4f} (must be >= {MIN_F1}); "
          f"largest vessel fraction {table[flood_name]['max_fraction_ratio']:.2f}x the annotated "
          f"({flood_name}, {table[flood_name]['max_ratio_image']}; must be <= {MAX_RATIO}x): "
          f"{'PASS' if passed else 'FAIL'}  ({time.perf_counter() - t0:.0f} s)")

    if args.write_card:
        card = store_metrics(args.model, {"stress": {
            "data": f"camera-shift stress set of the {len(samples)} validation images ({where}), native "
                    "resolution, inside the FOV, at the stored threshold",
            "threshold": seg.threshold, "settings": {"precision": seg.precision, "tta": seg.tta},
            "seed": args.seed, "perturbations": table,
            "worst": {"perturbation": worst_name, "f1": table[worst_name]["f1"]},
            "max_fraction_ratio": table[flood_name]["max_fraction_ratio"], "pass": passed}})
        print(f"wrote {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
