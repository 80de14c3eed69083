"""The README's keyboard-shortcut table is the specification: every key it lists reaches its menu entry
through a real key press, and every key the window binds is in the table (so the two cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from gui.actions.shortcuts import SHORTCUTS
from tests.gui.conftest import FakeService

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_shortcuts() -> list[tuple[str, str]]:
    """(key, "Menu > Entry") for every key of the README's shortcut table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| key | menu entry |"):].split("\n\n", 1)[0]
    pairs = []
    for row in table.splitlines()[2:]:
        keys_cell, menu_cell = (c.strip() for c in row.strip().strip("|").split("|"))
        key_groups = [re.findall(r"`([^`]+)`", g) for g in keys_cell.split(" / ")]
        entries = [re.sub(r"\s*\(.*\)\s*$", "", e).strip() for e in menu_cell.split(" / ")]
        assert len(key_groups) == len(entries), f"README row pairs keys and entries unevenly: {row}"
        pairs.extend((key, entry) for keys, entry in zip(key_groups, entries, strict=True) for key in keys)
    return pairs


def plain(text: str) -> str:
    """A menu text as the README names it: no mnemonic, no ellipsis, no '(100 %)'-style note."""
    return re.sub(r"\s*\(.*\)\s*$", "", text.replace("&", "").replace("…", "")).strip()


def menu_actions(window) -> dict[str, QAction]:  # noqa: ANN001
    """'Menu > Entry' -> action, for every entry of the window's menus (submenus included)."""
    found: dict[str, QAction] = {}

    def walk(menu: QMenu, title: str) -> None:
        for a in menu.actions():
            if a.menu() is not None:
                walk(a.menu(), title)
            elif not a.isSeparator():
                found[f"{title} > {plain(a.text())}"] = a

    for top in window.menuBar().actions():
        walk(top.menu(), plain(top.text()))
    return found


@pytest.fixture
def window(qtbot, make_window):  # noqa: ANN001, ANN201
    w = make_window(FakeService())
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    return w


def test_the_readme_table_is_read() -> None:
    keys = dict(readme_shortcuts())
    assert keys["Ctrl+Shift+Z"] == "Edit > Redo" and keys["PgDown"] == "File > Next Image"


@pytest.mark.parametrize(("key", "entry"), readme_shortcuts())
def test_every_documented_key_reaches_its_menu_entry(qtbot, window, key: str, entry: str) -> None:  # noqa: ANN001
    actions = menu_actions(window)
    assert entry in actions, f"README names {entry!r}, the menus have {sorted(actions)}"
    action = actions[entry]
    assert QKeySequence(key) in action.shortcuts()  # bound the same way on every platform
    action.triggered.disconnect()  # the test is about the key reaching the action, not what it does
    action.setEnabled(True)
    hits: list[bool] = []
    action.triggered.connect(lambda *_: hits.append(True))
    combo = QKeySequence(key)[0]
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, combo.key(), combo.keyboardModifiers())
    assert hits == [True], f"{key} did not trigger {entry}"


def test_every_bound_key_is_documented(window) -> None:  # noqa: ANN001
    documented = {QKeySequence(k).toString() for k, _ in readme_shortcuts()}
    bound = {s.toString() for a in window.findChildren(QAction) for s in a.shortcuts()}
    assert bound == documented
    assert {QKeySequence(k).toString() for keys in SHORTCUTS.values() for k in keys} == documented


def test_no_key_is_bound_twice(window) -> None:  # noqa: ANN001
    seen: dict[str, str] = {}
    for a in window.findChildren(QAction):
        for s in a.shortcuts():
            assert s.toString() not in seen, f"{s.toString()} is bound to {seen[s.toString()]!r} and {a.text()!r}"
            seen[s.toString()] = a.text()
