"""Faults the GUI survives (issue 7): runs the GUI fault tests and prints what was tried, by kind.

Each test case injects one fault into the running app (an exception in the worker, a GPU out of
memory, a full disk or read-only folder on export or autosave, a SIGKILL mid-export or with unsaved
edits, a network call during the whole flow) and passes only when the fault ended in a clear message,
lost no edit, left no partial file and the app stayed usable.

    python benchmarks/gui_faults.py [-- extra pytest arguments]

Prints one line per kind of fault (tried / survived) and the total; exits 1 when any was not survived.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

FILES = ["tests/gui/test_faults.py", "tests/gui/test_crash.py", "tests/gui/test_offline_gui.py"]
#: test function -> the kind of fault it injects (tests not listed are checks of the harness itself)
KINDS = {
    "test_any_worker_exception_is_reported_and_the_next_segmentation_works": "worker exception (type x load/mid-run)",
    "test_a_worker_exception_becomes_a_dialog_when_not_headless": "worker exception, dialog",
    "test_a_broken_probability_map_is_reported_not_shown": "model returns a broken probability map",
    "test_torch_cuda_oom_mid_run_falls_back_to_the_cpu_and_shows_the_result": "GPU out of memory -> CPU",
    "test_real_segmenter_gpu_oom_gives_the_cpu_result": "GPU out of memory -> CPU",
    "test_batch_gpu_oom_says_so_keeps_finished_files_and_runs_again": "GPU out of memory in a batch",
    "test_any_batch_worker_exception_ends_the_run_with_a_message": "batch worker exception",
    "test_export_fault_says_why_keeps_the_edits_and_writes_no_partial_file":
        "export: disk full / read-only (kind x file)",
    "test_autosave_fault_is_reported_and_keeps_the_previous_autosave": "autosave: disk full / read-only",
    "test_autosave_failing_every_time_is_said_once": "autosave failing at every pause",
    "test_save_on_close_to_a_full_disk_keeps_the_window_open_with_the_edits": "Save on close to a full disk",
    "test_a_model_check_that_raises_anything_keeps_the_current_model": "model check raises anything",
    "test_a_device_probe_that_raises_leaves_the_cpu": "device probe raises",
    "test_an_unusable_app_data_folder_is_reported_and_editing_goes_on": "app-data folder unusable",
    "test_batch_to_a_full_disk_lists_every_file_and_writes_nothing_partial": "batch to a full disk / read-only",
    "test_killed_mid_export_never_leaves_a_partial_file": "SIGKILL mid-export (point x old export)",
    "test_killed_at_an_unplanned_moment_of_an_export": "SIGKILL mid-export (unplanned moment)",
    "test_a_crash_with_unsaved_edits_is_recovered_on_the_next_start": "SIGKILL with unsaved edits -> recovered",
    "test_the_full_gui_flow_stays_offline": "network blocked during the GUI flow",
    "test_the_gui_program_segments_offline": "network blocked in python -m gui",
}


class Tally:
    """Outcome of each fault case: survived only when setup, call and teardown all passed."""

    def __init__(self) -> None:
        self.outcome: dict[str, tuple[str, bool]] = {}  # nodeid -> (kind, survived)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        kind = KINDS.get(report.nodeid.split("::")[-1].split("[")[0])
        if kind is not None and not report.skipped:
            _, ok = self.outcome.get(report.nodeid, (kind, True))
            self.outcome[report.nodeid] = (kind, ok and report.passed)


def main(argv: list[str]) -> int:
    tally = Tally()
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    os.chdir(ROOT)
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", *FILES, *extra], plugins=[tally])
    tried: dict[str, int] = defaultdict(int)
    survived: dict[str, int] = defaultdict(int)
    for kind, ok in tally.outcome.values():
        tried[kind] += 1
        survived[kind] += ok
    width = max(len(k) for k in KINDS.values())
    print(f"\n{'fault injected into the GUI':<{width}}  tried  survived")
    for kind in dict.fromkeys(KINDS.values()):
        if tried[kind]:
            print(f"{kind:<{width}}  {tried[kind]:>5}  {survived[kind]:>8}")
    print(f"{'total':<{width}}  {sum(tried.values()):>5}  {sum(survived.values()):>8}")
    for nodeid, (_, ok) in tally.outcome.items():
        if not ok:
            print(f"NOT SURVIVED: {nodeid}")
    return 0 if code == 0 and sum(tried.values()) == sum(survived.values()) else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
