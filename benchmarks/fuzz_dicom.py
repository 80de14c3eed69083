"""Fuzz the DICOM reader with >= 2,000 generated and mutated DICOM files; print the figures.

Every case (from tests/fuzz_dicom_corpus.py: valid seeds of every kind, crafted hostile files, byte- and
attribute-level mutants) runs in a worker process under an address-space limit with a per-case timeout
(tests/fuzz_runner.py): it must load correctly or raise ImageReadError naming the file. Prints cases tried,
loaded, refused, crashes, hangs, dead workers, the slowest case and the peak RSS of one case; exits 1 if any
case broke the property (``--save-failures DIR`` keeps those files to reproduce).

    python benchmarks/fuzz_dicom.py [--cases 2500] [--seed 0] [--workers 2] [--timeout 30] [--mem-gb 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz_dicom_corpus import dicom_corpus  # noqa: E402
from tests.fuzz_runner import run_corpus  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2_500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--mem-gb", type=float, default=2.0, help="address-space limit per worker (RLIMIT_AS)")
    ap.add_argument("--save-failures", type=Path, help="write the failing cases' files here")
    args = ap.parse_args()

    last = [0]

    def progress(report) -> None:  # type: ignore[no-untyped-def]
        if report.tried - last[0] >= 500:
            last[0] = report.tried
            print(f"  {report.tried} cases, {len(report.bugs)} problems", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="fuzz-dicom-") as tmp:
        report = run_corpus(dicom_corpus(args.cases, args.seed), Path(tmp), workers=args.workers,
                            timeout=args.timeout, mem_limit=int(args.mem_gb * (1 << 30)), progress=progress)
    print(f"fuzz_dicom: seed {args.seed}, {args.workers} workers, {args.mem_gb:g} GB address space each, "
          f"{args.timeout:g} s per case")
    print(report.summary())
    for name, message in report.memory_refusals[:10]:
        print(f"  refused for memory: {name}: {message}")
    for name, problem in report.bugs[:30]:
        print(f"  PROBLEM {name}: {problem[:500]}")
    if args.save_failures and report.failing_cases:
        args.save_failures.mkdir(parents=True, exist_ok=True)
        for i, case in enumerate(report.failing_cases):
            (args.save_failures / f"{i:04d}{case.suffix or '.bin'}").write_bytes(case.data)
            (args.save_failures / f"{i:04d}.txt").write_text(case.name + "\n")
        print(f"saved {len(report.failing_cases)} failing files in {args.save_failures}")
    print("PASS" if not report.bugs else f"FAIL: {len(report.bugs)} problems in {len(report.failing_cases)} cases")
    return 0 if not report.bugs else 1


if __name__ == "__main__":
    sys.exit(main())
