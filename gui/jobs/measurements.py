"""The measurements' job: every biomarker of the shown result (core.measure.biomarkers), in the worker thread.

The window hands the job copies (:func:`measure_request`): the vessel mask, FOV, artery/vein labels and optic
disc as they are when the job is asked for, and the scale the image file states or the user gave. The
skeleton of the last vessel mask is kept (:class:`SkeletonCache`): retyping vessels, moving the disc or
changing the field angle leaves the vessels alone, so only an edit of the vessel mask thins them again. A mask
that is no vessel tree (noise) is refused with a reason instead of holding the worker for minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gui.jobs.runner import Job, JobProgress

if TYPE_CHECKING:
    from core.measure.biomarkers import BiomarkerReport
    from gui.document.document import ImageDocument

@dataclass(frozen=True)
class MeasureRequest:
    """Copies of what the biomarkers are computed from (the document may change while the job runs)."""

    vessels: np.ndarray  # H×W bool
    fov: np.ndarray | None
    labels: np.ndarray | None  # artery/vein labels (0 background, 1 artery, 2 vein, 3 crossing), None without
    disc: tuple[float, float, float] | None  # (x, y, diameter) in image pixels
    pixel_spacing_mm: tuple[float, float] | None = None  # what a DICOM file states
    field_angle_deg: float | None = None


def measure_request(doc: ImageDocument, field_angle_deg: float | None = None) -> MeasureRequest | None:
    """What measuring ``doc`` now needs, copied; None when it has no vessel mask yet.

    ``field_angle_deg``: the camera's field of view the user gave; without it a DICOM file's horizontal field
    of view is used. A pixel spacing is taken from a DICOM file only: the print resolution of a PNG or TIFF
    says nothing about the retina.
    """
    if doc.mask is None:
        return None
    dicom = doc.metadata.dicom if doc.metadata is not None else None
    angle = field_angle_deg or (dicom.horizontal_fov_deg if dicom is not None else None)
    disc = doc.disc_circle
    labels = doc.artery_vein
    return MeasureRequest(doc.mask != 0, None if doc.fov is None else doc.fov.copy(),
                          None if labels is None else labels.copy(),
                          None if disc is None else (float(disc.x), float(disc.y), float(disc.diameter)),
                          dicom.pixel_spacing_mm if dicom is not None else None, angle)


def compute(request: MeasureRequest, skeleton: np.ndarray | None = None) -> BiomarkerReport:
    """Every biomarker of ``request`` (raises core's BiomarkerInputError, one line, when they cannot be).

    ``skeleton``: the centreline of the vessels inside the FOV when known. A mask whose centreline is far
    longer than any vessel tree's is refused by core before the tracing, which would take minutes on it.
    """
    from core.measure.biomarkers import compute_biomarkers

    return compute_biomarkers(request.vessels, request.fov, request.labels, request.disc,
                              pixel_spacing_mm=request.pixel_spacing_mm, field_angle_deg=request.field_angle_deg,
                              skeleton=skeleton)


class SkeletonCache:
    """The skeleton of the last vessel mask (inside its FOV) measured. Used from the worker thread only."""

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._skeleton: np.ndarray | None = None

    @staticmethod
    def key(request: MeasureRequest) -> bytes:
        inside = request.vessels if request.fov is None else request.vessels & request.fov
        return repr(inside.shape).encode() + np.packbits(inside, axis=None).tobytes()

    def measure(self, request: MeasureRequest) -> BiomarkerReport:
        key = self.key(request)
        report = compute(request, self._skeleton if key == self._key else None)
        self._key, self._skeleton = key, report.skeleton
        return report


def measure_job(cache: SkeletonCache, request: MeasureRequest) -> Job:
    """A job returning the :class:`~core.measure.biomarkers.BiomarkerReport` of ``request``."""

    def run(_progress: JobProgress, _should_cancel: Callable[[], bool]) -> BiomarkerReport:
        return cache.measure(request)

    return run
