"""Resuming a cohort without decoding its images again: what a results table recorded is enough.

A finished image's row records the image's size and its file's size and modification time. On a rerun,
while the file is unchanged, its outputs are checked against that size
(:func:`core.batch.existing.judge_existing`: they are decoded, not just found) and the photograph itself
is not read: that is most of the work of verifying 100,000 finished images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.batch.existing import judge_existing
from core.batch.plan import BatchJob


@dataclass(frozen=True)
class Recorded:
    """What a results table recorded about a finished image: its size and its file's state then."""

    width: int
    height: int
    source_bytes: int
    source_mtime_ns: int

    @classmethod
    def of(cls, source: Path, shape: tuple[int, int]) -> Recorded | None:
        """The record of ``source`` (read as an image of ``shape``, rows × columns) as it is now."""
        try:
            stat = os.stat(source)
        except OSError:
            return None
        return cls(int(shape[1]), int(shape[0]), stat.st_size, stat.st_mtime_ns)

    def unchanged(self, source: Path) -> bool:
        """True while ``source`` has the size and modification time recorded."""
        try:
            stat = os.stat(source)
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == (self.source_bytes, self.source_mtime_ns)


def complete_as_recorded(job: BatchJob, recorded: Recorded) -> bool:
    """True when ``job`` can be skipped on the strength of ``recorded``: its source is unchanged and its
    outputs are complete for an image of the recorded size (``--overwrite``/``--force`` never skips)."""
    if job.overwrite or job.refused or not recorded.unchanged(job.source):
        return False
    return judge_existing(job, (recorded.height, recorded.width)).action == "skip"
