"""Cross-entropy + Dice: pixels labelled 255 (outside the FOV) have no influence at all."""

from __future__ import annotations

import torch

from core.io.datasets import IGNORE_INDEX
from core.ml.losses import SegmentationLoss, dice_loss


def _case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 2, 8, 9, generator=g)
    target = torch.randint(0, 2, (2, 8, 9), generator=g)
    target[:, :2] = IGNORE_INDEX
    target[:, :, -1] = IGNORE_INDEX
    return logits, target


def test_changing_logits_at_ignored_pixels_changes_nothing():
    logits, target = _case()
    ignored = (target == IGNORE_INDEX).unsqueeze(1).expand_as(logits)
    other = logits.clone()
    other[ignored] = torch.randn(int(ignored.sum())) * 50
    loss = SegmentationLoss()
    assert torch.allclose(loss(logits, target), loss(other, target), atol=1e-6)
    assert torch.allclose(dice_loss(logits, target), dice_loss(other, target), atol=1e-6)


def test_ignored_pixels_get_no_gradient():
    logits, target = _case(1)
    logits.requires_grad_(True)
    SegmentationLoss()(logits, target).backward()
    ignored = (target == IGNORE_INDEX).unsqueeze(1).expand_as(logits)
    assert logits.grad[ignored].abs().max() == 0
    assert logits.grad[~ignored].abs().max() > 0


def test_perfect_prediction_scores_lower_than_a_wrong_one():
    _, target = _case(2)
    onehot = torch.nn.functional.one_hot(target.clamp(max=1), 2).permute(0, 3, 1, 2).float()
    perfect, wrong = (onehot * 2 - 1) * 20, (1 - onehot * 2) * 20
    loss = SegmentationLoss()
    assert loss(perfect, target) < 0.01
    assert loss(wrong, target) > loss(perfect, target) + 1.0
    assert dice_loss(perfect, target) < 0.01 < 0.9 < dice_loss(wrong, target)


def test_all_ignored_batch_gives_a_finite_zero_gradient_loss():
    logits = torch.randn(1, 2, 5, 5, requires_grad=True)
    target = torch.full((1, 5, 5), IGNORE_INDEX)
    loss = SegmentationLoss()(logits, target)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_class_weights_make_missed_vessels_cost_more_than_false_alarms():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, :2] = 1
    confident = torch.zeros(1, 2, 4, 4)
    miss = confident.clone()
    miss[0, 0, :2] = 5.0  # vessels called background
    alarm = confident.clone()
    alarm[0, 1, 2:] = 5.0  # background called vessel
    ce_only = SegmentationLoss(class_weights=(1.0, 2.0), dice_weight=0.0)
    assert ce_only(miss, target) > ce_only(alarm, target)
    plain = SegmentationLoss(class_weights=(1.0, 1.0), dice_weight=0.0)
    assert torch.allclose(plain(miss, target), plain(alarm, target))


def test_half_precision_logits_are_accepted():
    logits, target = _case(3)
    assert SegmentationLoss()(logits.bfloat16(), target).dtype == torch.float32
