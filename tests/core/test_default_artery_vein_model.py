"""The shipped artery/vein model: loads as an A/V model, was chosen on training images only, types the
vessels of the CC0 sample photo into both arteries and veins."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.io.images import read_image
from core.ml.checkpoint import load_checkpoint
from core.resources import default_artery_vein_model_path, sample_image_path

pytestmark = pytest.mark.skipif(not default_artery_vein_model_path().is_file(),
                                reason="artery/vein model not shipped yet")


def test_shipped_artery_vein_checkpoint_carries_its_metadata() -> None:
    ckpt = load_checkpoint(default_artery_vein_model_path())
    assert ckpt.task.name == "arteries_veins" and tuple(ckpt.classes) == ("background", "artery", "vein")
    validation = ckpt.metrics["validation"]
    datasets = validation["datasets"]
    assert all(int(name) > 20 for name, d in datasets.items() if d == "drive")  # DRIVE test ids are 01..20
    assert set(validation["artery_vein_accuracy_by_dataset"]) == {"drive", "hrf"}
    assert {d["name"] for d in ckpt.recipe["datasets"]} == {"DRIVE", "HRF"}
    assert all("artery_vein_labels" in d for d in ckpt.recipe["datasets"])
    card = json.loads(default_artery_vein_model_path().with_suffix(".json").read_text())
    assert card["classes"] == ["background", "artery", "vein"]


def test_artery_vein_model_types_the_sample_photo_into_both_kinds() -> None:
    from core.io.artery_vein import ARTERY, VEIN
    from core.ml.inference import Segmenter
    from core.predict.artery_vein import typed_prediction

    image = read_image(sample_image_path(), mode="RGB")
    vessels = Segmenter(device="cpu").predict(image).decode() > 0
    av = Segmenter(default_artery_vein_model_path(), device="cpu").predict(image)
    labels = typed_prediction(vessels, av).decode()
    assert (labels > 0).sum() == vessels.sum()
    artery_share = (labels == ARTERY).sum() / max(int(vessels.sum()), 1)
    assert 0.2 < artery_share < 0.8, artery_share  # both kinds present, neither swallowing the tree
    assert np.isin(labels, (0, ARTERY, VEIN)).all()
