"""The heat map has a colour scale, and the default mask and heat-map colours stay apart from each
other and from the fundus, also for colour-blind users (measured, not eyeballed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gui.canvas.render import HEATMAPS, heat_colors
from gui.canvas.style import OverlayValues
from tests.gui.colour_vision import VISION, hex_rgb, smallest_difference
from tests.gui.conftest import FakeService
from tests.gui.test_editing import segment_and_wait

#: CIE76 distance above which two colours read as different ones
APART = 20.0
#: the colours of a fundus photograph: the red-orange retina, a darker one, the pale optic disc
FUNDUS = np.array([[200, 80, 40], [150, 50, 20], [240, 190, 120]])


def test_the_default_mask_colour_differs_from_the_heat_map_where_both_show() -> None:
    values = OverlayValues()
    above = heat_colors(values.heatmap)[128:]  # the heat map's colours where the mask is drawn (p >= 0.5)
    distance, vision = smallest_difference(hex_rgb(values.mask_color), above)
    assert distance >= APART, f"mask {values.mask_color} and {values.heatmap} are {distance:.1f} apart ({vision})"


def test_the_default_mask_colour_differs_from_the_fundus_for_every_vision() -> None:
    distance, vision = smallest_difference(hex_rgb(OverlayValues().mask_color), FUNDUS)
    assert distance >= APART, f"the mask is {distance:.1f} from the fundus ({vision})"


def test_the_simulation_sees_what_colour_blind_users_report() -> None:
    """Red and green, far apart to normal vision, nearly merge for a deuteranope; blue and yellow do not."""
    red, green = (200, 80, 40), np.array([[80, 160, 40]])
    assert smallest_difference(red, green)[1] in ("deuteranopia", "protanopia")
    assert smallest_difference(red, green)[0] < 0.3 * np.linalg.norm(np.subtract(red, green[0]))
    assert smallest_difference((0, 90, 255), np.array([[255, 230, 40]]))[0] > 50
    assert set(VISION) == {"normal", "protanopia", "deuteranopia", "tritanopia"}


@pytest.fixture
def window(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    w = make_window(FakeService())
    assert w.open_path(image_file)
    return w


def test_the_colour_bar_shows_the_heat_maps_scale_and_the_threshold(qtbot, window) -> None:  # noqa: ANN001
    bar = window.overlay_controls.color_bar
    assert bar.isVisible() and bar.heatmap == OverlayValues().heatmap and bar.threshold is None
    segment_and_wait(qtbot, window)
    assert bar.threshold == pytest.approx(window.document.threshold)

    for name in HEATMAPS:
        window.overlay_controls.heatmap.setCurrentText(name)  # what picking it in the box does
        assert bar.heatmap == name
        picture = bar.grab().toImage()
        rect = bar.bar_rect()
        y = int(rect.center().y())
        for p in (0.0, 1.0):
            x = int(round(rect.left() + 2 + p * (rect.width() - 4)))  # inside the frame
            c = picture.pixelColor(int(x * picture.devicePixelRatio()), int(y * picture.devicePixelRatio()))
            expected = heat_colors(name)[0 if p == 0 else -1]
            assert np.abs(np.array([c.red(), c.green(), c.blue()]) - expected).max() <= 12, (name, p)

    window.threshold.spin.setValue(0.8)  # the marker follows the threshold
    assert bar.threshold == pytest.approx(0.8)
    assert bar.x_of(0.8) == pytest.approx(bar.bar_rect().left() + 0.8 * bar.bar_rect().width())
