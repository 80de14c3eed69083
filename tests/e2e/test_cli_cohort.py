"""``retinaseg cohort`` from the command line: usage errors in one line before any work, the bytes of
``segment`` on a LocalCluster, a rerun that resumes, a stopped scheduler, and an HPC queue (a stand-in
``sbatch`` that starts the job script on this machine)."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.batch.table import JOURNAL_NAME, PARQUET_NAME
from core.cli import main
from core.io.images import write_image
from tests.conftest import synthetic_fundus

pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        write_image(folder / f"eye{i}.png", synthetic_fundus(40 + i, 48, seed=i))
    return folder


def retinaseg(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, **kwargs)


def rows(out: Path) -> list[dict]:
    return pq.read_table(out / PARQUET_NAME).to_pylist()


@pytest.mark.parametrize(("extra", "message"), [
    (["--cluster", "yarn"], "error: --cluster yarn: expected local, a scheduler address (tcp://host:8786) or a "
                            "dask-jobqueue YAML file (slurm.yaml)"),
    (["--cluster", "tcp://127.0.0.1:8786", "--workers", "2"],
     "error: --workers sets the local cluster's size; a scheduler or a queue has its own"),
    (["--threshold", "1.5"], "error: --threshold must be between 0 and 1, got 1.5"),
    (["--batch-size", "0"], "error: --batch-size must be at least 1, got 0"),
    (["--workers", "0"], "error: --workers must be at least 1, got 0"),
])
def test_usage_errors_are_one_line_before_any_work(extra: list[str], message: str, images: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cohort", str(images), "-o", str(tmp_path / "out"), *extra])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [message]
    assert not (tmp_path / "out").exists()


def test_retry_failed_and_force_cannot_go_together(images: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["cohort", str(images), "-o", str(tmp_path / "out"), "--retry-failed", "--force"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(("text", "message"), [
    ("jobqueue: slurm\nnodes: 3\n", "unknown key(s) nodes; expected adapt, cluster, jobqueue, jobs"),
    ("jobqueue: kubernetes\n", "jobqueue must be one of slurm, pbs, sge, lsf, htcondor, oar, moab, got 'kubernetes'"),
    ("jobqueue: slurm\njobs: -1\n", "jobs: must be a whole number ≥ 0, adapt: {minimum: N, maximum: M}"),
    ("jobqueue: [slurm\n", "not valid YAML"),
])
def test_a_cluster_file_that_cannot_be_used_says_why_in_one_line(text: str, message: str, images: Path,
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "queue.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["cohort", str(images), "-o", str(tmp_path / "out"), "--cluster", str(spec)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --cluster {spec}: ") and message in err[0]


def test_a_cluster_file_without_dask_jobqueue_says_what_to_install(images: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "slurm.yaml"
    spec.write_text("jobqueue: slurm\njobs: 2\ncluster: {cores: 4, memory: 8GB}\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # as if it were not installed
    assert main(["cohort", str(images), "-o", str(tmp_path / "out"), "--cluster", str(spec)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: a YAML --cluster needs dask-jobqueue: pip install dask-jobqueue (or pip install 'retinaseg[cluster]')"]


def test_a_scheduler_that_cannot_be_reached_is_one_line(images: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["cohort", str(images), "-o", str(tmp_path / "out"), "--cluster", "tcp://127.0.0.1:9"])
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 ")


@pytest.mark.slow
def test_a_local_cluster_writes_what_segment_writes_and_a_rerun_resumes(images: Path, tmp_path: Path,
                                                                        tiny_checkpoint_path: Path) -> None:
    import torch

    (images / "corrupt.png").write_bytes(b"not a png")
    plain = retinaseg("segment", str(images), "-o", str(tmp_path / "plain"), "--model", str(tiny_checkpoint_path),
                      "--device", "cpu", "--save-prob")
    assert plain.returncode == 1, plain.stderr  # the corrupt file
    threads = str(torch.get_num_threads())  # segment's: the same count gives the same sums
    out = tmp_path / "cohort"
    args = ["cohort", str(images), "-o", str(out), "--model", str(tiny_checkpoint_path), "--device", "cpu",
            "--save-prob", "--workers", "2", "--threads", threads, "--batch-size", "2"]
    first = retinaseg(*args)
    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines()[0] == "4 segmented, 0 skipped (complete), 1 failed; the table has 5 rows"
    assert f"FAILED {images / 'corrupt.png'}: " in first.stderr
    assert "Traceback" not in first.stderr
    for mask in sorted((tmp_path / "plain").iterdir()):
        assert (out / mask.name).read_bytes() == mask.read_bytes(), mask.name
    table = {Path(r["source"]).name: r for r in rows(out)}
    assert sorted(table) == ["corrupt.png", "eye0.png", "eye1.png", "eye2.png", "eye3.png"]
    assert table["corrupt.png"]["status"] == "failed" and table["eye2.png"]["height"] == 42
    assert (out / "results.csv").read_text(encoding="utf-8").count("\n") == 6

    again = retinaseg(*args)
    assert again.stdout.splitlines()[0] == "0 segmented, 4 skipped (complete), 1 failed; the table has 5 rows"


def _start_scheduler_and_worker(tmp_path: Path) -> tuple[list[subprocess.Popen], str]:
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                               str(scheduler_file), "--no-dashboard", "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)]
    deadline = time.monotonic() + 300
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                   str(scheduler_file), "--nthreads", "1", "--no-dashboard"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO))
    import json

    return procs, json.loads(scheduler_file.read_text())["address"]


@pytest.mark.slow
def test_a_scheduler_stopped_mid_run_leaves_a_table_a_rerun_completes(tmp_path: Path,
                                                                      tiny_checkpoint_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        write_image(folder / f"eye{i:02d}.png", synthetic_fundus(64, 64, seed=i))
    out = tmp_path / "out"
    procs, address = _start_scheduler_and_worker(tmp_path)
    try:
        run = subprocess.Popen([sys.executable, "-m", "core", "cohort", str(folder), "-o", str(out), "--model",
                                str(tiny_checkpoint_path), "--device", "cpu", "--cluster", address,
                                "--batch-size", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s"})
        journal = out / JOURNAL_NAME
        while not (journal.exists() and journal.stat().st_size > 0) and run.poll() is None:
            time.sleep(0.05)
        procs[0].send_signal(signal.SIGKILL)  # the scheduler goes away with images in flight
        stdout, stderr = run.communicate(timeout=300)
    finally:
        for proc in procs:
            proc.kill()
    recorded = len(journal.read_text(encoding="utf-8").splitlines())
    assert run.returncode == 1, stdout + stderr
    assert 0 < recorded < 40
    assert stderr.splitlines()[-1].endswith("run the same command again to resume"), stderr
    assert "Traceback" not in stderr

    resumed = retinaseg("cohort", str(folder), "-o", str(out), "--model", str(tiny_checkpoint_path),
                        "--device", "cpu", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    done, skipped = map(int, re.match(r"(\d+) segmented, (\d+) skipped", resumed.stdout).groups())
    assert done + skipped == 40 and skipped >= recorded
    table = rows(out)
    assert sorted(r["source"] for r in table) == sorted(str(p) for p in folder.iterdir()), "each image once"
    assert all(r["status"] == "done" for r in table)


@pytest.mark.slow
def test_a_slurm_cluster_file_runs_the_cohort_through_the_queue(images: Path, tmp_path: Path,
                                                                tiny_checkpoint_path: Path) -> None:
    """A stand-in ``sbatch`` runs each job script on this machine, as a SLURM node would."""
    pytest.importorskip("dask_jobqueue")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    jobs = tmp_path / "jobs"  # dask-jobqueue deletes its job script once sbatch returns: keep a copy
    jobs.mkdir()
    sbatch = (f'job=$(mktemp -p {jobs})\ncp "$1" "$job"\n'
              'nohup bash "$job" > "$job.log" 2>&1 &\necho "Submitted batch job $!"\n')
    for name, body in (("sbatch", sbatch),
                       ("scancel", 'kill "$@" 2>/dev/null; exit 0\n'),
                       ("squeue", "exit 0\n")):
        tool = bin_dir / name
        tool.write_text("#!/bin/bash\n" + body, encoding="utf-8")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    spec = tmp_path / "slurm.yaml"
    spec.write_text(f"jobqueue: slurm\njobs: 1\ncluster:\n  cores: 1\n  memory: 2GB\n  processes: 1\n"
                    f"  python: {sys.executable}\n  log_directory: {tmp_path / 'logs'}\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = retinaseg("cohort", str(images), "-o", str(out), "--model", str(tiny_checkpoint_path), "--device", "cpu",
                     "--cluster", str(spec), env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stderr
    assert "cluster: slurm cluster, 1 job" in proc.stderr
    script = next(p for p in jobs.iterdir() if not p.name.endswith(".log")).read_text(encoding="utf-8")
    assert "#SBATCH --mem=" in script and "export MALLOC_TRIM_THRESHOLD_=134217728" in script
    assert proc.stdout.splitlines()[0] == "4 segmented, 0 skipped (complete), 0 failed; the table has 4 rows"
