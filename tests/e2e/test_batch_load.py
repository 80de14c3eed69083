"""A smaller run of benchmarks/batch_load.py: one batch of many small and a few
3504×2336 images keeps peak RSS under 2 GB, skips nothing and equals one-by-one segmentation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_batch_of_small_and_large_images_is_bounded_complete_and_identical_to_one_by_one():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "batch_load.py"), "--small", "60", "--large", "2",
                           "--sample", "6", "--max-rss-gb", "2"], capture_output=True, text=True, timeout=900, cwd=REPO)
    print(proc.stdout)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["done"] == result["inputs"] == 62 and result["failed"] == 0, proc.stdout
    assert result["written"] == 2 * 62, "a mask and a probability file per image"
    assert result["mismatched"] == 0 and result["compared"] == 6, proc.stdout
    assert result["peak_rss_mb"] <= 2048, proc.stdout
    assert proc.returncode == 0 and result["ok"], proc.stdout + proc.stderr
