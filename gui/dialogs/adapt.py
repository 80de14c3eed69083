"""Model > Adapt to my images…: fine-tune the current model on the images the user corrected by hand.

Three pages. **Images**: the corrected images found (open ones with hand edits, and hand-edited exports
in the export folders), each with a thumbnail and how much was corrected; any can be unticked.
**Adapting**: progress, time left, Cancel; the run is a job of the window's runner (gui.jobs.adapt), so
the window stays responsive. **Result**: F1 on the held-out image before and after, and the pixels still
wrong on the images used; Keep saves a model version and hands it on (``kept``) to become the current
model, Discard forgets it. A run that went wrong says why and offers no Keep. Nothing is written before
Keep, so Cancel and Discard leave no file.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.adapt.corrections import FinetuneSettings
from core.io.model_versions import ModelVersion, ModelVersionStore
from core.io.outputs import input_stem
from gui.dialogs.adapt_result import ResultPage
from gui.jobs.adapt import (
    THUMBNAIL_SIZE,
    AdaptRequest,
    AdaptResult,
    Candidate,
    Finetune,
    LoadBase,
    adapt_job,
    document_candidate,
    find_job,
    save_job,
)
from gui.jobs.runner import JobRunner

FIND_KIND, ADAPT_KIND, SAVE_KIND = "adapt-find", "adapt", "adapt-save"
HELD_OUT_NOTE = "kept aside to check the new model"


def open_candidates(documents: Sequence[Any]) -> list[Candidate]:
    """The open images whose vessel mask holds hand edits."""
    found = []
    for doc in documents:
        if doc.mask is None or not doc.has_manual_edits:
            continue
        found.append(document_candidate(input_stem(doc.name), doc.path, doc.image, doc.mask, doc.model_mask(),
                                        doc.fov))
    return found


def _icon(rgb: np.ndarray | None, size: int = THUMBNAIL_SIZE) -> QIcon:
    """The thumbnail centred on a transparent square, so every row's text starts at the same place."""
    square = QPixmap(size, size)
    square.fill(Qt.GlobalColor.transparent)
    if rgb is not None:
        a = np.ascontiguousarray(rgb, dtype=np.uint8)
        image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888)
        scaled = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        painter = QPainter(square)
        painter.drawImage((size - scaled.width()) // 2, (size - scaled.height()) // 2, scaled)
        painter.end()
    return QIcon(square)


class AdaptDialog(QDialog):
    kept = Signal(object)  # the ModelVersion saved: the window switches to it

    def __init__(self, jobs: JobRunner, store: ModelVersionStore, base_path: str | None, base_name: str,
                 documents: Sequence[Any] = (), folders: Sequence[str | Path] = (), parent: QWidget | None = None,
                 settings: FinetuneSettings | None = None, finetune: Finetune | None = None,
                 load_base: LoadBase | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adapt the model to my images")
        self.resize(640, 520)
        self._jobs, self._store = jobs, store
        self._base_path, self._base_name = base_path, base_name
        self._settings = settings or FinetuneSettings()
        self._finetune, self._load_base = finetune, load_base
        self._candidates: list[Candidate] = []
        self._finding: set[int] = set()
        self._run: int | None = None
        self.result: AdaptResult | None = None
        self._build()
        jobs.progress.connect(self._on_progress)
        jobs.notice.connect(self._on_notice)
        jobs.finished.connect(self._on_finished)
        jobs.failed.connect(self._on_failed)
        jobs.cancelled.connect(self._on_cancelled)
        self._add(open_candidates(documents))
        self._skip = {Path(d.path).resolve() for d in documents if getattr(d, "path", None) is not None}
        for folder in dict.fromkeys(Path(f) for f in folders if f):
            self.find_in(folder)

    # layout ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.pages = QStackedWidget()
        self.pages.addWidget(self._images_page())
        self.pages.addWidget(self._running_page())
        self.result_page = ResultPage()
        self.result_page.keep.clicked.connect(self.keep_result)
        self.result_page.discard.clicked.connect(self.discard_result)
        self.pages.addWidget(self.result_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)

    def _images_page(self) -> QWidget:
        page = QWidget()
        intro = QLabel(f"Starting from <b>{escape(self._base_name)}</b>, the model learns from the images whose vessel "
                       "masks you corrected by hand. Untick any it should not learn from. With two or more, the last "
                       "by name is kept aside to check the new model against your correction.")
        intro.setWordWrap(True)
        self.images = QListWidget()
        self.images.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.images.itemChanged.connect(lambda _item: self._update_images_page())
        self.add_folder = QPushButton("Add Export Folder…")
        self.add_folder.clicked.connect(self._ask_folder)
        self.minutes = QSpinBox()
        self.minutes.setRange(1, 60)
        self.minutes.setSuffix(" min")
        self.minutes.setValue(max(1, round(self._settings.minutes)))
        self.minutes.setToolTip("How long the model may learn (on this computer's processor)")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.start = QPushButton("Start")
        self.start.setDefault(True)
        self.start.clicked.connect(self.start_adapting)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.add_folder)
        row.addStretch(1)
        row.addWidget(QLabel("Time:"))
        row.addWidget(self.minutes)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.start)
        buttons.addWidget(close)
        v = QVBoxLayout(page)
        v.addWidget(intro)
        v.addWidget(self.images, 1)
        v.addLayout(row)
        v.addLayout(buttons)
        self._update_images_page()
        return page

    def _running_page(self) -> QWidget:
        page = QWidget()
        self.running_text = QLabel("Loading the model and the images…")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.time_left = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_adapting)
        note = QLabel("The window stays usable meanwhile; segmentations wait until adapting ends.")
        note.setWordWrap(True)
        v = QVBoxLayout(page)
        v.addStretch(1)
        v.addWidget(self.running_text)
        v.addWidget(self.progress)
        v.addWidget(self.time_left)
        v.addWidget(note)
        v.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        v.addLayout(row)
        return page

    # the images ------------------------------------------------------------------------------------
    def find_in(self, folder: Path) -> int:
        """Look for hand-edited exports in ``folder`` (in the worker); they join the list."""
        rid = self._jobs.submit(find_job([folder], self._skip), kind=f"{FIND_KIND}:{folder}")
        self._finding.add(rid)
        self._update_images_page()
        return rid

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with exported corrections")
        if folder:
            self.find_in(Path(folder))

    def _add(self, candidates: Sequence[Candidate]) -> None:
        taken = {c.name for c in self._candidates}
        blocker = self.images.blockSignals(True)
        try:
            for c in candidates:
                if c.image_path is not None and any(c.image_path == o.image_path for o in self._candidates):
                    continue  # the same image exported to two folders, or found twice
                name, n = c.name, 2
                while name in taken:  # names must be unique: the fine-tuning reports by name
                    name, n = f"{c.name} ({n})", n + 1
                c = c if name == c.name else _renamed(c, name)
                taken.add(name)
                self._candidates.append(c)
                item = QListWidgetItem(_icon(c.thumbnail), "")
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable if c.usable else Qt.ItemFlag(0)
                item.setFlags(flags)
                item.setCheckState(Qt.CheckState.Checked if c.usable else Qt.CheckState.Unchecked)
                self.images.addItem(item)
        finally:
            self.images.blockSignals(blocker)
        self._update_images_page()

    def ticked(self) -> list[Candidate]:
        return [c for i, c in enumerate(self._candidates)
                if c.usable and self.images.item(i).checkState() == Qt.CheckState.Checked]

    def _held_out(self, ticked: Sequence[Candidate]) -> str | None:
        """The image the fine-tuning will keep aside: the last by name, with two or more."""
        return max(c.name for c in ticked) if self._settings.hold_out and len(ticked) >= 2 else None

    def _update_images_page(self) -> None:
        ticked = self.ticked()
        held = self._held_out(ticked)
        blocker = self.images.blockSignals(True)
        try:
            for i, c in enumerate(self._candidates):
                title = c.name + (f"  ({HELD_OUT_NOTE})" if c.name == held else "")
                detail = f"cannot be used: {c.problem}" if c.problem else c.amount()
                self.images.item(i).setText(f"{title}\n{detail}\n{c.origin}")
        finally:
            self.images.blockSignals(blocker)
        searching = " Looking for exported corrections…" if self._finding else ""
        if not self._candidates:
            text = ("No corrected images yet: correct a segmentation by hand and export it (File > Export), "
                    "or add a folder of exports." + searching)
        else:
            text = f"{len(ticked)} of {len(self._candidates)} images ticked." + searching
        self.summary.setText(text)
        self.start.setEnabled(bool(ticked) and self._run is None)

    # running ---------------------------------------------------------------------------------------
    def start_adapting(self) -> int | None:
        ticked = self.ticked()
        if not ticked or self._run is not None:
            return None
        settings = FinetuneSettings(**{**{k: getattr(self._settings, k) for k in
                                          self._settings.__dataclass_fields__}, "minutes": float(self.minutes.value())})
        snapshots = tuple(c.snapshot(c.name) for c in ticked if c.snapshot is not None)
        request = AdaptRequest(self._base_path, self._base_name, tuple(ticked), snapshots, settings)
        self.result = None
        self.progress.setRange(0, 0)
        self.running_text.setText(f"Adapting {self._base_name} to {len(ticked)} image{'s' * (len(ticked) != 1)}…")
        self.time_left.setText("")
        self.pages.setCurrentIndex(1)
        self._run = self._jobs.submit(adapt_job(request, self._finetune, self._load_base), kind=ADAPT_KIND)
        return self._run

    def cancel_adapting(self) -> None:
        if self._run is not None:
            self._jobs.cancel(self._run)  # ``cancelled`` follows at once; the worker stops at its next check

    def _on_progress(self, rid: int, done: int, total: int) -> None:
        if rid == self._run and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.running_text.setText(f"Adapting: step {done} of about {total}")

    def _on_notice(self, rid: int, text: str) -> None:
        if rid == self._run:
            self.time_left.setText(text)

    def _on_finished(self, rid: int, result: object) -> None:
        if rid in self._finding:
            self._finding.discard(rid)
            self._add(result)  # type: ignore[arg-type]
        elif rid == self._run:
            self._run = None
            self._show_result(result)  # type: ignore[arg-type]

    def _on_failed(self, rid: int, message: str) -> None:
        if rid in self._finding:
            self._finding.discard(rid)
            self._update_images_page()
        elif rid == self._run:
            self._run = None
            self._back_to_images(f"Adapting failed: {message}")

    def _on_cancelled(self, rid: int) -> None:
        if rid in self._finding:
            self._finding.discard(rid)
            self._update_images_page()
        elif rid == self._run:
            self._run = None
            self._back_to_images("Cancelled: nothing was saved.")

    def _back_to_images(self, message: str) -> None:
        self.pages.setCurrentIndex(0)
        self._update_images_page()
        self.summary.setText(message)

    # the result ------------------------------------------------------------------------------------
    def _show_result(self, result: AdaptResult) -> None:
        self.result = result
        self.result_page.show_result(result)
        self.pages.setCurrentIndex(2)

    def keep_result(self) -> ModelVersion | None:
        """Save the result as a version (in the worker, waited for) and hand it on through ``kept``."""
        if self.result is None or not self.result.offered:
            return None
        ok, answer = self._jobs.call(save_job(self._store, self.result), kind=SAVE_KIND)
        if not ok:
            self.result_page.save_error.setText(f"Not saved: {answer}")
            return None
        self.result = None
        self.kept.emit(answer)
        self.accept()
        return answer

    def discard_result(self) -> None:
        self.result = None
        self._back_to_images("Discarded: nothing was saved.")

    # closing ---------------------------------------------------------------------------------------
    def done(self, code: int) -> None:  # accept, reject, Escape, the close button
        self.cancel_adapting()
        for rid in list(self._finding):
            self._jobs.cancel(rid)
        super().done(code)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.cancel_adapting()
        super().closeEvent(event)


def _renamed(c: Candidate, name: str) -> Candidate:
    from dataclasses import replace

    return replace(c, name=name)
