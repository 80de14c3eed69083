"""Batch dialog: segment a whole folder in a worker thread with progress, cancel and a list of failures.

The job runs core.batch (the same code as ``retinaseg segment DIR -o OUT``) in the dialog's own job runner
(a batch must not hold up the window's segmentations) with a predictor of its own, and talks to the
dialog only through the runner's signals. Cancel is cooperative (checked between files); files already
written are kept. Per-file errors are listed at the end. "Find arteries and veins" also writes
``<name>_av.png`` and ``<name>_info.json`` (the optic disc and the labels' summary), as ``segment --av`` does,
with an artery/vein predictor built once for the batch from the same factory. "Measure biomarkers" writes
``results.csv``, a row per image with its biomarkers (gui.jobs.measurements_batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.batch import ArteryVeinStep, BatchSummary, plan, run_batch
from core.batch.table import CSV_NAME
from core.predict.prediction import Predictor
from core.resources import default_artery_vein_model_path
from gui.jobs.measurements_batch import run_measured
from gui.jobs.runner import Job, JobProgress, JobRunner
from gui.settings import AppSettings

#: (model path or None for the default model, device name) -> a predictor of the batch's own
PredictorFactory = Callable[[str | None, str], Predictor]


@dataclass(frozen=True)
class BatchRequest:
    input_dir: Path
    output_dir: Path
    threshold: float | None
    save_prob: bool
    overwrite: bool
    model_path: str | None
    device: str
    #: also type the vessels as arteries and veins and find the optic disc (``segment --av``)
    artery_vein: bool = False
    #: the artery/vein checkpoint (None: the shipped one)
    av_model_path: str | None = None
    #: measure every result's biomarkers into one results.csv (gui.jobs.measurements_batch)
    measure: bool = False
    #: the camera's field of view, for the biomarkers in µm and mm (None: unknown)
    field_angle_deg: float | None = None


def batch_job(factory: PredictorFactory, request: BatchRequest) -> Job:
    """A job segmenting a folder; each file's line ("" or "FAILED …") becomes a notice."""

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> BatchSummary:
        def report(done: int, total: int, line: str) -> None:
            progress(done, total)
            if line:
                progress.notice(line)

        predictor = factory(request.model_path, request.device)
        step = None
        if request.artery_vein:
            av_model = request.av_model_path or str(default_artery_vein_model_path())
            step = ArteryVeinStep(factory(av_model, request.device), Path(av_model).name)
        jobs = plan([request.input_dir], request.output_dir, save_prob=request.save_prob, overwrite=request.overwrite,
                    artery_vein=request.artery_vein)
        if request.measure:
            model = Path(getattr(predictor, "model_path", None) or request.model_path or "").name
            return run_measured(jobs, predictor, request.threshold, model=model,
                                field_angle_deg=request.field_angle_deg, artery_vein=step, progress=report,
                                should_cancel=should_cancel)
        return run_batch(jobs, predictor, request.threshold, report, should_cancel, artery_vein=step)

    return run


class BatchDialog(QDialog):
    """Choose folders and options, run, watch progress, cancel; the summary stays visible at the end."""

    finished_run = Signal(object)  # BatchSummary, or None after a failure

    def __init__(self, factory: PredictorFactory, settings: AppSettings, model_path: Callable[[], str | None],
                 device: Callable[[], str], threshold: float | None = None, parent: QWidget | None = None,
                 av_model_path: Callable[[], str | None] = lambda: None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch Segment Folder")
        self.settings = settings
        self._factory = factory
        self._model_path = model_path
        self._av_model_path = av_model_path
        self._device = device
        self._request: int | None = None
        self._stopping = False
        self.summary: BatchSummary | None = None
        in_dir, out_dir = settings.batch_dirs
        self.input_edit = QLineEdit(in_dir)
        self.output_edit = QLineEdit(out_dir)
        self.use_model_threshold = QCheckBox("Model's threshold")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.01)
        self.threshold.setValue(0.5 if threshold is None else threshold)
        self.use_model_threshold.setChecked(threshold is None)
        self.threshold.setEnabled(threshold is not None)
        self.use_model_threshold.toggled.connect(lambda on: self.threshold.setEnabled(not on))
        self.save_prob = QCheckBox("Also write probability maps (<name>_prob.png, 16-bit)")
        self.overwrite = QCheckBox("Replace existing results")
        self.artery_vein = QCheckBox("Find arteries and veins (<name>_av.png; the optic disc and a summary "
                                     "in <name>_info.json)")
        self.measure = QCheckBox("Measure biomarkers (results.csv: a row per image)")
        self.field_angle = QDoubleSpinBox()
        self.field_angle.setRange(0.0, 220.0)
        self.field_angle.setDecimals(0)
        self.field_angle.setSuffix("°")
        self.field_angle.setSpecialValueText("unknown")
        self.field_angle.setToolTip("The camera's field of view (45° for most fundus cameras): the biomarkers "
                                    "in µm and mm too; unknown: pixels only, unless a DICOM file states its scale")
        self.field_angle.setEnabled(False)
        self.measure.toggled.connect(self.field_angle.setEnabled)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("Writes <name>_mask.png for every image of the input folder.")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setPlaceholderText("Files that fail are listed here; the others are kept.")
        self.buttons = QDialogButtonBox()
        self.run_button = self.buttons.addButton("Run", QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = self.buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

        form = QFormLayout()
        form.addRow("Input folder", self._with_browse(self.input_edit, "Folder of images to segment"))
        form.addRow("Output folder", self._with_browse(self.output_edit, "Folder for the results"))
        row = QHBoxLayout()
        row.addWidget(self.use_model_threshold)
        row.addWidget(self.threshold)
        row.addStretch(1)
        form.addRow("Threshold", row)
        form.addRow(self.save_prob)
        form.addRow(self.artery_vein)
        measure_row = QHBoxLayout()
        measure_row.addWidget(self.measure)
        measure_row.addWidget(QLabel("Field angle"))
        measure_row.addWidget(self.field_angle)
        measure_row.addStretch(1)
        form.addRow(measure_row)
        form.addRow(self.overwrite)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.buttons)
        self.resize(620, 460)

        #: the batch's own worker thread; its signals are public (tests watch progress through them)
        self.jobs = JobRunner("batch", self)
        self.jobs.progress.connect(self._on_progress)
        self.jobs.notice.connect(self._on_line)
        self.jobs.finished.connect(self._on_finished)
        self.jobs.failed.connect(self._on_failed)
        self.jobs.cancelled.connect(self._on_cancelled)

    def _with_browse(self, edit: QLineEdit, title: str) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        b = QPushButton("Browse…")
        b.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(b)
        return w

    def _browse(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text())
        if folder:
            edit.setText(folder)

    @property
    def running(self) -> bool:
        return self._request is not None

    def start(self) -> bool:
        """Start the batch with the dialog's values; False (with a message) when they are incomplete."""
        if self.running:
            return False
        src, dst = self.input_edit.text().strip(), self.output_edit.text().strip()
        if not src or not Path(src).is_dir():
            self.status.setText("Choose an input folder that exists.")
            return False
        if not dst:
            self.status.setText("Choose an output folder.")
            return False
        self.settings.set_batch_dirs(src, dst)
        request = BatchRequest(Path(src), Path(dst),
                               None if self.use_model_threshold.isChecked() else self.threshold.value(),
                               self.save_prob.isChecked(), self.overwrite.isChecked(),
                               self._model_path(), self._device(), self.artery_vein.isChecked(),
                               self._av_model_path(), measure=self.measure.isChecked(),
                               field_angle_deg=self.field_angle.value() or None)
        self._stopping = False
        self.summary = None
        self.log.clear()
        self.progress.setRange(0, 0)
        self.status.setText("Loading the model…")
        self._set_running(True)
        self._request = self.jobs.submit(batch_job(self._factory, request), kind="batch")
        return True

    def cancel(self) -> None:
        """Stop after the file in progress (files already written are kept)."""
        if self._request is not None and not self._stopping:
            self._stopping = True
            self.jobs.request_stop(self._request)  # the summary of the files written still arrives
            self.status.setText("Stopping after the current file…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.input_edit, self.output_edit, self.save_prob, self.overwrite, self.artery_vein, self.measure):
            w.setEnabled(not running)
        self.field_angle.setEnabled(not running and self.measure.isChecked())

    def _on_progress(self, _rid: int, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        if not self._stopping:
            self.status.setText(f"{done} of {total} images")

    def _on_line(self, _rid: int, line: str) -> None:
        self.log.appendPlainText(line)

    def _on_finished(self, _rid: int, summary: BatchSummary) -> None:
        self._request = None
        self.summary = summary
        self._set_running(False)
        self.progress.setRange(0, max(1, len(summary.done) + len(summary.failed)))
        self.progress.setValue(self.progress.maximum())
        head = summary.text().splitlines()[0]
        table = " (biomarkers in results.csv)" if any(p.name == CSV_NAME for p in summary.written) else ""
        self.status.setText(f"{head}. Results in {self.output_edit.text()}{table}")
        if summary.failed:
            self.log.setPlainText("\n".join(f"FAILED {p.name}: {why}" for p, why in summary.failed))
        self.finished_run.emit(summary)

    def _on_failed(self, _rid: int, message: str) -> None:
        self._request = None
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"Batch failed: {message}")
        self.finished_run.emit(None)

    def _on_cancelled(self, _rid: int) -> None:  # only on shutdown: a stop still delivers the summary
        self._request = None
        self._set_running(False)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel a running batch and wait for the thread (idempotent)."""
        return self.jobs.shutdown(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.cancel()  # closing stops the batch; the thread ends after the current file
        super().closeEvent(event)
