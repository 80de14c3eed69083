"""``retinaseg finetune``: adapt a model to a clinic's camera from corrected masks (the CLI side of
``core.ml.finetune``). Only argparse at import time: the CLI starts before numpy and torch load."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_finetune_parser(sub) -> None:  # type: ignore[no-untyped-def]
    fi = sub.add_parser("finetune", help="adapt a model to your images: fine-tune it on masks you corrected "
                        "(CPU, a few minutes; one image is held out to check the new model)")
    fi.add_argument("--images", type=Path, required=True, metavar="DIR", help="folder of the photographs")
    fi.add_argument("--masks", type=Path, required=True, metavar="DIR",
                    help="folder of their corrected masks, named as `segment` writes them: DIR/<stem>_mask.png "
                         "(0/255), or DIR/<stem>_av.png (red arteries, blue veins) for an artery/vein model")
    fi.add_argument("--base", type=Path, metavar="MODEL",
                    help="the model to start from (default: the shipped vessel model)")
    fi.add_argument("--out", type=Path, required=True, metavar="NEW.pt", help="the fine-tuned model to write")
    fi.add_argument("--minutes", type=float, metavar="M",
                    help="time for the whole run, checking included (default: 4)")
    fi.add_argument("--max-steps", type=int, metavar="N", help="stop after N steps if time remains (default: 100)")
    fi.add_argument("--lr", type=float, help="learning rate (default: 0.005)")
    fi.add_argument("--blend", type=float, metavar="B",
                    help="keep base + B × (fine-tuned - base): 1 adapts fully to your camera, lower values keep "
                         "more of what the base model does on other cameras (default: 0.9 where --consistency applies, "
                         "that is on a model that normalises by dataset statistics, with 2 or 3 images trained on; "
                         "0.7 there with one, 0.6 with four or more; else 0.4)")
    fi.add_argument("--consistency", type=float, metavar="W",
                    help="weight of the base model's answers kept on your images recoloured to its training "
                         "colours, so that what is learnt stays with your camera; 0 keeps nothing (default: 1)")
    fi.add_argument("--seed", type=int, help="random seed (default: 0)")
    fi.add_argument("--no-hold-out", action="store_true",
                    help="train on every image instead of keeping the last by name aside to check on")
    fi.add_argument("--overwrite", action="store_true", help="replace NEW.pt if it exists")


def run(args: argparse.Namespace) -> int:
    from core.adapt.corrections import FinetuneSettings, MissingMasksError, load_corrected
    from core.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, _progress_bar
    from core.ml.checkpoint import load_checkpoint, save_checkpoint
    from core.ml.finetune import finetune
    from core.resources import default_model_path

    given = {"minutes": args.minutes, "max_steps": args.max_steps, "lr": args.lr, "seed": args.seed,
             "blend": args.blend, "consistency": args.consistency}
    settings = FinetuneSettings(**{k: v for k, v in given.items() if v is not None}, hold_out=not args.no_hold_out)
    out: Path = args.out
    problem = (settings.problem()
               or (f"{out} already exists: use --overwrite to replace it" if out.exists() and not args.overwrite
                   else "")
               or ("" if out.parent.is_dir() else f"{out.parent}: no such folder for --out"))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    base_path = args.base or default_model_path()
    base = load_checkpoint(base_path)
    try:
        images = load_corrected(args.images, args.masks, base.task.name)
    except MissingMasksError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"fine-tuning {base_path} ({base.task.name}) on {len(images)} corrected image(s) for at most "
          f"{settings.minutes:g} min", file=sys.stderr)
    bar = _progress_bar(settings.max_steps, "finetune", "step")

    def progress(step: int, total: int, seconds_left: float) -> None:
        bar.total = total
        bar.n = step
        bar.set_postfix_str(f"{seconds_left:.0f} s left", refresh=True)

    try:
        outcome = finetune(base, images, settings, progress=progress)
    finally:
        bar.close()
    if outcome.before_f1 is not None and outcome.after_f1 is not None:
        print(f"held out {outcome.held_out}: F1 against your correction {outcome.before_f1:.4f} before, "
              f"{outcome.after_f1:.4f} after")
    elif outcome.held_out is None:
        print(f"nothing held out ({outcome.card['hold_out'].split(': ', 1)[-1]}): no before/after check")
    for name, (before, after) in outcome.wrong_pixels.items():
        print(f"{name}: {before} pixels wrong before, {after} after")
    print(f"{outcome.steps} steps in {outcome.seconds / 60:.1f} min")
    if not outcome.offered or outcome.checkpoint is None:
        print(f"error: not saved: {outcome.reason}", file=sys.stderr)
        return EXIT_FAILURES
    outcome.checkpoint.metrics["finetune"]["base"]["file"] = Path(base_path).name
    save_checkpoint(outcome.checkpoint, out)
    print(f"saved {out}")
    return EXIT_OK
