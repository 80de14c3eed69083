"""Weight importance: the Fisher information of a model on its own training images, stored with the model
(older checkpoints still load without it), and the anchor that holds important weights while fine-tuning."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import CheckpointError
from core.io.datasets import Sample
from core.ml.checkpoint import load_checkpoint, model_checkpoint, save_checkpoint
from core.ml.importance import Anchor, weight_importance, with_importance
from core.ml.model import UNet
from core.ml.preprocessing import Preprocessing
from tests.conftest import synthetic_fundus

PRE = Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1))

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model():  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    return model_checkpoint(UNet(num_classes=2, base_c=4).eval(), PRE, thresholds={"vessel": 0.5},
                            trained_on="nothing (random test weights)")


def samples(n: int = 2, h: int = 40, w: int = 48) -> list[Sample]:
    out = []
    for i in range(n):
        image = synthetic_fundus(h, w, seed=i)
        fov = image.max(axis=2) > 20
        out.append(Sample(f"eye{i}", image, image[..., 0] < 155, fov, "drive"))
    return out


def test_the_importance_of_the_output_bias_is_the_sum_of_the_pixels_p_times_1_minus_p():
    """For the output bias of class c, one pixel's Fisher information is p_c (1 - p_c): the drawn labels'
    squared gradients estimate its sum over the FOV without bias (the cross-pixel terms vanish)."""
    ckpt = tiny_model()
    (sample,) = samples(1)
    model = ckpt.build_model()
    x = PRE.normalize(torch.from_numpy(sample.image).permute(2, 0, 1).float() / 255, sample.fov)[None]
    with torch.no_grad():
        p = model(x)["out"].softmax(1)[0, 1][torch.from_numpy(sample.fov)]
    expected = float((p * (1 - p)).sum())

    importance = weight_importance(ckpt, [sample], draws=300)

    bias = importance["out_conv.0.bias"]
    assert bias[0] == pytest.approx(expected, rel=0.2) and bias[1] == pytest.approx(expected, rel=0.2)
    assert set(importance) == {name for name, _ in model.named_parameters()}
    assert all(bool((t >= 0).all()) and bool(t.isfinite().all()) for t in importance.values())


def test_the_importance_travels_with_the_model_and_older_files_load_without_it(tmp_path: Path):
    ckpt = with_importance(tiny_model(), samples(), draws=1)
    assert ckpt.metrics["importance"]["images"] == ["eye0", "eye1"], "names, never pixels"

    loaded = load_checkpoint(save_checkpoint(ckpt, tmp_path / "with.pt"))
    old = load_checkpoint(save_checkpoint(tiny_model(), tmp_path / "without.pt"))

    assert set(loaded.importance) == set(ckpt.importance)
    assert all(torch.equal(loaded.importance[k], v) for k, v in ckpt.importance.items())
    assert old.importance == {} and "importance" not in torch.load(tmp_path / "without.pt", weights_only=True)
    card = loaded.card()
    assert "importance" not in card, "the card is plain data: the tensors stay out"
    assert json.loads(json.dumps(card["metrics"]))["importance"]["draws"] == 1


@pytest.mark.parametrize(("importance", "words"), [
    ({"out_conv.0.bias": torch.ones(5)}, "does not fit the weights"),
    ({"no.such.weight": torch.ones(2)}, "does not fit the weights"),
    ({"out_conv.0.bias": torch.tensor([1.0, -1.0])}, "negative, NaN or infinite"),
    ({"out_conv.0.bias": torch.tensor([1.0, float("nan")])}, "negative, NaN or infinite"),
])
def test_importance_that_does_not_fit_the_weights_is_refused_in_one_line(tmp_path: Path, importance, words):
    path = tmp_path / "bad.pt"
    payload = {**tiny_model().to_dict(), "importance": importance}
    torch.save(payload, path)

    with pytest.raises(CheckpointError, match=words) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_the_anchor_holds_weights_in_proportion_to_their_importance():
    model = UNet(num_classes=2, base_c=4)
    base = {k: v.clone() for k, v in model.state_dict().items()}
    importance = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    importance["out_conv.0.bias"] = torch.tensor([1.0, 1000.0])  # the second bias matters most
    anchor = Anchor(model, base, importance, strength=1.0)
    mean = float(torch.cat([t.flatten() for t in importance.values()]).mean())

    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # as if an optimiser step had moved every weight by 1
    anchor.step(lr=0.01)

    moved = model.state_dict()["out_conv.0.bias"] - base["out_conv.0.bias"]
    torch.testing.assert_close(moved, 1 / (1 + 0.01 * torch.tensor([1.0, 1000.0]) / mean))
    assert moved[1] < 0.01, "the important weight is pulled back almost to the base's"
    torch.testing.assert_close(model.state_dict()["in_conv.0.weight"], base["in_conv.0.weight"] + 1,
                               msg="a weight of no importance moves freely")


def test_no_images_or_no_draws_are_refused_clearly():
    with pytest.raises(ValueError, match="no images"):
        weight_importance(tiny_model(), [])
    with pytest.raises(ValueError, match="draws must be at least 1"):
        weight_importance(tiny_model(), samples(1), draws=0)


def test_a_vessel_fraction_of_zero_or_one_gives_no_importance_to_the_output_bias():
    """A model certain of every pixel learns nothing from it: its Fisher information is 0."""
    ckpt = tiny_model()
    state = {**ckpt.state_dict, "out_conv.0.bias": torch.tensor([60.0, -60.0])}  # background, with certainty
    certain = replace(ckpt, state_dict=state)

    importance = weight_importance(certain, samples(1), draws=2)

    assert float(importance["out_conv.0.bias"].abs().max()) < 1e-12
    assert np.isfinite(sum(float(t.sum()) for t in importance.values()))
