"""Cohort runs on a LocalCluster of worker processes: a real model gives the bytes of one process, a worker
killed mid-run loses and duplicates nothing, an image that kills every worker fails alone."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.batch import SegmenterSpec, SerialExecutor, execute, plan
from core.batch.cohort import CohortSettings, run_cohort
from core.batch.dask_executor import DaskExecutor
from core.batch.table import JOURNAL_NAME, PARQUET_NAME, ResultsTable
from core.io.images import write_image
from tests.conftest import synthetic_fundus
from tests.core.test_batch import GrayPredictor

distributed = pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")

POISON_SIZE = (77, 77)


class SlowPredictor(GrayPredictor):
    """Takes a while per image, so that a worker can be killed with images in flight."""

    def predict(self, image, fov=None, progress=None, should_cancel=None):  # noqa: ANN001
        time.sleep(0.3)
        return super().predict(image, fov)


class PoisonedPredictor(GrayPredictor):
    """Kills its worker process (as a segfault or the OOM killer would) on an image of POISON_SIZE."""

    def predict(self, image, fov=None, progress=None, should_cancel=None):  # noqa: ANN001
        if image.shape[:2] == POISON_SIZE:
            os._exit(9)
        return super().predict(image, fov)


def images(folder: Path, n: int, size: tuple[int, int] = (40, 48)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"eye{i:03d}.png" for i in range(n)]
    for i, path in enumerate(paths):
        write_image(path, synthetic_fundus(*size, seed=i))
    return paths


def run(client, inputs, out: Path, factory, batch_size: int, threshold: float | None = 0.4, **settings):  # noqa: ANN001, ANN003
    table = ResultsTable(out)
    table.open()
    try:
        return run_cohort([str(p) for p in inputs], CohortSettings(out, **settings),
                          DaskExecutor(client, factory, threshold, batch_size=batch_size, poll_seconds=0.05), table)
    finally:
        table.close()


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.glob("*_*.png"))
    assert names and names == sorted(p.name for p in b.glob("*_*.png"))
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.slow
def test_two_worker_processes_with_a_real_model_write_the_bytes_of_one_process(tmp_path: Path,
                                                                              tiny_checkpoint_path: Path) -> None:
    import torch

    files = images(tmp_path / "in", 4)
    spec = SegmenterSpec(str(tiny_checkpoint_path), device="cpu", threads=1)  # the sums' order depends on it
    threads = torch.get_num_threads()
    try:
        execute(plan(files, tmp_path / "serial", save_prob=True, overwrite=False), SerialExecutor(spec()))
    finally:
        torch.set_num_threads(threads)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        summary = run(client, [tmp_path / "in"], tmp_path / "out", spec, batch_size=1, threshold=None, save_prob=True)
        pids = set(client.run(os.getpid).values())
    assert summary.done == 4 and not summary.failed
    assert len(pids) == 2 and os.getpid() not in pids
    same_files(tmp_path / "serial", tmp_path / "out")


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    files = images(tmp_path / "in", 24)
    killed: list[int] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        journal = tmp_path / "out" / JOURNAL_NAME

        def kill_one_once_results_arrive() -> None:
            while not (journal.exists() and journal.stat().st_size > 0):
                time.sleep(0.05)
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        killer = threading.Thread(target=kill_one_once_results_arrive, daemon=True)
        killer.start()
        summary = run(client, [tmp_path / "in"], tmp_path / "out", SlowPredictor, batch_size=3)
        killer.join(timeout=60)
    assert killed, "the worker was killed while images were in flight"
    assert (summary.done, summary.skipped, summary.failed) == (24, 0, [])
    rows = pq.read_table(tmp_path / "out" / PARQUET_NAME).to_pylist()
    assert sorted(r["source"] for r in rows) == sorted(str(p) for p in files), "every image once"
    assert all(r["status"] == "done" and r["vessel_fraction"] is not None for r in rows)
    execute(plan(files, tmp_path / "serial", save_prob=False, overwrite=False), SerialExecutor(GrayPredictor(), 0.4))
    same_files(tmp_path / "serial", tmp_path / "out")


@pytest.mark.slow
def test_an_image_that_kills_every_worker_fails_alone(tmp_path: Path) -> None:
    files = images(tmp_path / "in", 5)
    write_image(tmp_path / "in" / "poison.png", synthetic_fundus(*POISON_SIZE))
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        summary = run(client, [tmp_path / "in"], tmp_path / "out", PoisonedPredictor, batch_size=6)
    assert summary.done == 5 and [p.name for p, _ in summary.failed] == ["poison.png"]
    assert "worker segmenting this image died" in summary.failed[0][1]
    rows = pq.read_table(tmp_path / "out" / PARQUET_NAME).to_pylist()
    assert sorted(Path(r["source"]).name for r in rows) == sorted([p.name for p in files] + ["poison.png"])
