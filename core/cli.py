"""Command-line front end: ``retinaseg segment | measure | cohort | train | finetune | evaluate | calibrate | info``.

File contract of ``segment`` (relied on by outside tools, keep stable): ``OUTDIR/<stem>_mask.png``
(8-bit, 0/255, the input's size) and, with ``--save-prob``, ``OUTDIR/<stem>_prob.png``
(16-bit grayscale, probability × 65535); with ``--dicom-seg``, a DICOM input also gets
``OUTDIR/<stem>_seg.dcm`` (a DICOM Segmentation referencing it); with ``--av``, ``OUTDIR/<stem>_av.png``
(RGB: arteries red, veins blue, the datasets' colours) and the sidecar ``OUTDIR/<stem>_info.json`` with the
optic disc and an artery/vein summary. ``--av`` never changes the mask or probability files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from core import __version__
from core.adapt.finetune_cli import add_finetune_parser
from core.predict.devices import DEVICE_CHOICES, DEVICE_HELP, DEVICE_LABELS

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="checkpoint file (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help=DEVICE_HELP)
    p.add_argument("--precision", choices=["fp32", "bf16"],
                   help="bf16 is faster on recent CPUs, marginally less exact (default: the model's setting)")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average the four flips of the image (default: the model's setting)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retinaseg", description="Retinal vessel segmentation.")
    parser.add_argument("--version", action="version", version=f"retinaseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    seg = sub.add_parser("segment", help="segment images (files or folders) into vessel masks")
    seg.add_argument("inputs", nargs="+", type=Path, metavar="IMAGE", help="image files or folders of images")
    seg.add_argument("-o", "--out", type=Path, required=True, help="output folder (created if missing)")
    _add_model_args(seg)
    seg.add_argument("--threshold", type=float, help="vessel threshold in (0, 1) (default: the model's)")
    seg.add_argument("--save-prob", action="store_true", help="also write <stem>_prob.png (16-bit)")
    seg.add_argument("--overwrite", action="store_true", help="replace existing output files")
    seg.add_argument("--info", action="store_true",
                     help="also write <stem>_info.json, the app's export sidecar (model, vessel fraction, warnings)")
    seg.add_argument("--fov", type=Path, help="FOV mask file (single image only); estimated when absent")
    seg.add_argument("--workers", type=int, default=1, metavar="N",
                     help="segment N images at a time, each in its own process (default: 1); "
                          "helps when reading and writing files dominates, or on a GPU")
    seg.add_argument("--frame", type=int, default=0, metavar="N",
                     help="which frame of multi-frame (DICOM) images to segment, from 0 (default: the first)")
    seg.add_argument("--dicom-seg", action="store_true",
                     help="DICOM inputs also get <stem>_seg.dcm, a DICOM Segmentation referencing the source")
    seg.add_argument("--include-patient-identifiers", action="store_true",
                     help="the sidecar of a DICOM input names patient and study (default: a pseudonymous "
                          "study reference only)")
    seg.add_argument("--av", action="store_true",
                     help="also type the vessels as arteries and veins and find the optic disc: writes <stem>_av.png "
                          "(arteries red, veins blue) and <stem>_info.json with the disc and an artery/vein summary "
                          "(--av implies --info); the mask and probability files stay the same")
    seg.add_argument("--av-model", type=Path, metavar="FILE",
                     help="with --av: the artery/vein checkpoint (default: the shipped artery/vein model)")

    tr = sub.add_parser("train", help="train a UNet on DRIVE (validation split picks epoch and threshold)")
    tr.add_argument("--data", type=Path, required=True,
                    help="DRIVE folder (training/, test/), or with --datasets the folder holding the datasets")
    tr.add_argument("--datasets", nargs="+", choices=["drive", "chase", "hrf"],
                    help="train on the training splits of these datasets of the pool (default: DRIVE alone)")
    tr.add_argument("--normalization", choices=["dataset", "fov", "local"], default="dataset",
                    help="fixed mean/std (the tutorial's) or each image standardised inside its FOV")
    tr.add_argument("--fov-target", type=int, default=0,
                    help="resize every image so its FOV is this many px wide (0: the training images' median)")
    tr.add_argument("--out", type=Path, required=True, help="run folder: best.pt, log.csv, last_state.pt")
    tr.add_argument("--base-c", type=int, default=32)
    tr.add_argument("--epochs", type=int, default=200)
    tr.add_argument("--steps-per-epoch", type=int, default=0, help="0: one pass over the training images")
    tr.add_argument("--batch-size", type=int, default=4)
    tr.add_argument("--crop", type=int, default=480)
    tr.add_argument("--lr", type=float, default=0.01)
    tr.add_argument("--weight-decay", type=float, default=1e-4)
    tr.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd",
                    help="SGD with momentum (the tutorial's) or AdamW (e.g. --lr 0.002 --weight-decay 0.01)")
    tr.add_argument("--scale", type=float, nargs=2, default=(0.5, 1.2), metavar=("MIN", "MAX"))
    tr.add_argument("--no-photometric", action="store_true", help="disable colour/contrast/gamma jitter")
    tr.add_argument("--capture-artifacts", action="store_true",
                    help="with --normalization fov: also train on vignetting, JPEG blocks and sensor noise")
    tr.add_argument("--artifact-probability", type=float, default=0.2, metavar="P",
                    help="with --capture-artifacts: the probability of each artifact per crop (default 0.2)")
    tr.add_argument("--skeleton-recall", type=float, default=0.0, metavar="W",
                    help="add the recall of the labels' centrelines, weighted W, to the loss: thin vessels "
                         "count by length, not by area (default 0: off)")
    tr.add_argument("--val-count", type=int, default=4,
                    help="training images held out for validation (per dataset with --datasets)")
    tr.add_argument("--val-every", type=int, default=1, help="validate every N epochs (and after the last)")
    tr.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning; same --base-c)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--val-seed", type=int, metavar="N",
                    help="seed of the validation split (default: --seed); keep it to compare seeds or to "
                    "fine-tune a model on the images it was validated on")
    tr.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help=DEVICE_HELP)
    tr.add_argument("--task", choices=("vessels", "arteries_veins"), default="vessels",
                    help="what to learn: vessels, or arteries and veins (from the datasets' artery/vein labels; "
                         "--init can be a vessel model)")
    tr.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                    help="validate and save an exponential moving average of the weights (e.g. 0.999; 0: off)")
    tr.add_argument("--select", choices=["best", "last"], default="best",
                    help="save the epoch with the best validation F1, or the last epoch (with --ema: the final "
                         "average; its threshold is still chosen on the validation images)")
    tr.add_argument("--no-amp", action="store_true",
                    help="train in fp32 (default: fp16 autocast on CUDA, bf16 on CPUs with native bf16)")
    tr.add_argument("--no-resume", action="store_true", help="start afresh even if the run folder has a state")
    tr.add_argument("--stop-after", type=int, default=0, metavar="N",
                    help="stop once N epochs are done (the same command without it resumes the run)")

    ev = sub.add_parser("evaluate", help="score a model on a labelled split of DRIVE, CHASE_DB1 or HRF, inside the FOV")
    ev.add_argument("--dataset", default="drive", choices=["drive", "chase", "hrf", "all"],
                    help="which dataset (default: drive); all: each one's split, then one summary table")
    ev.add_argument("--data", type=Path,
                    help="the folder holding the datasets (DRIVE/, CHASE_DB1/, HRF/) or the dataset's own folder "
                         "(default: $RETINASEG_DATA, else the parent of $RETINASEG_DRIVE)")
    ev.add_argument("--split", default="test", choices=["training", "test"])
    ev.add_argument("--limit", type=int, default=0, metavar="N", help="score only the first N images (a quick check)")
    _add_model_args(ev)
    ev.add_argument("--threshold", type=float, help="override the model's threshold")
    ev.add_argument("--json", type=Path, help="also write the results as JSON")

    cal = sub.add_parser("calibrate", help="re-choose a model's threshold for given inference settings, "
                         "on its validation images (training split), and save it")
    cal.add_argument("--data", type=Path, required=True,
                     help="DRIVE folder, or the folder holding the datasets for a model trained on several")
    cal.add_argument("--model", type=Path, required=True, help="checkpoint from `retinaseg train`")
    cal.add_argument("--out", type=Path, required=True, help="calibrated checkpoint to write")
    cal.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    cal.add_argument("--tta", action="store_true", help="average the four flips")
    cal.add_argument("--scale-tolerance", type=float, metavar="F",
                     help="leave images whose FOV is within this factor of the model's working FOV at their size")
    cal.add_argument("--large-fov-diameter", type=float, metavar="PX",
                     help="reduce images with a wider FOV to this width, not to the working FOV, and leave "
                     "those in between at their size")

    _add_cohort_parser(sub)
    _add_measure_parser(sub)
    add_finetune_parser(sub)

    info = sub.add_parser("info", help="show the model card and the devices")
    _add_model_args(info)
    return parser


def _add_measure_parser(sub) -> None:  # type: ignore[no-untyped-def]
    me = sub.add_parser("measure", help="vessel biomarkers of images (or of the masks `segment` wrote) into one CSV "
                        "table, a row per image")
    me.add_argument("inputs", nargs="+", type=Path, metavar="IMAGE",
                    help="image files or folders of images (not searched recursively)")
    me.add_argument("-o", "--out", type=Path, required=True, help="the CSV table to write (e.g. results.csv)")
    me.add_argument("--masks", type=Path, metavar="DIR",
                    help="read DIR/<stem>_mask.png (and DIR/<stem>_av.png when present), as `segment` writes them, "
                         "instead of segmenting; the image is still read for its FOV, optic disc and scale")
    me.add_argument("--field-angle", type=float, metavar="DEG",
                    help="the camera's field of view in degrees, for the scale (default: a DICOM file's pixel "
                         "spacing, else the optic disc taken as 1800 µm across)")
    _add_model_args(me)
    me.add_argument("--av-model", type=Path, metavar="FILE",
                    help="the artery/vein checkpoint (default: the shipped artery/vein model)")
    me.add_argument("--overwrite", action="store_true", help="replace an existing table")


def _add_cohort_parser(sub) -> None:  # type: ignore[no-untyped-def]
    co = sub.add_parser("cohort", help="segment a whole cohort on a Dask cluster into one resumable results table")
    co.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="folders (searched recursively), glob patterns ('data/**/*.png') or list files "
                         "(.txt: a path per line; .csv: a 'path' column)")
    co.add_argument("-o", "--out", type=Path, required=True,
                    help="output folder: the per-image files and results.parquet / results.csv")
    co.add_argument("--cluster", default="local", metavar="local|ADDRESS|FILE.yaml",
                    help="local (default: a Dask cluster on this machine), a scheduler address (tcp://host:8786) "
                         "or a dask-jobqueue YAML file (see the README)")
    co.add_argument("--workers", type=int, metavar="N",
                    help="local cluster only: worker processes (default: one per core)")
    co.add_argument("--threads", type=int, metavar="N",
                    help="torch threads per worker (default: the worker's cores); results are byte-identical "
                         "to a single process at the same count")
    co.add_argument("--batch-size", type=int, default=8, metavar="N", help="images per Dask task (default: 8)")
    _add_model_args(co)
    co.add_argument("--threshold", type=float, help="vessel threshold in (0, 1) (default: the model's)")
    co.add_argument("--save-prob", action="store_true", help="also write <stem>_prob.png (16-bit)")
    co.add_argument("--info", action="store_true", help="also write <stem>_info.json, the app's export sidecar")
    co.add_argument("--measure", action="store_true",
                    help="add the vessel biomarkers (density, length, width, fractal dimension, tortuosity, "
                         "branching) to the table")
    co.add_argument("--field-angle", type=float, metavar="DEG",
                    help="with --measure: the camera's field of view in degrees, for values in µm and mm")
    again = co.add_mutually_exclusive_group()
    again.add_argument("--retry-failed", action="store_true",
                       help="run only the images the table records as failed")
    again.add_argument("--force", action="store_true", help="redo every image, replacing its outputs")


def _progress_bar(total: int, desc: str, unit: str):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False,
                disable=None)


def _make_segmenter(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from core.ml.inference import Segmenter

    return Segmenter(args.model, device=args.device, precision=args.precision, tta=args.tta)


def _image_line(done: int, total: int, result) -> str:  # type: ignore[no-untyped-def]
    """A log's line for one image: name, time, vessel fraction and warnings, or why it failed or was skipped."""
    from core.batch import result_lines

    head = f"[{done}/{total}] "
    if not result.ok or result.skipped:
        return head + result_lines(result)[0]
    warnings = f", warnings: {', '.join(w.code for w in result.warnings)}" if result.warnings else ""
    return f"{head}{result.source}: {result.seconds:.1f} s, vessel fraction {result.vessel_fraction:.1%}{warnings}"


def cmd_segment(args: argparse.Namespace) -> int:
    from core.batch import ProcessExecutor, SerialExecutor, execute, output_folder_problem, plan, result_lines

    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        print(f"error: --threshold must be between 0 and 1, got {args.threshold}", file=sys.stderr)
        return EXIT_USAGE
    if args.workers < 1:
        print(f"error: --workers must be at least 1, got {args.workers}", file=sys.stderr)
        return EXIT_USAGE
    if args.frame < 0:
        print(f"error: --frame counts from 0, got {args.frame}", file=sys.stderr)
        return EXIT_USAGE
    if args.av_model is not None and not args.av:
        print("error: --av-model chooses the model of --av; add --av to find arteries and veins", file=sys.stderr)
        return EXIT_USAGE
    if problem := output_folder_problem(args.out):
        print(f"error: {problem} (-o names the output folder, created if missing)", file=sys.stderr)
        return EXIT_USAGE
    try:
        jobs = plan(args.inputs, args.out, save_prob=args.save_prob, overwrite=args.overwrite, fov_path=args.fov,
                    write_info=args.info, frame=args.frame, dicom_seg=args.dicom_seg,
                    include_identifiers=args.include_patient_identifiers, artery_vein=args.av)
    except ValueError as exc:  # options that cannot go together, e.g. --fov with several images
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dicom_seg and (plain := sum(1 for job in jobs.runnable if job.seg is None)):
        print(f"note: --dicom-seg: {plain} input(s) are not DICOM files; they get no _seg.dcm", file=sys.stderr)
    segmenter = _make_segmenter(args)
    print(f"model: {segmenter.model_path} on {segmenter.device_name}", file=sys.stderr)
    av_spec, av_step = _artery_vein(args, segmenter) if args.av else (None, None)
    executor = (SerialExecutor(segmenter, args.threshold, av_step) if args.workers == 1
                else ProcessExecutor(_worker_spec(segmenter), args.workers, args.threshold, artery_vein=av_spec))
    bar = _progress_bar(0, "segment", "image")
    one_line_each = bar.disable  # no terminal (piped, logged): a line per image instead of the bar

    def report(done: int, total: int, result) -> None:  # type: ignore[no-untyped-def]
        bar.total = total
        bar.n = done
        bar.refresh()
        lines = result_lines(result)  # FAILED, skipped or WARNING lines (a warning is no failure)
        if one_line_each:
            lines = [_image_line(done, total, result), *(lines if result.ok and not result.skipped else [])]
        for line in lines:
            bar.write(line, file=sys.stderr)

    try:
        summary = execute(jobs, executor, on_result=report)
    finally:
        bar.close()
    print(summary.text())
    return EXIT_OK if summary.ok else EXIT_FAILURES


def _artery_vein(args: argparse.Namespace, segmenter):  # type: ignore[no-untyped-def]
    """The artery/vein model's recipe (what workers build theirs from) and this process's step, loaded now so
    that a wrong or missing checkpoint is reported before any image; on the vessel model's device."""
    from core.batch import ArteryVeinSpec

    spec = ArteryVeinSpec(str(args.av_model) if args.av_model else None, segmenter.device.type, args.precision,
                          args.tta, threads=segmenter.threads)
    step = spec()
    print(f"artery/vein model: {step.predictor.model_path} on {step.predictor.device_name}", file=sys.stderr)
    if not args.info:
        print("note: --av writes <stem>_info.json too: the optic disc and the artery/vein summary go there",
              file=sys.stderr)
    return spec, step


def _worker_spec(segmenter):  # type: ignore[no-untyped-def]
    """What each worker process builds its own copy of ``segmenter`` from.

    Workers keep this process's torch thread count: convolutions sum in another order with another
    count, and the files must be byte-identical to those of a single process.
    """
    from core.batch import SegmenterSpec

    return SegmenterSpec(str(segmenter.model_path), segmenter.device.type, segmenter.precision, segmenter.tta,
                         threads=segmenter.threads)


def cmd_measure(args: argparse.Namespace) -> int:
    from core.batch.measure_cli import run

    return run(args)


def cmd_cohort(args: argparse.Namespace) -> int:
    from core.batch.cohort_cli import run

    return run(args)


def cmd_finetune(args: argparse.Namespace) -> int:
    from core.adapt.finetune_cli import run

    return run(args)


def cmd_train(args: argparse.Namespace) -> int:
    from core.io.datasets import FOLDERS, load_dataset, load_drive
    from core.ml.train import TrainConfig, train

    config = TrainConfig(
        out=str(args.out), base_c=args.base_c, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size, crop=args.crop, lr=args.lr, optimizer=args.optimizer,
        weight_decay=args.weight_decay, scale=tuple(args.scale),
        photometric=not args.no_photometric, capture_artifacts=args.capture_artifacts,
        artifact_probability=args.artifact_probability, skeleton_recall=args.skeleton_recall,
        val_count=args.val_count, seed=args.seed, val_seed=args.val_seed, device=args.device,
        resume=not args.no_resume, stop_after=args.stop_after, ema=args.ema, amp=not args.no_amp, select=args.select,
        normalization=args.normalization, fov_target=args.fov_target, val_every=args.val_every,
        init=str(args.init or ""), task=args.task,
        trained_on="training splits of " + ", ".join(FOLDERS[d] for d in args.datasets) if args.datasets
        else "DRIVE training",
    )
    if args.datasets:
        samples = [s for d in args.datasets for s in load_dataset(d, args.data / FOLDERS[d], "training")]
    else:
        samples = load_drive(args.data, "training")
    bar = _progress_bar(config.epochs, "train", "epoch")

    def progress(done: int, total: int, row: dict[str, float]) -> None:
        bar.n = done
        bar.set_postfix(loss=f"{row['loss']:.3f}", val_f1=f"{row['val_f1']:.4f}")

    try:
        result = train(samples, config, progress=progress, log=lambda m: bar.write(m, file=sys.stderr))
    finally:
        bar.close()
    print(f"best epoch {result.best_epoch}: validation F1 {result.val_f1:.4f}, AUC {result.val_auc:.4f}, "
          f"threshold {result.threshold:.3f}; {result.seconds / 60:.1f} min; saved {result.best_path}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.io.datasets import DATA_ENV, FOLDERS, default_data_root
    from core.measure.evaluate import dataset_samples, evaluate, summary_table

    data = args.data or default_data_root()
    if data is None:
        print(f"error: say where the data is: --data FOLDER, or set {DATA_ENV}", file=sys.stderr)
        return EXIT_USAGE
    if args.limit < 0:
        print(f"error: --limit must be at least 0, got {args.limit}", file=sys.stderr)
        return EXIT_USAGE
    names = list(FOLDERS) if args.dataset == "all" else [args.dataset]
    splits = {name: dataset_samples(name, data, args.split) for name in names}  # every folder checked first
    segmenter = _make_segmenter(args)
    model = {"path": str(segmenter.model_path), "device": segmenter.device_name, "precision": segmenter.precision,
             "tta": segmenter.tta}
    results = {}
    for name, samples in splits.items():
        samples = samples[: args.limit] if args.limit else samples
        bar = _progress_bar(len(samples), f"evaluate {FOLDERS[name]} {args.split}", "image")
        try:
            result = evaluate(segmenter, samples, threshold=args.threshold,
                              progress=lambda d, t, bar=bar: bar.update(d - bar.n))
        finally:
            bar.close()
        result.split, result.dataset, result.model = args.split, name, model
        results[name] = result
        print(f"{FOLDERS[name]} {args.split}: {len(samples)} images, threshold {result.threshold:.4f}, "
              f"model {segmenter.model_path}, "
              "scored at native resolution inside the FOV")
        print(result.table(), end="\n\n" if len(names) > 1 else "\n")
    if len(names) > 1:
        print(f"{args.split} splits, each pooled over its images inside the FOV:")
        print(summary_table({FOLDERS[name]: r for name, r in results.items()}))
    if args.json:
        out = (results[names[0]].as_dict() if len(names) == 1
               else {name: r.as_dict() for name, r in results.items()})
        args.json.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    from core.io.datasets import FOLDERS, load_dataset, load_drive
    from core.measure.validation import labelled_vessel_range
    from core.ml.calibrate import (
        apply_calibration,
        calibrate,
        describe_working_band,
        validation_samples,
        with_working_band,
    )
    from core.ml.checkpoint import load_checkpoint, save_checkpoint

    if not args.out.parent.is_dir():  # before minutes of validation, not after
        print(f"error: {args.out.parent}: no such folder for --out", file=sys.stderr)
        return EXIT_USAGE
    ckpt = load_checkpoint(args.model)
    if args.scale_tolerance is not None or args.large_fov_diameter is not None:
        ckpt.preprocessing = with_working_band(ckpt.preprocessing, args.scale_tolerance, args.large_fov_diameter)
    pooled = bool(ckpt.metrics.get("validation", {}).get("datasets"))

    loaded: dict[str, list] = {}  # type: ignore[type-arg]

    def training(dataset: str) -> list:  # type: ignore[type-arg]
        if dataset not in loaded:
            loaded[dataset] = (load_dataset(dataset, args.data / FOLDERS[dataset], "training") if pooled
                               else load_drive(args.data, "training"))
        return loaded[dataset]

    samples = validation_samples(ckpt, training)
    cal = calibrate(ckpt, samples, args.precision, args.tta)
    if "vessel_fraction_range" not in ckpt.metrics:  # checkpoints trained before training recorded it
        held_out = {s.name for s in samples}
        trained = [s for group in loaded.values() for s in group if s.name not in held_out]
        ckpt.metrics["vessel_fraction_range"] = labelled_vessel_range(trained)
    save_checkpoint(apply_calibration(ckpt, cal), args.out)
    settings = f"{args.precision}{' + flips' if args.tta else ''}{describe_working_band(ckpt.preprocessing)}"
    print(f"{settings} on validation images "
          f"{', '.join(s.name for s in samples)}: threshold {cal.threshold:.4f}, F1 {cal.val_f1:.4f}, "
          f"AUC {cal.val_auc:.4f}; saved {args.out}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from core.ml.devices import available_devices

    segmenter = _make_segmenter(args)
    print(json.dumps(segmenter.card(), indent=2, default=str))
    print("devices:", ", ".join(available_devices().values()), "| using:", segmenter.device_name)
    return EXIT_OK


COMMANDS = {"segment": cmd_segment, "cohort": cmd_cohort, "measure": cmd_measure, "train": cmd_train,
            "finetune": cmd_finetune,
            "evaluate": cmd_evaluate, "calibrate": cmd_calibrate, "info": cmd_info}


def _device_problem(name: str) -> str:
    """Why ``--device name`` cannot be used on this machine ("" when it can). Imports torch: named devices only."""
    if name == "auto":
        return ""
    from core.ml.devices import available_devices

    have = available_devices()
    if name in have:
        return ""
    return (f"--device {name}: this machine has no {DEVICE_LABELS[name]} device "
            f"(it has: {', '.join(have)}); use --device auto or one of those")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core.errors import CheckpointError, DeviceFailure, ImageReadError, ImageWriteError

    # a cohort's device is the workers' (a login node without a GPU may drive GPU workers)
    if args.command != "cohort" and (problem := _device_problem(getattr(args, "device", "auto"))):
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE

    try:
        return COMMANDS[args.command](args)
    except (CheckpointError, ImageReadError, ImageWriteError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    except DeviceFailure as exc:
        # finished images are already written; what remains can be redone on the CPU
        print(f"error: {exc} (run again with --device cpu)", file=sys.stderr)
        return EXIT_FAILURES
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
