"""How the model copes with other cameras' resolutions: DRIVE test images upscaled ×k.

For each factor k the images (and FOV masks) are enlarged, segmented either at native
resolution or rescaled so the FOV matches the training data (Segmenter's default), and the
probabilities are brought back to DRIVE size and scored against the manual labels.

    python benchmarks/scale_robustness.py [--model PATH] [--factors 1 1.5 2.5] [--images 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.io.datasets import load_drive  # noqa: E402
from core.measure.metrics import Accumulator  # noqa: E402
from core.ml.checkpoint import load_checkpoint  # noqa: E402
from core.ml.inference import Segmenter  # noqa: E402
from core.resources import default_model_path  # noqa: E402


def resize(a: np.ndarray, size: tuple[int, int], mode: str) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(a)).float()
    t = t.permute(2, 0, 1)[None] if t.ndim == 3 else t[None, None]
    kw = {"align_corners": False, "antialias": True} if mode == "bilinear" else {}
    out = F.interpolate(t, size=size, mode=mode, **kw)[0]
    return (out.permute(1, 2, 0) if a.ndim == 3 else out[0]).numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("RETINASEG_DRIVE", "../shared/data/DRIVE")))
    parser.add_argument("--factors", type=float, nargs="+", default=[1.0, 1.5, 2.5])
    parser.add_argument("--images", type=int, default=5)
    args = parser.parse_args()
    ckpt = load_checkpoint(args.model)
    samples = load_drive(args.data, "test")[: args.images]
    print(f"model {args.model}; {len(samples)} DRIVE test images; F1 / AUC inside the FOV at the stored threshold")
    for k in args.factors:
        for rescale in (False, True):
            seg = Segmenter(checkpoint=ckpt, device="cpu", rescale=rescale)
            acc, t0 = Accumulator(), time.perf_counter()
            for s in samples:
                h, w = s.fov.shape
                size = (round(h * k), round(w * k))
                big = np.clip(resize(s.image, size, "bilinear"), 0, 255).astype(np.uint8)
                big_fov = resize(s.fov.astype(np.float32), size, "nearest") > 0.5
                prob = seg.predict(big, fov=big_fov).probability("vessel")
                acc.add(resize(prob, (h, w), "bilinear"), s.vessels, s.fov)
            sc = acc.scores(ckpt.threshold)
            how = "rescaled to training FOV" if rescale else "native resolution     "
            print(f"x{k:<4} {how}: F1 {sc.f1:.4f}  AUC {sc.roc_auc:.4f}  "
                  f"({(time.perf_counter() - t0) / len(samples):.2f} s/image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
