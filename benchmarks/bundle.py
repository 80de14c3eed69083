"""Size and cold start of the offline bundle (targets: <= 700 MB on disk, <= 5 s for --self-test).

    python benchmarks/bundle.py [dist/RetinaSeg] [--runs 5]

Prints the size on disk, the file count, the biggest contributors, and the wall time of
``RetinaSeg --self-test``: the first run after evicting the bundle's files from the page cache
(``posix_fadvise(DONTNEED)``, which needs no root; dropping all caches is not possible here), then the
median of the warm runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TARGET_MB = 700
TARGET_S = 5.0
MB = 1024 * 1024


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk (like ``du``), symlinks not followed."""
    st = path.lstat()
    return getattr(st, "st_blocks", 0) * 512 or st.st_size


def walk_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def contributors(root: Path, files: list[Path], depth: int) -> Counter[str]:
    """Size on disk per path prefix of ``depth`` components below ``root`` (a file counts as itself)."""
    sizes: Counter[str] = Counter()
    for f in files:
        parts = f.relative_to(root).parts
        key = "/".join(parts[:depth]) + ("/" if len(parts) > depth else "")
        sizes[key] += disk_usage(f)
    return sizes


def evict_from_page_cache(files: list[Path]) -> bool:
    """Ask the kernel to drop these files' cached pages, so the next start reads them from disk."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for f in files:
        try:
            fd = os.open(f, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def time_self_test(exe: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    start = time.perf_counter()
    proc = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.perf_counter() - start
    line = (proc.stdout or proc.stderr).strip().splitlines()[-1:] or [""]
    if proc.returncode != 0:
        raise SystemExit(f"--self-test failed (exit {proc.returncode}): {line[0]}")
    return elapsed, line[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=Path("dist/RetinaSeg"))
    parser.add_argument("--runs", type=int, default=5, help="timed --self-test runs (default 5)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)

    exe = args.bundle / ("RetinaSeg.exe" if sys.platform == "win32" else "RetinaSeg")
    if not exe.is_file():
        print(f"no bundle at {args.bundle}: build it with `make bundle`", file=sys.stderr)
        return 2
    files = walk_files(args.bundle)
    total = sum(disk_usage(f) for f in files)
    apparent = sum(f.stat().st_size for f in files)
    print(f"bundle      {args.bundle}")
    print(f"size        {total / MB:.0f} MB on disk ({apparent / MB:.0f} MB apparent), "
          f"{len(files)} files  [target <= {TARGET_MB} MB: {'ok' if total / MB <= TARGET_MB else 'OVER'}]")

    inner = args.bundle / "_internal" if (args.bundle / "_internal").is_dir() else args.bundle
    inner_files = [f for f in files if inner in f.parents]
    print(f"\nbiggest packages (top level of {inner.name}/):")
    for key, size in contributors(inner, inner_files, 1).most_common(args.top):
        print(f"  {size / MB:8.1f} MB  {key}")
    print("\nbiggest directories two levels down:")
    for key, size in contributors(inner, inner_files, 2).most_common(args.top):
        print(f"  {size / MB:8.1f} MB  {key}")
    print("\nbiggest files:")
    for f in sorted(files, key=disk_usage, reverse=True)[: args.top]:
        print(f"  {disk_usage(f) / MB:8.1f} MB  {f.relative_to(args.bundle)}")

    evicted = evict_from_page_cache(files)
    first, report = time_self_test(exe)
    warm = [time_self_test(exe)[0] for _ in range(max(0, args.runs - 1))]
    cold_note = "page cache of the bundle evicted" if evicted else "page cache NOT evicted"
    print(f"\n--self-test first run   {first:.2f} s  ({cold_note})")
    if warm:
        med = statistics.median(warm)
        print(f"--self-test warm runs   median {med:.2f} s, min {min(warm):.2f} s, max {max(warm):.2f} s "
              f"over {len(warm)} runs  [target <= {TARGET_S:.0f} s: {'ok' if med <= TARGET_S else 'OVER'}]")
    print(f"last report: {report}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
