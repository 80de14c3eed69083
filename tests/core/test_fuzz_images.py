"""Hostile image files: every one loads correctly or raises ImageReadError; never a crash, hang or memory blow-up.

The corpus is ``tests/fuzz_corpus.py``, the bounded runner ``tests/fuzz_runner.py``; the full run (>= 10,000 cases,
with figures) is ``benchmarks/fuzz_images.py`` and the slow-marked test below.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.errors import ImageReadError
from core.io.images import read_image
from tests.fuzz_corpus import Case, corpus, crafted_cases, seed_cases
from tests.fuzz_runner import check_file, run_corpus

FAST_CASES = 600


def _explain(report) -> str:  # type: ignore[no-untyped-def]
    shown = "\n".join(f"  {name}: {problem[:400]}" for name, problem in report.bugs[:10])
    return f"{report.summary()}\n{len(report.bugs)} problems, first ones:\n{shown}"


@pytest.mark.parametrize("case", seed_cases(), ids=lambda c: c.name)
def test_every_kind_of_valid_file_loads_at_its_size_in_every_mode(tmp_path: Path, case: Case):
    path = tmp_path / f"seed{case.suffix}"
    path.write_bytes(case.data)
    result = check_file(path, case)
    assert result["status"] == "loaded" and not result["problems"], result


@pytest.mark.parametrize("case", [c for c in crafted_cases() if "60000" in c.name or "65500" in c.name
                                  or "max_" in c.name or "overflowing" in c.name], ids=lambda c: c.name)
def test_huge_declared_dimensions_are_refused_before_decoding(tmp_path: Path, case: Case):
    path = tmp_path / f"huge{case.suffix}"
    path.write_bytes(case.data)
    start = time.perf_counter()
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(path) in str(info.value)
    assert time.perf_counter() - start < 2.0, "refused from the header, not after trying to decode"


def test_fast_subset_of_the_corpus_holds_the_property(tmp_path: Path):
    """Seeds, crafted files and mutants, each in a worker with a 2 GB address-space limit and a timeout."""
    report = run_corpus(corpus(FAST_CASES, seed=0), tmp_path, workers=2)
    print(report.summary())
    assert report.tried == FAST_CASES
    assert not report.bugs, _explain(report)
    assert report.status["loaded"] > 50 and report.status["refused"] > 100, "the corpus exercises both outcomes"


def test_the_runner_reports_hangs_crashes_and_runaway_memory(tmp_path: Path):
    """The bounds the property relies on: a hung case is killed, a dead worker is replaced, RLIMIT_AS holds."""
    good = seed_cases()[0]
    cases = [Case("__harness_hang__", ".png", good.data), good,
             Case("__harness_segfault__", ".png", good.data), good,
             Case("__harness_allocate_4gb__", ".png", good.data), good]
    start = time.monotonic()
    report = run_corpus(cases, tmp_path, workers=1, timeout=3.0)
    assert time.monotonic() - start < 60
    kinds = {name: problem.split(":")[0] for name, problem in report.bugs}
    assert kinds == {"__harness_hang__": "hang", "__harness_segfault__": "died", "__harness_allocate_4gb__": "died"}
    assert report.tried == 6 and report.status["loaded"] == 3, "the run carried on after each failure"


@pytest.mark.slow
def test_ten_thousand_cases_hold_the_property(tmp_path: Path):
    report = run_corpus(corpus(10_000, seed=0), tmp_path, workers=2)
    print(report.summary())
    assert report.tried == 10_000
    assert not report.bugs, _explain(report)
