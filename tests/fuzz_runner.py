"""Run fuzz cases against read_image / read_mask, each bounded in time and memory, and count what happened.

The property (:func:`check_file`): every case either loads correctly (an array of the documented dtype,
2-D or H×W×3, the same size in every mode) or raises :class:`~core.io.images.ImageReadError` naming the
file; read_mask gives a 2-D bool array or ImageReadError. Anything else is a bug: another exception,
a MemoryError that escaped, a hang, a dead worker.

:func:`run_corpus` runs cases in worker processes under an address-space limit (RLIMIT_AS, default
2 GB) with a per-case timeout: a hung decoder is killed and reported, a dying worker is reported and
replaced. Used by tests/core/test_fuzz_images.py (a fast subset) and benchmarks/fuzz_images.py
(>= 10,000 cases); the cases come from tests/fuzz_corpus.py.

    python -m tests.fuzz_runner --worker   # (internal) the worker loop, spoken to over stdin/stdout
"""

from __future__ import annotations

import os
import pickle
import selectors
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz_corpus import Case

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MEM_LIMIT = 2 << 30  # bytes of address space per worker
DEFAULT_TIMEOUT = 30.0  # seconds per case (generous: the test machines are shared)


# --- the property, run inside a worker ----------------------------------------------------------

def _peak_rss_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM (Linux >= 4.0)
            f.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_file(path: Path, case: Case) -> dict[str, Any]:
    """Run read_image (RGB, L), load_image and read_mask on one file; classify what happened."""
    import numpy as np

    from core.errors import ImageReadError
    from core.io.export import read_mask
    from core.io.images import load_image, read_image

    outcomes: dict[str, str] = {}
    problems: list[str] = []
    shapes: set[tuple[int, int]] = set()
    messages: list[str] = []

    def expect(what: str, arr: Any) -> None:
        ok = {
            "RGB": arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3,
            "L": arr.dtype == np.uint8 and arr.ndim == 2,
            "None": (arr.dtype in (np.uint8, np.uint16) and arr.ndim == 2)
            or (arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3),
            "mask": arr.dtype == np.bool_ and arr.ndim == 2,
        }[what]
        if not ok or min(arr.shape[:2]) < 1:
            problems.append(f"bad_result: {what} gave {arr.dtype} {arr.shape}")
        shapes.add(tuple(arr.shape[:2]))

    def photograph() -> Any:
        """load_image's pixels, after checking that its metadata describes them."""
        loaded = load_image(path)
        meta, arr = loaded.metadata, loaded.pixels
        spacing = meta.pixel_spacing_mm
        if (meta.source != path or not meta.format or meta.size != (arr.shape[1], arr.shape[0])
                or meta.orientation not in range(1, 9)
                or (spacing is not None and not all(np.isfinite(v) and v > 0 for v in spacing))):
            problems.append(f"bad_result: metadata does not describe the pixels: {meta} for {arr.shape}")
        return arr

    calls = [("RGB", lambda: read_image(path, mode="RGB")), ("L", lambda: read_image(path, mode="L")),
             ("None", photograph), ("mask", lambda: read_mask(path))]
    for what, call in calls:
        try:
            arr = call()
        except ImageReadError as exc:
            outcomes[what] = "refused"
            messages.append(str(exc))
            if str(path) not in str(exc):
                problems.append(f"bad_result: {what} error does not name the file: {exc}")
            if "not enough memory" in str(exc):
                outcomes[what] = "refused_memory"
        except MemoryError:
            outcomes[what] = "escaped_memory_error"
            problems.append(f"escaped_memory_error: {what}: {traceback.format_exc(limit=6)}")
        except Exception as exc:  # noqa: BLE001 - the point is to catch everything else
            outcomes[what] = "crash"
            problems.append(f"crash: {what}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
        else:
            outcomes[what] = "loaded"
            expect(what, arr)
    if len(shapes) > 1:
        problems.append(f"inconsistent: sizes differ between modes: {sorted(shapes)}")
    loaded = [w for w, o in outcomes.items() if o == "loaded"]
    if case.expect is not None:
        if len(loaded) < len(calls):
            problems.append(f"seed_refused: a valid file was refused: {messages[:1]}")
        elif shapes != {case.expect}:
            problems.append(f"bad_result: expected size {case.expect}, got {sorted(shapes)}")
    if case.must_refuse and loaded:
        problems.append(f"bad_result: a file that must be refused loaded in modes {loaded}")
    status = "loaded" if len(loaded) == len(calls) else "refused" if not loaded else "mixed"
    if any(o == "refused_memory" for o in outcomes.values()):
        status = "refused_memory"
    return {"status": status, "outcomes": outcomes, "problems": problems, "message": (messages or [""])[0]}


def _misbehave(name: str) -> None:
    """Cases that test the runner itself: a hang, a hard crash, a runaway allocation."""
    if name == "__harness_hang__":
        time.sleep(3600)
    elif name == "__harness_segfault__":
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)
    elif name == "__harness_allocate_4gb__":
        bytearray(4 << 30)  # must hit RLIMIT_AS as a MemoryError, not the machine


def _worker_main() -> None:
    """Loop: read a pickled Case from stdin, check it, write a pickled result to stdout."""
    import resource

    limit = int(os.environ.get("FUZZ_MEM_LIMIT", DEFAULT_MEM_LIMIT))
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    proto_in, proto_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the protocol goes to the parent's pipe
    import warnings

    warnings.simplefilter("ignore")
    import core.io.export  # noqa: F401 - import before the first case so its time is not charged to it
    import core.io.images  # noqa: F401

    work = Path(os.environ["FUZZ_WORKDIR"])
    while True:
        head = proto_in.read(8)
        if len(head) < 8:
            return
        case: Case = pickle.loads(proto_in.read(struct.unpack("<Q", head)[0]))
        path = work / f"case{case.suffix}"
        path.write_bytes(case.data)
        _peak_rss_reset()
        start = time.perf_counter()
        if case.name.startswith("__harness_"):
            _misbehave(case.name)
        result = check_file(path, case)
        result["seconds"] = time.perf_counter() - start
        result["peak_rss_mb"] = _peak_rss_mb()
        blob = pickle.dumps(result)
        proto_out.write(struct.pack("<Q", len(blob)) + blob)
        proto_out.flush()


# --- the runner ---------------------------------------------------------------------------------

@dataclass
class FuzzReport:
    """What happened to every case; ``bugs`` lists (case name, description) of every property violation."""

    tried: int = 0
    status: Counter[str] = field(default_factory=Counter)
    bugs: list[tuple[str, str]] = field(default_factory=list)
    bug_kinds: Counter[str] = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")
    peak_rss_mb: tuple[float, str] = (0.0, "")
    seconds: float = 0.0
    failing_cases: list[Case] = field(default_factory=list)
    memory_refusals: list[tuple[str, str]] = field(default_factory=list)  # refused as 'not enough memory'

    def add(self, case: Case, result: dict[str, Any]) -> None:
        self.tried += 1
        self.status[result["status"]] += 1
        for problem in result["problems"]:
            kind = problem.split(":", 1)[0]
            self.bug_kinds[kind] += 1
            self.bugs.append((case.name, problem))
        if result["problems"]:
            self.failing_cases.append(case)
        if result["status"] == "refused_memory":
            self.memory_refusals.append((case.name, result.get("message", "")))
        self.slowest = max(self.slowest, (result.get("seconds", 0.0), case.name))
        self.peak_rss_mb = max(self.peak_rss_mb, (result.get("peak_rss_mb", 0.0), case.name))

    def summary(self) -> str:
        lines = [
            f"cases tried:      {self.tried}",
            f"loaded:           {self.status['loaded']} (all four reads gave a valid array)",
            f"refused:          {self.status['refused']} (ImageReadError naming the file)",
            f"loaded in some modes, refused in others: {self.status['mixed']}",
            f"refused for memory (under the limit): {self.status['refused_memory']}",
            f"crashes (other exceptions): {self.bug_kinds['crash']}",
            f"escaped MemoryError: {self.bug_kinds['escaped_memory_error']}",
            f"wrong results:    {self.bug_kinds['bad_result'] + self.bug_kinds['inconsistent']}",
            f"valid files refused: {self.bug_kinds['seed_refused']}",
            f"hangs (killed):   {self.bug_kinds['hang']}",
            f"dead workers:     {self.bug_kinds['died']}",
            f"slowest case:     {self.slowest[0]:.2f} s ({self.slowest[1]})",
            f"peak RSS of one case: {self.peak_rss_mb[0]:.0f} MB ({self.peak_rss_mb[1]})",
            f"wall time:        {self.seconds:.1f} s",
        ]
        return "\n".join(lines)


class _Worker:
    def __init__(self, workdir: Path, mem_limit: int) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "FUZZ_WORKDIR": str(workdir), "FUZZ_MEM_LIMIT": str(mem_limit),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.stderr_path = workdir / "stderr.txt"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz_runner", "--worker"], cwd=REPO, env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), True)
        self.case: Case | None = None
        self.started = 0.0
        self.buffer = b""

    def send(self, case: Case) -> None:
        assert self.proc.stdin is not None
        blob = pickle.dumps(case)
        self.case, self.started = case, time.monotonic()
        try:
            self.proc.stdin.write(struct.pack("<Q", len(blob)) + blob)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the worker is gone: its stdout reaches EOF and the case is reported as 'died'

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-600:].strip()
        except OSError:
            return ""

    def receive(self) -> tuple[Case, dict[str, Any]] | None:
        """Read what is available: (case, result) when complete, None if not yet; EOFError if the worker died."""
        assert self.proc.stdout is not None
        chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        if not chunk:
            raise EOFError
        self.buffer += chunk
        if len(self.buffer) >= 8:
            size = struct.unpack("<Q", self.buffer[:8])[0]
            if len(self.buffer) >= 8 + size:
                result = pickle.loads(self.buffer[8:8 + size])
                self.buffer = self.buffer[8 + size:]
                case, self.case = self.case, None
                assert case is not None
                return case, result
        return None

    def kill(self) -> int | None:
        self.proc.kill()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def run_corpus(cases: Iterable[Case], workdir: Path, workers: int = 2, timeout: float = DEFAULT_TIMEOUT,
               mem_limit: int = DEFAULT_MEM_LIMIT, progress: Any = None) -> FuzzReport:
    """Check every case in worker processes (RLIMIT_AS = ``mem_limit``, ``timeout`` seconds per case)."""
    report = FuzzReport()
    start = time.monotonic()
    pending = iter(cases)
    pool = [_Worker(workdir / f"w{i}", mem_limit) for i in range(max(1, workers))]
    sel = selectors.DefaultSelector()
    exhausted = False

    def feed(w: _Worker) -> None:
        nonlocal exhausted
        if exhausted:
            return
        case = next(pending, None)
        if case is None:
            exhausted = True
            return
        w.send(case)

    def replace(w: _Worker) -> _Worker:
        sel.unregister(w.proc.stdout)
        fresh = _Worker(workdir / f"w{pool.index(w)}", mem_limit)
        pool[pool.index(w)] = fresh
        sel.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)
        return fresh

    try:
        for w in pool:
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)
            feed(w)
        while any(w.case is not None for w in pool):
            now = time.monotonic()
            wait = min(w.started + timeout - now for w in pool if w.case is not None)
            for key, _ in sel.select(timeout=max(0.0, wait)):
                w = key.data
                try:
                    answer = w.receive()
                except EOFError:
                    code = w.kill()
                    case = w.case
                    assert case is not None
                    report.add(case, {"status": "died",
                                      "problems": [f"died: worker exited with {code}: {w.stderr_tail()}"]})
                    w = replace(w)
                    feed(w)
                    continue
                if answer is not None:
                    report.add(*answer)
                    feed(w)
                    if progress is not None:
                        progress(report)
            now = time.monotonic()
            for w in list(pool):
                if w.case is not None and now - w.started > timeout:
                    case = w.case
                    w.kill()
                    report.add(case, {"status": "hang", "problems": [f"hang: no answer within {timeout:.0f} s"],
                                      "seconds": now - w.started})
                    w = replace(w)
                    feed(w)
    finally:
        for w in pool:
            w.close()
        sel.close()
    report.seconds = time.monotonic() - start
    return report


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker_main()
