"""Where a cohort runs: ``--cluster local``, a scheduler's address, or an HPC queue described in a YAML file.

* ``local``: a Dask ``LocalCluster`` on this machine, one worker process per core by default.
* ``tcp://host:8786`` (any Dask address): a running scheduler; its workers need retinaseg installed
  and the same paths to the images and the output folder (a shared file system).
* ``FILE.yaml``: a dask-jobqueue cluster (SLURM, PBS, SGE, LSF, HTCondor, OAR, Moab), e.g.::

      jobqueue: slurm          # which queueing system
      jobs: 10                 # jobs to start; or  adapt: {minimum: 1, maximum: 50}
      cluster:                 # passed as they are to dask_jobqueue.SLURMCluster(...)
        cores: 8
        memory: 32GB
        walltime: "04:00:00"
        job_extra_directives: ["--gres=gpu:1"]

dask-jobqueue is imported only for a YAML spec, so the ``cluster`` extra works without it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``jobqueue:`` names and the dask-jobqueue classes they start.
JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster",
                    "htcondor": "HTCondorCluster", "oar": "OARCluster", "moab": "MoabCluster"}
_YAML_KEYS = {"jobqueue", "jobs", "adapt", "cluster"}
_ADDRESS_SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")
#: glibc malloc settings for the workers this process starts. Dask's default (MALLOC_TRIM_THRESHOLD_=65536,
#: to hand freed memory back early) turns every large array of a segmentation into fresh mmapped pages: on a
#: DRIVE-sized image it doubled a worker's CPU time (0.65 s of page faults per image); these thresholds keep
#: arrays up to 32 MiB on the heap and trim above 128 MiB free (benchmarks/cohort.py, docs/cohorts.md).
WORKER_MALLOC_ENV = {"MALLOC_TRIM_THRESHOLD_": str(128 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}


class ClusterError(RuntimeError):
    """A cluster that cannot be used; the message says why and what to do (one line)."""


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed ``--cluster`` value: ``kind`` is "local", "address" or "jobqueue"."""

    kind: str
    address: str = ""
    jobqueue: str = ""
    jobs: int = 0
    adapt: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def parse_cluster(value: str) -> ClusterSpec:
    """The spec ``value`` names, or a :class:`ClusterError` saying what is wrong (checked before any work)."""
    if value == "local":
        return ClusterSpec("local")
    if value.startswith(_ADDRESS_SCHEMES):
        return ClusterSpec("address", address=value)
    if value.lower().endswith((".yaml", ".yml")):
        return _read_yaml(Path(value))
    if ":" in value and value.rsplit(":", 1)[1].isdigit():  # host:port, Dask's default scheme is tcp
        return ClusterSpec("address", address=f"tcp://{value}")
    raise ClusterError(f"--cluster {value}: expected local, a scheduler address (tcp://host:8786) "
                       "or a dask-jobqueue YAML file (slurm.yaml)")


def _read_yaml(path: Path) -> ClusterSpec:
    import yaml  # dask's own dependency

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClusterError(f"--cluster {path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ClusterError(f"--cluster {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise ClusterError(f"--cluster {path}: expected a mapping with jobqueue:, jobs: and cluster:")
    if unknown := sorted(set(doc) - _YAML_KEYS):
        raise ClusterError(f"--cluster {path}: unknown key(s) {', '.join(unknown)}; "
                           f"expected {', '.join(sorted(_YAML_KEYS))}")
    system = str(doc.get("jobqueue", "")).lower()
    if system not in JOBQUEUE_CLASSES:
        raise ClusterError(f"--cluster {path}: jobqueue must be one of {', '.join(JOBQUEUE_CLASSES)}, "
                           f"got {doc.get('jobqueue')!r}")
    options = doc.get("cluster") or {}
    adapt = doc.get("adapt") or {}
    jobs = doc.get("jobs", 0 if adapt else 1)
    if not isinstance(options, dict) or not isinstance(adapt, dict):
        raise ClusterError(f"--cluster {path}: cluster: and adapt: must be mappings")
    if not isinstance(jobs, int) or jobs < 0 or (adapt and set(adapt) - {"minimum", "maximum"}):
        raise ClusterError(f"--cluster {path}: jobs: must be a whole number ≥ 0, adapt: {{minimum: N, maximum: M}}")
    return ClusterSpec("jobqueue", jobqueue=system, jobs=jobs, adapt=dict(adapt), options=dict(options))


class Connection:
    """A client on a cluster, and the cluster itself when this process started it (closed with it)."""

    def __init__(self, client: Any, description: str, cluster: Any = None) -> None:
        self.client = client
        self.description = description
        self.cluster = cluster

    def close(self) -> None:
        """Disconnect, and stop the cluster this process started; Dask's complaints about workers that
        are slow to go (heartbeats to a closed scheduler) are not the user's business here."""
        quiet = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
        levels = [log.level for log in quiet]
        for log in quiet:
            log.setLevel(logging.CRITICAL)
        try:
            try:
                self.client.close(timeout=10)
            except Exception:  # a scheduler that is gone cannot say goodbye
                pass
            if self.cluster is not None:
                try:
                    self.cluster.close(timeout=30)
                except Exception:
                    pass
        finally:
            for log, level in zip(quiet, levels, strict=True):
                log.setLevel(level)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(spec: ClusterSpec, *, workers: int | None = None) -> Connection:
    """A client on ``spec``'s cluster. ``workers``: local worker processes (default: one per core).
    A scheduler that does not answer within Dask's connect timeout (``distributed.comm.timeouts.connect``,
    30 s unless configured) is a :class:`ClusterError`."""
    from distributed import Client

    if spec.kind == "local":
        import dask
        from distributed import LocalCluster

        n = workers or local_cores()
        spawn_env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC_ENV.items()}
        with _workers_ignore_ctrl_c(), dask.config.set(spawn_env):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.CRITICAL)  # failures reach the user as results
        return Connection(Client(cluster), f"local cluster, {n} worker process{'es' if n != 1 else ''}", cluster)
    if spec.kind == "address":
        try:
            client = Client(spec.address)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {spec.address} ({exc}); "
                               "is it running, and is the address right?") from None
        return Connection(client, f"scheduler {spec.address}")
    return _jobqueue(spec)


def _jobqueue(spec: ClusterSpec) -> Connection:
    try:
        import dask_jobqueue
    except ImportError:
        raise ClusterError("a YAML --cluster needs dask-jobqueue: pip install dask-jobqueue "
                           "(or pip install 'retinaseg[cluster]')") from None
    from distributed import Client

    cls = getattr(dask_jobqueue, JOBQUEUE_CLASSES[spec.jobqueue])
    options = dict(spec.options)
    prologue = [f"export {k}={v}" for k, v in WORKER_MALLOC_ENV.items()]
    options["job_script_prologue"] = prologue + list(options.get("job_script_prologue") or [])
    try:
        cluster = cls(**options)
    except (TypeError, ValueError) as exc:
        raise ClusterError(f"{JOBQUEUE_CLASSES[spec.jobqueue]}: {exc}") from None
    if spec.adapt:
        cluster.adapt(minimum_jobs=spec.adapt.get("minimum", 0), maximum_jobs=spec.adapt.get("maximum", 1))
        size = f"adapting between {spec.adapt.get('minimum', 0)} and {spec.adapt.get('maximum', 1)} jobs"
    else:
        cluster.scale(jobs=spec.jobs)
        size = f"{spec.jobs} job{'s' if spec.jobs != 1 else ''}"
    return Connection(Client(cluster), f"{spec.jobqueue} cluster, {size}", cluster)


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Worker processes started meanwhile ignore SIGINT (inherited, and kept by Python at start-up).

    A terminal's Ctrl-C reaches every process of the foreground group: the workers would die with a
    KeyboardInterrupt each, while this process stops the run in order and then closes them.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def local_cores() -> int:
    """The cores this process may use (its CPU affinity where the platform tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
