"""ModelCardDialog: the model card laid out for reading, with the raw JSON behind a Details expander.

The rows come from core.predict.model_card.describe_card; this module only lays them out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.predict.model_card import DatasetFigures, ModelCardView, describe_card

_COLUMNS = ("Dataset", "Split", "Images", "F1 (Dice)", "ROC AUC", "Se", "Sp", "Worst image F1", "2nd observer F1")


def _cell(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def _figures_table(rows: list[DatasetFigures]) -> str:
    head = "".join(f"<th align='left'>{escape(c)}</th>" for c in _COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in (
            r.dataset, r.split, _cell(r.images), _cell(r.f1), _cell(r.roc_auc), _cell(r.sensitivity),
            _cell(r.specificity), _cell(r.worst_f1), _cell(r.second_observer_f1))) + "</tr>"
        for r in rows)
    return f"<table cellspacing='0' cellpadding='3' border='1'><tr>{head}</tr>{body}</table>"


def _items(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>" if lines else ""


def card_html(view: ModelCardView) -> str:
    """The card as rich text: name, what it is, training data, figures per dataset, threshold, use, limits."""
    facts = [("Task", view.task), ("Architecture", view.architecture), ("Trained on", view.trained_on)]
    if view.preprocessing:
        facts.append(("Input", view.preprocessing))
    if view.thresholds:
        facts.append(("Threshold", "; ".join(view.thresholds)))
    table = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in facts)
    parts = [f"<h2>{escape(view.name)}</h2>", f"<table cellpadding='2'>{table}</table>"]
    if view.training_data:
        parts += ["<h3>Training data</h3>", _items(view.training_data)]
    parts.append("<h3>How well it did</h3>")
    if view.figures:
        parts.append(_figures_table(view.figures))
    parts.append(f"<p><i>{escape(view.figures_note)}</i></p>")
    parts += ["<h3>Intended use</h3>", f"<p>{escape(view.intended_use)}</p>",
              "<h3>Known limits</h3>", _items(view.limits)]
    return "".join(parts)


def card_json(card: Mapping[str, Any]) -> str:
    return json.dumps(card, indent=2, default=str, ensure_ascii=False)


class ModelCardDialog(QDialog):
    """Readable card on top; the Details button shows (and hides) the card's raw JSON."""

    def __init__(self, card: Mapping[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = describe_card(card)
        self.setWindowTitle(f"Model card: {self.view.name}")
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(card_html(self.view))
        self.details_button = QToolButton()
        self.details_button.setText("Details (raw JSON)")
        self.details_button.setCheckable(True)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details = QPlainTextEdit(card_json(card))
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setVisible(False)
        self.details_button.toggled.connect(self._show_details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 3)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details, 2)
        layout.addWidget(buttons)
        self.resize(760, 620)

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


def open_model_card(parent: QWidget | None, card: Mapping[str, Any]) -> ModelCardDialog:
    """Show the card without blocking the event loop (the worker keeps reporting meanwhile)."""
    dialog = ModelCardDialog(card, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
