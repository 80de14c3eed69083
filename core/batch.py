"""Segment many files into the CLI's file contract, reporting and skipping bad ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ImageReadError, ImageWriteError
from core.io.export import check_folder, probability_to_uint16
from core.io.images import is_image_file, list_images, read_image, write_image

Report = Callable[[int, int, str], None]


@dataclass
class BatchSummary:
    written: list[Path] = field(default_factory=list)
    done: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def text(self) -> str:
        lines = [f"{len(self.done)} segmented, {len(self.failed)} failed" + (" (cancelled)" if self.cancelled else "")]
        lines += [f"  FAILED {p}: {why}" for p, why in self.failed]
        return "\n".join(lines)


def output_paths(out_dir: Path, stem: str) -> tuple[Path, Path]:
    """The file contract: ``<stem>_mask.png`` and ``<stem>_prob.png``."""
    return out_dir / f"{stem}_mask.png", out_dir / f"{stem}_prob.png"


def expand_inputs(inputs: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files as given, folders expanded to their images (sorted); missing paths become failures."""
    files: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for p in inputs:
        p = Path(p)
        if p.is_dir():
            found = list_images(p)
            if not found:
                failed.append((p, "folder holds no readable image files"))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            failed.append((p, "file not found"))
    return files, failed


def segment_files(
    segmenter: Any,
    inputs: Iterable[Path],
    out_dir: Path,
    threshold: float | None = None,
    save_prob: bool = False,
    overwrite: bool = False,
    fov_path: Path | None = None,
    report: Report | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> BatchSummary:
    """Segment each image into ``out_dir``; errors are collected per file, finished files are kept."""
    files, failed = expand_inputs(inputs)
    summary = BatchSummary(failed=failed)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from exc
    check_folder(out_dir)  # a read-only folder fails now, not once per image after its inference
    if fov_path is not None and len(files) != 1:
        raise ValueError("--fov applies to a single input image")
    fov = read_image(fov_path, mode="L") > 127 if fov_path is not None else None
    t = float(segmenter.threshold if threshold is None else threshold)
    claimed: dict[str, Path] = {}
    total = len(files)
    for i, path in enumerate(files):
        if should_cancel is not None and should_cancel():
            summary.cancelled = True
            break
        mask_path, prob_path = output_paths(out_dir, path.stem)
        targets = [mask_path] + ([prob_path] if save_prob else [])
        why = ""
        if path.stem in claimed:
            why = f"same name as {claimed[path.stem]}: its output would be overwritten"
        elif not overwrite and (existing := [p for p in targets if p.exists()]):
            why = f"{existing[0]} already exists (use --overwrite to replace it)"
        elif not is_image_file(path):
            why = "not an image file name (" + path.suffix + ")"
        if not why:
            try:
                image = read_image(path, mode=None)
                prob = segmenter.predict(image, fov=fov)
                write_image(mask_path, (prob >= t).astype(np.uint8) * 255)
                summary.written.append(mask_path)
                if save_prob:
                    write_image(prob_path, probability_to_uint16(prob))
                    summary.written.append(prob_path)
                summary.done.append(path)
                claimed[path.stem] = path
            except (ImageReadError, ImageWriteError, ValueError) as exc:
                why = str(exc).removeprefix(f"{path}: ")
        if why:
            summary.failed.append((path, why))
        if report is not None:
            report(i + 1, total, f"FAILED {path}: {why}" if why else "")
    return summary
