"""ArteryVeinUi: arteries, veins and the optic disc of the shown image, wired to the job runner.

Segment > Find Arteries and Veins runs the artery/vein model in the worker (gui.jobs.artery_vein): its types
are laid on the vessel mask the user sees (segmenting first when there is none), and the optic disc is
looked for after it. Segment > Find Optic Disc looks for the disc alone. A click of the swap tool swaps one
vessel segment (gui.jobs.swap). Model > Load Artery/Vein Checkpoint checks a checkpoint in the worker before
using it. The View menu's toggles and colour presets change the overlay style. The window only composes this
and shows what it reports through its signals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from core.errors import CheckpointError
from core.predict.service import PredictionService
from core.resources import default_artery_vein_model_path
from gui.actions import shortcuts
from gui.canvas.style import AV_PRESETS, OverlayStyle
from gui.dialogs import prompts
from gui.document.document import ARTERIES_VEINS, ImageDocument
from gui.jobs.artery_vein import ArteryVeinRequest, ArteryVeinResult, artery_vein_job, disc_job
from gui.jobs.runner import JobRunner
from gui.jobs.swap import SegmentCache, swap_job
from gui.settings import AppSettings

#: The job runner kinds of this module's jobs.
LABEL_KIND, DISC_KIND, SWAP_KIND, CHECK_KIND = "arteries_veins", "disc", "av-swap", "av-model-check"


class ArteryVeinUi(QObject):
    #: a job the user waits for began: the status text (progress follows)
    started = Signal(str)
    progress = Signal(int, int)
    #: a labelling ended: (success, message), as MainWindow.segmentFinished for segmentations
    finished = Signal(bool, str)
    #: a status-bar line (text, milliseconds)
    message = Signal(str, int)
    #: tell the user: (title, message)
    failed = Signal(str, str)

    def __init__(self, window: QWidget, jobs: JobRunner, service: PredictionService, settings: AppSettings,
                 style: OverlayStyle, current: Callable[[], ImageDocument | None], device: Callable[[], str],
                 segment: Callable[[], int | None], model_path: str | None = None, ask: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self._jobs = jobs
        self._service = service  # the artery/vein model's own cache: the vessel model's stays loaded
        self.settings = settings
        self.overlay_style = style
        self._current = current
        self._device = device
        self._segment = segment
        self._ask = ask
        remembered = settings.av_model_path if Path(settings.av_model_path or "-").is_file() else ""
        #: the artery/vein checkpoint (None: the default one)
        self.model_path: str | None = model_path or remembered or None
        self._pending: dict[int, tuple[str, Any]] = {}  # request id -> (purpose, what it is for)
        self._after_segment: ImageDocument | None = None
        self._cache = SegmentCache()  # used by the swap jobs, in the worker thread only
        jobs.finished.connect(self._on_finished)
        jobs.failed.connect(self._on_failed)
        jobs.cancelled.connect(self._on_cancelled)
        jobs.progress.connect(self._on_progress)
        jobs.notice.connect(lambda rid, text: rid in self._pending and self.message.emit(text, 15000))
        self.act_find = self._action("Find &Arteries and Veins", self.find, "arteries_veins",
                                     "Type the vessels of this image as arteries and veins, and find the optic disc "
                                     f"({shortcuts.first_key('arteries_veins')})")
        self.act_find_disc = self._action("Find Optic &Disc", self.find_disc,
                                          tip="Look for the optic disc (without typing the vessels)")
        self.act_load_model = self._action("Load &Artery/Vein Checkpoint…", self._ask_model)
        self.act_show_av = self._toggle("&Arteries and Veins", "show_av", "show_av")
        self.act_show_crossings = self._toggle("Artery/Vein &Crossings", "show_crossings", "show_crossings")
        self.act_show_disc = self._toggle("Optic &Disc and Zones", "show_disc", "show_disc")
        self.preset_group = QActionGroup(self)
        self.preset_actions: dict[str, QAction] = {}
        for name in AV_PRESETS:
            a = self._action(name, lambda _on=False, n=name: style.use_av_preset(n))
            a.setCheckable(True)
            self.preset_group.addAction(a)
            self.preset_actions[name] = a
        style.changed.connect(self._sync_style)
        jobs.busyChanged.connect(lambda kind, _busy: kind == LABEL_KIND and self.update_actions())
        self._sync_style()

    def _action(self, text: str, slot: Callable, keys: str | None = None, tip: str = "") -> QAction:
        a = QAction(text, self.window)
        if keys:
            shortcuts.bind(a, keys)
            self.window.addAction(a)  # shortcuts work even when the action is in no visible menu
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        return a

    def _toggle(self, text: str, field: str, keys: str) -> QAction:
        a = QAction(text, self.window)
        a.setCheckable(True)
        shortcuts.bind(a, keys)
        self.window.addAction(a)
        a.toggled.connect(lambda on: self.overlay_style.update(**{field: on}))
        return a

    def colours_menu(self, parent: QMenu) -> QMenu:
        """The View menu's "Artery/Vein Colours" submenu (one colour at a time in the side panel)."""
        m = parent.addMenu("Artery/Vein &Colours")
        m.addActions(list(self.preset_actions.values()))
        return m

    def _sync_style(self, _names: set | None = None) -> None:
        v = self.overlay_style.values
        for action, on in ((self.act_show_av, v.show_av), (self.act_show_crossings, v.show_crossings),
                           (self.act_show_disc, v.show_disc)):
            if action.isChecked() != on:
                action.setChecked(on)
        self.act_show_crossings.setEnabled(v.show_av)  # drawn over the arteries and veins only
        preset = self.overlay_style.av_preset
        for name, action in self.preset_actions.items():
            action.setChecked(name == preset)

    def update_actions(self) -> None:
        doc = self._current()
        self.act_find.setEnabled(doc is not None and not self.busy)
        self.act_find_disc.setEnabled(doc is not None)

    @property
    def busy(self) -> bool:
        return self._jobs.busy(LABEL_KIND)

    def cancel(self) -> None:
        self._after_segment = None
        self._jobs.cancel_kind(LABEL_KIND)

    # labelling --------------------------------------------------------------------------------------
    def model_file(self) -> Path:
        return Path(self.model_path) if self.model_path else default_artery_vein_model_path()

    def find(self) -> int | None:
        """Label the current image's vessels as arteries and veins in the worker, then find the disc; returns
        the request id (None when nothing started, or when the vessels are being segmented first)."""
        doc = self._current()
        if doc is None:
            self.message.emit("Open an image first", 4000)
            return None
        model = self.model_file()
        if not model.is_file():
            self._fail("No artery/vein model", f"The artery/vein model {model} is missing.\n"
                                                "Load one with Model > Load Artery/Vein Checkpoint…")
            return None
        if doc.mask is None:  # the types go on a vessel mask: make one first, then come back
            if self._segment() is not None:
                self._after_segment = doc
            else:  # the segmentation could not start and has said why
                self.finished.emit(False, "the vessels could not be segmented")
            return None
        request = ArteryVeinRequest(doc.image.copy(), None if doc.fov is None else doc.fov.copy(),
                                    doc.mask != 0, str(model), self._device())
        rid = self._jobs.submit(artery_vein_job(self._service, request), kind=LABEL_KIND)
        self._pending[rid] = ("labels", doc)
        self.started.emit(f"Finding arteries and veins in {doc.name}…")
        return rid

    def on_segmented(self, ok: bool, _message: str) -> None:
        """A segmentation ended: go on with the labelling that waited for it."""
        doc, self._after_segment = self._after_segment, None
        if doc is not None and ok and doc is self._current() and doc.mask is not None:
            self.find()
        elif doc is not None:
            self.finished.emit(False, "the vessels were not segmented")

    def _labelled(self, doc: ImageDocument, result: ArteryVeinResult) -> None:
        labels = doc.state.result(ARTERIES_VEINS)
        choice = "replace"
        if labels.mask is not None and labels.has_manual_edits:
            choice = prompts.ask_rerun(self.window, doc.name, "artery/vein labelling") if self._ask else "keep"
        if choice == "cancel":
            self.message.emit(f"New artery/vein labels for {doc.name} not applied: the edited ones stay", 10000)
            self.finished.emit(True, "not applied: the edited labels stay")
            return
        doc.set_prediction(result.prediction, keep_edits=choice == "keep")
        disc = self._adopt_disc(doc, result.disc)
        info = result.prediction.info
        seconds = f" in {info['seconds']:.1f} s" if "seconds" in info else ""
        self.message.emit(f"{result.device_fallback + '. ' if result.device_fallback else ''}"
                          f"Arteries and veins of {doc.name} found{seconds}; {disc}", 15000)
        if not self.overlay_style.values.show_av:
            self.overlay_style.update(show_av=True)
        self.finished.emit(True, "")

    # the optic disc ----------------------------------------------------------------------------------
    def find_disc(self) -> int | None:
        """Look for the current image's optic disc in the worker; returns the request id."""
        doc = self._current()
        if doc is None:
            self.message.emit("Open an image first", 4000)
            return None
        rid = self._jobs.submit(disc_job(doc.image.copy(), None if doc.fov is None else doc.fov.copy()),
                                kind=DISC_KIND)
        self._pending[rid] = ("disc", doc)
        self.message.emit(f"Looking for the optic disc of {doc.name}…", 0)
        return rid

    def _adopt_disc(self, doc: ImageDocument, found: Any) -> str:
        """Take the detector's answer into ``doc``; what happened, in words."""
        if not doc.adopt_found_disc(found):
            return "the optic disc placed by hand stays"
        if hasattr(found, "diameter"):
            return f"optic disc found ({found.diameter:.0f} px across)"
        return f"no optic disc found: {found.reason}; place it with the disc tool ({shortcuts.first_key('disc')})"

    # the swap click -------------------------------------------------------------------------------
    def swap_at(self, doc: ImageDocument, row: int, col: int, reach: int) -> int | None:
        """Swap artery and vein on the vessel segment at (row, col) of ``doc`` (found in the worker)."""
        labels = doc.artery_vein
        if labels is None:
            return None
        sent = labels.copy()
        rid = self._jobs.submit(swap_job(self._cache, sent, row, col, reach), kind=SWAP_KIND)
        self._pending[rid] = ("swap", (doc, sent))
        self.message.emit("Finding the vessel segment…", 0)
        return rid

    def _swapped(self, doc: ImageDocument, sent: np.ndarray, swapped: np.ndarray | None) -> None:
        if swapped is None:
            self.message.emit("No vessel there: click on an artery or a vein to swap its type", 6000)
        elif doc.artery_vein is None or not np.array_equal(doc.artery_vein, sent):
            self.message.emit("The labels changed while the segment was found: click again", 6000)
        elif doc.replace_labels(ARTERIES_VEINS, swapped, "Swap artery/vein"):
            self.message.emit("Swapped artery and vein on one vessel segment (Ctrl+Z undoes it)", 6000)
        else:
            self.message.emit("That vessel segment is neither artery nor vein: nothing to swap", 6000)

    # the checkpoint ----------------------------------------------------------------------------------
    def _ask_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load artery/vein checkpoint", self.settings.last_dir,
                                              "Checkpoints (*.pt *.pth *.ckpt *.safetensors);;All files (*)")
        if path:
            self.load_model(path)

    def load_model(self, path: str) -> int:
        """Check ``path`` in the worker; it becomes the artery/vein model only if it is one."""
        service = self._service

        def check(_progress: object, _cancel: object) -> dict[str, Any]:
            card = service.model_card(path)
            if card.get("task") != ARTERIES_VEINS:
                raise CheckpointError(f"{Path(path).name} is a {card.get('task', 'unknown')} model, "
                                      "not an artery/vein model")
            return card

        rid = self._jobs.submit(check, kind=CHECK_KIND)
        self._pending[rid] = ("check", path)
        self.message.emit(f"Checking {Path(path).name}…", 0)
        return rid

    # job outcomes ---------------------------------------------------------------------------------------
    def _on_progress(self, rid: int, done: int, total: int) -> None:
        if self._pending.get(rid, ("",))[0] == "labels":
            self.progress.emit(done, total)

    def _on_finished(self, rid: int, result: object) -> None:
        if rid not in self._pending:
            return
        purpose, subject = self._pending.pop(rid)
        if purpose == "labels":
            self._labelled(subject, result)  # type: ignore[arg-type]
        elif purpose == "disc":
            self.message.emit(f"{subject.name}: {self._adopt_disc(subject, result)}", 10000)
        elif purpose == "swap":
            self._swapped(*subject, result)  # type: ignore[arg-type]
        elif purpose == "check":
            self.model_path = subject
            self.settings.av_model_path = subject
            self.message.emit(f"Artery/vein model: {Path(subject).name} (the next labelling uses it)", 8000)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid not in self._pending:
            return
        purpose, _subject = self._pending.pop(rid)
        titles = {"labels": "Finding arteries and veins failed", "disc": "Finding the optic disc failed",
                  "swap": "Cannot swap this segment", "check": "Cannot load artery/vein model"}
        if purpose == "check":
            message = f"{message}\n\nThe current artery/vein model ({self.model_file().name}) stays in use."
        self._fail(titles[purpose], message, labelling=purpose == "labels")

    def _on_cancelled(self, rid: int) -> None:
        if rid in self._pending and self._pending.pop(rid)[0] == "labels":
            self.message.emit("Artery/vein labelling cancelled", 5000)
            self.finished.emit(False, "cancelled")

    def _fail(self, title: str, message: str, labelling: bool = True) -> None:
        self.failed.emit(title, message)
        if labelling:
            self.finished.emit(False, message)
