"""The cohort's results table: a journal line per result, flushed at once; the Parquet and CSV tables one row
per image (the latest wins), rebuilt atomically; a line cut short by a crash dropped; one writer at a time."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.batch.table import CSV_NAME, JOURNAL_NAME, PARQUET_NAME, ResultsTable, TableBusy


def row(source: str, status: str = "done", **extra) -> dict:  # noqa: ANN003
    base = {"source": source, "status": status, "error": "" if status == "done" else "unreadable",
            "vessel_fraction": 0.12 if status == "done" else None, "width": 64 if status == "done" else None,
            "height": 60 if status == "done" else None, "source_bytes": 100 if status == "done" else None,
            "source_mtime_ns": 7 if status == "done" else None}
    return {**base, **extra}


def test_each_result_reaches_the_journal_at_once(tmp_path: Path) -> None:
    with ResultsTable(tmp_path) as table:
        table.append(row("/c/b.png"))
        lines = (tmp_path / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["source"] for line in lines] == ["/c/b.png"], "flushed before the next image"


def test_the_tables_have_one_row_per_image_the_latest_sorted_by_path(tmp_path: Path) -> None:
    with ResultsTable(tmp_path) as table:
        table.append(row("/c/b.png", "failed"))
        table.append(row("/c/a.png"))
        table.append(row("/c/b.png"))  # retried: its row replaces the failed one
    parquet = pq.read_table(tmp_path / PARQUET_NAME).to_pylist()
    assert [(r["source"], r["status"]) for r in parquet] == [("/c/a.png", "done"), ("/c/b.png", "done")]
    assert parquet[0]["width"] == 64 and parquet[0]["vessel_fraction"] == pytest.approx(0.12)
    with (tmp_path / CSV_NAME).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["source"], r["status"]) for r in rows] == [("/c/a.png", "done"), ("/c/b.png", "done")]
    assert len((tmp_path / JOURNAL_NAME).read_text().splitlines()) == 3, "the journal keeps every attempt"


def test_biomarker_columns_are_typed_and_a_missing_value_is_empty_never_a_number(tmp_path: Path) -> None:
    with ResultsTable(tmp_path) as table:
        table.append(row("/c/a.png", "failed"))
        table.append(row("/c/b.png", vessel_length_px=float("nan"), biomarkers_missing="vessel_length_px: why"))
        table.append(row("/c/c.png", vessel_length_px=9941.2, biomarkers_missing=""))
    parquet = pq.read_table(tmp_path / PARQUET_NAME)
    assert str(parquet.schema.field("vessel_length_px").type) == "double"
    assert str(parquet.schema.field("width").type) == "int64"
    assert parquet.column("vessel_length_px").to_pylist() == [None, None, 9941.2]
    with (tmp_path / CSV_NAME).open(encoding="utf-8", newline="") as f:
        assert [r["vessel_length_px"] for r in csv.DictReader(f)] == ["", "", "9941.2"]


def test_a_rerun_knows_each_images_latest_status_and_record(tmp_path: Path) -> None:
    with ResultsTable(tmp_path) as table:
        table.append(row("/c/a.png", measured=True))
        table.append(row("/c/b.png", "failed"))
    with ResultsTable(tmp_path) as again:
        assert again.previous("/c/a.png").status == "done" and again.previous("/c/a.png").measured
        assert again.previous("/c/a.png").recorded == (64, 60, 100, 7)
        assert again.previous("/c/b.png").status == "failed" and again.previous("/c/b.png").recorded is None
        assert again.previous("/c/new.png") is None and len(again) == 2


def test_a_line_cut_short_by_a_crash_is_dropped_and_its_image_counts_as_not_done(tmp_path: Path) -> None:
    journal = tmp_path / JOURNAL_NAME
    journal.write_text(json.dumps(row("/c/a.png")) + "\n" + json.dumps(row("/c/b.png"))[:40], encoding="utf-8")
    with ResultsTable(tmp_path) as table:
        assert table.previous("/c/b.png") is None and table.previous("/c/a.png").status == "done"
        table.append(row("/c/b.png"))
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["source"] for line in lines] == ["/c/a.png", "/c/b.png"]


def test_tables_are_rebuilt_while_the_run_goes_on(tmp_path: Path) -> None:
    table = ResultsTable(tmp_path, table_every=0.0)
    table.open()
    try:
        table.append(row("/c/a.png"))
        assert pq.read_table(tmp_path / PARQUET_NAME).num_rows == 1, "a reader sees the table mid-run"
    finally:
        table.close()


def test_two_runs_cannot_write_one_table(tmp_path: Path) -> None:
    with ResultsTable(tmp_path):
        with pytest.raises(TableBusy, match="another cohort run"):
            ResultsTable(tmp_path).open()
    with ResultsTable(tmp_path):  # free again once the first has closed
        pass


def test_an_empty_run_still_writes_an_empty_table_with_its_columns(tmp_path: Path) -> None:
    with ResultsTable(tmp_path):
        pass
    assert pq.read_table(tmp_path / PARQUET_NAME).num_rows == 0
    assert (tmp_path / CSV_NAME).read_text(encoding="utf-8").startswith("source,status,error,")
