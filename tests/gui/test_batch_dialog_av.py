"""The batch dialog's "Find arteries and veins": each image also gets ``<name>_av.png`` on exactly its vessel mask
and a sidecar with the optic disc and the labels' summary (what ``segment --av`` writes), the mask files stay as
without it, and an artery/vein model that is not one fails the batch with a message saying so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.io.export import read_sidecar
from core.io.images import read_image, write_image
from core.resources import DEFAULT_ARTERY_VEIN_MODEL
from gui.dialogs.batch import BatchDialog
from tests.conftest import synthetic_fundus
from tests.core.test_batch_artery_vein import LeftArteryPredictor
from tests.gui.conftest import FakeSegmenter

TIMEOUT = 60_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(["a.png", "b.png"]):
        write_image(d / name, synthetic_fundus(60, 70, seed=i))
    return d


def factory(built: list[str], av_is_vessels: bool = False):  # noqa: ANN201
    """Predictors by model path: the fake artery/vein model for the shipped artery/vein file, else vessels."""

    def make(model: str | None, device: str):  # noqa: ANN202
        built.append(Path(model).name if model else "default")
        if model and Path(model).name == DEFAULT_ARTERY_VEIN_MODEL and not av_is_vessels:
            return LeftArteryPredictor()
        return FakeSegmenter(model, device)

    return make


def run(qtbot, dialog: BatchDialog, folder: Path, out: Path, artery_vein: bool):  # noqa: ANN001, ANN201
    dialog.input_edit.setText(str(folder))
    dialog.output_edit.setText(str(out))
    if dialog.artery_vein.isChecked() != artery_vein:
        qtbot.mouseClick(dialog.artery_vein, Qt.MouseButton.LeftButton)
    assert dialog.artery_vein.isChecked() == artery_vein
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT) as done:
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        assert not dialog.artery_vein.isEnabled(), "options are fixed while the batch runs"
    assert dialog.artery_vein.isEnabled()
    return done.args[0]


def test_find_arteries_and_veins_writes_the_labels_and_the_disc_beside_each_mask(qtbot, settings,  # noqa: ANN001
                                                                                 folder: Path,
                                                                                 tmp_path: Path) -> None:
    built: list[str] = []
    dialog = BatchDialog(factory(built), settings, lambda: None, lambda: "cpu", 0.3)
    qtbot.addWidget(dialog)
    plain = run(qtbot, dialog, folder, tmp_path / "plain", artery_vein=False)
    assert [p.name for p in plain.done] == ["a.png", "b.png"]
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["a_mask.png", "b_mask.png"]
    assert built == ["default"], "no artery/vein model without the option"

    summary = run(qtbot, dialog, folder, tmp_path / "av", artery_vein=True)
    assert [p.name for p in summary.done] == ["a.png", "b.png"] and not summary.failed
    assert built == ["default", "default", DEFAULT_ARTERY_VEIN_MODEL], "one artery/vein model for the batch"
    out = tmp_path / "av"
    assert sorted(p.name for p in out.iterdir()) == [f"{s}_{k}" for s in "ab"
                                                     for k in ("av.png", "info.json", "mask.png")]
    for stem in "ab":
        mask = (out / f"{stem}_mask.png").read_bytes()
        assert mask == (tmp_path / "plain" / f"{stem}_mask.png").read_bytes()
        vessel = read_image(out / f"{stem}_mask.png", mode=None) == 255
        rgb = read_image(out / f"{stem}_av.png", mode="RGB")
        np.testing.assert_array_equal(rgb.any(axis=2), vessel)
        measurements = read_sidecar(out / f"{stem}_info.json").measurements
        assert measurements["arteries_veins"]["artery_pixels"] == int((rgb == (255, 0, 0)).all(axis=2).sum())
        assert "optic_disc" in measurements
    dialog.shutdown()


def test_a_vessel_model_as_the_artery_vein_model_fails_the_batch_saying_so(qtbot, settings, folder: Path,  # noqa: ANN001
                                                                           tmp_path: Path) -> None:
    dialog = BatchDialog(factory([], av_is_vessels=True), settings, lambda: None, lambda: "cpu")
    qtbot.addWidget(dialog)
    assert run(qtbot, dialog, folder, tmp_path / "out", artery_vein=True) is None
    assert "not an artery/vein model" in dialog.status.text()
    assert not (tmp_path / "out").exists()
    dialog.shutdown()


def test_the_batch_finds_arteries_and_veins_with_the_model_the_window_uses(make_window, tmp_path: Path) -> None:
    window = make_window()
    chosen = tmp_path / "my_artery_vein_model.pt"
    window.av.model_path = str(chosen)
    dialog = window.show_batch()
    assert dialog._av_model_path() == str(chosen)
    window.av.model_path = None
    assert dialog._av_model_path() is None  # the shipped one, as the batch then resolves it
