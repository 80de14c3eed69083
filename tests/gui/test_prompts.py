"""The questions map their buttons to plain answers (Esc / closing the box is the safe answer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

import gui.dialogs.prompts as prompts
from gui.document.unsaved import Unsaved


def clicking(monkeypatch: pytest.MonkeyPatch, label: str | None) -> list[QMessageBox]:
    """Make every question 'click' the button labelled ``label`` (None: close the box)."""
    shown: list[QMessageBox] = []

    def fake_exec(box: QMessageBox):  # noqa: ANN202
        shown.append(box)
        return None if label is None else next(b for b in box.buttons() if b.text() == label)

    monkeypatch.setattr(prompts, "_exec", fake_exec)
    return shown


@pytest.mark.parametrize(("label", "answer"), [("Save (Export)…", "save"), ("Discard", "discard"),
                                               ("Cancel", "cancel"), (None, "cancel")])
def test_unsaved(qtbot, monkeypatch, label, answer) -> None:  # noqa: ANN001
    shown = clicking(monkeypatch, label)
    items = [Unsaved("a.png", hand_edits=True), Unsaved("b.png", hand_edits=False, threshold=(0.59, 0.42))]
    assert prompts.ask_unsaved(None, items) == answer
    text = shown[0].text()
    assert "2 images" in text and "a.png: hand edits" in text and "b.png: threshold 0.590 → 0.420" in text
    assert shown[0].defaultButton().text() == "Save (Export)…"  # hand edits would be lost


def test_unsaved_says_a_result_alone_is_not_an_edit(qtbot, monkeypatch) -> None:  # noqa: ANN001
    shown = clicking(monkeypatch, None)
    prompts.ask_unsaved(None, [Unsaved("eye.png", hand_edits=False, threshold=(0.59, 0.42))])
    text = shown[0].text()
    assert "result for eye.png was not exported (threshold 0.590 → 0.420)" in text
    assert "nothing was edited by hand" in text and "edits that" not in text
    assert shown[0].defaultButton().text() == "Discard"  # nothing of the user's own work is at stake

    shown = clicking(monkeypatch, None)
    prompts.ask_unsaved(None, [Unsaved("eye.png", hand_edits=True)])
    assert shown[0].text() == "eye.png has hand edits that were not exported."
    assert shown[0].defaultButton().text() == "Save (Export)…"


@pytest.mark.parametrize(("label", "answer"), [("Replace", "replace"), ("Keep Edits", "keep"),
                                               ("Cancel", "cancel"), (None, "cancel")])
def test_rerun(qtbot, monkeypatch, label, answer) -> None:  # noqa: ANN001
    clicking(monkeypatch, label)
    assert prompts.ask_rerun(None, "eye.png") == answer


def test_overwrite_lists_the_files_and_defaults_to_no(qtbot, monkeypatch) -> None:  # noqa: ANN001
    shown = clicking(monkeypatch, "Replace")
    assert prompts.ask_overwrite(None, [Path("/x/eye_mask.png")]) is True
    assert "/x/eye_mask.png" in shown[0].text() and shown[0].defaultButton().text() == "Cancel"
    clicking(monkeypatch, None)
    assert prompts.ask_overwrite(None, [Path("/x/eye_mask.png")]) is False


def test_recover(qtbot, monkeypatch) -> None:  # noqa: ANN001
    clicking(monkeypatch, "Recover")
    assert prompts.ask_recover(None, ["eye.png"], missing=1) == "recover"
    clicking(monkeypatch, None)
    assert prompts.ask_recover(None, ["eye.png"]) == "later"
