"""Batch: what the plan decides for each input, a rerun resuming, per-file failures, cancel, and executors giving
the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.batch import (
    BatchPlan,
    ProcessExecutor,
    SegmenterSpec,
    SerialExecutor,
    execute,
    output_folder_problem,
    plan,
    run_batch,
    run_one,
)
from core.errors import CheckpointError, DeviceFailure, ImageWriteError
from core.io.export import read_sidecar
from core.io.images import read_image, write_image
from core.predict.prediction import Prediction
from core.predict.tasks import VesselTask
from tests.conftest import synthetic_fundus


class GrayPredictor:
    """Deterministic stand-in: vessel probability = the image's gray level; picklable (its class is the factory)."""

    task = VesselTask()
    thresholds = {"vessel": 0.3}

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        gray = image.astype(np.float32).mean(axis=2) if image.ndim == 3 else image.astype(np.float32)
        vessel = gray / 255.0
        fov = np.ones(vessel.shape, bool) if fov is None else np.asarray(fov, bool)
        vessel[~fov] = 0.0
        return Prediction(np.stack([1.0 - vessel, vessel]), self.task, self.thresholds, fov)


class FailingPredictor(GrayPredictor):
    """Fails like a GPU that ran out of memory, on call number ``on``."""

    def __init__(self, on: int) -> None:
        self.on, self.calls = on, 0

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        self.calls += 1
        if self.calls == self.on:
            raise DeviceFailure("the GPU ran out of memory; try the CPU")
        return super().predict(image, fov)


def broken_model() -> GrayPredictor:
    raise CheckpointError("model.pt: not a checkpoint")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        write_image(d / name, synthetic_fundus(30 + i, 40, seed=i))
    return d


def refusals(p: BatchPlan) -> dict[str, str]:
    return {job.source.name: job.refused for job in p.jobs if job.refused}


def test_the_same_file_name_in_two_folders_is_refused_naming_the_first(tmp_path: Path) -> None:
    for sub in ("left", "right"):
        (tmp_path / sub).mkdir()
        write_image(tmp_path / sub / "a.png", synthetic_fundus(20, 20))
    p = plan([tmp_path / "left", tmp_path / "right"], tmp_path / "out", save_prob=False, overwrite=True)
    assert [job.source for job in p.runnable] == [tmp_path / "left" / "a.png"]
    assert p.jobs[1].refused == f"same name as {tmp_path / 'left' / 'a.png'}: its output would be overwritten"


def test_the_same_stem_with_another_suffix_is_refused_too(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", synthetic_fundus(20, 20))
    write_image(tmp_path / "a.tif", synthetic_fundus(20, 20))
    p = plan([tmp_path / "a.png", tmp_path / "a.tif"], tmp_path / "out", save_prob=True, overwrite=False)
    assert [job.source.name for job in p.runnable] == ["a.png"]
    assert refusals(p) == {"a.tif": f"same name as {tmp_path / 'a.png'}: its output would be overwritten"}


def test_plan_decides_each_input_and_writes_nothing(folder: Path, tmp_path: Path) -> None:
    (folder / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    p = plan([folder, folder / "notes.txt", tmp_path / "gone.png", tmp_path / "empty"], out, save_prob=True,
             overwrite=False)
    assert [job.source.name for job in p.runnable] == ["a.png", "b.png", "c.png"]
    assert p.runnable[0].outputs == [out / "a_mask.png", out / "a_prob.png"]
    assert refusals(p) == {"notes.txt": "not an image file name (.txt)", "gone.png": "file not found",
                           "empty": "folder holds no readable image files"}
    assert not out.exists(), "planning creates nothing"


def test_existing_outputs_are_left_to_the_run_to_judge(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "b_mask.png").write_bytes(b"old")
    p = plan([folder], out, save_prob=True, overwrite=False)
    assert not refusals(p) and [job.overwrite for job in p.jobs] == [False] * 3
    assert all(job.overwrite for job in plan([folder], out, save_prob=True, overwrite=True).jobs)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_rerun_skips_complete_outputs_and_counts_them_apart(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_batch(plan([folder], out, save_prob=True, overwrite=False, write_info=True), GrayPredictor())
    assert first.ok and len(first.done) == 3 and first.skipped == []
    before = _bytes(out)
    lines: list[str] = []
    again = run_batch(plan([folder], out, save_prob=True, overwrite=False, write_info=True), GrayPredictor(),
                      progress=lambda _d, _t, line: lines.append(line))
    assert again.ok, "a resumed batch is no failure"
    assert (again.done, again.failed, again.written) == ([], [], [])
    assert again.skipped == [folder / n for n in ("a.png", "b.png", "c.png")]
    assert lines == [f"skipped {folder / n} (exists; --overwrite to replace)" for n in ("a.png", "b.png", "c.png")]
    assert again.text() == "0 segmented, 3 skipped (outputs exist; --overwrite to replace), 0 failed"
    assert _bytes(out) == before


@pytest.mark.parametrize("damage", ["truncated mask", "mask not an image", "prob missing", "prob truncated",
                                    "sidecar damaged"])
def test_a_partial_output_is_redone_not_skipped(folder: Path, tmp_path: Path, damage: str) -> None:
    out = tmp_path / "out"
    run_batch(plan([folder / "a.png"], out, save_prob=True, overwrite=False, write_info=True), GrayPredictor())
    good = _bytes(out)
    target = {"truncated mask": "a_mask.png", "mask not an image": "a_mask.png", "prob missing": "a_prob.png",
              "prob truncated": "a_prob.png", "sidecar damaged": "a_info.json"}[damage]
    if damage == "prob missing":
        (out / target).unlink()
    elif damage == "mask not an image":
        (out / target).write_bytes(b"an interrupted copy")
    else:
        (out / target).write_bytes(good[target][: len(good[target]) // 2])
    summary = run_batch(plan([folder / "a.png"], out, save_prob=True, overwrite=False, write_info=True),
                        GrayPredictor())
    assert summary.ok and summary.done == [folder / "a.png"] and summary.skipped == []
    redone = _bytes(out)
    assert {k: v for k, v in redone.items() if k != "a_info.json"} == {k: v for k, v in good.items()
                                                                       if k != "a_info.json"}
    assert read_sidecar(out / "a_info.json").width == 40


@pytest.mark.parametrize("other", ["mask of another size", "colour image as mask", "prob of another size",
                                   "sidecar of another size"])
def test_another_images_result_is_kept_and_the_job_fails(folder: Path, tmp_path: Path, other: str) -> None:
    out = tmp_path / "out"
    run_batch(plan([folder / "a.png"], out, save_prob=True, overwrite=False, write_info=True), GrayPredictor())
    if other == "mask of another size":
        write_image(out / "a_mask.png", np.zeros((12, 34), np.uint8))
    elif other == "colour image as mask":
        write_image(out / "a_mask.png", synthetic_fundus(30, 40, seed=9))
    elif other == "prob of another size":
        write_image(out / "a_prob.png", np.zeros((12, 34), np.uint16))
    else:
        doc = json.loads((out / "a_info.json").read_text())
        (out / "a_info.json").write_text(json.dumps({**doc, "width": 34, "height": 12}))
    kept = _bytes(out)
    summary = run_batch(plan([folder / "a.png"], out, save_prob=True, overwrite=False, write_info=True),
                        GrayPredictor())
    assert not summary.ok and summary.done == [] and summary.skipped == []
    (source, why), = summary.failed
    assert source == folder / "a.png" and "is not this image's result" in why and "--overwrite" in why, why
    assert _bytes(out) == kept, "another image's result is never replaced without overwrite"
    replaced = run_batch(plan([folder / "a.png"], out, save_prob=True, overwrite=True, write_info=True),
                         GrayPredictor())
    assert replaced.ok and replaced.done == [folder / "a.png"]
    assert read_image(out / "a_mask.png", mode=None).shape == (30, 40)


def test_a_mask_of_another_size_names_both_sizes(folder: Path, tmp_path: Path) -> None:
    write_image(tmp_path / "a_mask.png", np.zeros((12, 34), np.uint8))
    result = run_one(plan([folder / "a.png"], tmp_path, save_prob=False, overwrite=False).jobs[0], GrayPredictor())
    assert result.error == (f"{tmp_path / 'a_mask.png'} exists and is not this image's result "
                            "(it is 34x12, the image 40x30); use --overwrite to replace it")


def test_a_result_says_how_long_it_took_and_its_vessel_fraction(folder: Path, tmp_path: Path) -> None:
    result = run_one(plan([folder / "a.png"], tmp_path, save_prob=False, overwrite=False).jobs[0], GrayPredictor())
    mask = read_image(tmp_path / "a_mask.png", mode=None)
    assert result.seconds > 0 and result.vessel_fraction == pytest.approx((mask == 255).mean())


def test_an_output_path_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert output_folder_problem(tmp_path / "notes.txt") == f"{tmp_path / 'notes.txt'} is a file, not a folder"
    assert output_folder_problem(tmp_path / "notes.txt" / "out") == (
        f"{tmp_path / 'notes.txt' / 'out'}: {tmp_path / 'notes.txt'} is a file, not a folder")
    assert output_folder_problem(tmp_path / "new" / "out") == output_folder_problem(tmp_path) == ""
    with pytest.raises(ImageWriteError, match="is a file, not a folder$"):
        run_batch(BatchPlan(tmp_path / "notes.txt", ()), GrayPredictor())


def test_a_fov_file_applies_to_a_single_image_only(folder: Path, tmp_path: Path) -> None:
    fov = tmp_path / "fov.png"
    assert plan([folder / "a.png"], tmp_path, save_prob=False, overwrite=False, fov_path=fov).jobs[0].fov == fov
    with pytest.raises(ValueError, match="--fov applies to a single input image"):
        plan([folder], tmp_path, save_prob=False, overwrite=False, fov_path=fov)


def test_run_one_writes_the_file_contract_with_the_given_or_the_models_threshold(folder: Path,
                                                                                  tmp_path: Path) -> None:
    job = plan([folder / "a.png"], tmp_path, save_prob=True, overwrite=True).jobs[0]
    gray = synthetic_fundus(30, 40, seed=0).astype(np.float32).mean(axis=2) / 255
    for threshold, expected in ((None, 0.3), (0.1, 0.1)):
        result = run_one(job, GrayPredictor(), threshold)
        assert (result.source, result.written, result.ok) == (folder / "a.png",
                                                              (tmp_path / "a_mask.png", tmp_path / "a_prob.png"), True)
        mask = read_image(tmp_path / "a_mask.png", mode=None)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        np.testing.assert_array_equal(mask == 255, gray >= np.float32(expected))
    prob = read_image(tmp_path / "a_prob.png", mode=None)
    np.testing.assert_array_equal(prob, np.rint(gray.astype(np.float64) * 65535).astype(np.uint16))


def test_one_bad_file_is_reported_and_the_others_are_written(folder: Path, tmp_path: Path) -> None:
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    lines: list[tuple[int, int, str]] = []
    summary = run_batch(plan([folder], tmp_path / "out", save_prob=False, overwrite=False), GrayPredictor(),
                        progress=lambda done, total, line: lines.append((done, total, line)))
    assert [p.name for p in summary.done] == ["a.png", "c.png"] and not summary.ok
    assert [p.name for p, _ in summary.failed] == ["b.png"] and "image format" in summary.failed[0][1]
    assert [line[:2] for line in lines] == [(1, 3), (2, 3), (3, 3)]
    assert lines[1][2].startswith(f"FAILED {folder / 'b.png'}: ")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_mask.png", "c_mask.png"]
    assert summary.text().startswith("2 segmented, 1 failed\n  FAILED ")


def test_cancel_between_files_keeps_the_finished_ones(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    finished: list[int] = []
    summary = run_batch(plan([folder], out, save_prob=True, overwrite=False), GrayPredictor(),
                        progress=lambda done, total, line: finished.append(done),
                        should_cancel=lambda: len(finished) >= 1)
    assert summary.cancelled and not summary.ok and summary.text().startswith("1 segmented, 0 failed (cancelled)")
    assert summary.done == [folder / "a.png"] and summary.written == [out / "a_mask.png", out / "a_prob.png"]
    assert sorted(p.name for p in out.iterdir()) == ["a_mask.png", "a_prob.png"]


def test_a_device_failure_stops_the_batch_and_keeps_the_finished_files(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(DeviceFailure, match="ran out of memory"):
        run_batch(plan([folder], out, save_prob=False, overwrite=False), FailingPredictor(on=2))
    assert [p.name for p in out.iterdir()] == ["a_mask.png"]


def test_serial_and_process_executors_write_identical_bytes(folder: Path, tmp_path: Path) -> None:
    (folder / "z.png").write_bytes(b"not a png")
    jobs = {}
    for name, executor in (("serial", SerialExecutor(GrayPredictor(), 0.4)),
                           ("process", ProcessExecutor(GrayPredictor, workers=2, threshold=0.4))):
        summary = execute(plan([folder], tmp_path / name, save_prob=True, overwrite=False), executor)
        jobs[name] = sorted(p.name for p in summary.done), sorted(p.name for p, _ in summary.failed)
    assert jobs["serial"] == jobs["process"] == (["a.png", "b.png", "c.png"], ["z.png"])
    serial = sorted((tmp_path / "serial").iterdir())
    assert [p.name for p in serial] == sorted(p.name for p in (tmp_path / "process").iterdir())
    assert len(serial) == 6
    for p in serial:
        assert p.read_bytes() == (tmp_path / "process" / p.name).read_bytes(), p.name


def test_a_model_that_cannot_load_in_a_worker_is_raised_as_itself(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        execute(plan([folder], tmp_path / "out", save_prob=False, overwrite=False),
                ProcessExecutor(broken_model, workers=1))
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_a_real_model_gives_the_same_bytes_in_worker_processes(folder: Path, tmp_path: Path,
                                                                tiny_checkpoint_path: Path) -> None:
    import torch

    threads = torch.get_num_threads()
    spec = SegmenterSpec(str(tiny_checkpoint_path), device="cpu", threads=1)  # the sums' order depends on it
    try:
        execute(plan([folder], tmp_path / "serial", save_prob=True, overwrite=False), SerialExecutor(spec()))
    finally:
        torch.set_num_threads(threads)
    execute(plan([folder], tmp_path / "process", save_prob=True, overwrite=False), ProcessExecutor(spec, 2))
    serial = sorted((tmp_path / "serial").iterdir())
    assert len(serial) == 6
    for p in serial:
        assert p.read_bytes() == (tmp_path / "process" / p.name).read_bytes(), p.name


def test_a_planned_sidecar_records_the_plausibility_warnings(folder: Path, tmp_path: Path) -> None:
    from core.io.export import read_sidecar

    job = plan([folder / "a.png"], tmp_path, save_prob=False, overwrite=False, write_info=True).jobs[0]
    assert job.info == tmp_path / "a_info.json" and job.info in job.outputs
    result = run_one(job, GrayPredictor(), 0.01)  # everything bright is vessel: the FOV is flooded
    assert result.ok and result.written == (tmp_path / "a_mask.png", tmp_path / "a_info.json")
    assert "vessel_fraction_high" in [w.code for w in result.warnings]
    info = read_sidecar(tmp_path / "a_info.json")
    assert [w["code"] for w in info.warnings] == [w.code for w in result.warnings]
    assert info.threshold == 0.01 and not info.edited_by_hand
    rerun = run_one(plan([folder / "a.png"], tmp_path, save_prob=False, overwrite=False, write_info=True).jobs[0],
                    GrayPredictor(), 0.01)
    assert rerun.skipped and rerun.written == ()


def test_warnings_are_progress_lines_not_failures(folder: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    summary = run_batch(plan([folder / "a.png"], tmp_path, save_prob=False, overwrite=True), GrayPredictor(), 0.01,
                        lambda _done, _total, line: lines.append(line))
    assert summary.ok and len(summary.done) == 1
    assert lines and all(line.startswith(f"WARNING {folder / 'a.png'}: ") for line in lines[0].splitlines())
