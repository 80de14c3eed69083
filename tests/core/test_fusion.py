"""Folding BatchNorms into convolutions changes how inference computes, not what."""

import copy

import pytest
import torch
from torch import nn

from core.ml.fusion import fold_batch_norms
from core.ml.model import UNet


def trained_like_unet() -> UNet:
    """A UNet whose BatchNorms hold non-trivial running statistics and affine parameters."""
    torch.manual_seed(0)
    model = UNet(base_c=8)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 64, 64) * 2 + 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return model.eval()


def test_folded_unet_computes_the_same_logits() -> None:
    model = trained_like_unet()
    folded = fold_batch_norms(copy.deepcopy(model))
    x = torch.randn(1, 3, 75, 61)
    with torch.inference_mode():
        expected, got = model(x)["out"], folded(x)["out"]
    assert torch.allclose(expected, got, atol=1e-4, rtol=1e-4)


def test_every_batch_norm_is_gone_and_module_names_stay() -> None:
    model = trained_like_unet()
    names = [name for name, _ in model.named_modules()]
    folded = fold_batch_norms(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert [name for name, _ in folded.named_modules()] == names
    assert all(m.bias is not None for m in folded.modules() if isinstance(m, nn.Conv2d))


def test_a_model_in_training_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="eval mode"):
        fold_batch_norms(UNet(base_c=4).train())


def test_the_segmenter_runs_the_folded_network(tmp_path) -> None:
    from core.ml.checkpoint import model_checkpoint, save_checkpoint
    from core.ml.inference import Segmenter
    from core.ml.preprocessing import Preprocessing

    model = trained_like_unet()
    path = save_checkpoint(model_checkpoint(model, Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1))), tmp_path / "m.pt")
    segmenter = Segmenter(path, device="cpu")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in segmenter.model.modules())
