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
    show_av: bool = True
    # Where an artery touches a vein, found on the shown labels (display only: gui.jobs.crossings)
    show_crossings: bool = True
    # Red artery, blue vein and green crossing as in the datasets' files (AV_PRESETS has a colour-blind one)
    artery_color: str = "#ff2a2a"
    vein_color: str = "#2f6bff"
    crossing_color: str = "#30e040"
    av_opacity: float = 0.75
    show_disc: bool = True


#: Named artery, vein and crossing colours. Red on the red-orange fundus fades for everyone and vanishes for
#: protanopes, so the colour-blind preset is yellow-green / blue / pink: arteries and veins stay apart from each
#: other, from the fundus and from the cyan vessel mask under every simulated colour-vision deficiency
#: (tests/gui/test_artery_vein_overlay.py measures it).
AV_PRESETS: dict[str, tuple[str, str, str]] = {
    "Red / Blue (as the Datasets)": ("#ff2a2a", "#2f6bff", "#30e040"),
    "Colour-Blind Safe": ("#d4ff00", "#4d5bff", "#ff4dd2"),
}


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

    def use_av_preset(self, name: str) -> None:
        """Artery, vein and crossing colours of the preset ``name`` (a key of AV_PRESETS)."""
        artery, vein, crossing = AV_PRESETS[name]
        self.update(artery_color=artery, vein_color=vein, crossing_color=crossing)

    @property
    def av_preset(self) -> str:
        """The preset whose colours are in use ('' for colours chosen one by one)."""
        v = self.values
        now = (v.artery_color.lower(), v.vein_color.lower(), v.crossing_color.lower())
        return next((name for name, colors in AV_PRESETS.items() if tuple(c.lower() for c in colors) == now), "")

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
                elif f.name.endswith("_color"):
                    if QColor(raw).isValid():
                        changes[f.name] = QColor(raw).name()
                elif f.name == "heatmap":
                    if raw in HEATMAPS:
                        changes[f.name] = raw
            except ValueError:
                continue
        self.update(**changes)
