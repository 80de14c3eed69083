"""Threshold calibration for inference settings, on the checkpoint's own validation images."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import CheckpointError
from core.io.datasets import Sample
from core.measure.metrics import Accumulator
from core.ml.calibrate import apply_calibration, calibrate, describe_working_band, validation_samples, with_working_band
from core.ml.checkpoint import load_checkpoint, save_checkpoint
from core.ml.preprocessing import Preprocessing
from tests.conftest import synthetic_fundus


def _samples() -> list[Sample]:
    out = []
    for i, name in enumerate(["21", "22", "23"]):
        image = synthetic_fundus(48, 56, seed=i)
        vessels = image[..., 1] < 60
        out.append(Sample(name, image, vessels, np.ones(vessels.shape, bool)))
    return out


def test_calibration_picks_the_best_f1_threshold_and_is_stored(tiny_checkpoint_path, tmp_path) -> None:
    from core.ml.inference import Segmenter

    ckpt = load_checkpoint(tiny_checkpoint_path)
    ckpt.metrics["validation"] = {"images": ["22", "23"]}
    val = validation_samples(ckpt, lambda dataset: _samples())
    assert [s.name for s in val] == ["22", "23"]

    cal = calibrate(ckpt, val, precision="fp32", tta=True)
    acc = Accumulator()
    seg = Segmenter(checkpoint=ckpt, device="cpu", tta=True)
    for s in val:
        acc.add(seg.predict(s.image, fov=s.fov).probability("vessel"), s.vessels, s.fov)
    assert cal.val_f1 == pytest.approx(acc.best_threshold()[1])
    assert acc.scores(cal.threshold).f1 == pytest.approx(cal.val_f1)

    path = save_checkpoint(apply_calibration(ckpt, cal), tmp_path / "cal.pt")
    loaded = load_checkpoint(path)
    assert loaded.inference == {"precision": "fp32", "tta": True}
    assert loaded.threshold == pytest.approx(min(max(cal.threshold, 0.01), 0.99))
    assert loaded.metrics["validation"]["threshold_for"] == {"precision": "fp32", "tta": True}


def test_a_checkpoint_without_validation_images_cannot_be_calibrated(tiny_checkpoint_path) -> None:
    with pytest.raises(ValueError, match="validated on"):
        validation_samples(load_checkpoint(tiny_checkpoint_path), lambda dataset: _samples())


def test_a_pool_model_is_calibrated_on_its_validation_images_of_every_dataset(tiny_checkpoint_path) -> None:
    from dataclasses import replace

    ckpt = load_checkpoint(tiny_checkpoint_path)
    ckpt.metrics["validation"] = {"images": ["22", "b23"], "datasets": {"22": "a", "b23": "b"}}
    pools = {"a": _samples(), "b": [replace(s, name=f"b{s.name}") for s in _samples()]}
    asked: list[str] = []
    val = validation_samples(ckpt, lambda dataset: asked.append(dataset) or pools[dataset])
    assert asked == ["a", "b"] and [(s.name, s.dataset) for s in val] == [("22", "a"), ("b23", "b")]

    cal = calibrate(ckpt, val)
    assert set(cal.f1_by_dataset) == {"a", "b"}
    assert cal.val_f1 == pytest.approx(sum(cal.f1_by_dataset.values()) / 2), "the mean of the datasets' F1s"
    assert apply_calibration(ckpt, cal).metrics["validation"]["f1_by_dataset"] == cal.f1_by_dataset


def test_the_working_band_is_an_inference_setting_stored_with_the_threshold(tiny_checkpoint_path, tmp_path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint_path)
    ckpt.preprocessing = Preprocessing((0.5,) * 3, (0.2,) * 3, fov_diameter=40, normalization="fov",
                                       scale_tolerance=1.0)
    ckpt.preprocessing = with_working_band(ckpt.preprocessing, None, 50)
    assert describe_working_band(ckpt.preprocessing) == (
        ", working FOV 40 px (40–50 px kept at their size, wider ones reduced to 50 px)")
    ckpt.metrics["validation"] = {"images": ["22"]}
    cal = calibrate(ckpt, validation_samples(ckpt, lambda dataset: _samples()))
    reloaded = load_checkpoint(save_checkpoint(apply_calibration(ckpt, cal), tmp_path / "band.pt"))
    assert (reloaded.preprocessing.scale_tolerance, reloaded.preprocessing.large_fov_diameter) == (1.0, 50)
    with pytest.raises(CheckpointError):
        with_working_band(ckpt.preprocessing, None, 30)  # narrower than the working FOV
