"""Arteries and veins in the app: found in the worker on the vessel mask the user sees, shown in their
colours, corrected with the artery and vein brushes and the segment swap (each an undo step), exported as
``<stem>_av.png`` in the datasets' colours, autosaved and recovered with the rest."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

import gui.actions.export
import gui.dialogs.prompts
from core.edit.artery_vein_ops import swapped_segment
from core.io.artery_vein import ARTERY, CROSSING, VEIN
from core.io.export import read_artery_vein, read_mask
from core.io.recovery import list_recoverable, load_autosave_labels
from core.predict.artery_vein import inconsistent_fraction
from core.predict.crossings import mark_crossings
from gui.canvas.tools import Tool
from tests.gui.conftest import FakeService
from tests.gui.test_editing import SHIFT, drag, segment_and_wait

LABEL_TIMEOUT = 60_000


def vessel_lines(h: int, w: int) -> np.ndarray:
    """The fake vessel model's map: two horizontal vessels and a vertical one crossing both."""
    p = np.full((h, w), 0.05, np.float32)
    p[30:34, :] = 0.9
    p[70:73, 10:100] = 0.9
    p[:, 50:54] = 0.9
    return p


def lines_service() -> FakeService:
    def wrap(seg):  # noqa: ANN001, ANN202
        seg.probability = vessel_lines
        return seg

    return FakeService(wrap=wrap)


@pytest.fixture(scope="module")
def av_checkpoint_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight artery/vein UNet (classes background, artery, vein) in the checkpoint format."""
    import torch

    from core.ml.checkpoint import model_checkpoint, save_checkpoint
    from core.ml.model import UNet
    from core.ml.preprocessing import Preprocessing

    torch.manual_seed(1)
    ckpt = model_checkpoint(UNet(3, 3, True, 4).eval(), Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1)),
                            classes=("background", "artery", "vein"), thresholds={"vessel": 0.5},
                            trained_on="nothing (random test weights)")
    return save_checkpoint(ckpt, tmp_path_factory.mktemp("models") / "tiny_av.pt")


def label_and_wait(qtbot, window) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.av.finished, timeout=LABEL_TIMEOUT) as blocker:
        window.av.act_find.trigger()
    assert blocker.args == [True, ""], blocker.args


@pytest.fixture
def segmented(qtbot, make_window, image_file: Path, av_checkpoint_path: Path):  # noqa: ANN001, ANN201
    """A window showing eye.png (96×112) with the three fake vessels segmented, at 100 %."""
    w = make_window(lines_service(), av_model_path=str(av_checkpoint_path))
    w.autosave.idle_ms = 50
    assert w.open_path(image_file)
    segment_and_wait(qtbot, w)
    w.canvas.zoom_100()
    w.canvas.centerOn(56, 48)
    return w


@pytest.fixture
def labelled(qtbot, segmented):  # noqa: ANN001, ANN201
    label_and_wait(qtbot, segmented)
    return segmented


def shown_rgb(window, x: int, y: int) -> tuple[int, int, int, int]:  # noqa: ANN001
    c = window.canvas.layer("arteries_veins").item.image.pixelColor(x, y)
    return c.red(), c.green(), c.blue(), c.alpha()


def near(rgba: tuple[int, int, int, int], name: str) -> bool:
    c = QColor(name)
    return rgba[3] > 0 and all(abs(a - b) <= 3 for a, b in zip(rgba[:3], (c.red(), c.green(), c.blue()), strict=True))


def test_labels_cover_exactly_the_vessel_mask_one_type_per_segment(labelled) -> None:  # noqa: ANN001
    doc = labelled.document
    labels = doc.artery_vein
    assert labels is not None and set(np.unique(labels)) <= {0, ARTERY, VEIN}
    np.testing.assert_array_equal(labels != 0, doc.mask != 0)  # the mask the user sees, typed
    assert inconsistent_fraction(doc.mask != 0, labels) == 0.0  # no vessel changes colour along a segment
    assert doc.undo_stack.count() == 0  # a first result, as a first segmentation: nothing to undo
    assert hasattr(doc.disc, "diameter") or doc.disc.reason  # the disc, or why there is none
    assert "Arteries and veins of eye.png found" in labelled.status.message_text()


def test_the_overlay_shows_arteries_and_veins_in_their_colours(labelled) -> None:  # noqa: ANN001
    labels, v = labelled.document.artery_vein, labelled.overlay_style.values
    layer = labelled.canvas.layer("arteries_veins")
    assert layer.shown()
    for y, x in ((31, 20), (71, 20)):
        assert near(shown_rgb(labelled, x, y), v.artery_color if labels[y, x] == ARTERY else v.vein_color)
    assert shown_rgb(labelled, 5, 5)[3] == 0  # background stays clear
    labelled.av.act_show_av.trigger()  # View > Arteries and Veins (Shift+A)
    assert not layer.shown() and not labelled.overlay_style.values.show_av


def test_the_vessel_mask_shows_only_where_the_labels_leave_vessels_untyped(labelled) -> None:  # noqa: ANN001
    mask_layer = labelled.canvas.mask_layer
    assert mask_layer.image.pixelColor(20, 31).alpha() == 0  # typed: the artery or vein colour alone
    labelled.editing.tool_actions[Tool.BRUSH].trigger()
    drag(labelled.canvas, [(20, 50), (40, 50)])  # a vessel drawn after the labelling has no type yet
    assert mask_layer.image.pixelColor(30, 50).alpha() > 0
    labelled.av.act_show_av.trigger()  # arteries and veins hidden: the whole mask again
    assert mask_layer.image.pixelColor(20, 31).alpha() > 0


def test_a_colour_preset_recolours_the_overlay_and_is_remembered(labelled) -> None:  # noqa: ANN001
    style = labelled.overlay_style
    y, x = 31, 20
    labelled.av.preset_actions["Colour-Blind Safe"].trigger()
    assert style.av_preset == "Colour-Blind Safe"
    kind = labelled.document.artery_vein[y, x]
    assert near(shown_rgb(labelled, x, y), style.values.artery_color if kind == ARTERY else style.values.vein_color)
    saved = style.to_strings()
    style.use_av_preset("Red / Blue (as the Datasets)")
    style.restore(saved)
    assert style.av_preset == "Colour-Blind Safe"


def test_the_artery_brush_retypes_vessel_pixels_only_as_one_undo_step(labelled) -> None:  # noqa: ANN001
    doc, editing = labelled.document, labelled.editing
    before = doc.artery_vein.copy()
    editing.tool_actions[Tool.ARTERY].trigger()
    editing.tools.set_size(10)
    drag(labelled.canvas, [(10, 31), (20, 31), (30, 31), (40, 31)])  # along the upper vessel and over its banks

    after = doc.artery_vein.copy()
    assert (after[30:34, 12:38] == ARTERY).all()
    np.testing.assert_array_equal(after[doc.mask == 0], 0)  # the background under the brush was left alone
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Artery brush"
    assert near(shown_rgb(labelled, 20, 31), labelled.overlay_style.values.artery_color)
    assert labelled.isWindowModified()
    editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.artery_vein, before)
    editing.act_redo.trigger()
    np.testing.assert_array_equal(doc.artery_vein, after)

    drag(labelled.canvas, [(10, 31), (40, 31)], SHIFT)  # Shift: the vein brush
    assert (doc.artery_vein[30:34, 12:38] == VEIN).all()
    assert doc.undo_stack.undoText() == "Vein brush"


def test_the_type_tools_wait_for_labels(qtbot, segmented) -> None:  # noqa: ANN001
    editing = segmented.editing
    assert not editing.tool_actions[Tool.VEIN].isEnabled() and not editing.tool_actions[Tool.SWAP].isEnabled()
    editing.tools.set_tool(Tool.VEIN)  # chosen before switching to an image without labels
    drag(segmented.canvas, [(10, 31), (40, 31)])
    assert segmented.document.artery_vein is None and segmented.document.undo_stack.count() == 0
    label_and_wait(qtbot, segmented)
    assert editing.tool_actions[Tool.VEIN].isEnabled() and editing.tool_actions[Tool.SWAP].isEnabled()


def test_a_click_swaps_artery_and_vein_on_one_segment(qtbot, labelled) -> None:  # noqa: ANN001
    doc, editing = labelled.document, labelled.editing
    before = doc.artery_vein.copy()
    editing.tool_actions[Tool.SWAP].trigger()
    drag(labelled.canvas, [(20.5, 31.5)])
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=LABEL_TIMEOUT)

    expected = swapped_segment(before, 31, 20, radius=6)
    np.testing.assert_array_equal(doc.artery_vein, expected)
    changed = expected != before
    assert changed.any() and changed[31, 20] and not changed[71, 20]  # that segment, not the others
    assert doc.undo_stack.undoText() == "Swap artery/vein"
    editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.artery_vein, before)


def test_a_click_beside_every_vessel_swaps_nothing_and_says_so(qtbot, labelled) -> None:  # noqa: ANN001
    labelled.editing.tool_actions[Tool.SWAP].trigger()
    drag(labelled.canvas, [(20.5, 50.5)])
    qtbot.waitUntil(lambda: "No vessel there" in labelled.status.message_text(), timeout=LABEL_TIMEOUT)
    assert labelled.document.undo_stack.count() == 0


def test_export_writes_the_av_file_in_the_datasets_colours_from_the_worker(labelled, tmp_path: Path,  # noqa: ANN001
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    write = gui.actions.export.export_artery_vein

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        threads.append(threading.current_thread().name)
        return write(*args, **kwargs)

    monkeypatch.setattr(gui.actions.export, "export_artery_vein", recording)
    doc = labelled.document
    assert labelled.export(str(tmp_path))

    assert threads and threads[0] != threading.main_thread().name  # written in the io job runner
    labels = read_artery_vein(tmp_path / "eye_av.png", (doc.height, doc.width))
    np.testing.assert_array_equal(labels, mark_crossings(doc.artery_vein))  # crossings marked as segment --av does
    np.testing.assert_array_equal(read_mask(tmp_path / "eye_mask.png"), doc.mask != 0)  # the mask contract stays
    info = json.loads((tmp_path / "eye_info.json").read_text())
    assert info["measurements"]["arteries_veins"] == {"model": "tiny_av.pt", "edited_by_hand": False,
                                                      "crossing_pixels": int((labels == CROSSING).sum())}
    assert info["measurements"]["optic_disc"] == doc.disc.as_dict()


def test_no_av_file_without_labels(segmented, tmp_path: Path) -> None:  # noqa: ANN001
    assert segmented.export(str(tmp_path))
    assert not (tmp_path / "eye_av.png").exists()
    assert "arteries_veins" not in json.loads((tmp_path / "eye_info.json").read_text())["measurements"]


def test_edited_labels_are_autosaved_and_recovered(qtbot, labelled, make_window, monkeypatch,  # noqa: ANN001
                                                   isolated_app_data: Path, av_checkpoint_path: Path) -> None:
    labelled.editing.tool_actions[Tool.ARTERY].trigger()
    with qtbot.waitSignal(labelled.autosave.saved, timeout=5000):
        drag(labelled.canvas, [(10, 71), (40, 71)])
    expected, disc = labelled.document.artery_vein.copy(), labelled.document.disc_circle
    [entry] = list_recoverable(isolated_app_data).entries
    np.testing.assert_array_equal(load_autosave_labels(entry)["arteries_veins"], expected)
    # the app "crashes": a new window starts with the same app-data folder
    window = make_window(lines_service(), av_model_path=str(av_checkpoint_path))
    monkeypatch.setattr(gui.dialogs.prompts, "ask_recover", lambda *_: "recover")

    [doc] = window.offer_recovery()

    np.testing.assert_array_equal(doc.artery_vein, expected)
    assert window.canvas.layer("arteries_veins").shown()
    assert (doc.disc_circle is None) if disc is None else doc.disc_circle.as_dict() == disc.as_dict()
    texts = [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())]
    assert texts[:2] == ["Recover autosaved edits", "Recover autosaved artery/vein labels"]
    doc.undo_stack.setIndex(1)  # the labels came back as an undo step of their own
    assert not doc.artery_vein.any() and doc.mask.any()


def test_labelling_an_image_without_a_mask_segments_it_first(qtbot, make_window, image_file: Path,  # noqa: ANN001
                                                             av_checkpoint_path: Path) -> None:
    window = make_window(lines_service(), av_model_path=str(av_checkpoint_path))
    assert window.open_path(image_file)
    label_and_wait(qtbot, window)
    doc = window.document
    assert doc.mask is not None and doc.artery_vein is not None
    np.testing.assert_array_equal(doc.artery_vein != 0, doc.mask != 0)


def test_a_missing_model_is_said_in_one_message(qtbot, make_window, image_file: Path, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window(lines_service(), av_model_path=str(tmp_path / "gone.pt"))
    assert window.open_path(image_file)
    with qtbot.waitSignal(window.av.finished, timeout=5000) as blocker:
        window.av.act_find.trigger()
    assert blocker.args[0] is False and "gone.pt is missing" in blocker.args[1]
    assert "Load Artery/Vein Checkpoint" in window.last_error


def test_a_vessel_checkpoint_is_refused_as_the_artery_vein_model(qtbot, segmented,  # noqa: ANN001
                                                                  tiny_checkpoint_path: Path) -> None:
    kept = segmented.av.model_path
    with qtbot.waitSignal(segmented.errorShown, timeout=LABEL_TIMEOUT) as blocker:
        segmented.av.load_model(str(tiny_checkpoint_path))
    assert "not an artery/vein model" in blocker.args[0] and "tiny_av.pt" in blocker.args[0]
    assert segmented.av.model_path == kept


def test_the_side_panel_sets_presets_and_single_colours(labelled, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QColorDialog

    controls, style = labelled.overlay_controls, labelled.overlay_style
    controls.av_preset.setCurrentText("Colour-Blind Safe")
    assert style.av_preset == "Colour-Blind Safe" and labelled.av.preset_actions["Colour-Blind Safe"].isChecked()
    monkeypatch.setattr(QColorDialog, "getColor", lambda *_: QColor("#123456"))
    controls.av_colors["vein_color"].click()
    assert style.values.vein_color == "#123456" and controls.av_preset.currentText() == "Custom"
    assert not any(a.isChecked() for a in labelled.av.preset_actions.values())


def test_the_colour_blind_preset_keeps_types_apart_from_each_other_and_the_fundus_for_every_vision() -> None:
    from gui.canvas.style import AV_PRESETS, OverlayValues
    from tests.gui.colour_vision import hex_rgb, smallest_difference
    from tests.gui.test_heat_scale import APART, FUNDUS

    artery, vein, crossing = (hex_rgb(c) for c in AV_PRESETS["Colour-Blind Safe"])
    mask = np.array([hex_rgb(OverlayValues().mask_color)])  # untyped vessels beside them
    for name, colour, others in (("artery", artery, np.array([vein, crossing])), ("vein", vein, np.array([crossing]))):
        distance, vision = smallest_difference(colour, others)
        assert distance >= APART, f"{name} is {distance:.1f} from another type ({vision})"
    for name, colour in (("artery", artery), ("vein", vein)):
        for what, against in (("the fundus", FUNDUS), ("the vessel mask", mask)):
            distance, vision = smallest_difference(colour, against)
            assert distance >= APART, f"{name} is {distance:.1f} from {what} ({vision})"
    # the datasets' red and blue stay apart from each other for everyone too; red on the fundus is why the preset exists
    red, blue, _ = (hex_rgb(c) for c in AV_PRESETS["Red / Blue (as the Datasets)"])
    assert smallest_difference(red, np.array([blue]))[0] >= APART
    assert smallest_difference(red, FUNDUS)[0] < APART


def test_the_app_finds_arteries_and_veins_for_a_screenshot(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    from core.io.images import write_image
    from core.resources import default_artery_vein_model_path
    from tests.conftest import synthetic_fundus
    from tests.gui.test_app import run_py

    if not default_artery_vein_model_path().is_file():
        pytest.skip(f"no shipped artery/vein model at {default_artery_vein_model_path()}")
    image = write_image(tmp_path / "eye.png", synthetic_fundus(120, 140))
    out = tmp_path / "shot.png"
    r = run_py(["-m", "gui", str(image), "--model", str(tiny_checkpoint_path), "--device", "cpu",
                "--arteries-veins", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "screenshot saved" in r.stdout and not QImage(str(out)).isNull()


def test_labelling_again_keeps_the_hand_edits_as_one_undo_step(qtbot, labelled) -> None:  # noqa: ANN001
    doc = labelled.document
    labelled.editing.tool_actions[Tool.VEIN].trigger()
    drag(labelled.canvas, [(10, 31), (40, 31)])
    edited = doc.artery_vein.copy()
    label_and_wait(qtbot, labelled)  # headless: edits are kept without asking
    np.testing.assert_array_equal(doc.artery_vein, edited)  # same model, same vessels: only the edits could differ
    assert doc.undo_stack.count() in (1, 2)  # the brush, and the new result when it changed anything


def test_cancelling_drops_the_labelling(qtbot, segmented) -> None:  # noqa: ANN001
    with qtbot.waitSignal(segmented.av.finished, timeout=LABEL_TIMEOUT) as blocker:
        assert segmented.av.find() is not None
        assert segmented.act_cancel.isEnabled()
        segmented.act_cancel.trigger()
    assert blocker.args == [False, "cancelled"]
    assert segmented.document.artery_vein is None and not segmented.av.busy
    assert segmented.av.act_find.isEnabled()
