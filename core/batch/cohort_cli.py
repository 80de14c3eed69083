"""``retinaseg cohort``: the command-line side of a cohort run (checks, cluster, progress, Ctrl-C, summary).

Dask is imported only once the options are checked, so a missing ``cluster`` extra is one line, not a
traceback. Usage errors return 2 before anything starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
#: Without a terminal (a log file, a batch job's output), a status line this often instead of the bar.
LOG_EVERY_SECONDS = 30.0


def usage_problem(args: argparse.Namespace) -> str:
    """Why these options cannot run ("" when they can); checked before any cluster starts."""
    from core.batch.run import output_folder_problem

    if importlib.util.find_spec("distributed") is None:
        return "retinaseg cohort runs on Dask, which is not installed: pip install 'retinaseg[cluster]'"
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        return f"--threshold must be between 0 and 1, got {args.threshold}"
    for name in ("workers", "threads", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be at least 1, got {value}"
    if args.field_angle is not None and not 0 < args.field_angle < 200:
        return f"--field-angle is the camera's field of view in degrees (e.g. 45), got {args.field_angle}"
    if args.measure and importlib.util.find_spec("core.measure.biomarkers") is None:
        return "--measure: this version of retinaseg has no biomarkers (core.measure.biomarkers)"
    if problem := output_folder_problem(args.out):
        return f"{problem} (-o names the output folder, created if missing)"
    return ""


def run(args: argparse.Namespace) -> int:
    """``retinaseg cohort``; see the README's Cohorts section."""
    if problem := usage_problem(args):
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from core.batch.clusters import ClusterError, connect, parse_cluster

    try:
        spec = parse_cluster(args.cluster)
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if spec.kind != "local" and args.workers is not None:
        print("error: --workers sets the local cluster's size; a scheduler or a queue has its own",
              file=sys.stderr)
        return EXIT_USAGE
    from core.batch.dask_executor import ClusterLost
    from core.batch.table import ResultsTable, TableBusy
    from core.errors import DeviceFailure, RetinaSegError

    out = Path(os.path.abspath(args.out))
    _quiet_dask_logs()
    try:
        connection = connect(spec, workers=args.workers)
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    table = ResultsTable(out)
    recorded = ""
    try:
        with connection:
            factory, facts = _load_model(connection, args)
            table.open()
            recorded = f"; {out} records what finished: run the same command again to resume"
            return _run_on(connection, args, out, table, factory, facts)
    except TableBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    except ClusterLost as exc:
        print(f"error: {exc}{recorded}", file=sys.stderr)
        return EXIT_FAILURES
    except RetinaSegError as exc:  # a bad model, a GPU failure: raised on a worker, told here in one line
        hint = " (run again with --device cpu)" if isinstance(exc, DeviceFailure) else ""
        print(f"error: {exc}{hint}{recorded}", file=sys.stderr)
        return EXIT_FAILURES
    except Exception as exc:  # anything else a worker raised (e.g. retinaseg missing there): one line
        print(f"error: a worker failed: {type(exc).__name__}: {exc}{recorded}", file=sys.stderr)
        return EXIT_FAILURES
    finally:
        table.close()


def _quiet_dask_logs() -> None:
    """Dask's own log lines (a client reconnecting to a scheduler that is gone, workers slow to close)
    would bury the progress and the one line that says what happened: the run reports for itself."""
    import distributed  # noqa: F401  (it sets its loggers' levels when imported: set them after)

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("distributed", "tornado")]
    for name in ["distributed", "tornado", "asyncio", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _load_model(connection: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The workers' predictor recipe, and what a worker says of the model once it has loaded it."""
    from core.batch.dask_executor import describe_predictor
    from core.batch.spec import SegmenterSpec

    model = os.path.abspath(args.model) if args.model else None  # workers run elsewhere
    factory = SegmenterSpec(model, device=args.device, precision=args.precision, tta=args.tta, threads=args.threads)
    print(f"cluster: {connection.description}; waiting for a worker to load the model", file=sys.stderr)
    facts = connection.client.submit(describe_predictor, factory, pure=False).result()
    return factory, facts


def _run_on(connection: Any, args: argparse.Namespace, out: Path, table: Any, factory: Any,
            facts: dict[str, Any]) -> int:
    from core.batch.cohort import CohortSettings, count_images, run_cohort
    from core.batch.dask_executor import DaskExecutor
    from core.batch.measure import BiomarkerColumns

    threshold = args.threshold if args.threshold is not None else facts["thresholds"].get("vessel")
    print(f"model: {facts['model']} on {facts['device']} ({facts['threads']} torch thread"
          f"{'s' if facts['threads'] != 1 else ''} per worker), threshold {threshold}", file=sys.stderr)
    settings = CohortSettings(out, save_prob=args.save_prob, write_info=args.info, force=args.force,
                              retry_failed=args.retry_failed, measure=args.measure, model=Path(facts["model"]).name,
                              threshold=threshold)
    total = count_images(args.inputs, settings, table)
    if total == 0:
        what = "recorded as failed" if args.retry_failed else "found"
        print(f"no images {what} in {' '.join(map(str, args.inputs))}", file=sys.stderr)
        return EXIT_OK if args.retry_failed else EXIT_FAILURES
    executor = DaskExecutor(connection.client, factory, args.threshold, batch_size=args.batch_size,
                            measure=BiomarkerColumns(args.field_angle) if args.measure else None)
    stop = _StopOnInterrupt()
    show = _Progress(total)
    try:
        with stop:
            summary = run_cohort(args.inputs, settings, executor, table, show, stop, total=total)
    finally:
        show.close()
    table.close()  # the tables are complete before the summary says so
    summary.rows = len(table)
    print(summary.text())
    if summary.cancelled:
        print("stopped: run the same command again to resume", file=sys.stderr)
        return 130
    return EXIT_OK if summary.ok else EXIT_FAILURES


class _StopOnInterrupt:
    """The first Ctrl-C asks the run to stop (nothing more is started, the table is written); a second
    one stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __call__(self) -> bool:
        return self.requested

    def __enter__(self) -> _StopOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _interrupt(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping: writing the table (Ctrl-C again to quit at once)", file=sys.stderr)


class _Progress:
    """A bar with the rate and the time left on a terminal; otherwise a status line every half minute,
    and each failure on its own line in both cases."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="image", file=sys.stderr, dynamic_ncols=True, disable=None,
                        smoothing=0.05)
        self.total = total
        self.start = self.logged = time.monotonic()

    def __call__(self, done: int, total: int, result: Any) -> None:
        self.bar.update(done - self.bar.n)
        if not result.ok:
            self.bar.write(f"FAILED {result.source}: {result.error}", file=sys.stderr)
        now = time.monotonic()
        if self.bar.disable and (now - self.logged >= LOG_EVERY_SECONDS or done == total):
            self.logged = now
            rate = done / max(now - self.start, 1e-9)
            left = (total - done) / rate if rate > 0 else float("inf")
            print(f"[{done}/{total}] {rate:.2f} images/s, {_duration(left)} left", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown time"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
