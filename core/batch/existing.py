"""A rerun's existing outputs, checked rather than assumed: skip what is complete, redo what is partial.

A job's outputs (mask, and the probability map, artery/vein labels, sidecar and DICOM SEG when planned) are
judged together, against the size of the image they belong to:

* **complete**: every planned output exists and reads back as this image's result (the mask as 8-bit
  0/255 of the image's size, the probability map as 16-bit gray of that size, the artery/vein labels as
  RGB of that size in the label colours, the sidecar naming that size and, when labels are planned, holding
  their summary): the job is skipped;
* **another image's**: a file decodes but is not this image's result (another size, not a 0/255 mask):
  it is kept and the job fails, saying so (``--overwrite`` replaces it);
* otherwise **partial** (something missing, or a file that does not decode, e.g. a copy cut short):
  the job is redone and writes all its outputs, so mask, probability map and sidecar stay one result
  (a sidecar written without ``--av`` is partial for a run with it: it lacks the disc and the labels' summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import partial
from pathlib import Path

import numpy as np

from core.batch.plan import BatchJob
from core.errors import ImageReadError
from core.io.artery_vein import FILE_COLOURS
from core.io.dicom_reader import read_source_dataset
from core.io.dicom_seg import SEGMENTATION_SOP_CLASS
from core.io.export import read_sidecar
from core.io.images import load_image

SKIP_REASON = "exists; --overwrite to replace"


class State(Enum):
    MISSING = "missing"
    DAMAGED = "damaged"  # does not decode: a partial output, redone
    OTHER = "other"  # decodes but is not this image's result: kept
    COMPLETE = "complete"


@dataclass(frozen=True)
class Verdict:
    """What to do with a job whose outputs may exist: ``run``, ``skip`` or ``refuse`` (``why`` says why)."""

    action: str
    why: str = ""


def judge_existing(job: BatchJob, shape: tuple[int, int]) -> Verdict:
    """The verdict on ``job``'s existing outputs, for an image of ``shape`` (rows, columns)."""
    if job.overwrite or not any(p.exists() for p in job.outputs):
        return Verdict("run")
    checks = [(job.mask, _mask_state), (job.prob, _prob_state), (job.av, _av_state),
              (job.info, partial(_info_state, labels=job.av is not None)), (job.seg, _seg_state)]
    states = [(path, *check(path, shape)) for path, check in checks if path is not None]
    for path, state, detail in states:
        if state is State.OTHER:
            return Verdict("refuse", f"{path} exists and is not this image's result ({detail}); "
                                     "use --overwrite to replace it")
    if all(state is State.COMPLETE for _, state, _ in states):
        return Verdict("skip", SKIP_REASON)
    return Verdict("run")


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def _pixels(path: Path) -> np.ndarray | None:
    """The file's pixels as stored (gray stays gray, 16-bit stays 16-bit); None when it does not decode."""
    try:
        return load_image(path).pixels
    except ImageReadError:
        return None


def _mask_state(path: Path, shape: tuple[int, int]) -> tuple[State, str]:
    if not path.exists():
        return State.MISSING, ""
    pixels = _pixels(path)
    if pixels is None:
        return State.DAMAGED, ""
    if pixels.ndim != 2 or pixels.dtype != np.uint8 or not np.isin(pixels, (0, 255)).all():
        return State.OTHER, "not a 0/255 mask"
    if pixels.shape != shape:
        return State.OTHER, f"it is {_size(pixels.shape)}, the image {_size(shape)}"
    return State.COMPLETE, ""


def _prob_state(path: Path, shape: tuple[int, int]) -> tuple[State, str]:
    if not path.exists():
        return State.MISSING, ""
    pixels = _pixels(path)
    if pixels is None:
        return State.DAMAGED, ""
    if pixels.ndim != 2 or pixels.dtype != np.uint16:
        return State.OTHER, "not a 16-bit probability map"
    if pixels.shape != shape:
        return State.OTHER, f"it is {_size(pixels.shape)}, the image {_size(shape)}"
    return State.COMPLETE, ""


def _av_state(path: Path, shape: tuple[int, int]) -> tuple[State, str]:
    """Artery/vein labels are this image's when they are RGB of its size in the label colours alone."""
    if not path.exists():
        return State.MISSING, ""
    pixels = _pixels(path)
    if pixels is None:
        return State.DAMAGED, ""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        return State.OTHER, "not an RGB artery/vein label image"
    if pixels.shape[:2] != shape:
        return State.OTHER, f"it is {_size(pixels.shape)}, the image {_size(shape)}"
    packed = (pixels[..., 0].astype(np.int32) << 16) | (pixels[..., 1].astype(np.int32) << 8) | pixels[..., 2]
    colours = [(r << 16) | (g << 8) | b for r, g, b in FILE_COLOURS.values()]
    if not np.isin(packed, colours).all():
        return State.OTHER, "colours other than the artery/vein label colours"
    return State.COMPLETE, ""


def _info_state(path: Path, shape: tuple[int, int], labels: bool = False) -> tuple[State, str]:
    """``labels``: artery/vein labels are planned, so the sidecar must hold their summary to be complete."""
    if not path.exists():
        return State.MISSING, ""
    try:
        info = read_sidecar(path)
    except ImageReadError:
        return State.DAMAGED, ""
    if info.width and (info.height, info.width) != shape:  # sidecars before the size was recorded have 0
        return State.OTHER, f"it describes a {info.width}x{info.height} image, this one is {_size(shape)}"
    if labels and "arteries_veins" not in info.measurements:  # written without --av: redone with it
        return State.DAMAGED, ""
    return State.COMPLETE, ""


def _seg_state(path: Path, shape: tuple[int, int]) -> tuple[State, str]:
    """A DICOM Segmentation is this image's when it is one and has the image's rows and columns."""
    if not path.exists():
        return State.MISSING, ""
    try:
        seg = read_source_dataset(path)
    except ImageReadError:
        return State.DAMAGED, ""
    if str(seg.SOPClassUID) != SEGMENTATION_SOP_CLASS:
        return State.OTHER, "not a DICOM Segmentation"
    if (int(seg.Rows), int(seg.Columns)) != shape:
        return State.OTHER, f"it is {seg.Columns}x{seg.Rows}, the image {_size(shape)}"
    return State.COMPLETE, ""
