"""The batch dialog's "Measure biomarkers": every image measured in the batch's worker, one results.csv for the
folder (a row per image, failures and skips included), a rerun that skips finished images says so."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.io.images import write_image
from gui.dialogs.batch import BatchDialog
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeSegmenter

TIMEOUT = 60_000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(["a.png", "b.png"]):
        write_image(d / name, synthetic_fundus(64, 72, seed=i))
    (d / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n corrupt")
    return d


def run(qtbot, dialog: BatchDialog) -> None:  # noqa: ANN001
    with qtbot.waitSignal(dialog.finished_run, timeout=TIMEOUT):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)


def read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return {Path(row["source"]).name: row for row in csv.DictReader(f)}


@pytest.fixture
def dialog(qtbot, settings, folder: Path, tmp_path: Path) -> Iterator[BatchDialog]:  # noqa: ANN001
    d = BatchDialog(lambda model, device: FakeSegmenter(model, device), settings, lambda: None, lambda: "cpu")
    qtbot.addWidget(d)
    d.input_edit.setText(str(folder))
    d.output_edit.setText(str(tmp_path / "out"))
    yield d
    d.shutdown()  # its worker thread ends before the dialog is deleted


def test_measure_biomarkers_writes_one_results_csv_for_the_folder(qtbot, dialog: BatchDialog, tmp_path: Path) -> None:  # noqa: ANN001
    assert not dialog.field_angle.isEnabled()
    qtbot.mouseClick(dialog.measure, Qt.MouseButton.LeftButton)
    assert dialog.measure.isChecked() and dialog.field_angle.isEnabled()
    dialog.field_angle.setValue(45)
    run(qtbot, dialog)

    out = tmp_path / "out"
    table = out / "results.csv"
    assert table in dialog.summary.written and "results.csv" in dialog.status.text()
    rows = read(table)
    assert sorted(rows) == ["a.png", "b.png", "c.png"]
    for name in ("a.png", "b.png"):
        row = rows[name]
        assert row["status"] == "done" and row["measured"] == "True" and row["error"] == ""
        assert 0 < float(row["vessel_density"]) < 1
        assert float(row["vessel_length_px"]) > 0 and float(row["vessel_length_mm"]) > 0  # the field angle's scale
        assert "camera field angle" in row["biomarker_scale"]
        assert row["mask"] == str(out / f"{name[0]}_mask.png")
    assert rows["c.png"]["status"] == "failed" and rows["c.png"]["error"]
    assert rows["c.png"]["vessel_density"] == ""


def test_without_the_option_no_table(qtbot, dialog: BatchDialog, tmp_path: Path) -> None:  # noqa: ANN001
    run(qtbot, dialog)
    assert (tmp_path / "out" / "a_mask.png").exists() and not (tmp_path / "out" / "results.csv").exists()


def test_a_rerun_says_which_images_it_skipped_and_measures_them_when_replacing(qtbot, dialog: BatchDialog,  # noqa: ANN001
                                                                              tmp_path: Path) -> None:
    dialog.measure.setChecked(True)
    run(qtbot, dialog)
    run(qtbot, dialog)  # the masks exist: skipped, and said so in the table
    rows = read(tmp_path / "out" / "results.csv")
    assert rows["a.png"]["status"] == "skipped" and rows["a.png"]["measured"] == "False"
    assert rows["a.png"].get("vessel_density", "") == "" and "exist" in rows["a.png"]["error"]
    dialog.overwrite.setChecked(True)
    run(qtbot, dialog)
    rows = read(tmp_path / "out" / "results.csv")
    assert rows["a.png"]["status"] == "done" and float(rows["a.png"]["vessel_density"]) > 0
