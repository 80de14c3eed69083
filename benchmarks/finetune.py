"""Adapting a model to a new camera from a few corrected images: the clinic, simulated.

The base is a model that has never seen CHASE_DB1 (the DRIVE-only model). A "clinician" corrects
1, 3 or 5 CHASE_DB1 *training* images (their reference labels stand in for the corrections), chosen by
a fixed rule: the left eyes of the first children in the split's order (01L, 02L, ...). Each run
fine-tunes for at most ``--minutes`` on this CPU through ``core.ml.finetune`` exactly as the app does
(with 3 or 5 images the last by name is held out as the app's own check, so 2 or 4 are trained on).
CHASE_DB1 test (8 images) and DRIVE test (20, forgetting) are scored before and after with
``core.measure.evaluate``: native resolution, inside the FOV, the threshold stored in the model, the
model's flip setting (fp32 where the CPU has no native bf16). Nothing is chosen on a test split.

``--tune`` instead compares settings (learning rate, BatchNorm handling, the consistency term, the EWC
anchor, which weights learn, each scored at several blends) on validation images only: CHASE_DB1
training images no run corrects (Image_09L, 09R, 10L, 10R) and the DRIVE training images the base was
validated on (23, 25, 27, 40); the defaults of ``FinetuneSettings`` were chosen from it.
``--add-importance`` gives a model the importance of its weights (``core.ml.importance``), computed on
the images its ``trained_on`` lists, as a new file.

    python benchmarks/finetune.py --data /work/shared/data --base runs/drive16.pt [--minutes 5] [--threads 1]
    python benchmarks/finetune.py --data /work/shared/data --base runs/drive16_importance.pt --tune --minutes 600
    python benchmarks/finetune.py --data /work/shared/data --base runs/drive16.pt --add-importance NEW.pt
    python benchmarks/finetune.py --data /work/shared/data --base resources/models/vessels_unet16.pt --memory
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.adapt.corrections import CorrectedImage, FinetuneSettings  # noqa: E402
from core.io.datasets import (  # noqa: E402
    FINDERS,
    FOLDERS,
    Sample,
    default_data_root,
    find_hrf,
    load_dataset,
    load_sample,
)
from core.measure.evaluate import dataset_samples, evaluate  # noqa: E402
from core.ml.checkpoint import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from core.ml.consistency import applies  # noqa: E402
from core.ml.finetune import FinetuneOutcome, blended, finetune  # noqa: E402
from core.ml.importance import with_importance  # noqa: E402
from core.ml.inference import Segmenter  # noqa: E402
from core.ml.train import cpu_has_native_bf16  # noqa: E402

#: The fixed rule: left eyes of the first children, in the split's order.
CORRECTED = ["Image_01L", "Image_02L", "Image_03L", "Image_04L", "Image_05L"]
#: Validation for --tune: CHASE_DB1 training images never corrected, and the base's DRIVE validation images.
CHASE_VALIDATION = ["Image_09L", "Image_09R", "Image_10L", "Image_10R"]
DRIVE_VALIDATION = ["23", "25", "27", "40"]


def log(text: str = "") -> None:
    print(text, flush=True)


def f1(ckpt: Checkpoint, samples: Sequence[Sample]) -> float:
    """Pooled F1 inside the FOV at the stored threshold, segmented as the app segments."""
    segmenter = Segmenter(checkpoint=ckpt, device="cpu", precision=None if cpu_has_native_bf16() else "fp32")
    return evaluate(segmenter, samples).pooled.f1


def corrected(samples: Sequence[Sample]) -> list[CorrectedImage]:
    """The reference labels as the clinician's corrections; the FOV is left to the app's estimate."""
    return [CorrectedImage(s.name, s.image, s.vessels.astype(np.uint8)) for s in samples]


def run(base: Checkpoint, images: list[CorrectedImage], settings: FinetuneSettings) -> FinetuneOutcome:
    """One fine-tuning through the app's API, with its own check logged."""
    cpu = time.process_time()
    out = finetune(base, images, settings)
    cpu = time.process_time() - cpu
    check = (f"held-out {out.held_out} F1 {out.before_f1:.4f} -> {out.after_f1:.4f}"
             if out.before_f1 is not None and out.after_f1 is not None else "no held-out check")
    wrong = sum(b for b, _ in out.wrong_pixels.values()), sum(a for _, a in out.wrong_pixels.values())
    log(f"  {len(images)} image(s), lr {settings.lr:g}, BN {'frozen' if settings.freeze_batchnorm else 'updated'}, "
        f"{f'anchor {settings.anchor:g}, ' if settings.anchor else ''}"
        f"{f'trainable {settings.trainable}, ' if settings.trainable != 'all' else ''}"
        f"{f'consistency {settings.consistency:g}, ' if settings.consistency else ''}"
        f"blend {settings.blend:g}, {settings.minutes:g} min: {out.steps} steps in {out.seconds / 60:.2f} min "
        f"({cpu / 60:.2f} min of CPU time); "
        f"{check}; wrong pixels on the images used {wrong[0]} -> {wrong[1]}; offered {out.offered}"
        f"{' (' + out.reason + ')' if out.reason else ''}")
    return out


#: What --tune compares by default: LEARNING_RATE:frozen|updated:BLEND/BLEND/...[:anchor=A][:trainable=T]
#: (BatchNorm statistics frozen or updated; each blend of the fine-tuned weights with the base's is scored,
#: see FinetuneSettings.blend; anchor and trainable as in FinetuneSettings, anchor needing a base that carries
#: its weight importance, --add-importance)
GRID = ["0.005:frozen:1/0.5/0.4", "0.005:frozen:1/0.9/0.8:consistency=1", "0.005:frozen:1/0.9/0.8/0.7:consistency=3",
        "0.005:frozen:1/0.7/0.5:anchor=10", "0.005:frozen:1/0.7/0.5:anchor=100", "0.005:frozen:1/0.5:trainable=decoder"]


@dataclass(frozen=True)
class GridEntry:
    """One fine-tuning of --tune and the blends it is scored at."""

    lr: float
    frozen: bool
    blends: tuple[float, ...]
    anchor: float = 0.0
    trainable: str = "all"
    consistency: float = 0.0

    def settings(self, minutes: float, steps: int) -> FinetuneSettings:
        return FinetuneSettings(minutes=minutes, max_steps=steps, lr=self.lr, freeze_batchnorm=self.frozen,
                                blend=1.0, anchor=self.anchor, trainable=self.trainable,
                                consistency=self.consistency)


def grid_entry(text: str) -> GridEntry:
    lr, bn, blends, *options = text.split(":")
    if bn not in ("frozen", "updated"):
        raise argparse.ArgumentTypeError(f"{text}: BatchNorm must be frozen or updated")
    extra = dict(o.split("=", 1) for o in options if "=" in o)
    if len(extra) != len(options) or not set(extra) <= {"anchor", "trainable", "consistency"}:
        raise argparse.ArgumentTypeError(f"{text}: options are anchor=A, trainable=all|decoder, consistency=C")
    entry = GridEntry(float(lr), bn == "frozen", tuple(float(b) for b in blends.split("/")),
                      float(extra.get("anchor", 0.0)), extra.get("trainable", "all"),
                      float(extra.get("consistency", 0.0)))
    problem = entry.settings(5.0, 100).problem()
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: {problem}")
    return entry


def tune(base: Checkpoint, data: Path, chase_train: list[Sample], minutes: float, steps: int,
         grid: Sequence[GridEntry], count: int = 3) -> None:
    drive = [s for s in load_dataset("drive", data_folder(data, "drive"), "training") if s.name in DRIVE_VALIDATION]
    chase = [s for s in chase_train if s.name in CHASE_VALIDATION]
    images = corrected([s for s in chase_train if s.name in CORRECTED[:count]])
    before = f1(base, chase), f1(base, drive)
    log(f"base: CHASE_DB1 validation F1 {before[0]:.4f}, DRIVE validation F1 {before[1]:.4f}")
    if any(e.anchor for e in grid) and not base.importance:
        log("note: the base carries no weight importance, so anchor= holds nothing (see --add-importance)")
    rows = []
    for entry in grid:
        out = run(base, images, entry.settings(minutes, steps))
        for b in entry.blends:
            if out.checkpoint is None:
                rows.append((entry, b, out.steps, float("nan"), float("nan")))
                continue
            ckpt = replace(out.checkpoint, state_dict=blended(base.state_dict, out.checkpoint.state_dict, b))
            rows.append((entry, b, out.steps, f1(ckpt, chase), f1(ckpt, drive)))
            log(f"    blend {b:g}: CHASE_DB1 validation F1 {rows[-1][3]:.4f}, DRIVE validation F1 {rows[-1][4]:.4f}")
    log()
    trained = count - 1 if count > 1 else 1
    log(f"Validation only ({count} corrected image(s), {trained} trained on, at most {steps} steps or "
        f"{minutes:g} min each): "
        f"CHASE_DB1 {', '.join(CHASE_VALIDATION)}; DRIVE {', '.join(DRIVE_VALIDATION)}")
    log("| lr | BatchNorm | anchor | trainable | consistency | blend | steps | CHASE val F1 (gain) | "
        "DRIVE val F1 (change) |")
    log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for e, b, n, c, d in rows:
        log(f"| {e.lr:g} | {'frozen' if e.frozen else 'updated'} | {e.anchor:g} | {e.trainable} | "
            f"{e.consistency:g} | {b:g} | {n} | "
            f"{c:.4f} ({c - before[0]:+.4f}) | {d:.4f} ({d - before[1]:+.4f}) |")


def unblended(base: Checkpoint, ckpt: Checkpoint, blend: float) -> Checkpoint:
    """The fine-tuned end point a blended model was made from: base + (blended - base) / blend."""
    return replace(ckpt, state_dict=blended(base.state_dict, ckpt.state_dict, 1.0 / blend))


def clinic(base: Checkpoint, data: Path, chase_train: list[Sample], minutes: float, curve: Sequence[float],
           counts: Sequence[int] = (1, 3, 5)) -> None:
    chase_test = list(dataset_samples("chase", data, "test"))
    drive_test = list(dataset_samples("drive", data, "test"))
    t0 = time.perf_counter()
    before = f1(base, chase_test), f1(base, drive_test)
    log(f"base: CHASE_DB1 test F1 {before[0]:.4f}, DRIVE test F1 {before[1]:.4f} "
        f"({time.perf_counter() - t0:.0f} s to score 28 images)")
    by_name = {s.name: s for s in chase_train}
    unresolved = FinetuneSettings(minutes=minutes)
    nan = (float("nan"), float("nan"))
    rows, gains = [], {}
    for n in counts:
        images = corrected([by_name[name] for name in CORRECTED[:n]])
        settings = unresolved.resolved(consistency_applies=applies(base), trained_images=unresolved.trained_images(n))
        for m in ([*curve, minutes] if n == 3 else [minutes]):
            out = run(base, images, replace(settings, minutes=m))
            ckpt = out.checkpoint
            after = (f1(ckpt, chase_test), f1(ckpt, drive_test)) if ckpt is not None else nan
            log(f"    CHASE_DB1 test F1 {after[0]:.4f}, DRIVE test F1 {after[1]:.4f}")
            if m == minutes:
                full = nan
                if ckpt is not None and settings.blend < 1:
                    end = unblended(base, ckpt, settings.blend)
                    full = f1(end, chase_test), f1(end, drive_test)
                    log(f"    without the blend: CHASE_DB1 test F1 {full[0]:.4f}, DRIVE test F1 {full[1]:.4f}")
                rows.append((n, settings.blend, out, after, full))
            if n == 3:
                gains[m] = (out, after)
    log()
    log(f"Fine-tuning the DRIVE-only model on corrected CHASE_DB1 training images ({', '.join(CORRECTED)}, "
        f"first n), at most {minutes:g} min each, default settings ({settings_text(settings)}, the "
        f"default blend for the images trained on); threshold "
        f"{base.threshold} kept; test splits scored before/after. Last two columns: the fine-tuned end point "
        f"before the blend (blend 1).")
    log("| images corrected (trained on) | blend | minutes | steps | CHASE test F1 before | after | gain | "
        "DRIVE test F1 before | after | change | blend 1: CHASE gain | DRIVE change |")
    log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n, blend, out, (c, d), (fc, fd) in rows:
        trained = n - (out.held_out is not None)
        log(f"| {n} ({trained}) | {blend:g} | {out.seconds / 60:.2f} | {out.steps} | {before[0]:.4f} | {c:.4f} | "
            f"{c - before[0]:+.4f} | {before[1]:.4f} | {d:.4f} | {d - before[1]:+.4f} | {fc - before[0]:+.4f} | "
            f"{fd - before[1]:+.4f} |")
    if not gains:
        return
    log()
    log("Gain against minutes (3 images corrected, 2 trained on):")
    log("| minutes allowed | minutes taken | steps | CHASE test gain | DRIVE test change |")
    log("| --- | --- | --- | --- | --- |")
    for m, (out, (c, d)) in sorted(gains.items()):
        log(f"| {m:g} | {out.seconds / 60:.2f} | {out.steps} | {c - before[0]:+.4f} | {d - before[1]:+.4f} |")


def settings_text(s: FinetuneSettings) -> str:
    return (f"max {s.max_steps} steps, lr {s.lr:g}, crop {s.crop}, batch {s.batch_size}, BatchNorm "
            f"{'frozen' if s.freeze_batchnorm else 'updated'}, anchor {s.anchor:g}, trainable {s.trainable}, "
            f"consistency {s.consistency:g}")


def trained_images(base: Checkpoint, data: Path) -> list[Sample]:
    """The images ``base`` was trained on, as its ``trained_on`` names them ("<datasets>: images a, b, ..."),
    read from the training splits of the datasets named there: never a test or validation image."""
    what, _, listed = base.trained_on.partition(": images ")
    names = [n.strip() for n in listed.split(",") if n.strip()]
    if not names or ";" in listed:
        raise SystemExit(f"error: {base.trained_on!r} does not list the images the model was trained on")
    files = [(key, f) for key, folder in FOLDERS.items() if folder in what
             for f in FINDERS[key](data_folder(data, key), "training") if f.name in names]
    missing = sorted(set(names) - {f.name for _, f in files})
    if missing:
        raise SystemExit(f"error: training images not found under {data}: {', '.join(missing)}")
    return [load_sample(f, key) for key, f in files]


def add_importance(base: Checkpoint, data: Path, out: Path, draws: int) -> None:
    """Compute the weight importance of ``base`` on its own training images and save it with the model."""
    if out.exists():
        raise SystemExit(f"error: {out} exists; choose another file (the base is never overwritten)")
    samples = trained_images(base, data)
    log(f"weight importance on {len(samples)} training image(s) ({', '.join(s.name for s in samples)}), "
        f"{draws} label draws each")
    t0 = time.perf_counter()
    ckpt = with_importance(base, samples, draws, progress=lambda i, n: log(f"  {i}/{n} images") if i % 4 == 0 or
                           i == n else None)
    values = torch.cat([t.flatten() for t in ckpt.importance.values()])
    normalised = values / values.mean()
    quantiles = torch.quantile(normalised, torch.tensor([0.5, 0.9, 0.99, 0.999]))
    top = normalised.sort(descending=True).values
    share = float(top[: len(top) // 100].sum() / top.sum())
    log(f"{time.perf_counter() - t0:.0f} s; importance / its mean: median {quantiles[0]:.3g}, 90% {quantiles[1]:.3g}, "
        f"99% {quantiles[2]:.3g}, 99.9% {quantiles[3]:.3g}, max {top[0]:.3g}; the top 1% of weights hold "
        f"{share:.0%} of it")
    for name, t in sorted(ckpt.importance.items(), key=lambda kv: -float(kv[1].mean()))[:5]:
        log(f"  most important on average: {name} ({float(t.mean() / values.mean()):.3g}x the mean)")
    save_checkpoint(ckpt, out)
    log(f"saved {out}")


def memory(base: Checkpoint, data: Path) -> None:
    """Peak memory of a short run on the largest photographs of the pool: two HRF images, 3504×2336."""
    files = find_hrf(data_folder(data, "hrf"), "training")[:2]
    images = corrected([load_sample(f, "hrf") for f in files])
    out = run(base, images, FinetuneSettings(max_steps=5).resolved(consistency_applies=applies(base)))
    log(f"two {images[0].image.shape[1]}×{images[0].image.shape[0]} photographs, {out.steps} steps: peak memory of "
        f"the process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=default_data_root(), help="the folder holding the datasets")
    parser.add_argument("--base", type=Path, default=Path("runs/drive16.pt"),
                        help="a model that has never seen CHASE_DB1 (default: runs/drive16.pt)")
    parser.add_argument("--minutes", type=float, default=5.0, help="time allowed per fine-tuning (default: 5)")
    parser.add_argument("--curve", type=float, nargs="*", default=[1.0, 2.5],
                        help="shorter budgets for the gain curve with 3 images (default: 1 2.5)")
    parser.add_argument("--counts", type=int, nargs="+", choices=(1, 3, 5), default=[1, 3, 5],
                        help="how many images are corrected in each run (default: 1 3 5)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--tune", action="store_true", help="compare settings on validation images instead")
    parser.add_argument("--memory", action="store_true",
                        help="instead: peak memory of a short run on two 3504×2336 HRF photographs")
    parser.add_argument("--grid", type=grid_entry, nargs="+", default=[grid_entry(g) for g in GRID],
                        metavar="LR:frozen|updated:BLEND/...[:anchor=A][:trainable=T]",
                        help="with --tune: the settings compared")
    parser.add_argument("--steps", type=int, default=FinetuneSettings().max_steps,
                        help="with --tune: steps per fine-tuning (default: the default max_steps)")
    parser.add_argument("--corrected", type=int, choices=(1, 3, 5), default=3,
                        help="with --tune: how many CHASE_DB1 images are corrected (default: 3)")
    parser.add_argument("--add-importance", type=Path, metavar="OUT.pt",
                        help="instead: compute the weight importance of --base on the images it was trained on "
                             "and save the model with it as OUT.pt (a new file)")
    parser.add_argument("--draws", type=int, default=4, help="with --add-importance: label draws per image")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("say where the data is: --data FOLDER (or set RETINASEG_DATA)")
    if args.threads:
        torch.set_num_threads(args.threads)
    base = load_checkpoint(args.base)
    log(f"base {args.base}: {base.trained_on}; threshold {base.threshold}; inference {base.inference}")
    log(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), native bf16 {cpu_has_native_bf16()}, "
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.memory:
        memory(base, args.data)
        return 0
    if args.add_importance:
        add_importance(base, args.data, args.add_importance, args.draws)
        return 0
    chase_train = load_dataset("chase", data_folder(args.data, "chase"), "training")
    if args.tune:
        tune(base, args.data, chase_train, args.minutes, args.steps, args.grid, args.corrected)
    else:
        clinic(base, args.data, chase_train, args.minutes, args.curve, args.counts)
    log(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


def data_folder(data: Path, name: str) -> Path:
    return data / FOLDERS[name]


if __name__ == "__main__":
    sys.exit(main())
