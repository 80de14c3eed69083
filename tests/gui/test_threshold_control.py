"""The threshold control before and after the first result: disabled and showing the model's threshold
until there is something to re-threshold, then the same value, enabled (no jump)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import FakeService
from tests.gui.test_editing import segment_and_wait

MODEL_THRESHOLD = 0.42


def model_with_threshold(seg):  # noqa: ANN001, ANN201
    seg.thresholds = {"vessel": MODEL_THRESHOLD}
    return seg


@pytest.fixture
def window(qtbot, make_window, image_file: Path):  # noqa: ANN001, ANN201
    card = {"thresholds": {"vessel": MODEL_THRESHOLD}, "classes": ["background", "vessel"]}
    service = FakeService(wrap=model_with_threshold, loader=lambda _path: SimpleNamespace(card=lambda: dict(card)))
    w = make_window(service)
    assert w.open_path(image_file)
    return w


def test_before_the_first_result_the_control_is_off_and_shows_the_models_threshold(qtbot, window) -> None:  # noqa: ANN001
    control = window.threshold
    qtbot.waitUntil(lambda: control.model_threshold is not None, timeout=30_000)
    assert not control.isEnabled() and not control.slider.isEnabled()
    assert control.spin.value() == pytest.approx(MODEL_THRESHOLD) and control.spin.text() == "0.420"
    assert control.slider.value() == round(MODEL_THRESHOLD * 1000)

    control.slider.setFocus()
    qtbot.keyClick(control.slider, Qt.Key.Key_PageUp)  # a disabled slider ignores the key
    assert control.slider.value() == round(MODEL_THRESHOLD * 1000) and not window.document.modified

    segment_and_wait(qtbot, window)

    assert control.isEnabled() and control.spin.text() == "0.420"  # the same value, now adjustable
    qtbot.keyClick(control.slider, Qt.Key.Key_PageUp)
    assert window.document.threshold > MODEL_THRESHOLD


def test_until_the_model_is_known_the_value_is_a_dash_not_a_made_up_number(qtbot, make_window,  # noqa: ANN001
                                                                          image_file: Path) -> None:
    window = make_window(FakeService(loader=lambda _path: (_ for _ in ()).throw(ValueError("unreadable"))))
    assert window.open_path(image_file)
    assert window.threshold.model_threshold is None
    assert window.threshold.spin.text() == "–" and not window.threshold.isEnabled()
