"""AppSettings: recent files and preferences, each test in its own ini file."""

from __future__ import annotations

from pathlib import Path

from gui.canvas.style import OverlayStyle, OverlayValues
from gui.settings import MAX_RECENT, AppSettings


def test_recent_files_most_recent_first_without_duplicates(settings: AppSettings, tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    settings.add_recent(a)
    settings.add_recent(b)
    settings.add_recent(a)
    assert settings.recent_files() == [str(a.resolve()), str(b.resolve())]
    settings.remove_recent(b)
    assert settings.recent_files() == [str(a.resolve())]  # one entry survives the QSettings round trip
    for i in range(MAX_RECENT + 3):
        settings.add_recent(tmp_path / f"{i}.png")
    assert len(settings.recent_files()) == MAX_RECENT


def test_values_persist_in_the_ini_file(tmp_path: Path) -> None:
    s = AppSettings.from_file(tmp_path / "s.ini")
    s.device, s.model_path = "cpu", "/models/x.pt"
    style = OverlayStyle()
    style.update(mask_color="#123456", mask_opacity=0.25, show_heat=True)
    s.set_overlay(style.to_strings())
    s.sync()
    again = AppSettings.from_file(tmp_path / "s.ini")
    assert (again.device, again.model_path) == ("cpu", "/models/x.pt")
    restored = OverlayStyle()
    restored.restore(again.overlay())
    assert restored.values == style.values


def test_malformed_overlay_values_keep_defaults() -> None:
    style = OverlayStyle()
    style.restore({"mask_opacity": "lots", "mask_color": "not a colour", "heatmap": "Rainbow", "show_fov": "false"})
    assert style.values.mask_opacity == 0.6 and style.values.mask_color == OverlayValues.mask_color
    assert style.values.heatmap == OverlayValues.heatmap and style.values.show_fov is False
