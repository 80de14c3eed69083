"""Batch dialog: segment a whole folder in a worker thread with progress, cancel and a list of failures.

The worker runs core.batch.segment_files (the same code as ``retinaseg segment DIR -o OUT``) in its own
QThread with its own segmenter, and talks to the dialog only through signals. Cancel is cooperative
(checked between files); files already written are kept. Per-file errors are listed at the end.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot
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

from core.batch import BatchSummary, segment_files
from core.errors import error_message
from gui.gc_guard import collect_on_gui_thread
from gui.settings import AppSettings

#: (model path or None for the default model, device name) -> a Segmenter-like object (predict, threshold)
SegmenterFactory = Callable[[str | None, str], Any]


@dataclass(frozen=True)
class BatchRequest:
    input_dir: Path
    output_dir: Path
    threshold: float | None
    save_prob: bool
    overwrite: bool
    model_path: str | None
    device: str


class BatchWorker(QObject):
    """Runs one batch at a time in its thread; ends with exactly one ``finished`` or ``failed``."""

    progress = Signal(int, int, str)  # done, total, line ("" or "FAILED …")
    finished = Signal(object)  # BatchSummary
    failed = Signal(str)

    def __init__(self, factory: SegmenterFactory) -> None:
        super().__init__()
        self.factory = factory

    @Slot(object, object)
    def run(self, request: BatchRequest, cancel: threading.Event) -> None:
        try:
            segmenter = self.factory(request.model_path, request.device)
            summary = segment_files(segmenter, [request.input_dir], request.output_dir, request.threshold,
                                    save_prob=request.save_prob, overwrite=request.overwrite,
                                    report=lambda done, total, line: self.progress.emit(done, total, line),
                                    should_cancel=cancel.is_set)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the dialog (see gui.jobs.inference)
            traceback.print_exc()
            self.failed.emit(error_message(exc))
            return
        self.finished.emit(summary)


class BatchDialog(QDialog):
    """Choose folders and options, run, watch progress, cancel; the summary stays visible at the end."""

    finished_run = Signal(object)  # BatchSummary, or None after a failure

    _start = Signal(object, object)

    def __init__(self, factory: SegmenterFactory, settings: AppSettings, model_path: Callable[[], str | None],
                 device: Callable[[], str], threshold: float | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch Segment Folder")
        self.settings = settings
        self._model_path = model_path
        self._device = device
        self._cancel: threading.Event | None = None
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
        form.addRow(self.overwrite)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.buttons)
        self.resize(620, 460)

        collect_on_gui_thread()  # Qt objects must never be garbage-collected in the worker thread
        self._thread = QThread(self)
        self._thread.setObjectName("batch")
        self._worker = BatchWorker(factory)
        self._worker.moveToThread(self._thread)
        self._start.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()

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
        return self._cancel is not None

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
                               self._model_path(), self._device())
        self._cancel = threading.Event()
        self.summary = None
        self.log.clear()
        self.progress.setRange(0, 0)
        self.status.setText("Loading the model…")
        self._set_running(True)
        self._start.emit(request, self._cancel)
        return True

    def cancel(self) -> None:
        """Stop after the file in progress (files already written are kept)."""
        if self._cancel is not None:
            self._cancel.set()
            self.status.setText("Stopping after the current file…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for w in (self.input_edit, self.output_edit, self.save_prob, self.overwrite):
            w.setEnabled(not running)

    def _on_progress(self, done: int, total: int, line: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        if self._cancel is not None and not self._cancel.is_set():
            self.status.setText(f"{done} of {total} images")
        if line:
            self.log.appendPlainText(line)

    def _on_finished(self, summary: BatchSummary) -> None:
        self._cancel = None
        self.summary = summary
        self._set_running(False)
        self.progress.setRange(0, max(1, len(summary.done) + len(summary.failed)))
        self.progress.setValue(self.progress.maximum())
        head = summary.text().splitlines()[0]
        self.status.setText(f"{head}. Results in {self.output_edit.text()}")
        if summary.failed:
            self.log.setPlainText("\n".join(f"FAILED {p.name}: {why}" for p, why in summary.failed))
        self.finished_run.emit(summary)

    def _on_failed(self, message: str) -> None:
        self._cancel = None
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(f"Batch failed: {message}")
        self.finished_run.emit(None)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Cancel a running batch and wait for the thread (idempotent)."""
        if self._cancel is not None:
            self._cancel.set()
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        return self._thread.wait(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.cancel()  # closing stops the batch; the thread ends after the current file
        super().closeEvent(event)
