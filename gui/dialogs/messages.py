"""Dialogs that never block the event loop (the worker keeps reporting while they are open)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def open_message(parent: QWidget | None, title: str, text: str,
                 icon: QMessageBox.Icon = QMessageBox.Icon.Warning, details: str = "") -> QMessageBox:
    """Show a window-modal message box without blocking (QMessageBox.open, not exec)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.open()
    return box


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _metric_lines(metrics: dict[str, Any], indent: str) -> list[str]:
    """Nested metric dicts (e.g. {"validation": {"f1": …}}) as indented lines."""
    out = []
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.append(f"{indent}{k}:")
            out.extend(_metric_lines(v, indent + "  "))
        else:
            out.append(f"{indent}{k}: {_value(v)}")
    return out


def format_card(card: dict[str, Any]) -> str:
    """A model card as readable plain text: what it is, what it was trained on, how well it did."""
    lines = []
    arch = card.get("arch") or {}
    lines.append(f"File: {card.get('path') or 'default model'}")
    if arch:
        name = {"unet": "UNet"}.get(str(card.get("architecture", "unet")), str(card.get("architecture")))
        lines.append(f"Architecture: {name}(" + ", ".join(f"{k}={v}" for k, v in arch.items()) + ")")
    if card.get("classes"):
        lines.append(f"Task: {card.get('task', '?')} (classes: {', '.join(card['classes'])})")
    if card.get("parameters"):
        lines.append(f"Parameters: {int(card['parameters']):,}")
    lines.append(f"Trained on: {card.get('trained_on', 'unknown')}")
    for name, value in (card.get("thresholds") or {}).items():
        lines.append(f"Default threshold ({name}): {float(value):.3f}")
    metrics = card.get("metrics") or {}
    if metrics:
        lines.append("Metrics:")
        lines.extend(_metric_lines(metrics, "  "))
    pre = card.get("preprocessing") or {}
    if pre:
        lines.append("Preprocessing: " + ", ".join(f"{k}={_value(v)}" for k, v in pre.items()))
    if card.get("source") and card.get("source") != "retinaseg":
        lines.append(f"Format: {card['source']}")
    return "\n".join(lines)
