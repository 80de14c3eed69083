"""CPU inference speed per 584×565 image (one DRIVE image) for the UNet at several widths.

For each base_c: a random-weight UNet, timed as
  fp32        plain NCHW forward under torch.no_grad()
  fp32 CL+IM  channels_last weights and input, torch.inference_mode()
  bf16 CL+IM  the same under bf16 autocast (fast only on CPUs with AVX-512 BF16 / AMX)
then Segmenter.predict (normalise, FOV, working resolution, tiling, blending) with the model
(--model, default the shipped one) on a real DRIVE test image when $RETINASEG_DRIVE (default
../shared/data/DRIVE) exists, else on a synthetic one:
  - the ratio the release criterion uses: the model at its shipped settings against the tutorial
    UNet (base_c 32, fp32) forward on the same 584x565 input, timed alternately in this run
    (ratios, not absolute times, are stable on shared machines; must be <= 0.35);
  - what each setting buys: flips, bf16, the working resolution, each toggled from the shipped ones;
  - one 3504x2336 image (an HRF test image when the pool is there, else synthetic) at the shipped
    settings (must take <= 4 s on the 2-core CPU), and with --large-native at native resolution.
Figures are the median of --repeats runs after --warmup runs.

    python benchmarks/infer_speed.py [--model PATH] [--repeats 5] [--warmup 1] [--base-c 64 32 16] [--threads N]
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

from core.io.datasets import DRIVE_ENV, default_data_root, find_drive, find_hrf  # noqa: E402
from core.io.images import read_image  # noqa: E402
from core.measure.fov import estimate_fov  # noqa: E402
from core.ml.model import UNet  # noqa: E402
from core.resources import default_model_path  # noqa: E402

H, W = 584, 565
LARGE_H, LARGE_W = 2336, 3504
MAX_RATIO = 0.35


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


def alternating_ms(fns: list[Callable[[], object]], repeats: int, warmup: int) -> list[float]:
    """Median milliseconds of each function, run in turn so both see the same machine load."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
    return [statistics.median(t) for t in times]


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


def large_image() -> tuple[np.ndarray, str]:
    """A 3504x2336 photograph: the first HRF test image when the pool is there, else a synthetic one."""
    pool = default_data_root() or ROOT.parent / "shared" / "data"
    with contextlib.suppress(FileNotFoundError, ValueError):
        first = find_hrf(pool / "HRF", "test")[0]
        return read_image(first.image), f"HRF test {first.image.name}"
    from tests.conftest import synthetic_fundus

    return synthetic_fundus(LARGE_H, LARGE_W), f"synthetic {LARGE_W}x{LARGE_H} (no HRF in {pool})"


def describe(precision: str, tta: bool, rescale: bool) -> str:
    return f"{precision}{' + flips' if tta else ''}{'' if rescale else ', native resolution'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before timing")
    parser.add_argument("--model", type=Path, default=default_model_path(),
                        help="checkpoint (default: the shipped one)")
    parser.add_argument("--base-c", type=int, nargs="*", default=[64, 32, 16],
                        help="UNet widths to time (none: skip that table)")
    parser.add_argument("--large-native", action="store_true",
                        help="also time the 3504x2336 image at native resolution (slow)")
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

    model_path = args.model
    if not model_path.is_file():
        print(f"\nSegmenter.predict: skipped, the model {model_path} is missing")
        return 0
    from core.ml.inference import Segmenter

    image, what = benchmark_image()
    shipped = Segmenter(model_path, device="cpu")
    scale = shipped.working_scale(estimate_fov(image))
    print(f"\nSegmenter.predict, {model_path.name} (base_c {shipped.checkpoint.arch.get('base_c', '?')}), {what}, "
          f"{image.shape[1]}x{image.shape[0]}, FOV estimated, working scale {scale:.2f}, tile {shipped.tile_size}")

    tutorial = unet_variants(32)["fp32 NCHW"]
    ship_ms, tut_ms = alternating_ms([lambda: shipped.predict(image), tutorial], args.repeats, args.warmup)
    ratio = ship_ms / tut_ms
    print(f"  shipped settings ({describe(shipped.precision, shipped.tta, shipped.rescale)}): {ship_ms:.0f} ms; "
          f"tutorial UNet base_c 32 fp32 forward: {tut_ms:.0f} ms; ratio {ratio:.2f} "
          f"(must be <= {MAX_RATIO}: {'PASS' if ratio <= MAX_RATIO else 'FAIL'})", flush=True)

    print("  what each setting buys (toggled from the shipped settings, same image):")
    base = (shipped.precision, shipped.tta, True)
    toggles = [("bf16" if base[0] == "fp32" else "fp32", base[1], True), (base[0], not base[1], True),
               (base[0], base[1], False)]
    for precision, tta, rescale in toggles:
        if not rescale and scale == 1.0:
            print(f"    {describe(precision, tta, rescale):<34}the shipped settings already run this image at its "
                  f"native size", flush=True)
            continue
        seg = Segmenter(model_path, device="cpu", precision=precision, tta=tta, rescale=rescale)
        med, low = median_ms(lambda seg=seg: seg.predict(image), args.repeats, args.warmup)
        print(f"    {describe(precision, tta, rescale):<34}{med:>8.0f} ms/image (min {low:.0f}), "
              f"{med / ship_ms:.2f}x the shipped time", flush=True)

    big, big_what = large_image()
    big_fov = estimate_fov(big)
    repeats = max(1, min(args.repeats, 3))
    print(f"\n{big_what}, {big.shape[1]}x{big.shape[0]}, working scale {shipped.working_scale(big_fov):.2f}:")
    med, low = median_ms(lambda: shipped.predict(big, fov=big_fov), repeats, min(args.warmup, 1))
    print(f"  shipped settings: {med / 1000:.2f} s/image (min {low / 1000:.2f}; must be <= 4 s on the 2-core CPU)",
          flush=True)
    if args.large_native:
        native = Segmenter(model_path, device="cpu", rescale=False)
        med, _ = median_ms(lambda: native.predict(big, fov=big_fov), 1, 0)
        print(f"  at native resolution: {med / 1000:.2f} s/image", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
