"""Quality of a model on DRIVE test, inside the FOV, at the threshold stored in the checkpoint.

The model runs with the inference settings its checkpoint recommends (those its threshold was
chosen with). Prints pooled and mean-per-image scores and the second human observer for
reference. With --write-card the figures go into the checkpoint's metadata and the model card
JSON beside it (threshold untouched).

    python benchmarks/quality.py [--model PATH] [--data DRIVE] [--write-card]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.io.datasets import load_drive  # noqa: E402
from core.io.images import read_image  # noqa: E402
from core.measure.evaluate import evaluate  # noqa: E402
from core.measure.metrics import confusion, scores_from_confusion  # noqa: E402
from core.ml.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from core.ml.inference import Segmenter  # noqa: E402
from core.resources import default_model_path  # noqa: E402


def second_observer(root: Path) -> float:
    """Pooled F1 of DRIVE's second manual annotation against the first, inside the FOV."""
    totals = np.zeros(4, np.int64)
    for s in load_drive(root, "test"):
        second = read_image(root / "test" / "2nd_manual" / f"{s.name}_manual2.gif", mode="L") > 127
        totals += confusion(second, s.vessels, s.fov)
    return scores_from_confusion(*map(int, totals)).f1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("RETINASEG_DRIVE", "../shared/data/DRIVE")))
    parser.add_argument("--write-card", action="store_true", help="store test figures in the model card")
    args = parser.parse_args()

    samples = load_drive(args.data, "test")
    print(f"model {args.model}; DRIVE test, {len(samples)} images, metrics inside the FOV")
    print(f"second human observer: pooled F1 {second_observer(args.data):.4f}")
    seg = Segmenter(args.model, device="cpu")
    t0 = time.perf_counter()
    r = evaluate(seg, samples)
    dt = time.perf_counter() - t0
    p, m = r.pooled, r.mean()
    print(f"settings: {seg.precision}{' + flip averaging' if seg.tta else ''}; threshold {r.threshold:.4f} "
          f"(from the checkpoint, chosen on training-image validation)")
    print(f"pooled: F1 {p.f1:.4f}  ROC AUC {p.roc_auc:.4f}  PR AUC {p.pr_auc:.4f}  "
          f"Acc {p.accuracy:.4f}  Se {p.sensitivity:.4f}  Sp {p.specificity:.4f}  IoU {p.iou:.4f}")
    print(f"mean per image: F1 {m['f1']:.4f}  ROC AUC {m['roc_auc']:.4f}  ({dt:.1f} s for {len(samples)} images)")

    if args.write_card:
        ckpt = load_checkpoint(args.model)
        ckpt.metrics["test"] = {"data": "DRIVE test (20 images, 1st manual), inside the FOV",
                                "threshold": r.threshold, "pooled": p.as_dict(), "mean_per_image": m}
        save_checkpoint(ckpt, args.model)
        card_path = args.model.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        card.update(ckpt.card())
        card_path.write_text(json.dumps(card, indent=2, default=str) + "\n")
        print(f"wrote {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
