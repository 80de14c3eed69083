"""The Measurements panel: the biomarkers of the shown result with units, scale and reasons, recomputed in the
worker after every kind of edit (stale values greyed meanwhile, superseded results dropped), the vessels a
calibre used drawn on the image when its value is clicked, and the biomarkers in the export.

The image is a synthetic retina: twelve straight vessels radiating from an optic disc of 40 px at (120, 120),
arteries and veins alternating, 3 to 5.4 px wide, so that six of each cross every circle of zones B and C.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsPathItem

from core.io.images import write_image
from core.measure.optic_disc import OpticDisc
from gui.canvas.tools import Tool
from gui.document.document import ARTERIES_VEINS
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeService
from tests.gui.test_editing import drag, segment_and_wait

TIMEOUT = 30_000
H = W = 240
CX = CY = 120.0
DISC = 40.0
ARTERY, VEIN = 1, 2


def radial_tree() -> tuple[np.ndarray, np.ndarray]:
    """Twelve vessels from 25 to 115 px off the disc centre: (vessel mask, artery/vein labels)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    vessels = np.zeros((H, W), bool)
    labels = np.zeros((H, W), np.uint8)
    for i in range(12):
        theta = 2 * np.pi * i / 12
        across = np.abs(-(xx - CX) * np.sin(theta) + (yy - CY) * np.cos(theta))
        along = (xx - CX) * np.cos(theta) + (yy - CY) * np.sin(theta)
        on = (across <= (3.0 + 1.2 * (i % 3)) / 2) & (along > 25) & (along < 115)
        vessels |= on
        labels[on] = ARTERY if i % 2 == 0 else VEIN
    return vessels, labels


def tree_service() -> FakeService:
    vessels, _ = radial_tree()

    def wrap(seg):  # noqa: ANN001, ANN202
        seg.probability = lambda h, w: np.where(vessels, 0.9, 0.05).astype(np.float32)
        return seg

    return FakeService(wrap=wrap)


def wait_measured(qtbot, window, action=None):  # noqa: ANN001, ANN201
    """Run ``action`` (or nothing) and wait for the panel's next report; returns it."""
    with qtbot.waitSignal(window.measurements.live.measured, timeout=TIMEOUT) as blocker:
        if action is not None:
            action()
    return blocker.args[0]


@pytest.fixture
def window(qtbot, make_window, settings, tmp_path: Path):  # noqa: ANN001, ANN201
    """The synthetic retina segmented (no labels, no disc yet) and measured once, the panel open."""
    settings.show_measurements = True
    w = make_window(tree_service())
    path = write_image(tmp_path / "eye.png", synthetic_fundus(H, W))
    assert w.open_path(path)
    wait_measured(qtbot, w, lambda: segment_and_wait(qtbot, w))
    return w


@pytest.fixture
def typed(qtbot, window):  # noqa: ANN001, ANN201
    """The same with its arteries and veins typed and the optic disc placed, measured."""
    doc = window.document
    _, labels = radial_tree()
    wait_measured(qtbot, window, lambda: (doc.replace_labels(ARTERIES_VEINS, labels, "Type vessels"),
                                          doc.set_disc(OpticDisc(CX, CY, DISC, 1.0, "hand"), "Place optic disc")))
    return window


def panel(window):  # noqa: ANN001, ANN201
    return window.measurements.panel


def cell(window, name: str, vessels: str = "all", region: str = "fov", col: int = 2) -> str:  # noqa: ANN001
    p = panel(window)
    row = p.row_of(name, vessels, region)
    assert row >= 0, f"no row for {name} ({vessels}, {region})"
    return p.table.item(row, col).text()


def click_row(qtbot, window, name: str, vessels: str, region: str) -> None:  # noqa: ANN001
    """A real mouse click on the entry's value cell."""
    table = panel(window).table
    row = panel(window).row_of(name, vessels, region)
    table.scrollToItem(table.item(row, 2))
    rect = table.visualItemRect(table.item(row, 2))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def grey(window) -> object:  # noqa: ANN001
    from PySide6.QtGui import QPalette

    return panel(window).palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)


# the table ------------------------------------------------------------------------------------------------
def test_the_panel_is_closed_at_first_and_opened_as_the_user_left_it(qtbot, make_window, settings) -> None:  # noqa: ANN001
    first = make_window()
    assert not first.measurements.isVisible()
    first.measurements.toggleViewAction().trigger()
    assert first.measurements.isVisible() and settings.show_measurements
    assert make_window().measurements.isVisible()


def test_the_panel_is_a_dock_beside_the_result_toggled_from_the_view_menu(qtbot, window) -> None:  # noqa: ANN001
    dock = window.measurements
    assert dock.isVisible() and window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert dock.toggleViewAction() in view.actions()
    dock.toggleViewAction().trigger()
    assert not dock.isVisible()
    _stroke(window)  # an edit while hidden: nothing is computed
    qtbot.wait(400)
    assert not window.jobs.busy("measure") and not window.measurements.live.current
    wait_measured(qtbot, window, dock.toggleViewAction().trigger)  # shown again: measured at once
    assert window.measurements.live.current


def test_values_in_pixels_and_each_missing_one_with_its_reason_in_grey(window) -> None:  # noqa: ANN001
    p, report = panel(window), window.measurements.live.report
    assert "unknown" in p.scale.text()
    assert cell(window, "vessel_density") == f"{report.value('vessel_density'):.4g}"
    assert cell(window, "vessel_length").endswith(" px") and cell(window, "vessel_length", col=3) == ""
    for name, vessels, region, reason in (("vessel_length", "artery", "fov", "no artery/vein labels"),
                                          ("crae", "artery", "zone_b", "no artery/vein labels"),
                                          ("avr", "all", "zone_c", "no artery/vein labels")):
        row = p.row_of(name, vessels, region)
        assert p.table.item(row, 2).text() == reason
        assert p.table.columnSpan(row, 2) == 2
        assert p.text_color(row, 2) == grey(window)
    assert p.text_color(p.row_of("vessel_density"), 2) != grey(window)


def test_a_field_angle_gives_micrometres_and_says_where_the_scale_comes_from(qtbot, window) -> None:  # noqa: ANN001
    report = wait_measured(qtbot, window, lambda: panel(window).field_angle.setValue(45))
    assert report.scale.source == "field_angle"
    assert "camera field angle" in panel(window).scale.text()
    width_um = report.get("average_width").physical
    assert cell(window, "average_width", col=3) == f"{width_um:.4g} µm"
    assert cell(window, "vessel_length", col=3).endswith(" mm")


def test_arteries_veins_and_calibres_per_zone_once_typed_with_a_disc(typed) -> None:  # noqa: ANN001
    report = typed.measurements.live.report
    for kind in ("artery", "vein"):
        assert cell(typed, "vessel_length", kind).endswith(" px")
    for zone in ("zone_b", "zone_c"):
        crae, crve = report.get("crae", "artery", zone), report.get("crve", "vein", zone)
        assert not crae.missing and not crve.missing
        assert crae.value < crve.value  # the arteries here are no wider than the veins
        assert cell(typed, "crae", "artery", zone) == f"{crae.value:.4g} px"
        assert cell(typed, "avr", "all", zone) == f"{crae.value / crve.value:.4g}"
    assert "disc diameter taken as 1800 µm" in panel(typed).scale.text()  # the disc gives a scale
    assert cell(typed, "crae", "artery", "zone_b", col=0) == "CRAE, zone B"


# recomputing after edits ---------------------------------------------------------------------------------
def _stroke(w) -> None:  # noqa: ANN001
    """A brush drag joining the vessel at 120° (about 80 px of new vessel)."""
    w.editing.tool_actions[Tool.BRUSH].trigger()
    drag(w.canvas, [(20, 200), (60, 200), (100, 200)])


def _vein_brush(w) -> None:  # noqa: ANN001
    """The vein brush along the artery at 0° retypes most of it."""
    w.editing.tool_actions[Tool.VEIN].trigger()
    drag(w.canvas, [(150, 120), (190, 120), (232, 120)])


def _swap(w) -> None:  # noqa: ANN001
    """A click of the swap tool on the artery at 0° makes it a vein."""
    w.av.swap_at(w.document, 120, 180, 3)


def _move_disc(w) -> None:  # noqa: ANN001
    w.document.set_disc(OpticDisc(CX + 4, CY, DISC * 1.2, 1.0, "hand"), "Resize optic disc")


def _threshold(w) -> None:  # noqa: ANN001
    w.document.set_threshold(0.95)  # above every vessel's probability: no vessels left


EDITS = {"stroke": _stroke, "vein brush": _vein_brush, "swap": _swap, "disc": _move_disc, "threshold": _threshold}


@pytest.mark.parametrize("edit", EDITS)
def test_every_edit_greys_the_values_and_recomputes_them_in_the_worker(qtbot, typed, edit: str) -> None:  # noqa: ANN001
    live, p = typed.measurements.live, panel(typed)
    before = live.report
    greyed: list[bool] = []
    live.stale.connect(lambda: greyed.append(p.text_color(p.row_of("vessel_density"), 2) == grey(typed)))
    after = wait_measured(qtbot, typed, lambda: EDITS[edit](typed))
    assert greyed and all(greyed)  # greyed at once, until the new values came
    assert p.status.text().startswith("Measured") and p.text_color(p.row_of("vessel_density"), 2) != grey(typed)
    assert live.current and after is live.report
    if edit == "stroke":
        assert after.value("vessel_length") > before.value("vessel_length") + 50
    elif edit in ("vein brush", "swap"):
        assert after.value("vessel_length", "artery") < before.value("vessel_length", "artery") - 50
        assert after.value("vessel_length", "vein") > before.value("vessel_length", "vein") + 50
        assert after.get("crae", "artery", "zone_b").missing  # five arteries left
    elif edit == "disc":
        assert after.scale.um_per_px == pytest.approx(before.scale.um_per_px / 1.2)
        assert after.get("crae", "artery", "zone_b").physical != before.get("crae", "artery", "zone_b").physical
    else:
        assert after.value("vessel_density") == 0 and after.get("average_width").missing


def test_a_new_result_is_measured(qtbot, window) -> None:  # noqa: ANN001
    before = window.measurements.live.report
    vessels, _ = radial_tree()
    vessels[:, : int(CX)] = False  # the next result finds the right half only
    window.service.predictors[-1].probability = lambda h, w: np.where(vessels, 0.9, 0.05).astype(np.float32)
    report = wait_measured(qtbot, window, lambda: segment_and_wait(qtbot, window))
    assert 0 < report.value("vessel_density") < 0.7 * before.value("vessel_density")
    assert window.measurements.live.current


def test_a_drag_is_measured_once_after_it_ends(qtbot, typed) -> None:  # noqa: ANN001
    submitted: list[bool] = []
    typed.jobs.busyChanged.connect(lambda kind, busy: kind == "measure" and busy and submitted.append(busy))
    wait_measured(qtbot, typed, lambda: _stroke(typed))  # a drag of three segments, each a change of the mask
    qtbot.wait(400)
    assert submitted == [True] and typed.measurements.live.current


def test_a_superseded_computation_is_dropped(qtbot, typed) -> None:  # noqa: ANN001
    live = typed.measurements.live
    reports: list[object] = []
    live.measured.connect(reports.append)
    first = live.measure_now()
    panel(typed).field_angle.setValue(30)  # a change while the first job is queued or running
    second = live.measure_now()
    assert first is not None and second is not None and second != first
    qtbot.waitUntil(lambda: bool(reports), timeout=TIMEOUT)
    qtbot.wait(400)
    assert len(reports) == 1 and reports[0].scale.source == "field_angle" and live.current


def test_what_cannot_be_measured_is_said_in_one_line(qtbot, window) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.measurements.live.failed, timeout=TIMEOUT) as failed:
        window.document.set_fov(np.zeros((H, W), bool))
    assert failed.args[0] == "the FOV mask is empty: nothing to measure inside it"
    assert panel(window).status.text() == f"Cannot measure: {failed.args[0]}"
    assert panel(window).table.rowCount() == 0


def test_a_mask_that_is_no_vessel_tree_is_refused_before_its_tracing() -> None:
    from core.measure.biomarkers import BiomarkerInputError
    from gui.jobs.measurements import MeasureRequest, compute

    noise = np.random.default_rng(1).random((900, 900)) > 0.6  # tracing its graph would take minutes
    with pytest.raises(BiomarkerInputError, match="not a vessel tree: its centreline is [0-9]+ FOV diameters"):
        compute(MeasureRequest(noise, None, None, None))
    vessels, labels = radial_tree()
    assert compute(MeasureRequest(vessels, None, labels, (CX, CY, DISC))).value("crae", "artery", "zone_b") > 0


# the vessels of a calibre ------------------------------------------------------------------------------------
def test_clicking_crae_draws_the_six_arteries_it_used_and_elsewhere_clears(qtbot, typed) -> None:  # noqa: ANN001
    layer = typed.canvas.layer("calibre_vessels")
    click_row(qtbot, typed, "crae", "artery", "zone_b")
    assert layer.shown()
    used = typed.measurements.live.report.calibre_vessels[("crae", "zone_b")]
    assert len(used) == 6 and all(v.circles == 5 for v in used)  # six arteries cross each of zone B's circles
    assert layer.shown_vessels == {"": used}
    assert [n.text() for n in layer.numbers] == ["1", "2", "3", "4", "5", "6"]
    _, labels = radial_tree()
    for vessel in used:  # each line runs along an artery, inside zone B (1 to 1.5 disc diameters out)
        rows, cols = np.rint(vessel.points).astype(int).T
        assert (labels[rows, cols] == ARTERY).all()
        radius = np.hypot(rows - CY, cols - CX)
        assert radius.min() >= DISC - 1 and radius.max() <= 1.5 * DISC + 1
        assert len(vessel.points) >= 15
    lines = [item for item in layer.item.childItems() if isinstance(item, QGraphicsPathItem)]
    assert len(lines) == 2 * 6  # a halo and a line each
    left = min(item.path().boundingRect().left() for item in lines)
    right = max(item.path().boundingRect().right() for item in lines)
    assert (left, right) == pytest.approx((CX - 1.5 * DISC, CX + 1.5 * DISC), abs=2)  # zone B's outer circle

    click_row(qtbot, typed, "vessel_density", "all", "fov")
    assert not layer.shown() and layer.numbers == []

    click_row(qtbot, typed, "avr", "all", "zone_b")  # the ratio shows both: arteries A1…, veins V1…
    assert sorted(n.text() for n in layer.numbers) == sorted([f"A{i}" for i in range(1, 7)] +
                                                             [f"V{i}" for i in range(1, 7)])


def test_an_edit_clears_the_highlighted_vessels(qtbot, typed) -> None:  # noqa: ANN001
    layer = typed.canvas.layer("calibre_vessels")
    click_row(qtbot, typed, "crve", "vein", "zone_c")
    assert layer.shown() and len(layer.numbers) == 6
    _move_disc(typed)
    assert not layer.shown()  # at once: the lines described the disc before the move
    wait_measured(qtbot, typed)
    assert not layer.shown() and not panel(typed).table.selectedItems()


def test_a_calibre_not_measured_highlights_nothing(qtbot, window) -> None:  # noqa: ANN001
    click_row(qtbot, window, "crae", "artery", "zone_b")  # no labels: a reason, no vessels
    assert not window.canvas.layer("calibre_vessels").shown()


# export -------------------------------------------------------------------------------------------------------
def read_row(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    return rows[0]


def test_export_writes_the_biomarkers_to_the_sidecar_and_one_csv_row(typed, tmp_path: Path) -> None:  # noqa: ANN001
    report = typed.measurements.live.report
    assert typed.export(str(tmp_path))
    info = json.loads((tmp_path / "eye_info.json").read_text())
    block = info["measurements"]["biomarkers"]
    assert block["scale"]["source"] == "disc_convention"
    entries = {(e["name"], e["vessels"], e["region"]): e for e in block["entries"]}
    assert len(entries) == len(report.entries)
    crae = entries[("crae", "artery", "zone_b")]
    assert crae["status"] == "measured" and crae["unit"] == "px" and crae["physical_unit"] == "µm"
    assert crae["value"] == pytest.approx(report.value("crae", "artery", "zone_b"))
    assert crae["method"].startswith("revised Knudtson")
    angle = entries[("bifurcation_angle", "all", "fov")]  # straight vessels do not branch
    assert angle["status"] == "missing" and angle["reason"] and "value" not in angle

    row = read_row(tmp_path / "eye_biomarkers.csv")
    assert row["source"] == info["source"]
    assert float(row["crae_zone_b_px"]) == pytest.approx(crae["value"])
    assert float(row["crae_zone_b_um"]) == pytest.approx(crae["physical"])
    assert float(row["avr_zone_c"]) == pytest.approx(report.value("avr", "all", "zone_c"))
    assert float(row["vessel_length_artery_px"]) == pytest.approx(report.value("vessel_length", "artery"))
    assert float(row["vessel_density"]) == pytest.approx(report.value("vessel_density"))
    assert row["bifurcation_angle_missing"] == angle["reason"] and row["bifurcation_angle_deg"] == ""
    assert row["crae_zone_b_missing"] == "" and row["scale_source"] == "disc_convention"


def test_an_export_reuses_current_values_and_measures_stale_ones_in_its_worker(qtbot, typed, tmp_path: Path,  # noqa: ANN001
                                                                            monkeypatch) -> None:
    import threading

    import gui.widgets.measurements_live as live_module

    real, threads = live_module.compute, []

    def spying(request):  # noqa: ANN001, ANN202
        threads.append(threading.current_thread())
        return real(request)

    monkeypatch.setattr(live_module, "compute", spying)
    (tmp_path / "a").mkdir()
    assert typed.export(str(tmp_path / "a"))
    assert threads == []  # the panel's values were current: no second computation

    typed.measurements.toggleViewAction().trigger()  # hidden: no live values
    _stroke(typed)
    (tmp_path / "b").mkdir()
    assert typed.export(str(tmp_path / "b"))
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    exported = read_row(tmp_path / "b" / "eye_biomarkers.csv")
    expected = real(live_module.measure_request(typed.document))
    assert float(exported["vessel_length_px"]) == pytest.approx(expected.value("vessel_length"))


def test_an_export_that_cannot_measure_still_writes_the_rest(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    window.measurements.toggleViewAction().trigger()
    window.document.set_fov(np.zeros((H, W), bool))
    assert window.export(str(tmp_path))
    assert (tmp_path / "eye_mask.png").exists()
    reason = "the FOV mask is empty: nothing to measure inside it"
    info = json.loads((tmp_path / "eye_info.json").read_text())
    assert info["measurements"]["biomarkers"] == {"error": reason}
    row = read_row(tmp_path / "eye_biomarkers.csv")
    assert row["vessel_density"] == "" and row["vessel_density_missing"] == reason
