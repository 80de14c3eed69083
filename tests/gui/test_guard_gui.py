"""The plausibility guard in the window: a flooded result shows a warning beside it, and the export records it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gui.conftest import FakeService
from tests.gui.test_main_window import segment_and_wait


def test_a_flooded_result_shows_a_warning_and_a_plausible_threshold_clears_it(qtbot, make_window,  # noqa: ANN001
                                                                              image_file: Path) -> None:
    window = make_window(FakeService())  # its probability is a ramp: at 0.5 half the FOV is vessel
    window.open_path(image_file)
    assert segment_and_wait(qtbot, window)[0]
    text = window.result_info.text()
    assert "&#9888;" in text and "of the field of view is marked as vessel" in text
    assert "check the result" in window.result_info.toolTip()

    with qtbot.waitSignal(window.document.maskChanged, timeout=1000):
        window.threshold.slider.setValue(700)  # 0.7: 11 % of the FOV is left, a plausible share
    qtbot.waitUntil(lambda: "&#9888;" not in window.result_info.text(), timeout=2000)
    assert window.result_info.toolTip() == ""


def test_the_exported_sidecar_records_the_warnings(qtbot, make_window, image_file: Path,  # noqa: ANN001
                                                   tmp_path: Path) -> None:
    window = make_window(FakeService())
    window.open_path(image_file)
    assert segment_and_wait(qtbot, window)[0]
    out = tmp_path / "export"
    out.mkdir()
    assert window.exporter.export(window.document, str(out))
    doc = json.loads((out / "eye_info.json").read_text(encoding="utf-8"))
    assert "vessel_fraction_high" in [w["code"] for w in doc["warnings"]]


def test_artery_vein_labels_typing_nearly_every_vessel_artery_warn_until_the_veins_are_back(  # noqa: ANN001
        qtbot, make_window, image_file: Path, tmp_path: Path, monkeypatch) -> None:
    import core.measure.plausibility as plausibility
    from gui.canvas.tools import Tool
    from tests.gui.test_crossings_layer import labelled_window
    from tests.gui.test_editing import drag

    monkeypatch.setattr(plausibility, "MIN_TYPED_PIXELS", 100)  # the test image's vessels are few
    window = labelled_window(qtbot, make_window, image_file, tmp_path)  # two arteries, one vein: balanced enough
    assert "typed vessels" not in window.result_info.text()

    window.editing.tool_actions[Tool.ARTERY].trigger()
    window.editing.tools.set_size(8)
    drag(window.canvas, [(51, 2), (51, 30), (51, 60), (51, 94)])  # the vein retyped as artery
    qtbot.waitUntil(lambda: "typed vessels are marked as arteries" in window.result_info.text(), timeout=2000)
    out = tmp_path / "export"
    out.mkdir()
    assert window.exporter.export(window.document, str(out))
    sidecar = json.loads((out / "eye_info.json").read_text(encoding="utf-8"))
    assert "artery_share_implausible" in [w["code"] for w in sidecar["warnings"]]

    window.editing.act_undo.trigger()
    qtbot.waitUntil(lambda: "typed vessels" not in window.result_info.text(), timeout=2000)
