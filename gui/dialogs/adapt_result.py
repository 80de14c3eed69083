"""The Adapt dialog's last page: how the adapted model compares with the one it started from.

F1 on the image kept aside (against the user's correction of it), the pixels still labelled differently
on the images learnt from, before and after; Keep and Discard. A run that went wrong shows why in red
and has no Keep (its Discard reads "Back").
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.jobs.adapt import AdaptResult


class ResultPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #b00020; font-weight: bold")
        self.table_title = QLabel("Pixels still labelled differently from your corrections, on the images "
                                  "the model learnt from:")
        self.table_title.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Image learnt from", "Before", "After"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.keep = QPushButton("Keep")
        self.keep.setToolTip("Save this model as a version (Model menu) and use it from now on")
        self.discard = QPushButton("Discard")
        self.save_error = QLabel()
        self.save_error.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.save_error, 1)
        row.addWidget(self.keep)
        row.addWidget(self.discard)
        v = QVBoxLayout(self)
        v.addWidget(self.headline)
        v.addWidget(self.reason)
        v.addWidget(self.table_title)
        v.addWidget(self.table)
        v.addStretch(1)
        v.addLayout(row)

    def show_result(self, result: AdaptResult) -> None:
        o = result.outcome
        self.headline.setText(headline(o))
        self.reason.setText("" if result.offered else f"Not offered: {o.reason}")
        self.reason.setVisible(not result.offered)
        self.table.setRowCount(len(o.wrong_pixels))
        for row, (name, (before, after)) in enumerate(sorted(o.wrong_pixels.items())):
            for col, text in enumerate((name, f"{before:,}", f"{after:,}")):
                cell = QTableWidgetItem(text)
                if col:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, cell)
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows + 2 * self.table.frameWidth())
        self.table.setVisible(bool(o.wrong_pixels))
        self.table_title.setVisible(bool(o.wrong_pixels))
        self.keep.setVisible(result.offered)
        self.discard.setText("Discard" if result.offered else "Back")
        self.save_error.setText("")


def headline(o: Any) -> str:
    """Steps, time and the check on the image kept aside (``o``: a core.ml.finetune outcome)."""
    took = f"Adapted in {o.steps} steps ({duration(o.seconds)})."
    if o.held_out is None:
        return (f"{took}<br>Only one image: none was kept aside to check the new model on, so the figures below "
                "are on the image it learnt from.")
    before, after = (f"{v:.3f}" if v is not None else "–" for v in (o.before_f1, o.after_f1))
    return (f"{took}<br>Checked on <b>{escape(o.held_out)}</b> (kept aside, not learnt from) against your correction:"
            f"<br>F1 <b>{before}</b> before, <b>{after}</b> after.")


def duration(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m else f"{s} s"
