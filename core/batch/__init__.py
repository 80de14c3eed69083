"""Batch segmentation: ``plan()`` -> independent jobs -> ``run_one(job, predictor)`` -> an executor.

Jobs write the CLI's file contract (:mod:`core.io.outputs`) atomically, one file at a time, so a
batch that stops (cancel, a GPU failure) keeps what it finished, and no file is ever half-written.
"""

from core.batch.artery_vein import ArteryVeinSpec, ArteryVeinStep
from core.batch.executors import Executor, ProcessExecutor, SerialExecutor
from core.batch.job import JobResult, run_one
from core.batch.plan import BatchJob, BatchPlan, plan
from core.batch.run import BatchSummary, Report, ResultReport, execute, output_folder_problem, result_lines, run_batch
from core.batch.spec import SegmenterSpec

__all__ = ["ArteryVeinSpec", "ArteryVeinStep", "BatchJob", "BatchPlan", "BatchSummary", "Executor", "JobResult",
           "ProcessExecutor", "Report", "ResultReport", "SegmenterSpec", "SerialExecutor", "execute",
           "output_folder_problem", "plan", "result_lines", "run_batch", "run_one"]
