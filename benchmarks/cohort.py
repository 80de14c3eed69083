"""Cohort runs on Dask: throughput and overhead, and the memory of a long run's scheduler and client.

    python benchmarks/cohort.py throughput [--images 200] [--data DRIVE_DIR] [--model PATH] [--workers 1 2]
    python benchmarks/cohort.py scale [--images 10000] [--size 64] [--workers 2] [--batch-size 16]
    python benchmarks/cohort.py pipeline --data POOL [--model PATH]

``throughput``: DRIVE-sized images (the DRIVE training photographs repeated, or synthetic 565×584 ones
without ``--data``) through the plain batch path (one process, ``SerialExecutor``) and a LocalCluster
of each ``--workers`` count, all at one torch thread per process; prints images/s, the workers' CPU
seconds per image (what the CPUs did, whatever else the machine ran) and whether every mask and
probability map is byte-identical to the plain path's.

``scale``: ``--images`` tiny synthetic images and a random-weight base_c=4 UNet, so that the scheduler
and the client, not the model, are what is measured: the scheduler and the workers run as separate
processes (``dask scheduler``, ``dask worker``) and the peak RSS of the scheduler and of the client
(this process) is reported, with the rate.

``pipeline``: where one image's CPU time goes (read, the network, the rest of the prediction, checks and
writes) for a DRIVE, a CHASE_DB1 and an HRF photograph, with the shipped model on one thread: what stays
on a GPU worker's CPU when the network moves to the GPU (docs/cohorts.md extrapolates from it).

The last line is a JSON summary. Run it niced on a shared machine: the figures are the machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DRIVE_SIZE = (584, 565)  # h, w


def drive_sized_inputs(folder: Path, n: int, data: Path | None) -> list[Path]:
    """``n`` PNGs of DRIVE size: the DRIVE training photographs repeated (distinct names), else synthetic."""
    from core.io.images import load_image, write_image
    from tests.conftest import synthetic_fundus

    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((data / "training" / "images").glob("*")) if data else []
    pixels = [load_image(p, mode="RGB").pixels for p in sources]
    paths = []
    for i in range(n):
        path = folder / f"img{i:05d}.png"
        write_image(path, pixels[i % len(pixels)] if pixels else synthetic_fundus(*DRIVE_SIZE, seed=i))
        paths.append(path)
    return paths


def tiny_inputs(folder: Path, n: int, size: int) -> None:
    from PIL import Image

    from tests.conftest import synthetic_fundus

    base = [synthetic_fundus(size, size, seed=i) for i in range(16)]
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(base[i % 16]).save(sub / f"eye{i:06d}.png", compress_level=1)


def tiny_model(path: Path) -> Path:
    import torch

    from core.ml.checkpoint import model_checkpoint, save_checkpoint
    from core.ml.model import UNet
    from core.ml.preprocessing import Preprocessing

    torch.manual_seed(0)
    ckpt = model_checkpoint(UNet(base_c=4).eval(), Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1)),
                            thresholds={"vessel": 0.5}, trained_on="nothing (random benchmark weights)")
    return save_checkpoint(ckpt, path)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cohort_run(client, inputs: list[str], out: Path, spec, batch_size: int) -> tuple[object, float]:  # noqa: ANN001
    from core.batch.cohort import CohortSettings, run_cohort
    from core.batch.dask_executor import DaskExecutor
    from core.batch.table import ResultsTable

    table = ResultsTable(out)
    table.open()
    start = time.perf_counter()
    try:
        summary = run_cohort(inputs, CohortSettings(out, save_prob=True), DaskExecutor(client, spec, None,
                                                                                       batch_size=batch_size), table)
    finally:
        table.close()
    return summary, time.perf_counter() - start


def compare(a: Path, b: Path) -> tuple[int, int]:
    """(files compared, files that differ) between two output folders."""
    names = sorted(p.name for p in a.glob("*_*.png"))
    return len(names), sum((a / n).read_bytes() != (b / n).read_bytes() for n in names)


def throughput(args: argparse.Namespace) -> dict:
    from core.batch import SegmenterSpec, SerialExecutor, execute, plan
    from core.batch.clusters import ClusterSpec, connect
    from core.batch.dask_executor import describe_predictor

    work = Path(tempfile.mkdtemp(prefix="cohort_bench_"))
    try:
        files = drive_sized_inputs(work / "in", args.images, args.data)
        spec = SegmenterSpec(str(args.model) if args.model else None, device="cpu", threads=1)
        result: dict = {"images": len(files), "image_size": list(DRIVE_SIZE[::-1]),
                        "inputs": "DRIVE training images repeated" if args.data else "synthetic",
                        "model": str(args.model or "shipped vessels_unet16.pt"), "load_before": os.getloadavg()[0]}
        segmenter = spec()
        cpu0, start = cpu_seconds(), time.perf_counter()
        summary = execute(plan(files, work / "serial", save_prob=True, overwrite=False), SerialExecutor(segmenter))
        wall = time.perf_counter() - start
        assert len(summary.done) == len(files), summary.text()
        result["serial"] = {"seconds": round(wall, 1), "images_per_s": round(len(files) / wall, 3),
                            "cpu_s_per_image": round((cpu_seconds() - cpu0) / len(files), 3)}
        print(f"plain batch path, 1 process: {len(files) / wall:.3f} images/s", flush=True)
        for n in args.workers:
            start_cluster = time.perf_counter()
            with connect(ClusterSpec("local"), workers=n) as connection:  # as `retinaseg cohort` starts it
                client = connection.client
                client.wait_for_workers(n)
                for address in client.nthreads():  # every worker loads the model before the clock starts
                    client.submit(describe_predictor, spec, workers=[address], pure=False).result()
                started = time.perf_counter() - start_cluster
                cpu_before = sum(client.run(cpu_seconds).values())
                out = work / f"dask{n}"
                summary, wall = cohort_run(client, [str(work / "in")], out, spec, args.batch_size)
                cpu = sum(client.run(cpu_seconds).values()) - cpu_before
            assert summary.done == len(files), summary.text()
            compared, differ = compare(work / "serial", out)
            result[f"dask_{n}_workers"] = {
                "seconds": round(wall, 1), "images_per_s": round(len(files) / wall, 3),
                "cpu_s_per_image": round(cpu / len(files), 3), "cluster_start_and_model_load_s": round(started, 1),
                "files_compared": compared, "files_differing": differ}
            print(f"dask, {n} worker(s): {len(files) / wall:.3f} images/s; {differ} of {compared} files differ "
                  f"from the plain path", flush=True)
        serial_rate = result["serial"]["images_per_s"]
        for n in args.workers:
            entry = result[f"dask_{n}_workers"]
            entry["vs_plain_path"] = round(entry["images_per_s"] / serial_rate, 3)
        result["load_after"] = os.getloadavg()[0]
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set of a live process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def scale(args: argparse.Namespace) -> dict:
    from distributed import Client

    from core.batch import SegmenterSpec
    from core.batch.clusters import WORKER_MALLOC_ENV

    work = Path(tempfile.mkdtemp(prefix="cohort_scale_"))
    procs: list[subprocess.Popen] = []
    try:
        start = time.perf_counter()
        tiny_inputs(work / "in", args.images, args.size)
        made = time.perf_counter() - start
        model = tiny_model(work / "tiny.pt")
        scheduler_file = work / "scheduler.json"
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        procs.append(subprocess.Popen([*dask, "--scheduler-file", str(scheduler_file), "--no-dashboard",
                                       "--host", "127.0.0.1"], stderr=subprocess.DEVNULL, cwd=REPO))
        while not scheduler_file.exists():
            time.sleep(0.2)
        for _ in range(args.workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                           str(scheduler_file), "--nthreads", "1", "--no-dashboard"],
                                          stderr=subprocess.DEVNULL, cwd=REPO,
                                          env={**os.environ, **WORKER_MALLOC_ENV, "PYTHONPATH": str(REPO)}))
        client = Client(scheduler_file=str(scheduler_file))
        client.wait_for_workers(args.workers)
        spec = SegmenterSpec(str(model), device="cpu", threads=1)
        import psutil

        scheduler = psutil.Process(procs[0].pid)
        rss_client_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu_client, cpu_scheduler = cpu_seconds(), sum(scheduler.cpu_times()[:2])
        summary, wall = cohort_run(client, [str(work / "in")], work / "out", spec, args.batch_size)
        cpu_client, cpu_scheduler = cpu_seconds() - cpu_client, sum(scheduler.cpu_times()[:2]) - cpu_scheduler
        rows = __import__("pyarrow.parquet", fromlist=["x"]).read_table(work / "out" / "results.parquet").num_rows
        result = {"images": args.images, "size": args.size, "workers": args.workers, "batch_size": args.batch_size,
                  "model": "random-weight UNet base_c=4", "inputs_made_s": round(made, 1),
                  "seconds": round(wall, 1), "images_per_s": round(args.images / wall, 2),
                  "done": summary.done, "failed": len(summary.failed), "table_rows": rows,
                  "cpu_ms_per_image": {"client": round(1000 * cpu_client / args.images, 2),
                                       "scheduler": round(1000 * cpu_scheduler / args.images, 2)},
                  "peak_rss_mb": {"scheduler": round(peak_rss_mb(procs[0].pid), 1),
                                  "client": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                                  "client_before_run": round(rss_client_before, 1),
                                  "workers": [round(peak_rss_mb(p.pid), 1) for p in procs[1:]]},
                  "load": os.getloadavg()[0]}
        client.close()
        return result
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def pipeline(args: argparse.Namespace) -> dict:
    import core.batch.job as job_module
    from core.batch import plan
    from core.batch.job import run_one
    from core.ml.inference import Segmenter

    def first_training(folder: Path, images: Path) -> Path:  # a timing, but still never a test image
        return images / (folder / "split-train.txt").read_text().split()[0]

    photos = {"DRIVE 565x584": sorted((args.data / "DRIVE" / "training" / "images").glob("*"))[0],
              "CHASE_DB1 999x960": first_training(args.data / "CHASE_DB1", args.data / "CHASE_DB1"),
              "HRF 3504x2336": first_training(args.data / "HRF", args.data / "HRF" / "images")}
    segmenter = Segmenter(str(args.model) if args.model else None, device="cpu", threads=1)
    spent: dict[str, float] = {}

    def timed(name, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - t
        return wrapper

    load, predict, forward = job_module.load_image, segmenter.predict, segmenter._forward
    job_module.load_image = timed("read", load)
    segmenter.predict = timed("predict", predict)
    segmenter._forward = timed("network", forward)
    result: dict = {"model": str(args.model or "shipped vessels_unet16.pt"), "torch_threads": 1}
    work = Path(tempfile.mkdtemp(prefix="cohort_pipeline_"))
    try:
        for name, photo in photos.items():
            spent.clear()
            job = plan([photo], work, save_prob=True, overwrite=True).jobs[0]
            t = time.process_time()
            outcome = run_one(job, segmenter)
            total = time.process_time() - t
            assert outcome.ok, outcome.error
            row = {"read_s": spent["read"], "network_s": spent["network"],
                   "rest_of_prediction_s": spent["predict"] - spent["network"],
                   "checks_and_writes_s": total - spent["read"] - spent["predict"], "total_s": total}
            result[name] = {k: round(v, 3) for k, v in row.items()}
            print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[name].items()), flush=True)
    finally:
        job_module.load_image = load
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    tp = sub.add_parser("throughput")
    tp.add_argument("--images", type=int, default=200)
    tp.add_argument("--data", type=Path, help="the DRIVE folder (default: synthetic DRIVE-sized images)")
    tp.add_argument("--model", type=Path, help="checkpoint (default: the shipped model)")
    tp.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    tp.add_argument("--batch-size", type=int, default=4)
    sc = sub.add_parser("scale")
    sc.add_argument("--images", type=int, default=10_000)
    sc.add_argument("--size", type=int, default=64)
    sc.add_argument("--workers", type=int, default=2)
    sc.add_argument("--batch-size", type=int, default=16)
    pl = sub.add_parser("pipeline")
    pl.add_argument("--data", type=Path, required=True, help="the folder holding DRIVE/, CHASE_DB1/ and HRF/")
    pl.add_argument("--model", type=Path, help="checkpoint (default: the shipped model)")
    args = parser.parse_args()
    result = {"throughput": throughput, "scale": scale, "pipeline": pipeline}[args.what](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
