"""Hostile DICOM files: every one loads correctly or raises ImageReadError naming the file; never a crash,
a hang or a memory blow-up. The corpus is tests/fuzz_dicom_corpus.py, run by tests/fuzz_runner.py (each case
in a worker process under a 2 GB address-space limit and a timeout); the full run (>= 2,000 cases) is the
slow-marked test below and benchmarks/fuzz_dicom.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz_corpus import Case
from tests.fuzz_dicom_corpus import dicom_corpus, dicom_crafted_cases, dicom_seed_cases
from tests.fuzz_runner import check_file, run_corpus

FAST_MUTANTS = 120
FULL_RUN = 2_500


def _explain(report) -> str:  # type: ignore[no-untyped-def]
    shown = "\n".join(f"  {name}: {problem[:600]}" for name, problem in report.bugs[:10])
    return f"{report.summary()}\n{len(report.bugs)} problems, first ones:\n{shown}"


def _check(tmp_path: Path, case: Case) -> dict:  # type: ignore[type-arg]
    path = tmp_path / f"case{case.suffix}"
    path.write_bytes(case.data)
    return check_file(path, case)


@pytest.mark.parametrize("case", dicom_seed_cases(), ids=lambda c: c.name)
def test_every_kind_of_valid_dicom_loads_at_its_size_in_every_mode(tmp_path: Path, case: Case):
    result = _check(tmp_path, case)
    assert result["status"] == "loaded" and not result["problems"], result


@pytest.mark.parametrize("case", dicom_crafted_cases(), ids=lambda c: c.name)
def test_crafted_hostile_dicom_is_refused_or_loaded_never_crashes(tmp_path: Path, case: Case):
    result = _check(tmp_path, case)
    assert not result["problems"], result
    if case.must_refuse:
        assert result["status"] == "refused", result


def test_mutated_dicom_holds_the_property_in_bounded_workers(tmp_path: Path):
    report = run_corpus(dicom_corpus(FAST_MUTANTS, seed=1, include_base=False), tmp_path, workers=2)
    print(report.summary())
    assert report.tried == FAST_MUTANTS
    assert not report.bugs, _explain(report)
    assert report.status["loaded"] > 5 and report.status["refused"] > 20, "the mutants exercise both outcomes"


@pytest.mark.slow
def test_two_and_a_half_thousand_dicom_cases_hold_the_property(tmp_path: Path):
    report = run_corpus(dicom_corpus(FULL_RUN, seed=0), tmp_path, workers=2)
    print(report.summary())
    assert report.tried == FULL_RUN
    assert not report.bugs, _explain(report)
    assert report.status["loaded"] > 100 and report.status["refused"] > 500
