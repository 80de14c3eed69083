"""How far the biomarkers of the shipped models' masks agree with those of the reference annotations.

On DRIVE test (20 images) and HRF test (21, HRF/split-test.txt), each image is measured twice with
``compute_biomarkers``:

- model:     the shipped vessel model's mask, typed by the shipped artery/vein model as ``retinaseg
             measure`` types it (core.batch.measure_image.ModelMasks: one type per vessel segment);
- reference: the manual vessel mask with the reference artery/vein labels (RITE for DRIVE, Hemelings et
             al. for HRF);

both inside the dataset's FOV mask, with the optic disc the detector finds on the photograph (the same
disc for both sides) and the scale from the disc convention (1800 µm per disc diameter). Per biomarker:

- n: images where both sides measured it (a calibre needs the disc, zone B inside the FOV and six
  typed vessels crossing it on each side);
- ICC(2,1): two-way random effects, absolute agreement, single measurement (Shrout & Fleiss 1979,
  case 2), with n images (rows) and k = 2 raters (model, reference) (columns):
      MSR = k Σᵢ (ȳᵢ. − ȳ..)² / (n − 1)          between images
      MSC = n Σⱼ (ȳ.ⱼ − ȳ..)² / (k − 1)          between raters (the systematic difference)
      MSE = Σᵢⱼ (yᵢⱼ − ȳᵢ. − ȳ.ⱼ + ȳ..)² / ((n − 1)(k − 1))
      ICC(2,1) = (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n)
  (checked at start on Shrout & Fleiss's own Table 2: ICC(2,1) = 0.29);
- its 95 % confidence interval (McGraw & Wong 1996, case 2A, with Satterthwaite's degrees of freedom
  for the rater term; on Shrout & Fleiss's table [0.02, 0.76], as R's psych::ICC prints): with 11 or
  20 images an ICC of 0.45 is compatible with anything from about 0 to 0.8, so read a target as met
  or missed with the interval beside it;
- ICC(3,1): two-way mixed, consistency (case 3): (MSR − MSE) / (MSR + (k − 1) MSE), the same without the
  systematic difference between the raters, which the bias column shows (their Table 2: 0.71);
- bias: mean of model − reference; 95 % limits of agreement: bias ± 1.96 SD of the differences
  (Bland & Altman 1986).

Per dataset and pooled (pooling two cameras widens the spread between images, which raises an ICC:
read the per-dataset rows first). ``--observers`` adds the yardstick for the vessel-only biomarkers: the
second human observer's vessel mask against the first one's on DRIVE test and CHASE_DB1 test (neither
has second-observer artery/vein labels), measured the same way, so the model's ICC can be read against
what two people drawing the same photographs reach. Nothing is chosen or tuned here: the models, the
detector and every biomarker parameter were fixed on training images. Model outputs are cached under ``--cache`` (keyed
by the models' SHA-256), so a rerun only measures.

    nice -n 15 python benchmarks/biomarker_agreement.py [--data POOL] [--limit N] [--per-image]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import second_observer_file  # noqa: E402
from core.batch.measure_image import ModelMasks  # noqa: E402
from core.io.datasets import FOLDERS, default_data_root, find_drive, find_hrf, load_sample  # noqa: E402
from core.io.images import read_image  # noqa: E402
from core.measure.biomarkers import BiomarkerReport, Measurement, compute_biomarkers  # noqa: E402
from core.measure.evaluate import dataset_folder, dataset_samples  # noqa: E402
from core.measure.optic_disc import OpticDisc, find_optic_disc  # noqa: E402

Row = tuple[str, str, str, str, "float | None"]
#: (name, vessels, region, what the table shows, target ICC from the issue or None)
BIOMARKERS: list[Row] = [
    ("vessel_density", "all", "fov", "vessel density", 0.80),
    ("fractal_dimension_skeleton", "all", "fov", "FD skeleton", 0.80),
    ("fractal_dimension_mask", "all", "fov", "FD mask", 0.80),
    ("crae", "artery", "zone_b", "CRAE zone B (µm)", 0.50),
    ("crve", "vein", "zone_b", "CRVE zone B (µm)", 0.50),
    ("avr", "all", "zone_b", "AVR zone B", 0.50),
    ("crae_hubbard", "artery", "zone_b", "CRAE Parr–Hubbard (µm)", None),
    ("crve_hubbard", "vein", "zone_b", "CRVE Parr–Hubbard (µm)", None),
    ("avr", "all", "zone_c", "AVR zone C", None),
    ("vessel_length", "all", "fov", "vessel length (mm)", None),
    ("average_width", "all", "fov", "average width (µm)", None),
    ("tortuosity_distance_factor", "all", "fov", "distance factor", None),
    ("vessel_density", "artery", "fov", "artery density", None),
    ("vessel_density", "vein", "fov", "vein density", None),
]
#: the biomarkers that need no artery/vein labels, the ones a second observer's vessel mask has (the
#: targets are the model's, not a person's: none shown)
VESSEL_ONLY: list[Row] = [(*b[:4], None) for b in BIOMARKERS if b[1] == "all" and b[0] != "avr"]


def mean_squares(y: np.ndarray) -> tuple[float, float, float, int, int]:
    """MSR, MSC, MSE, n and k of an n × k table (rows: subjects, columns: raters); see the module docstring."""
    y = np.asarray(y, float)
    n, k = y.shape
    grand = y.mean()
    rows, cols = y.mean(axis=1), y.mean(axis=0)
    msr = k * np.sum((rows - grand) ** 2) / (n - 1)
    msc = n * np.sum((cols - grand) ** 2) / (k - 1)
    mse = np.sum((y - rows[:, None] - cols[None, :] + grand) ** 2) / ((n - 1) * (k - 1))
    return float(msr), float(msc), float(mse), n, k


def icc_2_1(y: np.ndarray) -> float:
    """ICC(2,1), absolute agreement, of an n × k table; see the module docstring."""
    msr, msc, mse, n, k = mean_squares(y)
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def icc_2_1_interval(y: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The confidence interval of ICC(2,1) (McGraw & Wong 1996, Table 7, case 2A); NaN for an ICC at or
    below 0, where the approximation of its degrees of freedom breaks down."""
    from scipy.stats import f as f_dist

    msr, msc, mse, n, k = mean_squares(y)
    icc = icc_2_1(y)
    if not 0 < icc < 1:
        return float("nan"), float("nan")
    tail = (1 + level) / 2
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    f_low, f_high = f_dist.ppf(tail, n - 1, v), f_dist.ppf(tail, v, n - 1)
    low = n * (msr - f_low * mse) / (f_low * (k * msc + (k * n - k - n) * mse) + n * msr)
    high = n * (f_high * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_high * msr)
    return float(low), float(high)


def icc_3_1(y: np.ndarray) -> float:
    """ICC(3,1), consistency, of an n × k table; see the module docstring."""
    msr, _, mse, _, k = mean_squares(y)
    return (msr - mse) / (msr + (k - 1) * mse)


def _check_icc() -> None:
    """Shrout & Fleiss (1979), Table 2: six targets, four judges; ICC(2,1) = 0.29."""
    table = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    value = icc_2_1(table)
    assert abs(value - 0.29) < 0.005, f"ICC(2,1) of Shrout & Fleiss's table is 0.29, computed {value:.3f}"
    low, high = icc_2_1_interval(table)
    assert abs(low - 0.02) < 0.01 and abs(high - 0.76) < 0.01, f"its 95 % interval is [0.02, 0.76], computed " \
        f"[{low:.3f}, {high:.3f}]"
    value = icc_3_1(table)
    assert abs(value - 0.71) < 0.005, f"ICC(3,1) of Shrout & Fleiss's table is 0.71, computed {value:.3f}"


def value_of(report: BiomarkerReport, name: str, vessels: str, region: str) -> float | None:
    """The physical value where there is one (µm, mm), else the value; None when not measured."""
    e = report.get(name, vessels, region)
    if not isinstance(e, Measurement):
        return None
    return e.physical if e.physical is not None else e.value


def reason_of(report: BiomarkerReport, name: str, vessels: str, region: str) -> str:
    e = report.get(name, vessels, region)
    return getattr(e, "reason", "") if e is not None else "absent"


def model_masks(source: ModelMasks, cache: Path, key: str, files, image: np.ndarray,  # type: ignore[no-untyped-def]
                fov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    path = cache / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return z["vessels"], z["labels"]
    masks = source.masks(files.image, image, fov)
    assert masks.labels is not None
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vessels=masks.vessels, labels=masks.labels)
    return masks.vessels, masks.labels


def measure_split(dataset: str, pool: Path, source: ModelMasks, cache: Path, limit: int | None,
                  per_image: bool) -> list[dict[str, Any]]:
    root = pool / FOLDERS[dataset]
    files = (find_drive(root, "test") if dataset == "drive" else find_hrf(root, "test"))[:limit]
    out = []
    for f in files:
        t = time.perf_counter()
        s = load_sample(f, dataset)
        if s.av is None:
            print(f"  {dataset} {s.name}: no reference artery/vein labels, skipped")
            continue
        disc = find_optic_disc(s.image, s.fov)
        the_disc = disc if isinstance(disc, OpticDisc) else None
        vessels, labels = model_masks(source, cache, f"{dataset}_{s.name}", f, s.image, s.fov)
        model = compute_biomarkers(vessels, s.fov, labels, the_disc)
        reference = compute_biomarkers(s.vessels, s.fov, s.av, the_disc)
        out.append({"name": s.name, "model": model, "reference": reference,
                    "disc": "" if the_disc else disc.reason})  # type: ignore[union-attr]
        if per_image:
            cells = []
            for name, vessels_, region, _, _ in BIOMARKERS[:6]:
                a, b = value_of(model, name, vessels_, region), value_of(reference, name, vessels_, region)
                cells.append(f"{_num(a)}/{_num(b)}")
            print(f"  {dataset} {s.name:6s} {time.perf_counter() - t:5.1f} s  " + "  ".join(cells)
                  + (f"  (no disc: {disc.reason})" if the_disc is None else ""), flush=True)  # type: ignore[union-attr]
    return out


def observer_split(dataset: str, pool: Path, limit: int | None) -> list[dict[str, Any]]:
    """The second observer's vessel mask (as "model") against the first one's, no artery/vein labels."""
    root = dataset_folder(dataset, pool)
    out = []
    for s in list(dataset_samples(dataset, pool, "test"))[:limit]:
        path = second_observer_file(dataset, root, s)
        if path is None or not path.is_file():
            print(f"  {dataset} {s.name}: no second observer ({path}), skipped")
            continue
        disc = find_optic_disc(s.image, s.fov)
        the_disc = disc if isinstance(disc, OpticDisc) else None
        second = read_image(path, mode="L") > 127
        out.append({"name": s.name, "model": compute_biomarkers(second, s.fov, None, the_disc),
                    "reference": compute_biomarkers(s.vessels, s.fov, None, the_disc)})
    return out


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.4g}"


def agreement(results: list[dict[str, Any]], key: tuple[str, str, str]) -> dict[str, Any]:
    pairs, lost_model, lost_reference = [], [], []
    for r in results:
        a, b = value_of(r["model"], *key), value_of(r["reference"], *key)
        if a is not None and b is not None:
            pairs.append((a, b))
        if a is None:
            lost_model.append(reason_of(r["model"], *key))
        if b is None:
            lost_reference.append(reason_of(r["reference"], *key))
    out: dict[str, Any] = {"n": len(pairs), "of": len(results), "lost_model": lost_model,
                           "lost_reference": lost_reference}
    if len(pairs) >= 3:
        y = np.array(pairs)
        d = y[:, 0] - y[:, 1]
        sd = float(np.std(d, ddof=1))
        out.update(icc=icc_2_1(y), icc_interval=icc_2_1_interval(y), icc3=icc_3_1(y), bias=float(d.mean()),
                   low=float(d.mean() - 1.96 * sd),
                   high=float(d.mean() + 1.96 * sd), mean_reference=float(y[:, 1].mean()))
    return out


def print_table(title: str, results: list[dict[str, Any]], rows: list[Row] = BIOMARKERS) -> None:
    print(f"\n{title}: {len(results)} images")
    print(f"  {'biomarker':26s} {'n':>5s} {'ICC(2,1)':>9s} {'95% CI':>15s} {'target':>7s} {'ICC(3,1)':>9s} "
          f"{'bias':>10s} {'95% limits of agreement':>25s} {'ref. mean':>10s}")
    notes = []
    for name, vessels, region, label, target in rows:
        a = agreement(results, (name, vessels, region))
        n = f"{a['n']}/{a['of']}"
        if "icc" not in a:
            print(f"  {label:26s} {n:>5s} {'—':>9s}")
        else:
            mark = "" if target is None else (" met" if a["icc"] >= target else " MISSED")
            goal = "" if target is None else f"{target:.2f}"
            limits = "[{:+.4g}, {:+.4g}]".format(a["low"], a["high"])
            interval = "[{:.2f}, {:.2f}]".format(*a["icc_interval"]) if np.isfinite(a["icc_interval"]).all() else "—"
            print(f"  {label:26s} {n:>5s} {a['icc']:9.3f} {interval:>15s} {goal:>7s} {a['icc3']:9.3f} "
                  f"{a['bias']:+10.4g} {limits:>25s} {a['mean_reference']:10.4g}{mark}")
        for side in ("model", "reference"):
            lost = a[f"lost_{side}"]
            if lost:
                common = max(set(lost), key=lost.count)
                notes.append(f"  {label}: not measured on {len(lost)} {side} images, e.g. “{common}”")
    if notes:
        print("  why n is smaller:")
        print("\n".join("  " + line for line in notes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data_root(), help="the pool (DRIVE/, HRF/)")
    ap.add_argument("--model", type=Path, help="vessel checkpoint (default: the shipped one)")
    ap.add_argument("--av-model", type=Path, help="artery/vein checkpoint (default: the shipped one)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/retinaseg_biomarker_agreement"),
                    help="where model masks are kept between runs")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each split (a quick look)")
    ap.add_argument("--datasets", nargs="+", choices=["drive", "hrf"], default=["drive", "hrf"])
    ap.add_argument("--per-image", action="store_true", help="print each image's model/reference values")
    ap.add_argument("--observers", action="store_true",
                    help="also the second human observer against the first (DRIVE and CHASE_DB1 test)")
    args = ap.parse_args(argv)
    if args.data is None or not args.data.is_dir():
        print("error: say where the data pool is: --data POOL or $RETINASEG_DATA", file=sys.stderr)
        return 2
    _check_icc()
    from core.ml.inference import Segmenter
    from core.resources import default_artery_vein_model_path

    vessels = Segmenter(args.model, device=args.device)
    av = Segmenter(args.av_model or default_artery_vein_model_path(), device=args.device)
    source = ModelMasks(vessels, av)
    cache = args.cache / f"{source.vessel_model.sha256}_{source.av_model.sha256}"
    print(f"vessel model {source.vessel_model.name} (sha256 {source.vessel_model.sha256}), artery/vein model "
          f"{source.av_model.name} (sha256 {source.av_model.sha256}), on {vessels.device_name}")
    print("both sides: the dataset's FOV, the detector's disc on the photograph, scale by the disc convention "
          "(1800 µm per disc diameter); model − reference")
    t = time.perf_counter()
    by_dataset = {}
    for dataset in args.datasets:
        if args.per_image:
            print(f"\n{dataset} test, model/reference: " + "  ".join(b[3] for b in BIOMARKERS[:6]))
        by_dataset[dataset] = measure_split(dataset, args.data, source, cache, args.limit, args.per_image)
    for dataset, results in by_dataset.items():
        print_table(f"{FOLDERS[dataset]} test", results)
    if len(by_dataset) > 1:
        print_table("pooled", [r for results in by_dataset.values() for r in results])
    if args.observers:
        for dataset in ("drive", "chase"):
            print_table(f"{FOLDERS[dataset]} test, second human observer − first (the yardstick; vessel-only "
                        "biomarkers)", observer_split(dataset, args.data, args.limit), VESSEL_ONLY)
    print(f"\n{time.perf_counter() - t:.0f} s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
