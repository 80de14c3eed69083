"""``retinaseg measure IMAGES_OR_FOLDERS... -o results.csv``: one CSV row of biomarkers per image.

Without ``--masks`` each image is segmented (vessel model, then the artery/vein model types the vessels);
with ``--masks DIR`` the masks ``retinaseg segment`` wrote are read instead (``DIR/<stem>_mask.png``, and
``DIR/<stem>_av.png`` when present). Rows are written as each image finishes to ``results.csv.part``,
which becomes ``results.csv`` at the end (an interrupted run leaves the part, every row of it complete).
A bad image or a missing mask is a "failed" row with the reason; the run goes on. Columns:
core.batch.measure_image.table_columns. The options are defined in core.cli (``measure``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Any

from core.batch.measure_image import MaskFiles, MaskSource, ModelMasks, measure_image, table_columns
from core.io.images import list_images

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _usage_problem(args: argparse.Namespace) -> str:
    if args.masks is not None:
        if not args.masks.is_dir():
            return f"--masks {args.masks}: no such folder"
        if args.model is not None or args.av_model is not None:
            return "--model and --av-model choose the models that segment; with --masks nothing is segmented"
    if args.field_angle is not None and not 0 < args.field_angle < 200:
        return f"--field-angle is the camera's field of view in degrees (e.g. 45), got {args.field_angle}"
    if args.out.is_dir():
        return f"-o {args.out} is a folder; name the CSV file to write (e.g. {args.out / 'results.csv'})"
    if args.out.exists() and not args.overwrite:
        return f"{args.out} exists; pass --overwrite to replace it"
    return ""


def expand(inputs: list[Path]) -> list[Path]:
    """Files as given, folders replaced by their images (in name order); a folder without images stays,
    so that its row says so."""
    out: list[Path] = []
    for given in inputs:
        files = list_images(given) if given.is_dir() else []
        out.extend(files or [given])
    return out


def _source(args: argparse.Namespace) -> MaskSource:
    if args.masks is not None:
        return MaskFiles(args.masks)
    from core.ml.inference import Segmenter
    from core.resources import default_artery_vein_model_path

    vessels = Segmenter(args.model, device=args.device, precision=args.precision, tta=args.tta)
    if vessels.task.name != "vessels":
        raise ValueError(f"--model {vessels.model_path.name if vessels.model_path else ''} is a "
                         f"{vessels.task.name} model, not a vessel model")
    print(f"vessel model: {vessels.model_path} on {vessels.device_name}", file=sys.stderr)
    av_path = args.av_model or default_artery_vein_model_path()
    if args.av_model is None and not av_path.is_file():
        return ModelMasks(vessels, None, f"no artery/vein model ({av_path} is missing)")
    av = Segmenter(av_path, device=args.device, precision=args.precision, tta=args.tta)
    if av.task.name != "arteries_veins":
        raise ValueError(f"--av-model {av_path.name} is a {av.task.name} model, not an artery/vein model")
    print(f"artery/vein model: {av.model_path} on {av.device_name}", file=sys.stderr)
    return ModelMasks(vessels, av)


def run(args: argparse.Namespace) -> int:
    if problem := _usage_problem(args):
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    images = expand(list(args.inputs))
    source = _source(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    part = args.out.with_name(args.out.name + ".part")
    failed = done = 0
    with open(part, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=table_columns(), lineterminator="\n")
        writer.writeheader()
        try:
            for i, image in enumerate(images, 1):
                row = measure_image(image, source, args.field_angle)
                writer.writerow(row)
                f.flush()
                failed += row["status"] != "ok"
                done = i
                print(f"[{i}/{len(images)}] {_line(row)}", file=sys.stderr)
        except BaseException:  # Ctrl-C, a device failure: what is done stays readable
            print(f"stopped after {done} of {len(images)} images; their rows are in {part}", file=sys.stderr)
            raise
        os.fsync(f.fileno())
    os.replace(part, args.out)
    print(f"measured {len(images) - failed} of {len(images)} images"
          f"{f' ({failed} failed: see the error column)' if failed else ''}; wrote {args.out}")
    return EXIT_FAILURES if failed else EXIT_OK


def _line(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['image']}: FAILED: {row['error']}"
    missing = sum(1 for k, v in row.items() if k.endswith("_missing") and v and k not in ("av_missing", "disc_missing"))
    notes = [f"no artery/vein labels ({row['av_missing']})" if row["av_missing"] else "",
             f"no optic disc ({row['disc_missing']})" if row["disc_missing"] else "",
             f"{missing} biomarkers not measured" if missing else ""]
    return f"{row['image']}: ok" + "".join(f"; {n}" for n in notes if n)
