"""The Model menu's versions: "Default Model" and every adapted version, one click to switch, "Export This
Version…", and Model > Adapt to My Images… ending in Keep, which makes the new version current.

A real window on the tiny random-weight model; versions are real checkpoints in a temporary app-data
folder (tests/gui/conftest.py); the fine-tuning is the fake of test_adapt_dialog.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from core.io.model_versions import ModelVersion, make_card
from tests.gui.test_adapt_dialog import FakeFinetune, write_export


def model_menu(window) -> QMenu:  # noqa: ANN001
    return next(a.menu() for a in window.menuBar().actions() if a.text() == "&Model")


def click_in_menu(qtbot, menu: QMenu, action: Callable[[], QAction]) -> None:  # noqa: ANN001
    """Open ``menu`` and click where ``action()`` is drawn (found once open: opening rebuilds the versions)."""
    menu.popup(QPoint(10, 10))
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    target = action()
    assert target in menu.actions()
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(target).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=5000)


def version_action(window, text: str) -> QAction:  # noqa: ANN001
    return next(a for a in window.versions.version_actions if a.text() == text)


@pytest.fixture
def versions(make_window, tiny_checkpoint_path: Path):  # noqa: ANN001, ANN201
    """A window and two saved versions of the tiny model, "first" then "second"."""
    from core.ml.checkpoint import load_checkpoint

    window = make_window()
    base = load_checkpoint(tiny_checkpoint_path)
    saved = [window.versions.store.save(base, make_card(base_model="tiny.pt", images=[], settings={}, results={},
                                                        name=name)) for name in ("first", "second")]
    return window, saved


def test_the_menu_lists_the_default_model_and_every_version_newest_first(versions) -> None:  # noqa: ANN001
    window, (first, second) = versions
    menu = model_menu(window)
    menu.aboutToShow.emit()
    texts = [a.text() for a in window.versions.version_actions]
    assert texts == ["Default Model (vessels_unet16.pt)", "second", "first"]
    assert not any(a.isChecked() for a in window.versions.version_actions)  # tiny.pt is neither
    assert not window.versions.act_export.isEnabled()
    assert window.versions.act_adapt in menu.actions()
    assert first.path.parent == window.versions.store.folder and "appdata" in first.path.parts  # never the bundle


def test_one_click_switches_to_a_version_and_back_to_the_default(qtbot, versions) -> None:  # noqa: ANN001
    window, (_first, second) = versions
    menu = model_menu(window)
    menu.aboutToShow.emit()
    with qtbot.waitSignal(window.modelChanged, timeout=60_000) as changed:
        click_in_menu(qtbot, menu, lambda: version_action(window, "second"))
    assert changed.args == [str(second.path)] and window.model_path == str(second.path)
    assert window.models.name == "second"
    menu.aboutToShow.emit()
    assert version_action(window, "second").isChecked() and window.versions.act_export.isEnabled()
    with qtbot.waitSignal(window.modelChanged, timeout=60_000):
        click_in_menu(qtbot, menu, lambda: version_action(window, "Default Model (vessels_unet16.pt)"))
    assert window.model_path is None
    menu.aboutToShow.emit()
    assert version_action(window, "Default Model (vessels_unet16.pt)").isChecked()


def test_export_this_version_writes_a_checkpoint_anyone_can_load(qtbot, versions, tmp_path: Path) -> None:  # noqa: ANN001
    from core.ml.checkpoint import load_checkpoint

    window, (first, _second) = versions
    with qtbot.waitSignal(window.modelChanged, timeout=60_000):
        window.versions.switch_to(first)
    out = window.versions.export_current(str(tmp_path / "for a colleague.pt"))
    assert out == tmp_path / "for a colleague.pt"
    assert load_checkpoint(out).arch == load_checkpoint(first.path).arch
    assert window.versions.export_current(str(tmp_path / "missing" / "x.pt")) is None
    assert "cannot export first" in window.last_error


def test_keep_after_adapting_saves_a_version_and_makes_it_current(qtbot, make_window, settings,  # noqa: ANN001
                                                                   tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    for i, stem in enumerate(["eye_1", "eye_2"]):
        write_export(exports, stem, seed=i)
    settings.export_dir = str(exports)
    window = make_window()
    fake = FakeFinetune()
    window.versions.finetune = fake  # the base checkpoint is loaded for real: the window's tiny model
    click_in_menu(qtbot, model_menu(window), lambda: window.versions.act_adapt)
    dialog = window.versions.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: len(dialog.ticked()) == 2, timeout=30_000)
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=60_000)
    assert fake.calls[0]["base"].trained_on == "nothing (random test weights)"
    assert fake.calls[0]["names"] == ["eye_1", "eye_2"]
    with qtbot.waitSignal(window.modelChanged, timeout=60_000) as changed:
        qtbot.mouseClick(dialog.result_page.keep, Qt.MouseButton.LeftButton)
    (version,) = window.versions.store.list()
    assert isinstance(version, ModelVersion) and changed.args == [str(version.path)]
    assert window.model_path == str(version.path) and window.models.name == version.name
    assert version.card["base_model"] == "tiny.pt" and version.card["results"]["held_out"] == "eye_2"
    model_menu(window).aboutToShow.emit()
    assert version_action(window, version.name).isChecked()
