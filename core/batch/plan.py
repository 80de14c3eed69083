"""Planning a batch: every input becomes one independent job, or is refused up front with the reason.

Planning touches no model and writes nothing (it only stats and lists files), so a plan can be shown,
checked in a test, or split across processes before any work starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from core.io.dicom_reader import is_dicom_file
from core.io.images import is_image_file, list_images
from core.io.outputs import OutputNames, input_stem


@dataclass(frozen=True)
class BatchJob:
    """One input: where its results go, or why it is refused (``refused`` non-empty: nothing runs).

    ``info``: where the JSON sidecar goes (with the plausibility warnings), None for none.
    ``overwrite``: replace existing outputs; without it they are checked when the job runs
    (:mod:`core.batch.existing`): complete ones are skipped, partial ones redone, another image's kept.
    ``frame``: which frame of a multi-frame (DICOM) image; ``seg``: where a DICOM source's DICOM
    Segmentation goes, None for none; ``include_identifiers``: the sidecar of a DICOM source names the
    patient and study (otherwise a pseudonymous study reference only). ``av``: where the artery/vein labels
    go (``<stem>_av.png``), None for none; the sidecar then also holds the optic disc and their summary.
    """

    source: Path
    mask: Path
    prob: Path | None = None
    fov: Path | None = None
    refused: str = ""
    info: Path | None = None
    overwrite: bool = False
    frame: int = 0
    seg: Path | None = None
    include_identifiers: bool = False
    av: Path | None = None

    @property
    def outputs(self) -> list[Path]:
        return [self.mask] + [p for p in (self.prob, self.av, self.info, self.seg) if p is not None]


@dataclass(frozen=True)
class BatchPlan:
    """The jobs of one batch, in input order (folders expanded in name order), and their output folder."""

    out_dir: Path
    jobs: tuple[BatchJob, ...]

    @property
    def runnable(self) -> list[BatchJob]:
        return [job for job in self.jobs if not job.refused]


def plan(inputs: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *, save_prob: bool,
         overwrite: bool, fov_path: str | os.PathLike[str] | None = None, write_info: bool = False,
         frame: int = 0, dicom_seg: bool = False, include_identifiers: bool = False,
         artery_vein: bool = False) -> BatchPlan:
    """Decide every input's job: files as given, folders expanded to their images (not recursively).

    Refused up front: a missing path, a folder without images, a file name that is not an image's, and a
    second input with the same stem as an earlier one (both would write the same files; the second names
    the first). ``fov_path`` needs exactly one file. Existing outputs are judged when the job runs, once
    the image's size is known (a rerun resumes: see :mod:`core.batch.existing`).
    ``write_info``: each job also writes ``<stem>_info.json``, the sidecar the app's export writes.
    ``frame``: the frame read of every input; ``dicom_seg``: DICOM inputs also get ``<stem>_seg.dcm``
    (other inputs have nothing to reference); ``include_identifiers``: see :class:`BatchJob`.
    ``artery_vein``: each job also writes ``<stem>_av.png``, and the sidecar (implied: it carries the optic
    disc and the artery/vein summary).
    """
    out = Path(out_dir)
    jobs: list[BatchJob] = []
    files_at: list[int] = []  # where the jobs of existing files are (what --fov may apply to)
    claimed: dict[str, Path] = {}
    for given in map(Path, inputs):
        if given.is_dir():
            files = list_images(given)
            if not files:
                jobs.append(BatchJob(given, OutputNames(out, given.name).mask,
                                     refused="folder holds no readable image files"))
        elif given.is_file():
            files = [given]
        else:
            jobs.append(BatchJob(given, OutputNames(out, given.stem).mask, refused="file not found"))
            continue
        for path in files:
            names = OutputNames(out, input_stem(path))
            job = BatchJob(path, names.mask, names.prob if save_prob else None,
                           info=names.info(".json") if write_info or artery_vein else None, overwrite=overwrite,
                           frame=frame, seg=names.seg if dicom_seg and is_dicom_file(path) else None,
                           include_identifiers=include_identifiers, av=names.av if artery_vein else None)
            why = _refusal(job, claimed)
            if why:
                job = replace(job, refused=why)
            else:
                claimed[input_stem(path)] = path
            files_at.append(len(jobs))
            jobs.append(job)
    if fov_path is not None:
        if len(files_at) != 1:
            raise ValueError("--fov applies to a single input image")
        jobs[files_at[0]] = replace(jobs[files_at[0]], fov=Path(fov_path))
    return BatchPlan(out, tuple(jobs))


def _refusal(job: BatchJob, claimed: dict[str, Path]) -> str:
    """Why ``job`` must not run ("" when it may)."""
    if input_stem(job.source) in claimed:
        return f"same name as {claimed[input_stem(job.source)]}: its output would be overwritten"
    if not is_image_file(job.source):
        return "not an image file name (" + job.source.suffix + ")"
    return ""
