"""LiveMeasurements: the shown document's biomarkers, recomputed in the worker after every change.

Any change of what the biomarkers are made of (a stroke, an artery/vein brush, a segment swap, the disc moved
or resized, the threshold, a new result, the FOV, the field angle) marks the values stale at once and
starts a short timer; each further change restarts it, so a brush drag is measured once, ``delay_ms`` after
it ends. Then one job goes to the job runner; a newer one supersedes it (the runner drops its result).
While the panel is hidden nothing is computed; showing it measures what is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from gui.document.document import ImageDocument
from gui.jobs.live_result import LiveResult
from gui.jobs.measurements import MeasureRequest, SkeletonCache, compute, measure_job, measure_request
from gui.jobs.runner import Job, JobRunner

if TYPE_CHECKING:
    from core.measure.biomarkers import BiomarkerReport

#: The job runner kind of the measurements.
MEASURE_KIND = "measure"
#: How long after the last change the measuring starts: long enough to let a slider's or a spin box's
#: run of changes settle into one job, short beside the ~150 ms the measuring takes on a DRIVE image (a
#: stroke is one change, sent when the drag ends).
DELAY_MS = 60


class LiveMeasurements(LiveResult):
    #: the values shown are out of date; new ones are on their way
    stale = Signal()
    #: the report of the shown document, as it is now
    measured = Signal(object)
    #: the biomarkers cannot be computed: one line saying why
    failed = Signal(str)
    #: nothing to measure (no image, no vessel mask): what to do
    empty = Signal(str)

    def __init__(self, jobs: JobRunner, parent: QObject | None = None, delay_ms: int = DELAY_MS) -> None:
        super().__init__(jobs, MEASURE_KIND, delay_ms, True, parent)
        self._cache = SkeletonCache()  # the worker's; never touched here
        self.document: ImageDocument | None = None
        self.field_angle_deg: float | None = None
        self.report: BiomarkerReport | None = None  # the last report delivered, for the shown document
        self._connections: list[tuple] = []

    # what to follow --------------------------------------------------------------------------------
    def set_document(self, doc: ImageDocument | None) -> None:
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self.document = doc
        self.report = None
        self._connections = []
        if doc is not None:
            self._connections = [(s, self.changed) for s in (
                doc.maskChanged, doc.labelsChanged, doc.discChanged, doc.thresholdChanged, doc.predictionChanged,
                doc.fovChanged)]
            for signal, slot in self._connections:
                signal.connect(slot)
        self.changed()

    def set_field_angle(self, degrees: float | None) -> None:
        """The camera's field of view, which gives a scale when the file states none (None: unknown)."""
        if degrees != self.field_angle_deg:
            self.field_angle_deg = degrees
            self.changed()

    def set_active(self, active: bool) -> None:
        """Measure only while the values are seen; becoming active measures what changed meanwhile."""
        self._active = active
        if active and not self.current:
            self.changed()
        elif not active:
            self.timer.stop()

    # the live loop -------------------------------------------------------------------------------------
    def changed(self, *_args: object) -> None:
        """Something the biomarkers depend on changed: the values are stale, measure after a pause."""
        self._changed()
        if self.document is None or self.document.mask is None:
            self._cancel()
            self.report = None
            self.empty.emit("No image open." if self.document is None else
                            "Segment the image or draw vessels to measure them.")
            return
        self.stale.emit()

    def measure_now(self) -> int | None:
        """Start measuring at once (skipping the pause); the request id, None when there is nothing to measure."""
        return self._submit_now()

    @property
    def _result(self) -> BiomarkerReport | None:
        return self.report

    def _job(self) -> Job | None:
        request = measure_request(self.document, self.field_angle_deg) if self.document is not None else None
        return None if request is None else measure_job(self._cache, request)

    def _delivered(self, report: BiomarkerReport) -> None:  # type: ignore[override]
        self.report = report
        self.measured.emit(report)

    def _failed(self, message: str, latest: bool) -> None:
        if latest:
            self.failed.emit(message)

    # export --------------------------------------------------------------------------------------------
    def for_export(self, doc: ImageDocument) -> Callable[[], BiomarkerReport] | None:
        """What an export of ``doc`` runs in its worker to get the biomarkers: the report shown when it is
        current, else a computation from copies taken now (never this object's cache: another thread).
        None when ``doc`` has no vessel mask."""
        if doc is self.document and self.current:
            report = self.report
            return lambda: report  # type: ignore[return-value]
        request: MeasureRequest | None = measure_request(doc, self.field_angle_deg)
        if request is None:
            return None
        return lambda: compute(request)
