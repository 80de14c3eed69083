"""Artery/vein classification of one model on DRIVE and HRF, each image at its native resolution.

Scored on the reference's vessel pixels labelled artery or vein, inside the FOV (crossings and uncertain
pixels excluded: they have no single right answer), pooled over each split's pixels: accuracy, Se
(arteries called artery) and Sp (veins called vein). The vessels typed are the artery/vein reference's own
(every non-black pixel of its colour image; --vessels manual types the vessel reference instead, as this
script did before: on DRIVE test a fifth of RITE's typed pixels lie outside 1st_manual and were scored as
"vein"), by each typing asked for (--typings; core.predict.artery_vein.TYPINGS, "per pixel" the bare model):
  per pixel     whichever of P(artery), P(vein) is larger at that pixel;
  per segment   each vessel segment (between branch and crossing points) takes its pixels' summed evidence;
  and the post-processings built on segments (see core.predict.artery_vein).
For each, the fraction of segments (>= 10 px) whose pixels are not all one type; the reference's own
fraction is printed beside them (a segment where an artery and a vein touch is mixed in the reference too).
The vessel F1 of the model's own vessel probability at its stored threshold is printed for information.

Two parts: "validation", the training images the artery/vein model was NOT trained on (DRIVE 23, 25, 27,
40; HRF 02_g, 04_g, 07_dr, 08_dr), the only place a typing may be chosen; "test", the test splits, only
reported. --cache DIR keeps the model's probabilities on disk so that trying typings costs no inference.
--write-card stores the test figures in the model's metrics.

    python benchmarks/artery_vein.py [--model resources/models/arteries_veins_unet16.pt] [--data POOL]
        [--parts validation test] [--typings per_pixel per_segment ...] [--cache /tmp/av_probabilities]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.card import store_metrics  # noqa: E402
from core.edit.vessel_segments import centreline_pieces, segment_map  # noqa: E402
from core.io.artery_vein import ARTERY, VEIN  # noqa: E402
from core.io.datasets import FOLDERS, Sample, default_data_root, find_drive, find_hrf, load_sample  # noqa: E402
from core.measure.artery_vein import ArteryVeinAccumulator  # noqa: E402
from core.measure.metrics import Accumulator  # noqa: E402
from core.predict.artery_vein import DEFAULT_TYPING, TYPINGS, artery_log_odds, classify_vessels, inconsistent_fraction  # noqa: E402
from core.resources import default_artery_vein_model_path  # noqa: E402

DEFAULT_MODEL = default_artery_vein_model_path()
SPLITS = ("drive", "hrf")
PARTS = ("validation", "test")
#: The training images the shipped artery/vein model held out (its checkpoint's metrics say the same).
VALIDATION = {"drive": ("23", "25", "27", "40"), "hrf": ("02_g", "04_g", "07_dr", "08_dr")}
FINDERS = {"drive": find_drive, "hrf": find_hrf}
#: Weight of the colour cue of the "colour" typing, in log-odds per pixel per standard deviation; the best
#: validation mean of 0.25, 0.5, 1 and 2.
COLOUR_WEIGHT = 0.5
#: Typings measured here only (they need the photograph, which the app's typing does not get).
COLOUR_TYPINGS = ("colour",)


def colour_cue(image: np.ndarray, vessels: np.ndarray, fov: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Per segment (index 0 unused): how much brighter in red than its surroundings its centreline is, for
    its width, in standard deviations of the image's segments. Arteries carry oxygenated blood and are
    brighter in red than veins of the same width (AUC 0.73 per image on the DRIVE training labels)."""
    count = int(segments.max())
    index = np.arange(count + 1)
    pieces, _ = centreline_pieces(vessels)
    red = image[..., 0].astype(np.float32)
    around = ~vessels & fov
    sigma = float(np.sqrt(fov.sum())) / 40
    local = ndi.gaussian_filter(np.where(around, red, 0), sigma) / np.maximum(
        ndi.gaussian_filter(around.astype(np.float32), sigma), 1e-3)
    contrast = np.asarray(ndi.mean(red / np.maximum(local, 1), pieces, index), np.float64)
    width = np.maximum(2 * np.asarray(ndi.mean(ndi.distance_transform_edt(vessels), pieces, index)), 1.0)
    long = np.asarray(ndi.sum_labels(pieces > 0, pieces, index)) >= 10
    long[0] = False
    if long.sum() < 3:
        return np.zeros(count + 1)
    design = np.stack([np.ones(int(long.sum())), np.log(width[long])], 1)
    coef, *_ = np.linalg.lstsq(design, contrast[long], rcond=None)
    residual = np.nan_to_num(contrast - (coef[0] + coef[1] * np.log(width)))
    z = (residual - np.median(residual[long])) / (residual[long].std() or 1.0)
    z[0] = 0.0
    return np.clip(z, -3, 3)


def colour_typed(sample: Sample, vessels: np.ndarray, p_artery: np.ndarray, p_vein: np.ndarray) -> np.ndarray:
    """Per segment: the summed log-odds plus COLOUR_WEIGHT × the colour cue per pixel."""
    segments = segment_map(vessels)
    index = np.arange(int(segments.max()) + 1)
    votes = np.asarray(ndi.sum_labels(artery_log_odds(p_artery, p_vein), segments, index), np.float64)
    pixels = np.asarray(ndi.sum_labels(np.ones(segments.shape), segments, index), np.float64)
    votes += COLOUR_WEIGHT * pixels * colour_cue(sample.image, vessels, sample.fov, segments)
    return np.where(vessels, np.where(votes[segments] >= 0, ARTERY, VEIN), 0).astype(np.uint8)


def samples_of(dataset: str, pool: Path, part: str, limit: int | None) -> Iterator[Sample]:
    """One part's images with artery/vein labels, loaded one at a time (HRF's are 8 MP each)."""
    files = FINDERS[dataset](pool / FOLDERS[dataset], "training" if part == "validation" else "test")
    if part == "validation":
        files = [f for f in files if f.name in VALIDATION[dataset]]
    files = [f for f in files if f.av is not None][:limit]
    for f in files:
        yield load_sample(f, dataset)


class Probabilities:
    """P(artery) and P(vein) of one model per image, computed once and kept in ``cache`` when given."""

    def __init__(self, model: Path, cache: Path | None) -> None:
        self.model = model
        self._segmenter: Any = None
        digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
        self.cache = cache / f"{model.stem}-{digest}" if cache is not None else None

    def segmenter(self) -> Any:
        if self._segmenter is None:
            from core.ml.inference import Segmenter

            self._segmenter = Segmenter(self.model)
            if self._segmenter.task.name != "arteries_veins":
                raise SystemExit(f"error: {self.model} is a {self._segmenter.task.name} model, not an artery/vein one")
        return self._segmenter

    def of(self, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        path = self.cache / f"{sample.dataset}_{sample.name}.npz" if self.cache is not None else None
        if path is not None and path.is_file():
            with np.load(path) as data:
                return data["artery"], data["vein"]
        prediction = self.segmenter().predict(sample.image, sample.fov)
        p_artery, p_vein = prediction.probability("artery"), prediction.probability("vein")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path.with_suffix(".part.npz"), artery=p_artery, vein=p_vein)
            path.with_suffix(".part.npz").replace(path)
        return p_artery, p_vein

    def threshold(self) -> float:
        from core.ml.checkpoint import load_checkpoint

        return float(load_checkpoint(self.model).thresholds.get("vessel", 0.5))


def score_split(probabilities: Probabilities, dataset: str, pool: Path, part: str, typings: list[str],
                limit: int | None, typed_vessels: str = "av") -> dict[str, Any]:
    scores = {name: ArteryVeinAccumulator() for name in typings}
    mixed: dict[str, list[float]] = {name: [] for name in [*typings, "reference"]}
    vessel = Accumulator()
    images = 0
    t0 = time.perf_counter()
    for s in samples_of(dataset, pool, part, limit):
        assert s.av is not None
        images += 1
        p_artery, p_vein = probabilities.of(s)
        vessel.add(p_artery + p_vein, s.vessels, s.fov)
        # the artery/vein reference's own vessels: RITE traced DRIVE's test images anew (a fifth of its
        # artery and vein pixels lie outside 1st_manual), and a pixel left untyped would count as "vein"
        vessels = s.av != 0 if typed_vessels == "av" else s.vessels
        for name in typings:
            labels = (colour_typed(s, vessels, p_artery, p_vein) if name in COLOUR_TYPINGS
                      else classify_vessels(vessels, p_artery, p_vein, typing=name))
            scores[name].add(labels == ARTERY, s.av, s.fov)
            mixed[name].append(inconsistent_fraction(vessels, labels))
        mixed["reference"].append(inconsistent_fraction(vessels, np.where(np.isin(s.av, (ARTERY, VEIN)), s.av, 0)))
    out: dict[str, Any] = {"images": images, "seconds": round(time.perf_counter() - t0, 1),
                           "vessel_f1": round(vessel.scores(probabilities.threshold()).f1, 4)}
    for name, acc in scores.items():
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
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--typings", nargs="+", choices=[*TYPINGS, *COLOUR_TYPINGS],
                    default=list(dict.fromkeys(["per_pixel", "per_segment", DEFAULT_TYPING])))
    ap.add_argument("--vessels", choices=("av", "manual"), default="av",
                    help="type the artery/vein reference's vessels (default) or the vessel reference's")
    ap.add_argument("--cache", type=Path, default=None, help="keep the model's probabilities in this folder")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each split (a quick look)")
    ap.add_argument("--write-card", action="store_true", help="store the test figures in the model's metrics and card")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: the data pool {args.data} is not there (--data or $RETINASEG_DATA)", file=sys.stderr)
        return 2
    if not args.model.is_file():
        print(f"error: no model file {args.model}", file=sys.stderr)
        return 2
    probabilities = Probabilities(args.model, args.cache)
    print(f"model {args.model}, inside the FOV, native resolution; scored on reference artery/vein pixels "
          f"(crossings and uncertain excluded); typing the {args.vessels} reference's vessels; "
          f"default typing: {DEFAULT_TYPING}")
    results: dict[str, Any] = {}
    for part in args.parts:
        print(f"{part + ' split':<17}{'typing':<15}{'accuracy':>9}{'Se(art)':>9}{'Sp(vein)':>9}{'mixed seg':>10}"
              f"{'ref mixed':>10}{'vessel F1':>10}")
        for dataset in args.datasets:
            r = score_split(probabilities, dataset, args.data, part, args.typings, args.limit, args.vessels)
            results.setdefault(part, {})[dataset] = r
            for name in args.typings:
                f = r[name]
                print(f"{dataset + ' (' + str(r['images']) + ')':<17}{name.replace('_', ' '):<15}"
                      f"{f['accuracy']:>9.4f}{f['se_artery']:>9.4f}{f['sp_vein']:>9.4f}{f['mixed_segments']:>10.3f}"
                      f"{r['reference_mixed_segments']:>10.3f}{r['vessel_f1']:>10.4f}")
        if len(args.datasets) > 1:
            for name in args.typings:
                mean = np.mean([results[part][d][name]["accuracy"] for d in args.datasets])
                print(f"{'mean':<17}{name.replace('_', ' '):<15}{mean:>9.4f}")
    if args.write_card and args.limit is None and "test" in results:
        figures = {"artery_vein_test": {**results["test"], "vessels_typed": args.vessels}}
        print("card:", store_metrics(args.model, figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
