"""Batch load: 500 small synthetic images and 10 of 3504×2336 in ONE batch run (plan + run_batch).

Reports peak RSS (getrusage of this process; the inputs are made in a child process so their
generation does not count) and RSS along the run, checks that nothing was skipped silently
(every input has its mask and probability file, readable, at its size) and that a sample of
files gives identical results when segmented one by one with a fresh Segmenter. Target: peak
RSS <= 2 GB.

    python benchmarks/batch_load.py [--small 500] [--large 10] [--sample 12] [--default-model]
                                    [--model PATH] [--max-rss-gb 2] [--keep DIR]

By default a random-weight UNet (base_c=4) is used; ``--default-model`` uses
resources/models/vessels_unet16.pt. The last line is a JSON summary (for the slow test).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LARGE = (2336, 3504)  # h, w


def make_inputs(folder: Path, small: int, large: int) -> None:
    """Small PNGs of varied sizes, then large JPEGs (what fundus cameras write); run in a child process."""
    from PIL import Image

    from tests.conftest import synthetic_fundus

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(small):
        h, w = int(rng.integers(64, 200)), int(rng.integers(64, 200))
        Image.fromarray(synthetic_fundus(h, w, seed=i)).save(folder / f"a_small_{i:04d}.png", compress_level=1)
    for i in range(large):
        Image.fromarray(synthetic_fundus(*LARGE, seed=10_000 + i)).save(folder / f"b_large_{i:02d}.jpg", quality=92)


def tiny_model(path: Path) -> Path:
    import torch

    from core.ml.checkpoint import model_checkpoint, save_checkpoint
    from core.ml.model import UNet
    from core.ml.preprocessing import Preprocessing

    torch.manual_seed(0)
    ckpt = model_checkpoint(UNet(base_c=4).eval(), Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1)),
                            thresholds={"vessel": 0.5}, trained_on="nothing (random benchmark weights)")
    return save_checkpoint(ckpt, path)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class RssSampler(threading.Thread):
    """Samples RSS every 20 ms (the peak between report callbacks, e.g. inside a large image)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stop.wait(0.02):
            self.samples.append((time.monotonic() - start, rss_mb()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=500)
    ap.add_argument("--large", type=int, default=10)
    ap.add_argument("--sample", type=int, default=12, help="files re-segmented one by one and compared")
    ap.add_argument("--model", type=Path, help="checkpoint (default: a random base_c=4 UNet)")
    ap.add_argument("--default-model", action="store_true", help="use resources/models/vessels_unet16.pt")
    ap.add_argument("--max-rss-gb", type=float, default=2.0)
    ap.add_argument("--keep", type=Path, help="make inputs/outputs here instead of a temporary folder")
    ap.add_argument("--make-inputs", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_inputs:
        make_inputs(args.make_inputs, args.small, args.large)
        return 0

    with tempfile.TemporaryDirectory(prefix="batch-load-") as tmp:
        work = args.keep or Path(tmp)
        inputs, out, single = work / "in", work / "out", work / "one_by_one"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--make-inputs", str(inputs), "--small", str(args.small),
                        "--large", str(args.large)], check=True)
        made = time.perf_counter() - t0

        from PIL import Image

        from core.batch import plan, run_batch
        from core.ml.inference import Segmenter
        from core.resources import default_model_path

        if args.default_model:
            model_path = default_model_path()
        else:
            model_path = args.model or tiny_model(work / "tiny.pt")
        files = sorted(inputs.iterdir())
        baseline = rss_mb()
        segmenter = Segmenter(model_path, device="cpu")
        print(f"batch_load: {args.small} small + {args.large} large ({LARGE[1]}x{LARGE[0]}) images, "
              f"model {model_path} ({segmenter.checkpoint.card()['parameters']:,} parameters), "
              f"{os.cpu_count()} CPUs, torch threads {__import__('torch').get_num_threads()}; "
              f"inputs made in {made:.0f} s", flush=True)

        rss_by_file: list[float] = []
        sampler = RssSampler()
        sampler.start()
        t1 = time.perf_counter()
        summary = run_batch(plan([inputs], out, save_prob=True, overwrite=False), segmenter,
                            progress=lambda done, total, line: rss_by_file.append(rss_mb()))
        seconds = time.perf_counter() - t1
        sampler.stop.set()
        sampler.join()
        peak = peak_rss_mb()

        # nothing skipped silently: one mask and one probability file per input, readable, at its size
        problems: list[str] = [f"FAILED {p}: {why}" for p, why in summary.failed]
        if len(summary.done) != len(files):
            problems.append(f"{len(summary.done)} of {len(files)} inputs segmented")
        if len(summary.written) != 2 * len(files):
            problems.append(f"{len(summary.written)} files written for {len(files)} inputs (expected {2 * len(files)})")
        for f in files:
            with Image.open(f) as src:
                size = src.size
            for kind in ("mask", "prob"):
                p = out / f"{f.stem}_{kind}.png"
                if not p.is_file():
                    problems.append(f"missing {p.name}")
                    continue
                with Image.open(p) as img:
                    if img.size != size:
                        problems.append(f"{p.name} is {img.size}, input is {size}")

        # identical to one by one (a fresh Segmenter, one batch per file)
        rng = np.random.default_rng(1)
        large = [f for f in files if "_large_" in f.name]
        small = [f for f in files if "_small_" in f.name]
        n_large = min(len(large), max(1, args.sample // 6)) if large else 0
        sample = list(rng.choice(large, n_large, replace=False)) if n_large else []
        sample += list(rng.choice(small, min(len(small), args.sample - len(sample)), replace=False))
        fresh = Segmenter(model_path, device="cpu")
        mismatched = []
        for f in sample:
            run_batch(plan([f], single, save_prob=True, overwrite=True), fresh)
            for kind in ("mask", "prob"):
                a = np.asarray(Image.open(out / f"{f.stem}_{kind}.png"))
                b = np.asarray(Image.open(single / f"{f.stem}_{kind}.png"))
                if not np.array_equal(a, b):
                    mismatched.append(f"{f.stem}_{kind}: {int((a != b).sum())} pixels differ")
        problems += mismatched

    small_rss = [r for r, f in zip(rss_by_file, files, strict=False) if "_small_" in f.name]
    large_rss = [r for r, f in zip(rss_by_file, files, strict=False) if "_large_" in f.name]
    sampled_peak = max((r for _, r in sampler.samples), default=float("nan"))
    print(f"segmented:            {len(summary.done)} of {len(files)} ({len(summary.failed)} failed), "
          f"{len(summary.written)} files written")
    print(f"time:                 {seconds:.1f} s ({seconds / max(1, len(files)):.2f} s per image on average)")
    print(f"RSS before the batch: {baseline:.0f} MB (python + torch + model)")
    if small_rss:
        print(f"RSS over the small images: first {small_rss[0]:.0f} MB, after {len(small_rss)} {small_rss[-1]:.0f} MB "
              f"(max {max(small_rss):.0f} MB)")
    print(f"RSS after each large image: {', '.join(f'{r:.0f}' for r in large_rss)} MB")
    print(f"peak RSS (sampled every 20 ms): {sampled_peak:.0f} MB")
    print(f"peak RSS (getrusage, whole process): {peak:.0f} MB; target <= {args.max_rss_gb * 1024:.0f} MB")
    print(f"one-by-one comparison: {len(sample)} files ({n_large} large), {len(mismatched)} differ")
    ok = not problems and peak <= args.max_rss_gb * 1024
    for line in problems[:20]:
        print("  PROBLEM", line)
    print("PASS" if ok else "FAIL")
    print(json.dumps({"inputs": len(files), "done": len(summary.done), "failed": len(summary.failed),
                      "written": len(summary.written), "peak_rss_mb": round(peak), "seconds": round(seconds, 1),
                      "compared": len(sample), "mismatched": len(mismatched), "problems": len(problems), "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
