"""EditingUi: the Edit menu, drawing tools, undo/redo and the mask-source actions, wired to documents.

Owns a QUndoGroup (each document keeps its own QUndoStack; the group's active stack follows the shown
image, so Undo/Redo act on it and history survives switching images), the ToolState the canvas draws
with, the tool panel and the agreement readout. The window only composes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup, QUndoGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QMenuBar, QWidget

from core.edit.task_result import MaskSource
from core.errors import ImageReadError
from core.io.export import read_mask
from gui.actions import shortcuts
from gui.canvas.tools import Tool, ToolState
from gui.dialogs import prompts
from gui.document.document import ImageDocument
from gui.widgets.agreement import AgreementInfo
from gui.widgets.tool_panel import ToolPanel

Report = Callable[[str, str], None]


class EditingUi(QObject):
    #: the shown document's clean state changed: (clean)
    cleanChanged = Signal(bool)

    def __init__(self, window: QWidget, report: Report, file_filter: str,
                 last_dir: Callable[[], str]) -> None:
        super().__init__(window)
        self.window = window
        self._report = report
        self._filter = file_filter
        self._last_dir = last_dir
        self.document: ImageDocument | None = None
        self.tools = ToolState(self)
        self.group = QUndoGroup(self)
        self.group.cleanChanged.connect(self.cleanChanged)
        self.act_undo = self.group.createUndoAction(window, "&Undo")
        shortcuts.bind(self.act_undo, "undo")
        self.act_redo = self.group.createRedoAction(window, "&Redo")
        shortcuts.bind(self.act_redo, "redo")
        self.act_clear = self._action("&Clear Mask", self.clear, tip="Start again from an empty mask (undoable)")
        self.act_from_model = self._action("From the &Model's Mask", self.start_from_model,
                                           tip="Replace the mask with the model's at the current threshold")
        self.act_from_empty = self._action("From an &Empty Mask", self.clear)
        self.act_from_file = self._action("From a Mask &File…", self.ask_mask_file)
        self.act_reference = self._action("Load &Reference Mask…", self.ask_reference_file,
                                          tip="Compare the mask with a manual annotation (F1, Se, Sp in the FOV)")
        self.act_clear_reference = self._action("Remove Reference Mask", self.remove_reference)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool in Tool:
            a = self._action(tool.label, lambda _on=False, t=tool: self.tools.set_tool(t), tool.value)
            a.setCheckable(True)
            opposite = f"; hold Shift for {tool.swapped().label.lower()}" if tool.swapped() != tool else ""
            a.setToolTip(f"{tool.label} ({shortcuts.first_key(tool.value)}){opposite}")
            self.tool_group.addAction(a)
            self.tool_actions[tool] = a
        self.act_bigger = self._action("Bigger Brush", self.tools.grow, "bigger_brush")
        self.act_smaller = self._action("Smaller Brush", self.tools.shrink, "smaller_brush")
        self.tools.changed.connect(self._sync_tool_actions)
        self._sync_tool_actions()
        self.panel = ToolPanel(self.tools, list(self.tool_actions.values()))
        self.agreement = AgreementInfo()
        self.set_document(None)

    def _action(self, text: str, slot: Callable, keys: str | None = None, tip: str = "") -> QAction:
        """An action; ``keys`` names its entry in gui.actions.shortcuts.SHORTCUTS."""
        a = QAction(text, self.window)
        if keys:
            shortcuts.bind(a, keys)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.window.addAction(a)  # shortcuts work even when the action is in no visible menu
        return a

    def build_menu(self, bar: QMenuBar, before: QAction | None = None) -> QMenu:
        m = QMenu("&Edit", bar)
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([a for t, a in self.tool_actions.items() if not (t.types_vessels or t == Tool.DISC)])
        m.addActions([self.act_smaller, self.act_bigger])
        m.addSeparator()
        m.addActions([a for t, a in self.tool_actions.items() if t.types_vessels or t == Tool.DISC])
        m.addSeparator()
        start = m.addMenu("&Start Mask")
        start.addActions([self.act_from_model, self.act_from_empty, self.act_from_file])
        m.addAction(self.act_clear)
        m.addSeparator()
        m.addActions([self.act_reference, self.act_clear_reference])
        bar.insertMenu(before, m) if before is not None else bar.addMenu(m)
        return m

    # documents ---------------------------------------------------------------------------------
    def adopt(self, doc: ImageDocument) -> None:
        """A newly opened document: its stack joins the group (kept for the whole session)."""
        self.group.addStack(doc.undo_stack)
        doc.predictionChanged.connect(self._update_actions)
        doc.referenceChanged.connect(self._update_actions)
        doc.labelsChanged.connect(self._update_actions)

    def set_document(self, doc: ImageDocument | None) -> None:
        self.document = doc
        if doc is not None and doc.undo_stack not in self.group.stacks():
            self.adopt(doc)
        self.group.setActiveStack(doc.undo_stack if doc is not None else None)
        self.agreement.set_document(doc)
        self._update_actions()
        self.cleanChanged.emit(doc is None or not doc.modified)

    def _update_actions(self) -> None:
        d = self.document
        for a in (self.act_clear, self.act_from_empty, self.act_from_file, self.act_reference):
            a.setEnabled(d is not None)
        self.act_from_model.setEnabled(d is not None and d.has_prediction)
        for tool, action in self.tool_actions.items():  # the type tools need labels to retype
            action.setEnabled(not tool.types_vessels or (d is not None and d.artery_vein is not None))
        self.act_clear_reference.setEnabled(d is not None and d.reference is not None)

    def _sync_tool_actions(self) -> None:
        self.tool_actions[self.tools.tool].setChecked(True)

    # actions -----------------------------------------------------------------------------------
    def clear(self) -> None:
        if self.document is not None:
            self.document.clear_mask()

    def start_from_model(self) -> None:
        if self.document is None:
            return
        try:
            self.document.start_from_model()
        except ValueError as exc:
            self._report("Cannot start from the model's mask", str(exc))

    def _ask_file(self, title: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self.window, title, self._last_dir(), self._filter)
        return path

    def ask_mask_file(self) -> None:
        if self.document is not None and (path := self._ask_file("Start from a mask file")):
            self.load_mask_file(path)

    def load_mask_file(self, path: str) -> bool:
        """Replace the mask with a mask file (undoable); a file of another size is refused."""
        doc = self.document
        if doc is None:
            return False
        try:
            mask = read_mask(path, (doc.height, doc.width))
            doc.replace_mask(mask, MaskSource.FILE, "Load mask file")
        except (ImageReadError, OSError, ValueError) as exc:
            self._report("Cannot use this mask", f"{exc}\nA mask must have the size of the image.")
            return False
        return True

    def ask_reference_file(self) -> None:
        if self.document is not None and (path := self._ask_file("Load a reference mask")):
            self.load_reference_file(path)

    def load_reference_file(self, path: str) -> bool:
        doc = self.document
        if doc is None:
            return False
        try:
            doc.set_reference(read_mask(path, (doc.height, doc.width)), path)
        except (ImageReadError, OSError, ValueError) as exc:
            self._report("Cannot use this reference mask", f"{exc}\nA reference must have the size of the image.")
            return False
        return True

    def remove_reference(self) -> None:
        if self.document is not None:
            self.document.set_reference(None)

    def rerun_choice(self, doc: ImageDocument, ask: bool = True) -> str:
        """What a new prediction for ``doc`` should do: 'replace', 'keep' (edits win) or 'cancel'."""
        if not doc.has_manual_edits:
            return "replace"
        return prompts.ask_rerun(self.window, doc.name) if ask else "keep"
