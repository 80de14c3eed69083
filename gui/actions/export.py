"""Export of one document's results, and the Save / Discard / Cancel question for unsaved edits.

Export writes ``<stem>_mask.png``, ``_prob.png`` (when segmented), ``_overlay.png`` (as seen: the
mask colour and opacity of the overlay), ``_info.json``, ``_av.png`` when the image has artery/vein labels
(red artery, blue vein, green crossing: the datasets' colours, whatever the screen shows; crossings marked where
an artery touches a vein as ``retinaseg segment --av`` marks them, gui.jobs.crossings) and, for a DICOM
image, ``_seg.dcm`` (a DICOM Segmentation; the sidecar then names no patient unless "Include Patient
Identifiers" is on) into a folder the user picks; the sidecar's ``measurements`` hold the optic disc (centre,
diameter, and whether the detector found it or a hand placed it) and how the artery/vein labels came about
(with ``crossing_pixels``, as the CLI records it), and ``biomarkers``, the vessel biomarkers, which also go to
``<stem>_biomarkers.csv`` (gui.jobs.measurements_export; measured in the worker, or the Measurements panel's
values when they are up to date).
Everything goes through core.io.export.export_all: atomic writes, one overwrite question for all existing
files, a clear message for a missing or read-only folder. The files are written in the job runner's thread
(about a second for a 3504×2336 image) while the window keeps painting; the overwrite question stays on the
GUI thread. A successful export marks the document's undo stack clean, which clears the window's modified
marker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from core.errors import ExportExistsError, ImageWriteError
from core.io.artery_vein import CROSSING, artery_and_vein_masks
from core.io.dicom_seg import export_dicom_seg
from core.io.export import ExportInfo, default_export_paths, export_all, export_artery_vein, make_info
from core.io.outputs import OutputNames, input_stem
from core.measure.plausibility import result_warnings
from core.resources import default_model_path
from gui.canvas.style import OverlayStyle
from gui.dialogs import prompts
from gui.document.document import ARTERIES_VEINS, ImageDocument
from gui.document.unsaved import unsaved_changes
from gui.jobs.crossings import marked_labels
from gui.jobs.measurements_export import csv_path, with_biomarkers
from gui.jobs.runner import JobRunner
from gui.settings import AppSettings

Report = Callable[[str, str], None]


def revert_to_saved(doc: ImageDocument) -> None:
    """Undo back to the last export (the undone steps stay redoable)."""
    stack = doc.undo_stack
    stack.setIndex(stack.cleanIndex() if stack.cleanIndex() >= 0 else 0)
    stack.setClean()


class Exporter(QObject):
    exported = Signal(object, object)  # ImageDocument, list[Path] written
    discarded = Signal(object)  # ImageDocument whose unsaved edits the user discarded

    def __init__(self, parent: QWidget, jobs: JobRunner, settings: AppSettings, style: OverlayStyle,
                 model_path: Callable[[], str | None], report: Report) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self._jobs = jobs
        self._waiting: set[int] = set()
        self._outcomes: dict[int, tuple[bool, Any]] = {}
        jobs.finished.connect(lambda rid, written: self._note(rid, True, written))
        jobs.failed.connect(lambda rid, message: self._note(rid, False, message))
        self.settings = settings
        self.overlay_style = style
        self._model_path = model_path
        self._report = report
        #: exports from a DICOM image name the patient and study only when the user turns this on
        self.include_identifiers = False
        #: document -> what the export's worker runs to get its biomarkers (None: no biomarkers exported)
        self.biomarkers: Callable[[ImageDocument], Callable[[], Any] | None] | None = None
        #: document -> what the export's worker runs to get its artery/vein labels with the crossings marked
        #: (None without labels); the window gives LiveCrossings.for_export, which reuses the marks shown
        self.crossings: Callable[[ImageDocument], Callable[[], np.ndarray] | None] = marked_labels

    def ask_folder(self, doc: ImageDocument | None = None) -> str:
        start = self.settings.export_dir or (str(doc.path.parent) if doc is not None and doc.path else "")
        return QFileDialog.getExistingDirectory(self.parent_widget, "Export to folder", start)

    def export(self, doc: ImageDocument | None, folder: str | None = None) -> bool:
        """Export ``doc`` into ``folder`` (asked when None); True when the files were written."""
        if doc is None or doc.mask is None:
            self._report("Nothing to export", "Segment the image or draw a mask first.")
            return False
        folder = folder or self.ask_folder(doc)
        if not folder:
            return False
        self.settings.export_dir = folder
        stem = input_stem(doc.path) if doc.path is not None else "untitled"
        color = self.overlay_style.mask_qcolor
        probability = doc.probability
        args = dict(mask=doc.mask.copy(), probability=None if probability is None else probability.copy(),
                    image=doc.image, info=self._info(doc), color=(color.red(), color.green(), color.blue()),
                    opacity=self.overlay_style.values.mask_opacity)
        paths = default_export_paths(folder, stem)
        crossings = self.crossings(doc)
        # the labels with their crossings marked, found once in the worker for <stem>_av.png and the SEG (the
        # export may be written twice, after the overwrite question)
        marked = functools.cache(crossings) if crossings is not None else None
        args["extra"] = self._dicom_seg(doc, folder, stem, marked)
        complete = self._with_artery_vein(folder, stem, marked, self._with_biomarkers(doc, folder, stem, args))
        written = self._write(lambda: export_all(paths, overwrite=False, **complete()))
        if isinstance(written, ExportExistsError):
            if not prompts.ask_overwrite(self.parent_widget, written.paths):
                return False
            written = self._write(lambda: export_all(paths, overwrite=True, **complete()))
        if isinstance(written, BaseException):
            self._report("Cannot export", str(written))
            return False
        # no edit can have happened meanwhile (the wait takes no input): clean matches the exported pixels
        doc.undo_stack.setClean()
        self.exported.emit(doc, written)
        return True

    def _write(self, work: Callable[[], list[Path]]) -> list[Path] | BaseException:
        """Run ``work`` in the worker under a wait cursor and wait for it: the files written, or the
        expected error (ExportExistsError, ImageWriteError, OSError, ValueError) to handle here."""

        def job(_progress: object, _cancel: object) -> list[Path] | BaseException:
            try:
                return work()
            except (ImageWriteError, OSError, ValueError) as exc:  # ExportExistsError is an ImageWriteError
                return exc

        QApplication.setOverrideCursor(QCursor(Qt.CursorShape.WaitCursor))
        try:
            rid = self._jobs.submit(job, kind="export")
            self._waiting.add(rid)
            self._jobs.wait(rid)
        finally:
            QApplication.restoreOverrideCursor()
        self._waiting.discard(rid)
        ok, outcome = self._outcomes.pop(rid, (False, "the export did not finish"))
        return outcome if ok else ImageWriteError(f"cannot export: {outcome}")

    def _note(self, rid: int, ok: bool, outcome: Any) -> None:
        """Keep the outcome of the export being waited for (the runner's other jobs are not ours)."""
        if rid in self._waiting:
            self._outcomes[rid] = (ok, outcome)

    def _info(self, doc: ImageDocument) -> ExportInfo:
        info = doc.prediction_info
        model_path = (self._model_path() or str(default_model_path())) if info is not None else ""
        made = make_info(doc.path or doc.name, doc.mask, doc.fov, model=info.model if info else "none",
                         model_path=model_path, threshold=doc.threshold, edited_by_hand=doc.has_manual_edits,
                         warnings=result_warnings(doc.prediction, doc.vessel_fraction(), doc.model_artery_vein),
                         metadata=doc.metadata,
                         include_identifiers=self.include_identifiers)
        return replace(made, measurements={**made.measurements, **_artery_vein_measurements(doc)})

    def _with_biomarkers(self, doc: ImageDocument, folder: str, stem: str,
                         args: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        """export_all's arguments for the worker, with the biomarkers measured there (sidecar block and
        ``<stem>_biomarkers.csv``) when :attr:`biomarkers` gives them."""
        measure = self.biomarkers(doc) if self.biomarkers is not None else None
        if measure is None:
            return lambda: args
        return with_biomarkers(args, measure, csv_path(folder, stem))

    def _with_artery_vein(self, folder: str, stem: str, marked: Callable[[], np.ndarray] | None,
                          complete: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        """``complete`` (export_all's arguments, made in the worker) with ``<stem>_av.png`` when there are
        artery/vein labels (``marked``: run in the worker, their copy with the crossings marked), their
        crossing pixels counted in the sidecar's ``arteries_veins`` entry."""
        if marked is None:
            return complete
        path = OutputNames(folder, stem).av

        def with_av() -> dict[str, Any]:
            args = complete()
            labels = marked()
            info = args["info"]
            entry = {**info.measurements.get("arteries_veins", {}), "crossing_pixels": int((labels == CROSSING).sum())}
            return {**args, "info": replace(info, measurements={**info.measurements, "arteries_veins": entry}),
                    "extra": [(path, lambda p: export_artery_vein(p, labels, overwrite=True)), *args["extra"]]}

        return with_av

    def _dicom_seg(self, doc: ImageDocument, folder: str, stem: str, marked: Callable[[], np.ndarray] | None
                   ) -> list[tuple[Path, Callable[[Path], Path]]]:
        """The DICOM Segmentation of a single-frame DICOM image (with arteries and veins when ``marked`` gives
        the labels: crossings in both segments), to write beside the other files; none for other images."""
        meta = doc.metadata
        if doc.path is None or doc.mask is None or meta is None or meta.dicom is None \
                or meta.dicom.number_of_frames > 1:
            return []
        source, vessel, edited = doc.path, doc.mask.copy(), doc.has_manual_edits  # copied: written in the worker
        model = doc.prediction_info.model if doc.prediction_info else ""

        def write(path: Path) -> Path:
            arteries, veins = (None, None) if marked is None else artery_and_vein_masks(marked())
            return export_dicom_seg(path, source, vessel, arteries, veins, model=model, edited_by_hand=edited,
                                    overwrite=True)

        return [(OutputNames(folder, stem).seg, write)]

    def resolve_unsaved(self, docs: Sequence[ImageDocument], revert: bool) -> bool:
        """Ask Save / Discard / Cancel for the modified ones among ``docs``; True when it is fine to go on.

        Save exports each (one folder question); Discard forgets the changes since the last export
        (``revert``: undo them, keeping them redoable, for an image that stays open). An image that stays
        open loses nothing but hand edits are asked about: a result alone (a new prediction, a moved
        threshold) stays with it unasked.
        """
        found = [(d, u) for d in docs if (u := unsaved_changes(d)) is not None and (u.hand_edits or not revert)]
        if not found:
            return True
        modified = [d for d, _ in found]
        answer = prompts.ask_unsaved(self.parent_widget, [u for _, u in found])
        if answer == "cancel":
            return False
        if answer == "discard":
            for d in modified:
                if revert:
                    revert_to_saved(d)
                self.discarded.emit(d)
            return True
        folder = self.ask_folder(modified[0])
        return bool(folder) and all(self.export(d, folder) for d in modified)




def _artery_vein_measurements(doc: ImageDocument) -> dict[str, Any]:
    """The sidecar's ``optic_disc`` (the circle with how it was placed, or why none was found) and
    ``arteries_veins`` (model, hand edits) entries, for what ``doc`` has."""
    found: dict[str, Any] = {}
    if doc.disc is not None:
        found["optic_disc"] = doc.disc.as_dict()
    result = doc.state.results.get(ARTERIES_VEINS)
    if result is not None and result.mask is not None:
        model = result.prediction.info.get("model", "") if result.prediction is not None else ""
        found["arteries_veins"] = {"model": str(model), "edited_by_hand": bool(result.has_manual_edits)}
    return found


def written_summary(paths: Sequence[Path]) -> str:
    if not paths:
        return "nothing written"
    return f"{len(paths)} files in {paths[0].parent}: " + ", ".join(p.name for p in paths)
