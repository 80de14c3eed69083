"""The shipped default model: loads, is the Segmenter's default, segments the CC0 sample plausibly."""

from __future__ import annotations

import json

import pytest

from core.io.images import read_image
from core.measure.fov import estimate_fov
from core.ml.checkpoint import load_checkpoint
from core.resources import default_model_path, sample_image_path

pytestmark = pytest.mark.skipif(not default_model_path().is_file(), reason="default model not shipped yet")


def test_shipped_checkpoint_carries_its_metadata() -> None:
    ckpt = load_checkpoint(default_model_path())
    assert ckpt.source == "retinaseg"
    assert 0.05 < ckpt.threshold < 0.95
    assert ckpt.preprocessing.channels == "RGB" and len(ckpt.preprocessing.mean) == 3
    assert "training splits of DRIVE, CHASE_DB1, HRF" in ckpt.trained_on
    validation = ckpt.metrics["validation"]
    # model selection used held-out *training* images of every dataset, never test images
    # (DRIVE test ids are 01..20; CHASE_DB1 test images are Image_11* to Image_14*)
    datasets = validation["datasets"]
    assert sorted(set(datasets.values())) == ["chase", "drive", "hrf"] and set(datasets) == set(validation["images"])
    assert all(int(name) > 20 for name, d in datasets.items() if d == "drive")
    assert not any(name[6:8] in ("11", "12", "13", "14") for name, d in datasets.items() if d == "chase")
    card = json.loads(default_model_path().with_suffix(".json").read_text())
    assert card["thresholds"] == {"vessel": pytest.approx(ckpt.threshold)}
    assert {d["name"] for d in ckpt.recipe["datasets"]} == {"DRIVE", "CHASE_DB1", "HRF"}
    assert set(ckpt.metrics["test"]) >= {"drive", "chase", "hrf"} and "stress" in ckpt.metrics


def test_default_model_segments_the_sample_photo_plausibly() -> None:
    from core.ml.inference import Segmenter

    segmenter = Segmenter(device="cpu")
    assert segmenter.model_path == default_model_path()
    image = read_image(sample_image_path())
    prob = segmenter.predict(image).probability("vessel")
    fov = estimate_fov(image)
    vessel_fraction = float((prob >= segmenter.threshold)[fov].mean())
    assert 0.05 <= vessel_fraction <= 0.20
    assert prob[~fov].max() == 0.0


@pytest.mark.drive
def test_default_model_meets_its_quality_bar_on_drive_test(drive_root) -> None:
    """Guards the shipped weights and the inference path: pooled F1/AUC on the 20 DRIVE test images."""
    from core.io.datasets import load_drive
    from core.measure.evaluate import evaluate
    from core.ml.inference import Segmenter

    result = evaluate(Segmenter(device="cpu"), load_drive(drive_root, "test"))
    assert result.pooled.f1 >= 0.79
    assert result.pooled.roc_auc >= 0.97
