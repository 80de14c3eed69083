"""MainWindow: composition of canvas, controls, menus and status bar around the job runners.

The window holds no model logic: documents (gui.document.document) hold the data, two job runners
(gui.jobs.runner) run segmentation, artery/vein labelling, device probing, model checks and the live
biomarkers in one thread, exports and image reads in another, widgets show one concern each. Editing
(gui.actions.editing), arteries, veins and the optic disc (gui.actions.artery_vein), the Measurements dock
(gui.widgets.measurements_dock), export and the unsaved-edits question (gui.actions.export), autosave
(gui.document.autosave) and the batch dialog (gui.dialogs.batch) live in their own modules; this file only
wires them together.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QFrame,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from core.errors import ImageReadError
from core.io.dicom_reader import frame_count, is_dicom_file
from core.io.images import READABLE_SUFFIXES, is_image_file, list_images, load_image
from core.io.loaded import LoadedImage
from core.predict.service import PredictionService, SegmentRequest
from core.resources import default_model_path
from gui.actions import shortcuts
from gui.actions.artery_vein import LABEL_KIND, ArteryVeinUi
from gui.actions.brush_sizes import BrushSizes
from gui.actions.device_choice import DeviceChoice
from gui.actions.editing import EditingUi
from gui.actions.export import Exporter, written_summary
from gui.actions.model_choice import ModelChoice
from gui.actions.model_versions import ModelVersionsUi
from gui.canvas.style import OverlayStyle
from gui.canvas.view import ImageCanvas
from gui.dialogs.batch import BatchDialog
from gui.dialogs.frame_choice import ask_frame
from gui.dialogs.messages import open_message
from gui.dialogs.model_card import open_model_card
from gui.document.autosave import Autosaver, offer_recovery
from gui.document.display import DisplayArrays
from gui.document.document import ImageDocument
from gui.document.session import ImageSession
from gui.jobs.crossings import LiveCrossings
from gui.jobs.runner import JobRunner
from gui.jobs.segment import SegmentResult, segment_job
from gui.settings import AppSettings
from gui.widgets.dicom_info import DicomInfoPanel, window_name
from gui.widgets.measurements_dock import MeasurementsDock
from gui.widgets.overlay_controls import OverlayControls
from gui.widgets.result_info import ResultInfo
from gui.widgets.status import StatusPanel
from gui.widgets.threshold import ThresholdControl

PROBE_DELAY_MS = 250
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in READABLE_SUFFIXES) + ");;All files (*)"


class MainWindow(QMainWindow):
    #: a segmentation ended: (success, message); used by --segment --screenshot and tests
    segmentFinished = Signal(bool, str)
    #: an error was reported to the user (dialog or, in headless mode, stderr)
    errorShown = Signal(str)
    modelChanged = Signal(str)
    devicesKnown = Signal(object)

    def __init__(self, settings: AppSettings | None = None, service: PredictionService | None = None,
                 model_path: str | None = None, device: str | None = None, headless: bool = False,
                 autosave_dir: str | os.PathLike[str] | None = None, av_service: PredictionService | None = None,
                 av_model_path: str | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        # headless (--screenshot runs): errors on stderr instead of dialogs, and no modal questions
        self.headless = headless
        self.last_error = ""
        self._pending: dict[int, ImageDocument] = {}  # segmentation request -> the document it is for
        self._probe: int | None = None
        #: the read in flight: request id, index, path, direction of the step
        self._opening: tuple[int, int, Path, int] | None = None

        self.overlay_style = OverlayStyle(self)
        self.overlay_style.restore(self.settings.overlay())
        self.session = ImageSession(self)
        #: model cache and GPU fallback; used in the job runner's thread only (the batch gets its factory)
        self.service = service or PredictionService()
        self.jobs = JobRunner("jobs", self)
        #: files have a thread of their own: an export or an image read never waits behind a segmentation
        self.io_jobs = JobRunner("io", self)
        self.models = ModelChoice(self.jobs, self.service, self.settings, model_path, self)
        self.devices_choice = DeviceChoice(self.settings, device or self.settings.device, self)
        self.canvas = ImageCanvas(self.overlay_style, self)
        self.setCentralWidget(self.canvas)
        self.editing = EditingUi(self, self.report_error, IMAGE_FILTER, lambda: self.settings.last_dir)
        tool_input = self.canvas.set_tools(self.editing.tools)
        #: arteries, veins and the optic disc; its model has a service (a predictor cache) of its own
        self.av = ArteryVeinUi(self, self.jobs, av_service or PredictionService(), self.settings, self.overlay_style,
                               lambda: self.document, lambda: self.devices_choice.name, self.segment, av_model_path,
                               ask=not headless)
        tool_input.swap_segment = self.av.swap_at
        self.brush_sizes = BrushSizes(self.editing.tools, self.settings, self)
        self.exporter = Exporter(self, self.io_jobs, self.settings, self.overlay_style, lambda: self.models.path,
                                 self.report_error)
        #: where arteries touch veins, found on the shown labels by the job runner; drawn and exported, never stored
        self.crossings = LiveCrossings(self.jobs, self)
        self.canvas.layer("arteries_veins").draw_crossings(self.crossings)  # type: ignore[attr-defined]
        self.exporter.crossings = self.crossings.for_export
        #: adapted model versions in the Model menu, and Model > Adapt to My Images…
        self.versions = ModelVersionsUi(self, self.models, self.jobs, self.io_jobs, self.settings,
                                        lambda: self.session.documents, self.report_error)
        self.autosave = Autosaver(autosave_dir, parent=self)
        self.batch_dialog: BatchDialog | None = None
        self.card_dialog: QDialog | None = None  # the last model card shown
        self.threshold = ThresholdControl()
        self.overlay_controls = OverlayControls(self.overlay_style)
        self.result_info = ResultInfo()
        self.dicom_info = DicomInfoPanel()
        self._build_dock()
        #: the biomarkers of the shown image, beside the Result dock; measured by the job runner
        self.measurements = MeasurementsDock(self.jobs, self.canvas.layer("calibre_vessels"), self)  # type: ignore[arg-type]
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.measurements, Qt.Orientation.Horizontal)
        # Closed until asked for, then as the user left it: beside the Result dock it takes a third of a laptop's
        # width from the image (only the user's own toggles are remembered, not the hiding of a closing window).
        self.measurements.setVisible(self.settings.show_measurements)
        self.measurements.toggleViewAction().triggered.connect(
            lambda shown: setattr(self.settings, "show_measurements", bool(shown)))
        self.exporter.biomarkers = self.measurements.live.for_export
        self.status = StatusPanel(self.statusBar())
        self._build_actions()
        self._build_menus()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        if (geometry := self.settings.geometry()) is not None:
            self.restoreGeometry(geometry)
        self._show_document(None)
        self.status.show_device(self.devices_choice.text())
        self._shown_once = False

    # construction ----------------------------------------------------------------------------
    def _build_dock(self) -> None:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.addWidget(self.dicom_info)
        layout.addWidget(self.threshold)
        layout.addWidget(self.result_info)
        layout.addWidget(self.editing.agreement)
        layout.addWidget(self.editing.panel)
        layout.addWidget(self.overlay_controls)
        layout.addStretch(1)
        scroll = QScrollArea()  # a short screen scrolls the panel instead of growing the window past it
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(panel.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        dock = QDockWidget("Result", self)
        dock.setObjectName("overlay_dock")
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _action(self, text: str, slot: Any = None, keys: str | None = None, tip: str = "",
                checkable: bool = False, icon: QStyle.StandardPixmap | None = None) -> QAction:
        """An action; ``keys`` names its entry in gui.actions.shortcuts.SHORTCUTS."""
        a = QAction(text, self)
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        if keys is not None:
            shortcuts.bind(a, keys)
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.setCheckable(checkable)
        if slot is not None:
            (a.toggled if checkable else a.triggered).connect(slot)
        return a

    def _build_actions(self) -> None:
        A = self._action  # noqa: N806
        SP = QStyle.StandardPixmap  # noqa: N806
        self.act_open = A("&Open Image…", self._ask_open_file, "open", icon=SP.SP_DialogOpenButton)
        self.act_open_folder = A("Open &Folder…", self._ask_open_folder, "open_folder")
        self.act_next = A("&Next Image", lambda: self.step(1), "next", icon=SP.SP_ArrowForward)
        self.act_prev = A("&Previous Image", lambda: self.step(-1), "previous", icon=SP.SP_ArrowBack)
        self.act_quit = A("&Quit", self.close, "quit")
        self.act_export = A("&Export…", self.export, "export",
                            "Write the mask, probability map, overlay and a JSON summary to a folder "
                            f"({shortcuts.first_key('export')})",
                            icon=SP.SP_DialogSaveButton)
        self.act_batch = A("&Batch Segment Folder…", self.show_batch, "batch",
                           "Segment every image of a folder into another folder")
        self.act_identifiers = A("Include Patient &Identifiers in Exports",
                                 lambda on: setattr(self.exporter, "include_identifiers", on), checkable=True,
                                 tip="Exports from DICOM images name the patient and study (off: a pseudonymous "
                                     "study reference only)")
        self.act_segment = A("&Segment", self.segment, "segment",
                             f"Find the vessels in this image ({shortcuts.first_key('segment')})", icon=SP.SP_MediaPlay)
        self.act_cancel = A("&Cancel", self.cancel_segmentation, "cancel", "Stop the running segmentation",
                            icon=SP.SP_BrowserStop)
        self.act_fit = A("&Fit to Window", self.canvas.fit_to_window, "fit")
        self.act_100 = A("&Actual Pixels (100 %)", self.canvas.zoom_100, "actual_pixels")
        self.act_zoom_in = A("Zoom &In", lambda: self.canvas.zoom_by(1), "zoom_in")
        self.act_zoom_out = A("Zoom O&ut", lambda: self.canvas.zoom_by(-1), "zoom_out")
        v = self.overlay_style.values
        self.act_show_mask = A("Vessel &Mask", lambda on: self.overlay_style.update(show_mask=on), "show_mask",
                               checkable=True)
        self.act_show_heat = A("&Probability Map", lambda on: self.overlay_style.update(show_heat=on), "show_heat",
                               checkable=True)
        self.act_show_fov = A("&FOV Outline", lambda on: self.overlay_style.update(show_fov=on), "show_fov",
                              checkable=True)
        self.act_show_mask.setChecked(v.show_mask)
        self.act_show_heat.setChecked(v.show_heat)
        self.act_show_fov.setChecked(v.show_fov)
        self.act_card = A("Show Model &Card…", self.show_model_card)
        self.act_load_model = A("&Load Checkpoint…", self._ask_load_model)
        self.act_default_model = A("Use &Default Model", self.use_default_model)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_open, self.act_open_folder])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addSeparator()
        m.addActions([self.act_export, self.act_identifiers, self.act_batch])
        m.addSeparator()
        m.addActions([self.act_prev, self.act_next])
        m.addSeparator()
        m.addAction(self.act_quit)
        self.editing.build_menu(bar)
        m = bar.addMenu("&View")
        m.addActions([self.act_fit, self.act_100, self.act_zoom_in, self.act_zoom_out])
        m.addSeparator()
        m.addActions([self.act_show_mask, self.act_show_heat, self.act_show_fov, self.av.act_show_av,
                      self.av.act_show_crossings, self.av.act_show_disc])
        self.av.colours_menu(m)
        m.addSeparator()
        m.addAction(self.measurements.toggleViewAction())
        m = bar.addMenu("&Segment")
        m.addActions([self.act_segment, self.av.act_find, self.av.act_find_disc, self.act_cancel])
        m = bar.addMenu("&Device")
        m.addActions(self.devices_choice.group.actions())
        m = bar.addMenu("&Model")
        m.addActions([self.act_card, self.act_load_model, self.act_default_model])
        m.addSeparator()
        m.addAction(self.av.act_load_model)
        m.addSeparator()
        self.versions.add_to(m)
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addActions([self.act_open, self.act_prev, self.act_next, self.act_export])
        tb.addSeparator()
        tb.addActions([self.act_segment, self.act_cancel])

        tb.addSeparator()
        tb.addActions([self.act_fit, self.act_100])

    def _connect(self) -> None:
        jobs = self.jobs
        jobs.progress.connect(self._on_progress)
        jobs.finished.connect(self._on_job_finished)
        jobs.failed.connect(self._on_job_failed)
        jobs.cancelled.connect(self._on_segment_cancelled)
        jobs.notice.connect(self._on_notice)
        self.io_jobs.finished.connect(self._on_read)
        self.io_jobs.failed.connect(self._on_read_failed)
        self.io_jobs.cancelled.connect(lambda rid: self._take_read(rid))
        jobs.busyChanged.connect(lambda kind, busy: kind in ("segment", LABEL_KIND) and self._on_busy(busy))
        self.av.started.connect(self._on_labelling)
        self.av.progress.connect(self.status.set_progress)
        self.av.message.connect(self.status.show_message)
        self.av.failed.connect(self.report_error)
        self.segmentFinished.connect(self.av.on_segmented)
        self.devices_choice.textChanged.connect(self.status.show_device)
        self.models.changed.connect(self.modelChanged)
        self.models.cardReady.connect(self._show_card)
        self.models.cardKnown.connect(
            lambda card: self.threshold.set_model_threshold((card.get("thresholds") or {}).get("vessel")))
        self.models.failed.connect(self.report_error)
        self.models.message.connect(lambda text: self.status.show_message(text, 8000))
        self.versions.message.connect(lambda text: self.status.show_message(text, 8000))
        self.status.cancel.clicked.connect(self.cancel_segmentation)
        self.session.currentChanged.connect(self._show_document)
        self.session.documentOpened.connect(self.editing.adopt)
        self.session.documentOpened.connect(self.autosave.watch)
        self.editing.cleanChanged.connect(self._on_clean_changed)
        self.exporter.exported.connect(self._on_exported)
        self.exporter.discarded.connect(self.autosave.forget)
        self.autosave.failed.connect(lambda text: self.status.show_message(text, 10000))
        self.canvas.cursorMoved.connect(self._on_cursor)
        self.canvas.zoomChanged.connect(self.status.show_zoom)
        self.canvas.zoomChanged.connect(self.editing.panel.set_zoom)
        self.threshold.thresholdShown.connect(self.overlay_controls.color_bar.set_threshold)
        self.overlay_style.changed.connect(self._sync_overlay_actions)
        self._on_busy(False)

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            # torch is imported (in the worker) only once the window has been painted
            QTimer.singleShot(PROBE_DELAY_MS, self.probe_devices)
            if not self.headless:
                QTimer.singleShot(0, self.offer_recovery)

    # opening -----------------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open an image file, or a folder as an image list. Errors become a dialog; returns success."""
        p = Path(path)
        if not self.may_leave_current():
            return False
        self.io_jobs.cancel_kind("open")  # a new list: an image still being read is not wanted any more
        try:
            if p.is_dir():
                listed = list_images(p)
                if not listed:
                    raise ValueError(f"{p}: no images found (readable: .tif, .png, .jpg, .bmp, .gif, .ppm)")
                self._open_list(listed)
            else:
                if (frame := self._choose_frame(p)) is None:
                    return False
                self.session.open_files([p], 0, self._read_in_worker(p, frame))
        except (ImageReadError, ValueError, OSError) as exc:
            self.report_error("Cannot open", str(exc))
            if not p.exists():
                self.settings.remove_recent(p)
            return False
        self.settings.add_recent(p)
        self.settings.last_dir = str(p if p.is_dir() else p.parent)
        return True

    def open_paths(self, paths: list[Path]) -> bool:
        """Several dropped files become an image list."""
        images = [p for p in paths if p.is_file() and is_image_file(p)]
        if len(paths) == 1:
            return self.open_path(paths[0])
        if not self.may_leave_current():
            return False
        self.io_jobs.cancel_kind("open")
        try:
            if not images:
                raise ValueError("none of the dropped files is an image")
            self._open_list(images)
        except (ImageReadError, ValueError) as exc:
            self.report_error("Cannot open", str(exc))
            return False
        return True

    def _open_list(self, paths: list[Path]) -> None:
        """Show the first image of ``paths`` that can be read (each read in the worker); the ones before it
        that cannot are reported once and skipped (raises the first error when none can be read)."""
        skipped: dict[Path, str] = {}
        for i, path in enumerate(paths):
            try:
                loaded = self._read_in_worker(path)
            except ImageReadError as exc:
                skipped[path] = str(exc)
                continue
            self.session.open_files(paths, i, loaded, unreadable=skipped)
            if skipped:
                self.notify("Skipped " + "; ".join(_unreadable_note(p, why) for p, why in skipped.items()))
            return
        raise ImageReadError(next(iter(skipped.values())))

    def _choose_frame(self, path: Path) -> int | None:
        """The frame to open of a multi-frame DICOM image (asked; the first when headless); None: cancelled."""
        if self.headless or not is_dicom_file(path):
            return 0
        return ask_frame(self, path.name, frame_count(path))

    def _read_in_worker(self, path: Path, frame: int = 0) -> LoadedImage:
        """Read ``path`` in the I/O worker while the window keeps painting (raises ImageReadError)."""
        ok, value = self.io_jobs.call(lambda _progress, _cancel: load_image(path, frame=frame), kind="read")
        if not ok:
            raise ImageReadError(str(value))
        return value  # type: ignore[no-any-return]

    def step(self, delta: int) -> int | None:
        """Next (+1) / previous (-1) image, passing over files known to be unreadable. One not read yet is
        read in the worker and shown when it arrives (if it cannot be read, it is reported once and the
        step goes on to the one after); stepping on meanwhile drops that read. Returns the read's request id
        (None: shown at once, or nothing to step to)."""
        start = self._opening[1] if self._opening is not None else self.session.index
        target = self.session.neighbour(start, delta)
        if target is None or not self.may_leave_current():
            return None
        return self._step_to(target, delta)

    def _step_to(self, target: int, delta: int) -> int | None:
        path = self.session.paths[target]
        if self.session.document(path) is not None:  # open already: nothing to read
            self.io_jobs.cancel_kind("open")
            self._opening = None
            self.session.go_to(target)
            return None
        rid = self.io_jobs.submit(lambda _progress, _cancel: load_image(path), kind="open")
        self._opening = (rid, target, path, delta)
        self.status.show_message(f"Opening {path.name}…")
        return rid

    def _take_read(self, rid: int) -> tuple[int, Path, int] | None:
        """Forget read ``rid``; its (index, path, direction) when it is the one the window waits for."""
        if self._opening is None or self._opening[0] != rid:
            return None
        _, index, path, delta = self._opening
        self._opening = None
        return index, path, delta

    def _on_read(self, rid: int, loaded: object) -> None:
        if (wanted := self._take_read(rid)) is None:
            return  # not a read, or one the user has moved on from
        index, path, _ = wanted
        if index < len(self.session.paths) and self.session.paths[index] == path:  # the list may have changed
            self.status.clear_message()
            self.session.go_to(index, loaded)  # type: ignore[arg-type]

    def _on_read_failed(self, rid: int, message: str) -> None:
        """The image stepped to cannot be read: say so once, and go on in the same direction."""
        if (wanted := self._take_read(rid)) is None:
            return
        index, path, delta = wanted
        if index >= len(self.session.paths) or self.session.paths[index] != path:
            return  # the list changed meanwhile
        first_time = self.session.mark_unreadable(path, message)
        self._update_step_actions()
        target = self.session.neighbour(index, delta)
        if first_time:
            end = "" if target is not None else f"; no readable image {'after' if delta > 0 else 'before'} it"
            self.notify(f"Skipped {_unreadable_note(path, message)}{end}")
        if target is not None:
            self._step_to(target, delta)

    def _ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.settings.last_dir, IMAGE_FILTER)
        if path:
            self.open_path(path)

    def _ask_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder of images", self.settings.last_dir)
        if path:
            self.open_path(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for f in files:
            self.recent_menu.addAction(f, lambda f=f: self.open_path(f))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self.settings.clear_recent)
        else:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def _show_document(self, doc: ImageDocument | None) -> None:
        self.canvas.set_document(doc)
        self._on_cursor(-1, -1)  # the readout described the previous image; the next mouse move fills it
        self.brush_sizes.follow(doc)
        self.threshold.set_document(doc)
        self.result_info.set_document(doc)
        self.dicom_info.set_document(doc)
        self.measurements.set_document(doc)
        self.status.show_size(doc.width, doc.height) if doc else self.status.show_size(0, 0)
        n, i = len(self.session.paths), self.session.index
        title = "RetinaSeg"
        if doc is not None:  # [*]: the modified marker, shown while the image has unexported edits
            name = window_name(doc)
            title = f"{name}[*] ({i + 1}/{n}) — RetinaSeg" if n > 1 else f"{name}[*] — RetinaSeg"
        self.setWindowTitle(title)
        self.editing.set_document(doc)
        self.av.update_actions()
        self._update_step_actions()
        self._on_busy(self.segmenting)
        if doc is not None:
            self.canvas.setFocus()  # Space-drag panning and the wheel work straight away

    def _update_step_actions(self) -> None:
        self.act_prev.setEnabled(self.session.can_step_back)
        self.act_next.setEnabled(self.session.can_step_forward)

    @property
    def document(self) -> ImageDocument | None:
        return self.session.current

    # segmentation --------------------------------------------------------------------------------
    def segment(self) -> int | None:
        """Segment the current image in the worker; returns the request id (None if nothing started)."""
        doc = self.document
        if doc is None:
            self.status.show_message("Open an image first", 4000)
            return None
        if self.models.path is None and not default_model_path().is_file():
            self._fail_now(f"No model to segment with: the default model {default_model_path()} is missing.\n"
                           "Load a checkpoint with Model > Load Checkpoint…")
            return None
        request = SegmentRequest(doc.image.copy(), None if doc.fov is None else doc.fov.copy(), self.models.path,
                                 self.devices_choice.name)
        rid = self.jobs.submit(segment_job(self.service, request), kind="segment")
        self._pending = {rid: doc}
        self.status.start_progress("preparing…")  # the first run also imports torch and loads the model
        self.status.show_message(f"Segmenting {doc.name}…")
        return rid

    @property
    def segmenting(self) -> bool:
        return self.jobs.busy("segment")

    def cancel_segmentation(self) -> None:
        """Stop the running segmentation and artery/vein labelling."""
        self.jobs.cancel_kind("segment")
        self.av.cancel()

    def _on_busy(self, _busy: bool) -> None:
        segmenting, labelling = self.segmenting, self.av.busy
        self.act_segment.setEnabled(not segmenting and self.document is not None)
        self.act_cancel.setEnabled(segmenting or labelling)
        if not (segmenting or labelling):
            self.status.stop_progress()

    def _on_labelling(self, text: str) -> None:
        self.status.start_progress("preparing…")
        self.status.show_message(text)

    def _on_progress(self, rid: int, done: int, total: int) -> None:
        if rid in self._pending:
            self.status.set_progress(done, total)

    def _on_job_finished(self, rid: int, result: object) -> None:
        if rid in self._pending:
            self._on_segmented(rid, result)  # type: ignore[arg-type]
        elif rid == self._probe:
            self._on_devices(result)  # type: ignore[arg-type]

    def _on_job_failed(self, rid: int, message: str) -> None:
        if rid in self._pending:
            self._on_segment_failed(rid, message)
        elif rid == self._probe:  # no torch, a broken driver: the CPU still works
            self._on_devices({"cpu": "CPU"})

    def _on_segmented(self, rid: int, result: SegmentResult) -> None:
        doc = self._pending.pop(rid)
        fallback = ""
        if result.device_fallback and self.devices_choice.name != "cpu":  # not said yet by the device probe
            self.devices_choice.select("cpu", remember=False)  # the CPU from now on
            fallback = result.device_fallback
            self.notify(fallback)
        choice = self.editing.rerun_choice(doc, ask=not self.headless)
        if choice == "cancel":
            self.status.show_message(f"New prediction for {doc.name} not applied: the edited mask stays", 10000)
            self.segmentFinished.emit(True, "not applied: the edited mask stays")
            return
        p = result.prediction
        model, device_name, seconds = p.info["model"], p.info["device_name"], p.info["seconds"]
        doc.set_prediction(p, display=DisplayArrays(result.probability_u8, result.fov_outline),
                           keep_edits=choice == "keep")
        self.devices_choice.note_used(device_name)
        done = f"Segmented {doc.name} in {seconds:.1f} s on {device_name} with {model}"
        self.status.show_message(f"{fallback}. {done}" if fallback else done, 10000)
        self.segmentFinished.emit(True, "")

    def _on_segment_failed(self, rid: int, message: str) -> None:
        self._pending.pop(rid, None)
        self.report_error("Segmentation failed", message)
        self.segmentFinished.emit(False, message)

    def _fail_now(self, message: str) -> None:
        self.report_error("Cannot segment", message)
        self.segmentFinished.emit(False, message)

    def _on_segment_cancelled(self, rid: int) -> None:
        if self._pending.pop(rid, None) is None:
            return
        self.status.show_message("Segmentation cancelled", 5000)
        self.segmentFinished.emit(False, "cancelled")

    def _on_notice(self, rid: int, text: str) -> None:
        """The GPU failed and the worker moved to the CPU: say so, and stay on the CPU for this session."""
        if rid not in self._pending:
            return
        self.devices_choice.select("cpu", remember=False)
        self.report_error("GPU failed: using the CPU", text, QMessageBox.Icon.Information)

    # devices and model ------------------------------------------------------------------------------
    def probe_devices(self) -> int:
        """Find the usable devices in the worker (imports torch); the Device menu follows."""
        self._probe = self.jobs.submit(lambda _progress, _cancel: self.service.available_devices(), kind="probe")
        return self._probe

    def _on_devices(self, found: dict[str, str]) -> None:
        self._probe = None
        self.models.fetch_card()  # torch is loaded now: the model's threshold for the threshold control
        message = self.devices_choice.set_available(found)
        if message:
            self.notify(message)
        self.devicesKnown.emit(self.devices)

    @property
    def device(self) -> str:
        return self.devices_choice.name

    @property
    def devices(self) -> dict[str, str] | None:
        """What the worker found ({name: description}); None until it has looked."""
        return self.devices_choice.available

    @property
    def device_actions(self) -> dict[str, QAction]:
        return self.devices_choice.actions

    def set_device(self, name: str, remember: bool = True) -> None:
        self.devices_choice.select(name, remember)

    @property
    def model_path(self) -> str | None:
        return self.models.path

    @model_path.setter
    def model_path(self, path: str | None) -> None:
        self.models.path = path

    def load_model(self, path: str) -> int:
        """Validate ``path`` in the worker; it becomes the model only if valid (else a dialog)."""
        return self.models.load(path)

    def use_default_model(self) -> None:
        self.models.use_default()

    def show_model_card(self) -> None:
        self.models.show_card()

    def _ask_load_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model checkpoint", self.settings.last_dir,
                                              "Checkpoints (*.pt *.pth *.ckpt *.safetensors);;All files (*)")
        if path:
            self.load_model(path)

    def _show_card(self, card: dict[str, Any]) -> None:
        self.card_dialog = open_model_card(self, card)

    # export, unsaved edits, recovery, batch -----------------------------------------------------------
    def export(self, folder: str | None = None) -> bool:
        """Export the current image's results (asks for the folder when None)."""
        return self.exporter.export(self.document, folder)

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _on_exported(self, doc: ImageDocument, written: list[Path]) -> None:
        self.autosave.forget(doc)
        self.status.show_message(f"Exported {doc.name}: {written_summary(written)}", 10000)

    def may_leave_current(self) -> bool:
        """Before showing another image: Save / Discard / Cancel when the current one has unsaved edits.

        Discard goes back to the last export but keeps the edits redoable (the document stays open).
        """
        doc = self.document
        if doc is None or self.headless:
            return True
        return self.exporter.resolve_unsaved([doc], revert=True)

    def offer_recovery(self) -> list[ImageDocument]:
        """Offer the autosaves a previous session left behind; returns the documents recovered."""
        docs, errors = offer_recovery(self, self.autosave, self.session)
        if errors:
            self.report_error("Some edits could not be recovered", "\n".join(errors))
        return docs

    def show_batch(self) -> BatchDialog:
        if self.batch_dialog is None:
            doc = self.document
            threshold = doc.threshold if doc is not None and doc.has_prediction else None
            self.batch_dialog = BatchDialog(self.service.new_predictor, self.settings, lambda: self.models.path,
                                            lambda: self.devices_choice.name, threshold, self,
                                            av_model_path=lambda: self.av.model_path)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        return self.batch_dialog

    # feedback ---------------------------------------------------------------------------------------
    def report_error(self, title: str, message: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> None:
        """Tell the user (dialog, or stderr when headless); the app stays usable."""
        self.last_error = message
        self.status.show_message(message.splitlines()[0] if message else title, 10000)
        if self.headless:
            print(f"retinaseg-gui: {title}: {message}", file=sys.stderr)
        else:
            open_message(self, title, message, icon)
        self.errorShown.emit(message)

    def notify(self, text: str, timeout_ms: int = 15000) -> None:
        """A one-line message in the status bar (full text in its tooltip); on stderr too when headless."""
        self.status.show_message(text, timeout_ms)
        if self.headless:
            print(f"retinaseg-gui: {text}", file=sys.stderr)

    def _on_cursor(self, x: int, y: int) -> None:
        doc = self.document
        self.status.pixel.setText(doc.describe_pixel(x, y) if doc is not None and x >= 0 else "")

    def _sync_overlay_actions(self, _names: set) -> None:
        v = self.overlay_style.values
        for action, on in ((self.act_show_mask, v.show_mask), (self.act_show_heat, v.show_heat),
                           (self.act_show_fov, v.show_fov)):
            if action.isChecked() != on:
                action.setChecked(on)

    # closing ------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel the jobs and the batch, wait for their threads (idempotent)."""
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
        self.jobs.shutdown()
        self.io_jobs.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.headless and not self.exporter.resolve_unsaved(self.session.documents, revert=False):
            event.ignore()
            return
        self.autosave.flush()  # whatever is still unsaved stays recoverable
        if self.segmenting:
            self.status.show_message("Stopping the segmentation…")
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_overlay(self.overlay_style.to_strings())
        self.settings.sync()
        self.shutdown()
        event.accept()


def _unreadable_note(path: Path, message: str) -> str:
    """'name: reason' for a file that cannot be read (the reason without the full path it may repeat)."""
    reason = message.split(f"{path}: ", 1)[-1] if str(path) in message else message
    return f"{path.name}: {reason}"
