"""CPU inference speed per 584×565 image (one DRIVE image) for the UNet at several widths.

For each base_c: a random-weight UNet, timed as
  fp32        plain NCHW forward under torch.no_grad()
  fp32 CL+IM  channels_last weights and input, torch.inference_mode()
  bf16 CL+IM  the same under bf16 autocast (fast only on CPUs with AVX-512 BF16 / AMX)
then Segmenter.predict (normalise, FOV, tiling, blending) with the shipped default model on a
real DRIVE test image when $RETINASEG_DRIVE (default ../shared/data/DRIVE) exists, else on a
synthetic one. Figures are the median of --repeats runs after --warmup runs.

    python benchmarks/infer_speed.py [--repeats 5] [--warmup 1] [--base-c 64 32 16] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.io.datasets import DRIVE_ENV, find_drive  # noqa: E402
from core.io.images import read_image  # noqa: E402
from core.ml.model import UNet  # noqa: E402
from core.resources import default_model_path  # noqa: E402

H, W = 584, 565


def median_ms(fn: Callable[[], object], repeats: int, warmup: int) -> tuple[float, float]:
    """(median, min) wall-clock milliseconds of fn() after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def unet_variants(base_c: int) -> dict[str, Callable[[], object]]:
    torch.manual_seed(0)
    x = torch.rand(1, 3, H, W)
    plain = UNet(base_c=base_c).eval()
    cl = copy.deepcopy(plain).to(memory_format=torch.channels_last)  # same weights
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def fp32() -> object:
        with torch.no_grad():
            return plain(x)["out"]

    def fp32_cl() -> object:
        with torch.inference_mode():
            return cl(x_cl)["out"]

    def bf16_cl() -> object:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return cl(x_cl)["out"].float()

    return {"fp32 NCHW": fp32, "fp32 CL+IM": fp32_cl, "bf16 CL+IM": bf16_cl}


def drive_root() -> Path:
    return Path(os.environ.get(DRIVE_ENV) or ROOT.parent / "shared" / "data" / "DRIVE")


def benchmark_image() -> tuple[np.ndarray, str]:
    root = drive_root()
    for split in ("test", "training"):
        with contextlib.suppress(FileNotFoundError, ValueError):
            first = find_drive(root, split)[0]
            return read_image(first.image), f"DRIVE {split} {first.image.name}"
    from tests.conftest import synthetic_fundus

    return synthetic_fundus(H, W), f"synthetic {H}x{W} (no DRIVE at {root})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before timing")
    parser.add_argument("--base-c", type=int, nargs="+", default=[64, 32, 16], help="UNet widths to time")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"input 1x3x{H}x{W}; median (min) of {args.repeats} runs after {args.warmup} warm-up\n")
    print(f"{'model':<16}{'variant':<14}{'ms/image':>10}{'min ms':>10}  max |p - p_fp32|")
    for base_c in args.base_c:
        params = sum(p.numel() for p in UNet(base_c=base_c).parameters()) / 1e6
        variants = unet_variants(base_c)
        reference = variants["fp32 NCHW"]().softmax(1)
        for name, fn in variants.items():
            med, low = median_ms(fn, args.repeats, args.warmup)
            with torch.no_grad():
                diff = float((fn().softmax(1) - reference).abs().max())
            label = f"UNet base_c {base_c}"
            print(f"{label:<16}{name:<14}{med:>10.0f}{low:>10.0f}  {diff:.1e}   ({params:.2f} M params)", flush=True)

    model_path = default_model_path()
    if not model_path.is_file():
        print(f"\nSegmenter.predict: skipped, the default model {model_path} is missing")
        return 0
    from core.ml.inference import Segmenter

    image, what = benchmark_image()
    shipped = Segmenter(model_path, device="cpu")
    print(f"\nSegmenter.predict, {model_path.name} (base_c {shipped.checkpoint.arch['base_c']}), {what}, "
          f"{image.shape[1]}x{image.shape[0]}, FOV estimated, tile {shipped.tile_size}:")
    settings = [(shipped.precision, shipped.tta)]
    settings += [s for s in [("fp32", False), ("bf16", False), ("fp32", True), ("bf16", True)] if s not in settings]
    for precision, tta in settings:
        seg = Segmenter(model_path, device="cpu", precision=precision, tta=tta)
        med, low = median_ms(lambda seg=seg: seg.predict(image), args.repeats, args.warmup)
        mark = "  <- shipped settings" if (precision, tta) == settings[0] else ""
        flips = "+ flips" if tta else ""
        print(f"  {precision} {flips:<8}{med:>8.0f} ms/image (min {low:.0f}){mark}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
