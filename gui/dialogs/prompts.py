"""The questions the editing features ask (Save/Discard/Cancel, Replace/Keep/Cancel, overwrite, recover).

Each is a function returning a plain answer, so the window's logic reads as ``if ask_...() == "save"``
and tests replace the function (monkeypatch) instead of clicking a modal dialog. All modal execs go
through :func:`_exec`, which the GUI tests' conftest makes fail loudly if a test forgot to patch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from gui.document.unsaved import Unsaved

Btn = QMessageBox.ButtonRole
MAX_LISTED = 8


def _exec(box: QMessageBox) -> QAbstractButton | None:
    box.exec()
    return box.clickedButton()


def _listing(items: Sequence[str]) -> str:
    shown = [f"  • {x}" for x in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        shown.append(f"  … and {len(items) - MAX_LISTED} more")
    return "\n".join(shown)


def _ask(parent: QWidget | None, title: str, text: str, choices: list[tuple[str, str, QMessageBox.ButtonRole]],
         default: str, escape: str, icon: QMessageBox.Icon = QMessageBox.Icon.Question, info: str = "") -> str:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    if info:
        box.setInformativeText(info)
    buttons = {}
    for answer, label, role in choices:
        buttons[answer] = box.addButton(label, role)
    box.setDefaultButton(buttons[default])
    box.setEscapeButton(buttons[escape])
    clicked = _exec(box)
    for answer, b in buttons.items():
        if b is clicked:
            return answer
    return escape


def ask_unsaved(parent: QWidget | None, items: Sequence[Unsaved]) -> str:
    """'save', 'discard' or 'cancel' for images whose changes were not exported.

    The question says whether they are hand edits or only a result (a new prediction, a moved
    threshold); Save is the default only when hand edits would be lost.
    """
    edits = any(u.hand_edits for u in items)
    if len(items) == 1:
        u = items[0]
        text = (f"{u.name} has hand edits that were not exported." if u.hand_edits
                else f"The result for {u.name} was not exported ({u.describe()}); nothing was edited by hand.")
    else:
        text = (f"{len(items)} images have changes that were not exported:\n"
                + _listing([f"{u.name}: {u.describe()}" for u in items]))
    info = ("Save exports the mask and its files; Discard drops the edits since the last export." if edits
            else "Save exports the result; without it, segmenting again gives the result back.")
    return _ask(parent, "Unsaved edits" if edits else "Result not exported", text,
                [("save", "Save (Export)…", Btn.AcceptRole), ("discard", "Discard", Btn.DestructiveRole),
                 ("cancel", "Cancel", Btn.RejectRole)], "save" if edits else "discard", "cancel", info=info)


def ask_rerun(parent: QWidget | None, name: str, what: str = "mask") -> str:
    """'replace', 'keep' or 'cancel' when a new prediction arrives for a mask (or ``what``) edited by hand."""
    return _ask(parent, f"{what[0].upper()}{what[1:]} edited by hand",
                f"The {what} of {name} has been edited by hand. What should the new prediction do?",
                [("replace", "Replace", Btn.DestructiveRole), ("keep", "Keep Edits", Btn.AcceptRole),
                 ("cancel", "Cancel", Btn.RejectRole)], "keep", "cancel",
                info="Replace: use the new prediction everywhere. Keep Edits: use it only where you did not "
                     "edit (your edits win). Cancel: keep the current mask. Either way it can be undone.")


def ask_overwrite(parent: QWidget | None, paths: Sequence[Path]) -> bool:
    """True to replace the existing files."""
    return _ask(parent, "Replace files?", f"These files already exist:\n{_listing([str(p) for p in paths])}",
                [("yes", "Replace", Btn.DestructiveRole), ("no", "Cancel", Btn.RejectRole)], "no", "no",
                icon=QMessageBox.Icon.Warning) == "yes"


def ask_recover(parent: QWidget | None, names: Sequence[str], missing: int = 0) -> str:
    """'recover', 'discard' or 'later' for autosaved edits found at start-up."""
    text = f"Unsaved edits of {len(names)} image(s) were kept from a previous session:\n{_listing(list(names))}"
    info = "Recover opens the images with the edits restored (as one undoable step)."
    if missing:
        info += f" {missing} autosave(s) belong to images that no longer exist; Discard deletes them too."
    return _ask(parent, "Recover edits", text,
                [("recover", "Recover", Btn.AcceptRole), ("discard", "Discard", Btn.DestructiveRole),
                 ("later", "Later", Btn.RejectRole)], "recover", "later", info=info)
