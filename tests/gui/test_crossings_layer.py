"""Crossings in the app: where an artery touches a vein the artery/vein layer shows the crossing colour, found on
the labels in the worker after every change and never written into them; the Crossings box hides them (and is
remembered); the export writes them green into ``<stem>_av.png`` and counts them in the sidecar as the CLI does.

The fake artery/vein model types the horizontal vessels of the fake vessel map as arteries and the vertical one as
a vein, so an artery crosses a vein at (51, 31) and at (51, 71) (x, y)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.io.artery_vein import ARTERY, CROSSING, VEIN
from core.io.export import read_artery_vein, read_mask
from core.predict.crossings import mark_crossings
from core.predict.prediction import Prediction
from core.predict.service import PredictionService
from core.predict.tasks import get_task
from gui.canvas.tools import Tool
from gui.document.document import ARTERIES_VEINS, ImageDocument
from gui.jobs.crossings import LiveCrossings, changed_box, with_marks
from gui.jobs.runner import JobRunner
from tests.gui.test_artery_vein import label_and_wait, lines_service, near, shown_rgb
from tests.gui.test_editing import drag, segment_and_wait

UPPER, LOWER = (51, 31), (51, 71)  # (x, y) of the two crossings
MARK_TIMEOUT = 30_000


class FakeArteryVeinModel:
    """An artery/vein predictor stand-in: rows 30–33 and 70–72 artery, columns 50–53 vein."""

    task = get_task("arteries_veins")
    thresholds = {"vessel": 0.5}
    device = SimpleNamespace(type="cpu")
    device_name = "CPU"

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        h, w = image.shape[:2]
        artery, vein = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
        artery[30:34, :] = artery[70:73, :] = 0.8
        vein[:, 50:54] = 0.8
        background = np.clip(1 - artery - vein, 0, 1)
        fov = np.ones((h, w), bool) if fov is None else np.asarray(fov, bool)
        return Prediction(np.stack([background, artery, vein]), self.task, dict(self.thresholds), fov)


def wait_for_marks(qtbot, window) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: window.crossings.current and not window.crossings.busy, timeout=MARK_TIMEOUT)


def labelled_window(qtbot, make_window, image: Path, tmp_path: Path):  # noqa: ANN001, ANN201
    """A window showing ``image`` with the fake vessel map segmented and typed by the fake artery/vein model."""
    model = tmp_path / "fake_av.pt"
    model.write_bytes(b"never read: the fake service makes the predictor")
    service = PredictionService(predictor_factory=lambda *_: FakeArteryVeinModel(), devices=lambda: {"cpu": "CPU"})
    w = make_window(lines_service(), av_service=service, av_model_path=str(model))
    assert w.open_path(image)
    segment_and_wait(qtbot, w)
    label_and_wait(qtbot, w)
    return w


@pytest.fixture
def crossed(qtbot, make_window, image_file: Path, tmp_path: Path):  # noqa: ANN001, ANN201
    """A window showing eye.png with its three fake vessels typed by the fake artery/vein model, marks found."""
    w = labelled_window(qtbot, make_window, image_file, tmp_path)
    w.canvas.zoom_100()
    w.canvas.centerOn(56, 48)
    wait_for_marks(qtbot, w)
    return w


def crossing_color(window) -> str:  # noqa: ANN001
    return window.overlay_style.values.crossing_color


def test_the_layer_shows_the_crossing_colour_where_an_artery_crosses_a_vein(crossed) -> None:  # noqa: ANN001
    v, doc = crossed.overlay_style.values, crossed.document
    assert v.show_crossings and near(shown_rgb(crossed, *UPPER), v.crossing_color)
    assert near(shown_rgb(crossed, *LOWER), v.crossing_color)
    assert near(shown_rgb(crossed, 10, 31), v.artery_color) and near(shown_rgb(crossed, 51, 10), v.vein_color)
    assert near(shown_rgb(crossed, 51, 50), v.vein_color)  # the vein between the crossings is no crossing
    # display only: the labels stay artery and vein, nothing to undo, no hand edit
    assert CROSSING not in np.unique(doc.artery_vein)
    assert doc.undo_stack.count() == 0 and not doc.state.results["arteries_veins"].has_manual_edits


def test_the_crossings_box_hides_them_and_is_remembered(crossed, make_window) -> None:  # noqa: ANN001
    box = crossed.overlay_controls.show_crossings
    label = int(crossed.document.artery_vein[UPPER[1], UPPER[0]])
    box.click()  # as a click on it

    assert not box.isChecked() and not crossed.overlay_style.values.show_crossings
    v = crossed.overlay_style.values
    assert near(shown_rgb(crossed, *UPPER), v.artery_color if label == 1 else v.vein_color)
    assert crossed.canvas.layer("arteries_veins").shown()  # the arteries and veins stay

    crossed.close()
    again = make_window(lines_service())
    assert not again.overlay_controls.show_crossings.isChecked() and not again.overlay_style.values.show_crossings
    again.overlay_controls.show_crossings.click()
    assert again.overlay_style.values.show_crossings


def test_hiding_arteries_and_veins_greys_out_the_crossings_box(crossed) -> None:  # noqa: ANN001
    controls = crossed.overlay_controls
    controls.show_av.click()
    assert not controls.show_crossings.isEnabled() and not crossed.canvas.layer("arteries_veins").shown()
    controls.show_av.click()
    assert controls.show_crossings.isEnabled()
    assert near(shown_rgb(crossed, *UPPER), crossing_color(crossed))


def test_the_view_menu_entry_toggles_them_with_the_side_panel(crossed) -> None:  # noqa: ANN001
    action, box = crossed.av.act_show_crossings, crossed.overlay_controls.show_crossings
    assert action.isChecked() and box.isChecked()
    action.trigger()  # as the menu entry or its key
    assert not crossed.overlay_style.values.show_crossings and not box.isChecked()
    box.click()
    assert action.isChecked()
    crossed.overlay_controls.show_av.click()  # nothing to draw them over
    assert not action.isEnabled()


def test_erasing_where_they_cross_removes_the_mark_and_undo_brings_it_back(qtbot, crossed) -> None:  # noqa: ANN001
    doc, editing = crossed.document, crossed.editing
    editing.tool_actions[Tool.ERASER].trigger()
    editing.tools.set_size(16)
    drag(crossed.canvas, [(51.5, 31.5), (51.6, 31.5)])  # the artery and the vein no longer meet up there
    wait_for_marks(qtbot, crossed)

    assert not doc.mask[29:35, 49:55].any()
    upper = crossed.crossings.marks[:50]
    assert not upper.any() and crossed.crossings.marks[68:75, 48:56].any()  # found again, not just cleared
    color = crossing_color(crossed)
    assert not any(near(shown_rgb(crossed, x, y), color) for y in range(0, 50) for x in range(40, 64))
    assert near(shown_rgb(crossed, *LOWER), color)

    editing.act_undo.trigger()
    wait_for_marks(qtbot, crossed)
    assert near(shown_rgb(crossed, *UPPER), color)
    assert CROSSING not in np.unique(doc.artery_vein)


def test_export_writes_the_crossings_green_and_counts_them_as_the_cli_does(crossed, tmp_path: Path) -> None:  # noqa: ANN001
    doc = crossed.document
    out = tmp_path / "out"
    out.mkdir()
    assert crossed.export(str(out))

    written = read_artery_vein(out / "eye_av.png", (doc.height, doc.width))
    np.testing.assert_array_equal(written, mark_crossings(doc.artery_vein))  # what segment --av would write
    assert written[UPPER[1], UPPER[0]] == CROSSING and written[LOWER[1], LOWER[0]] == CROSSING
    info = json.loads((out / "eye_info.json").read_text())
    entry = info["measurements"]["arteries_veins"]
    assert entry["crossing_pixels"] == int((written == CROSSING).sum()) > 0
    assert entry["edited_by_hand"] is False
    np.testing.assert_array_equal(read_mask(out / "eye_mask.png"), doc.mask != 0)  # the mask file stays as it was
    assert CROSSING not in np.unique(doc.artery_vein)


def test_a_dicom_export_puts_the_crossings_in_both_the_artery_and_the_vein_segment(  # noqa: ANN001
        qtbot, make_window, tmp_path: Path) -> None:
    import highdicom as hd

    from tests import dicom_factory as F

    source = F.write(F.photograph(F.sample_photo(96)), tmp_path / "IM0001.dcm")
    w = labelled_window(qtbot, make_window, source, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    assert w.export(str(out))

    seg = hd.seg.segread(out / "IM0001_seg.dcm")
    uid = w.document.metadata.dicom.sop_instance_uid
    arteries, veins = (seg.get_pixels_by_source_instance(source_sop_instance_uids=[uid], segment_numbers=[n])[0, ..., 0]
                       .astype(bool) for n in (2, 3))
    written = read_artery_vein(out / "IM0001_av.png", arteries.shape)
    np.testing.assert_array_equal(arteries, np.isin(written, (ARTERY, CROSSING)))
    np.testing.assert_array_equal(veins, np.isin(written, (VEIN, CROSSING)))
    assert arteries[UPPER[1], UPPER[0]] and veins[UPPER[1], UPPER[0]]  # a crossing is both


def test_an_export_right_after_an_edit_marks_the_labels_as_they_are_now(qtbot, crossed, tmp_path: Path) -> None:  # noqa: ANN001
    editing = crossed.editing
    editing.tool_actions[Tool.ERASER].trigger()
    editing.tools.set_size(16)
    drag(crossed.canvas, [(51.5, 31.5), (51.6, 31.5)])
    assert not crossed.crossings.current  # the shown marks are those from before the stroke

    assert crossed.export(str(tmp_path))
    written = read_artery_vein(tmp_path / "eye_av.png", (crossed.document.height, crossed.document.width))
    assert not (written[:50] == CROSSING).any() and written[LOWER[1], LOWER[0]] == CROSSING


def test_a_superseded_marking_is_dropped_and_only_the_newest_is_drawn(qtbot) -> None:  # noqa: ANN001
    labels = np.zeros((40, 40), np.uint8)
    labels[18:22, :], labels[:, 18:22] = ARTERY, VEIN
    av = np.stack([labels == 0, labels == ARTERY, labels == VEIN]).astype(np.float32)
    doc = ImageDocument(np.zeros((40, 40, 3), np.uint8))
    doc.set_prediction(Prediction(av, get_task(ARTERIES_VEINS), {"vessel": 0.5}, np.ones((40, 40), bool)))
    jobs = JobRunner("test")
    try:
        live = LiveCrossings(jobs)
        live.set_document(doc)
        live.set_active(True)
        live.timer.stop()
        gate = threading.Event()
        jobs.submit(lambda *_: gate.wait(10), kind="hold")  # the worker is busy: both markings wait in line
        first = live.find_now()
        parted = doc.artery_vein.copy()
        parted[14:26, 14:26] = 0  # the vein no longer meets the artery
        assert doc.replace_labels(ARTERIES_VEINS, parted, "Erase")
        live.labels_changed()
        second = live.find_now()
        delivered: list[int] = []
        jobs.finished.connect(lambda rid, _result: delivered.append(rid))
        gate.set()
        qtbot.waitUntil(lambda: live.current and not live.busy, timeout=MARK_TIMEOUT)

        assert first != second and first not in delivered  # superseded: never delivered
        np.testing.assert_array_equal(live.found.labels, parted)
        assert not live.marks.any()  # the newest labels' marks: none
    finally:
        jobs.shutdown()


def test_marks_land_on_vessel_pixels_only_and_the_changed_box_bounds_the_difference() -> None:
    labels = np.zeros((10, 12), np.uint8)
    labels[4, :] = ARTERY
    marks = np.zeros((10, 12), bool)
    marks[3:6, 2:5] = True  # a disk reaching past the vessel (a mark found before an erase)
    marked = with_marks(labels, marks)
    assert (marked[4, 2:5] == CROSSING).all() and not marked[3].any() and not marked[5].any()
    assert (labels == ARTERY).sum() == 12  # the labels given are left as they were

    later = marks.copy()
    later[7, 9] = True
    assert changed_box(marks, later) == (7, 9, 8, 10)
    assert changed_box(marks, marks) is None
    assert changed_box(None, marks) == (3, 2, 6, 5)
