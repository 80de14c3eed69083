"""Cohort runs on Dask: one row per image, the same bytes as one process, reruns that resume, faults that lose
nothing. These use an in-process LocalCluster (threads) for speed; the worker-process faults are in
test_cohort_faults.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.batch import SerialExecutor, execute, plan
from core.batch.cohort import CohortSettings, run_cohort
from core.batch.dask_executor import DaskExecutor
from core.batch.measure import BiomarkerColumns
from core.batch.table import JOURNAL_NAME, PARQUET_NAME, ResultsTable
from core.errors import DeviceFailure
from core.io.images import write_image
from tests.conftest import synthetic_fundus
from tests.core.test_batch import FailingPredictor, GrayPredictor

distributed = pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            yield client


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    root = tmp_path / "cohort"
    for i, rel in enumerate(["a.png", "site1/b.png", "site1/c.png", "site2/d.png", "site2/deep/e.png"]):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_image(root / rel, synthetic_fundus(40 + i, 48, seed=i))
    (root / "site2" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    return root


class CountingPredictor(GrayPredictor):
    """Counts how often a predictor is built (the worker should build one, not one per image)."""

    built = 0

    def __init__(self) -> None:
        type(self).built += 1


def run(client, inputs, out: Path, factory=GrayPredictor, threshold: float | None = 0.4, batch_size: int = 2,  # noqa: ANN001
        measure=None, **settings):  # noqa: ANN001, ANN003
    table = ResultsTable(out)
    table.open()
    try:
        return run_cohort([str(p) for p in inputs], CohortSettings(out, measure=measure is not None, **settings),
                          DaskExecutor(client, factory, threshold, batch_size=batch_size, measure=measure,
                                       poll_seconds=0.05), table)
    finally:
        table.close()


def rows(out: Path) -> list[dict]:
    return pq.read_table(out / PARQUET_NAME).to_pylist()


def journal_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()]


def test_a_cohort_has_one_row_per_image_and_the_bytes_of_a_single_process(client, cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run(client, [cohort], out, save_prob=True)
    assert (summary.total, summary.done, summary.skipped, len(summary.failed)) == (6, 5, 0, 1)
    table = rows(out)
    assert [Path(r["source"]).name for r in table] == ["a.png", "b.png", "c.png", "corrupt.png", "d.png", "e.png"]
    corrupt = next(r for r in table if r["source"].endswith("corrupt.png"))
    assert corrupt["status"] == "failed" and corrupt["error"] and corrupt["vessel_fraction"] is None
    for r in table:
        if r["status"] == "done":
            assert r["error"] == "" and 0 <= r["vessel_fraction"] <= 1 and r["mask"].endswith("_mask.png")
            assert (r["width"], r["height"]) == (48, 40 + "abcde".index(Path(r["source"]).stem))
    files = sorted(p for p in cohort.rglob("*.png"))
    execute(plan(files, tmp_path / "serial", save_prob=True, overwrite=False), SerialExecutor(GrayPredictor(), 0.4))
    serial = sorted(p.name for p in (tmp_path / "serial").iterdir())
    assert len(serial) == 10 and serial == sorted(p.name for p in out.glob("*_*.png"))
    for name in serial:
        assert (out / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


def test_a_rerun_checks_each_recorded_image_by_its_outputs_and_redoes_only_what_is_damaged(
        client, cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(client, [cohort], out)
    first = journal_lines(out)
    again = run(client, [cohort], out)
    assert (again.done, again.skipped, len(again.failed)) == (0, 5, 1), "the failed image is retried"
    assert len(journal_lines(out)) == len(first) + 1

    (out / "b_mask.png").write_bytes((out / "b_mask.png").read_bytes()[:50])  # cut short: not complete
    third = run(client, [cohort], out)
    assert (third.done, third.skipped) == (1, 4)
    assert sorted(Path(r["source"]).name for r in journal_lines(out)[len(first) + 1:]) == ["b.png", "corrupt.png"]
    assert len(rows(out)) == 6, "no image gets a second row"


def test_an_unchanged_recorded_image_is_not_read_again_a_changed_one_is_redone(client, cohort: Path,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(client, [cohort], out)
    a = cohort / "a.png"
    stat = a.stat()
    a.write_bytes(b"\0" * stat.st_size)  # unreadable now, but the same size and time as recorded
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run(client, [a], out).skipped == 1, "judged by the record and the outputs, the image not decoded"
    write_image(a, synthetic_fundus(40, 48, seed=9))  # a new photograph under the old name
    rerun = run(client, [a], out)
    assert (rerun.done, rerun.skipped) == (1, 0)


def test_retry_failed_runs_only_the_failed_images_and_force_redoes_all(client, cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(client, [cohort], out)
    write_image(cohort / "site2" / "corrupt.png", synthetic_fundus(40, 48, seed=7))  # the file was replaced
    retried = run(client, [cohort], out, retry_failed=True)
    assert (retried.total, retried.done, retried.skipped, len(retried.failed)) == (1, 1, 0, 0)
    assert all(r["status"] == "done" for r in rows(out))
    forced = run(client, [cohort], out, force=True)
    assert (forced.done, forced.skipped) == (6, 0)
    assert len(rows(out)) == 6


def test_outputs_written_before_the_table_are_redone_so_every_row_is_whole(client, cohort: Path,
                                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    execute(plan([cohort / "a.png"], out, save_prob=False, overwrite=False), SerialExecutor(GrayPredictor(), 0.4))
    before = (out / "a_mask.png").read_bytes()
    summary = run(client, [cohort / "a.png"], out)
    assert (summary.done, summary.skipped) == (1, 0)
    assert rows(out)[0]["vessel_fraction"] is not None and (out / "a_mask.png").read_bytes() == before


def test_the_same_name_in_two_folders_fails_the_second_naming_the_first(client, tmp_path: Path) -> None:
    for site in ("left", "right"):
        (tmp_path / site).mkdir()
        write_image(tmp_path / site / "eye.png", synthetic_fundus(30, 30))
    summary = run(client, [tmp_path / "left", tmp_path / "right"], tmp_path / "out")
    assert summary.done == 1 and summary.failed == [
        (tmp_path / "right" / "eye.png", f"same name as {tmp_path / 'left' / 'eye.png'}: its output would be "
                                         "overwritten")]


def test_a_pattern_that_matches_nothing_is_one_failed_row_saying_so(client, cohort: Path, tmp_path: Path) -> None:
    summary = run(client, [f"{cohort}/*.bmp"], tmp_path / "out")
    assert summary.failed == [(Path(f"{cohort}/*.bmp"), "no file matches this pattern")]


def test_measure_adds_the_biomarkers_as_columns_and_reruns_measure_what_was_not(client, cohort: Path,
                                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(client, [cohort / "a.png"], out)
    assert "vessel_density" not in rows(out)[0]
    summary = run(client, [cohort / "a.png"], out, measure=BiomarkerColumns(field_angle_deg=45.0))
    assert summary.done == 1, "a row without biomarkers is redone when they are asked for"
    row = rows(out)[0]
    assert row["measured"] and 0 < row["vessel_density"] <= 1
    assert row["vessel_length_px"] > 0 and row["vessel_length_mm"] > 0, "a field angle gives physical units"
    assert "camera field angle" in row["biomarker_scale"]
    assert isinstance(row["biomarkers_missing"], str)
    assert run(client, [cohort / "a.png"], out, measure=BiomarkerColumns(45.0)).skipped == 1


def test_each_worker_builds_its_predictor_once_not_per_image(client, cohort: Path, tmp_path: Path) -> None:
    CountingPredictor.built = 0
    summary = run(client, [cohort], tmp_path / "out", factory=CountingPredictor, batch_size=1)
    assert summary.done == 5
    assert CountingPredictor.built == 1, "both workers of this in-process cluster share one process"


def test_a_device_failure_stops_the_run_and_keeps_the_finished_rows(client, cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(DeviceFailure, match="ran out of memory"):
        run(client, sorted(cohort.rglob("*.png"))[:4], out, factory=FailingAt3, batch_size=4)
    recorded = journal_lines(out)
    assert [Path(r["source"]).name for r in recorded] == ["a.png", "b.png"], "the two finished before it"
    assert all(r["status"] == "done" for r in recorded)


class FailingAt3(FailingPredictor):
    def __init__(self) -> None:
        super().__init__(on=3)


def test_a_cancelled_run_records_what_finished_and_resumes(client, cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    calls = iter(range(1000))
    table = ResultsTable(out)
    table.open()
    try:
        summary = run_cohort([str(cohort)], CohortSettings(out), DaskExecutor(client, GrayPredictor, 0.4, batch_size=1,
                                                                             window=1, poll_seconds=0.05),
                             table, should_cancel=lambda: next(calls) >= 3)
    finally:
        table.close()
    assert summary.cancelled and summary.done + len(summary.failed) < 6
    resumed = run(client, [cohort], out)
    assert resumed.done + resumed.skipped + len(resumed.failed) == 6
    assert len(rows(out)) == 6 and np.all([r["status"] in ("done", "failed") for r in rows(out)])
