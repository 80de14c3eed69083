"""Model > Show Model Card: a readable card (figures per dataset in a table), the raw JSON behind Details."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import Qt

from gui.dialogs.model_card import ModelCardDialog
from tests.gui.conftest import FakeService

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "models" / "vessels_unet16.json"


def test_the_model_menu_shows_a_readable_card_with_details_behind_a_button(qtbot, make_window) -> None:  # noqa: ANN001
    card = json.loads(SHIPPED.read_text(encoding="utf-8"))
    window = make_window(FakeService(loader=lambda _path: SimpleNamespace(card=lambda: dict(card))))

    window.act_card.trigger()
    qtbot.waitUntil(lambda: window.card_dialog is not None and window.card_dialog.isVisible(), timeout=30_000)
    dialog = window.card_dialog
    assert isinstance(dialog, ModelCardDialog)

    text = dialog.text.toPlainText()
    for expected in ("tiny.pt", "Trained on", "training splits of DRIVE, CHASE_DB1, HRF (52 images)",
                     "DRIVE", "0.809", "CHASE_DB1", "0.819", "HRF", "0.798", "vessel: 0.710", "Intended use",
                     "Known limits", "heavy JPEG compression"):
        assert expected in text, expected
    assert "threshold_for" not in text and "tta: True" not in text and "Image_01L, Image_01R" not in text
    assert dialog.text.width() >= 600  # not a narrow message box

    assert not dialog.details.isVisible()
    qtbot.mouseClick(dialog.details_button, Qt.MouseButton.LeftButton)  # a real click on Details
    assert dialog.details.isVisible()
    assert json.loads(dialog.details.toPlainText())["metrics"]["validation"]["threshold_for"] == {
        "precision": "fp32", "tta": False}
    qtbot.mouseClick(dialog.details_button, Qt.MouseButton.LeftButton)
    assert not dialog.details.isVisible()
    dialog.close()
