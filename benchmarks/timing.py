"""The GUI benchmarks' stopwatch: the best of a few wall-clock runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best of ``repeat`` wall-clock runs in ms (a shared machine slows some runs), and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, result
