"""OverlayStyle: which overlays are visible and how they look (a small model with one signal)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

from gui.canvas.render import HEATMAPS


@dataclass(frozen=True)
class OverlayValues:
    show_mask: bool = True
    # Cyan on the red-orange fundus and Cividis (blue to yellow) beside it stay apart for everyone: the old
    # green mask was close to Viridis' upper half, and to the fundus itself for red-green colour blindness
    # (tests/gui/test_heat_scale.py measures it under simulated colour-vision deficiencies).
    mask_color: str = "#00e5ff"
    mask_opacity: float = 0.6
    show_heat: bool = False
    heatmap: str = "Cividis"
    heat_opacity: float = 0.7
    show_fov: bool = True


class OverlayStyle(QObject):
    """Current overlay values; ``changed`` is emitted with the names of the fields that changed."""

    changed = Signal(set)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.values = OverlayValues()

    def update(self, **changes: object) -> None:
        new = replace(self.values, **changes)
        diff = {f.name for f in fields(OverlayValues) if getattr(new, f.name) != getattr(self.values, f.name)}
        if diff:
            self.values = new
            self.changed.emit(diff)

    def toggle(self, name: str) -> None:
        self.update(**{name: not getattr(self.values, name)})

    @property
    def mask_qcolor(self) -> QColor:
        return QColor(self.values.mask_color)

    def to_strings(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self.values).items()}

    def restore(self, saved: dict[str, str]) -> None:
        """Apply saved strings; unknown or malformed entries keep their defaults."""
        changes: dict[str, object] = {}
        for f in fields(OverlayValues):
            raw = saved.get(f.name)
            if raw is None:
                continue
            try:
                if f.type in (bool, "bool"):
                    changes[f.name] = raw.lower() in ("true", "1")
                elif f.type in (float, "float"):
                    changes[f.name] = min(1.0, max(0.0, float(raw)))
                elif f.name == "mask_color":
                    if QColor(raw).isValid():
                        changes[f.name] = QColor(raw).name()
                elif f.name == "heatmap":
                    if raw in HEATMAPS:
                        changes[f.name] = raw
            except ValueError:
                continue
        self.update(**changes)
