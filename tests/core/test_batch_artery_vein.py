"""Batch jobs with artery/vein labels (``segment --av``): ``<stem>_av.png`` covers exactly the vessel mask, the
sidecar carries the optic disc and the labels' summary, the mask and probability files do not change, a rerun
judges the labels with the rest, and worker processes load the artery/vein model once each."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.batch import (
    ArteryVeinSpec,
    ArteryVeinStep,
    ProcessExecutor,
    SerialExecutor,
    execute,
    plan,
    run_batch,
    run_one,
)
from core.errors import CheckpointError
from core.io.artery_vein import ARTERY, CROSSING, VEIN
from core.io.export import read_artery_vein, read_sidecar
from core.io.images import read_image, write_image
from core.predict.prediction import Prediction
from core.predict.tasks import ArteryVeinTask
from tests.conftest import synthetic_fundus
from tests.core.test_batch import GrayPredictor

RED, BLUE, GREEN, BLACK = (255, 0, 0), (0, 0, 255), (0, 255, 0), (0, 0, 0)


class LeftArteryPredictor:
    """Artery/vein stand-in: arteries in the left half of the image, veins in the right; picklable."""

    task = ArteryVeinTask()
    thresholds = {"vessel": 0.5}
    model_path = "fake_av.pt"

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        h, w = image.shape[:2]
        left = np.zeros((h, w), np.float32)
        left[:, : w // 2] = 1.0
        artery = 0.1 + 0.8 * left
        fov = np.ones((h, w), bool) if fov is None else np.asarray(fov, bool)
        return Prediction(np.stack([np.zeros((h, w), np.float32), artery, 0.9 - artery]), self.task,
                          self.thresholds, fov)


class AllArteryPredictor(LeftArteryPredictor):
    """Types every vessel artery, as the shipped model does with most of a camera it does not know."""

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        h, w = image.shape[:2]
        fov = np.ones((h, w), bool) if fov is None else np.asarray(fov, bool)
        return Prediction(np.stack([np.zeros((h, w), np.float32), np.full((h, w), 0.9, np.float32),
                                    np.full((h, w), 0.1, np.float32)]), self.task, self.thresholds, fov)


def left_artery_step() -> ArteryVeinStep:
    return ArteryVeinStep(LeftArteryPredictor())


class CountingFactory:
    """Builds the fake step and leaves a file per build named by the process id (picklable)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self) -> ArteryVeinStep:
        with open(self.folder / f"{os.getpid()}.build", "a") as f:
            f.write("x")
        return left_artery_step()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        write_image(d / name, synthetic_fundus(60 + i, 70, seed=i))
    return d


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_av_plans_the_labels_and_the_sidecar_that_carries_the_disc(folder: Path, tmp_path: Path) -> None:
    job = plan([folder / "a.png"], tmp_path / "out", save_prob=True, overwrite=False, artery_vein=True).jobs[0]
    assert job.av == tmp_path / "out" / "a_av.png"
    assert job.info == tmp_path / "out" / "a_info.json", "--av implies the sidecar"
    assert job.av in job.outputs
    plain = plan([folder / "a.png"], tmp_path / "out", save_prob=True, overwrite=False).jobs[0]
    assert plain.av is None and plain.info is None


def test_av_labels_cover_the_vessel_mask_and_the_sidecar_says_what_they_hold(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    job = plan([folder / "a.png"], out, save_prob=False, overwrite=False, artery_vein=True).jobs[0]
    result = run_one(job, GrayPredictor(), artery_vein=left_artery_step())
    assert result.ok, result.error
    assert [p.name for p in result.written] == ["a_mask.png", "a_av.png", "a_info.json"]
    vessel = read_image(out / "a_mask.png", mode=None) == 255
    rgb = read_image(out / "a_av.png", mode="RGB")
    colours = {tuple(c) for c in rgb.reshape(-1, 3)}
    assert colours <= {RED, BLUE, GREEN, BLACK} and RED in colours and BLUE in colours
    np.testing.assert_array_equal(rgb.any(axis=2), vessel)  # typed exactly where the mask says vessel
    labels = read_artery_vein(out / "a_av.png")
    measurements = read_sidecar(out / "a_info.json").measurements
    summary = measurements["arteries_veins"]
    assert summary["model"] == "fake_av.pt" and summary["edited_by_hand"] is False
    counts = [summary[f"{kind}_pixels"] for kind in ("artery", "vein", "crossing")]
    assert counts == [(labels == kind).sum() for kind in (ARTERY, VEIN, CROSSING)] and sum(counts) == vessel.sum()
    assert summary["artery_share"] == round(counts[0] / (counts[0] + counts[1]), 4)
    disc = measurements["optic_disc"]
    assert ({"x", "y", "diameter", "method"} <= set(disc)) or (disc["found"] is False and disc["reason"])


def test_labels_typing_nearly_every_vessel_artery_carry_a_warning_into_the_result_and_the_sidecar(
        tmp_path: Path) -> None:
    write_image(tmp_path / "big.png", synthetic_fundus(80, 90, seed=3))  # enough vessel pixels to judge
    out = tmp_path / "out"
    out.mkdir()
    job = plan([tmp_path / "big.png"], out, save_prob=False, overwrite=False, artery_vein=True).jobs[0]
    result = run_one(job, GrayPredictor(), artery_vein=ArteryVeinStep(AllArteryPredictor()))
    assert result.ok, result.error
    assert read_sidecar(out / "big_info.json").measurements["arteries_veins"]["vein_pixels"] == 0
    assert "artery_share_implausible" in [w.code for w in result.warnings]
    sidecar = json.loads((out / "big_info.json").read_text(encoding="utf-8"))
    assert "artery_share_implausible" in [w["code"] for w in sidecar["warnings"]]


def test_the_mask_and_probability_files_are_byte_identical_with_and_without_av(folder: Path, tmp_path: Path) -> None:
    run_batch(plan([folder], tmp_path / "plain", save_prob=True, overwrite=False), GrayPredictor())
    run_batch(plan([folder], tmp_path / "av", save_prob=True, overwrite=False, artery_vein=True), GrayPredictor(),
              artery_vein=left_artery_step())
    plain, typed = _bytes(tmp_path / "plain"), _bytes(tmp_path / "av")
    assert len(plain) == 6 and all(typed[name] == data for name, data in plain.items())
    assert sorted(set(typed) - set(plain)) == [f"{s}_{k}" for s in "abc" for k in ("av.png", "info.json")]


def test_without_an_artery_vein_model_a_job_asking_for_labels_fails_and_writes_nothing(folder: Path,
                                                                                        tmp_path: Path) -> None:
    job = plan([folder / "a.png"], tmp_path / "out", save_prob=False, overwrite=False, artery_vein=True).jobs[0]
    result = run_one(job, GrayPredictor())
    assert not result.ok and "artery/vein model" in result.error
    assert not (tmp_path / "out").exists()


def test_a_vessel_model_given_as_the_artery_vein_model_is_refused_by_name(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="vessels.pt is a vessels model, not an artery/vein model"):
        ArteryVeinStep(GrayPredictor(), "vessels.pt")  # it says its task: refused before any image

    class Silent:  # a predictor that does not say its task: each image fails, saying why
        def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
            return GrayPredictor().predict(image, fov)

    summary = run_batch(plan([folder], tmp_path / "out", save_prob=False, overwrite=False, artery_vein=True),
                        GrayPredictor(), artery_vein=ArteryVeinStep(Silent(), "vessels.pt"))
    assert len(summary.failed) == 3 and summary.done == []
    assert {why for _, why in summary.failed} == {"vessels.pt is a vessels model, not an artery/vein model"}
    assert not list((tmp_path / "out").glob("*_av.png"))


def test_spec_refuses_a_missing_file_and_a_vessel_checkpoint(tmp_path: Path, tiny_checkpoint_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        ArteryVeinSpec(str(tmp_path / "none.pt"))()
    with pytest.raises(CheckpointError, match="tiny.pt is a vessels model, not an artery/vein model"):
        ArteryVeinSpec(str(tiny_checkpoint_path))()


def _av_run(folder: Path, out: Path) -> object:
    return run_batch(plan([folder / "a.png"], out, save_prob=True, overwrite=False, artery_vein=True),
                     GrayPredictor(), artery_vein=left_artery_step())


def test_a_rerun_with_av_skips_complete_labels(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _av_run(folder, out)
    before = _bytes(out)
    again = _av_run(folder, out)
    assert again.skipped == [folder / "a.png"] and again.done == []
    assert _bytes(out) == before


@pytest.mark.parametrize("damage", ["labels missing", "labels truncated", "labels not an image",
                                    "sidecar without the labels' summary"])
def test_missing_or_damaged_labels_make_the_job_partial_so_it_is_redone(folder: Path, tmp_path: Path,
                                                                         damage: str) -> None:
    out = tmp_path / "out"
    _av_run(folder, out)
    good = _bytes(out)
    av = out / "a_av.png"
    if damage == "labels missing":
        av.unlink()
    elif damage == "labels truncated":
        av.write_bytes(good["a_av.png"][: len(good["a_av.png"]) // 2])
    elif damage == "labels not an image":
        av.write_bytes(b"an interrupted copy")
    else:  # the sidecar a run without --av writes
        run_batch(plan([folder / "a.png"], tmp_path / "plain", save_prob=True, overwrite=False, write_info=True),
                  GrayPredictor())
        (out / "a_info.json").write_bytes((tmp_path / "plain" / "a_info.json").read_bytes())
    summary = _av_run(folder, out)
    assert summary.done == [folder / "a.png"] and summary.skipped == [] and summary.ok
    redone = _bytes(out)
    assert {k: v for k, v in redone.items() if k != "a_info.json"} == {k: v for k, v in good.items()
                                                                       if k != "a_info.json"}
    assert "arteries_veins" in read_sidecar(out / "a_info.json").measurements


@pytest.mark.parametrize("other", ["labels of another size", "a photograph as labels"])
def test_labels_that_are_not_this_images_are_kept_and_the_job_fails(folder: Path, tmp_path: Path,
                                                                    other: str) -> None:
    out = tmp_path / "out"
    _av_run(folder, out)
    av = out / "a_av.png"
    write_image(av, np.zeros((10, 12, 3), np.uint8) if other == "labels of another size"
                else synthetic_fundus(60, 70, seed=5))
    kept = av.read_bytes()
    summary = _av_run(folder, out)
    assert [p for p, _ in summary.failed] == [folder / "a.png"]
    why = summary.failed[0][1]
    assert "a_av.png exists and is not this image's result" in why and "--overwrite" in why
    assert ("12x10" in why) if other == "labels of another size" else ("colours" in why)
    assert av.read_bytes() == kept


def test_worker_processes_write_the_same_bytes_and_load_the_model_once_each(folder: Path, tmp_path: Path) -> None:
    builds = tmp_path / "builds"
    builds.mkdir()
    execute(plan([folder], tmp_path / "serial", save_prob=True, overwrite=False, artery_vein=True),
            SerialExecutor(GrayPredictor(), 0.4, left_artery_step()))
    summary = execute(plan([folder], tmp_path / "process", save_prob=True, overwrite=False, artery_vein=True),
                      ProcessExecutor(GrayPredictor, workers=2, threshold=0.4, artery_vein=CountingFactory(builds)))
    assert len(summary.done) == 3
    serial, process = _bytes(tmp_path / "serial"), _bytes(tmp_path / "process")
    assert set(serial) == set(process) and len(serial) == 12
    for name, data in serial.items():
        if name.endswith("_info.json"):  # the time of writing differs
            a, b = json.loads(data), json.loads(process[name])
            assert {**a, "exported_at": ""} == {**b, "exported_at": ""}, name
        else:
            assert data == process[name], name
    counts = [p.read_text() for p in builds.iterdir()]
    assert 1 <= len(counts) <= 2 and all(c == "x" for c in counts), "one build per worker process"
