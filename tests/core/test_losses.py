"""Cross-entropy + Dice: pixels labelled 255 (outside the FOV) have no influence at all."""

from __future__ import annotations

import torch

from core.io.datasets import IGNORE_INDEX
from core.ml.losses import SegmentationLoss, dice_loss, skeleton_recall_loss, tubed_skeleton


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


def _vessel_logits(vessel: torch.Tensor, confidence: float = 6.0) -> torch.Tensor:
    """Logits calling the pixels of a boolean (N, H, W) map vessel, every other pixel background."""
    logits = torch.zeros(vessel.shape[0], 2, *vessel.shape[1:])
    logits[:, 1] = torch.where(vessel, confidence, -confidence)
    return logits


def test_tubed_skeleton_is_the_centreline_three_pixels_wide():
    target = torch.zeros(1, 32, 32, dtype=torch.long)
    target[0, 10:17, 4:28] = 1  # a horizontal vessel 7 px wide, centre row 13
    target[0, 12, :6] = IGNORE_INDEX  # the tube never reaches into ignored pixels
    tube = tubed_skeleton(target)
    assert tube[0, 12, :6].eq(0).all()
    rows = torch.nonzero(tube[0, :, 10:22].sum(1)).flatten().tolist()  # away from the ends' corner spurs
    assert rows == [12, 13, 14]
    assert tube[0, 13, 8:24].eq(1).all() and tube.dtype == torch.float32


def test_skeleton_recall_counts_a_missed_thin_vessel_by_length_not_by_area():
    target = torch.zeros(1, 64, 64, dtype=torch.long)
    target[0, 8:20, 4:60] = 1  # wide vessel, 12 px
    target[0, 40:42, 4:60] = 1  # thin vessel, 2 px, as long
    found_wide = target[0].eq(1).clone()
    found_wide[40:42] = False  # the thin vessel missed
    found_thin = target[0].eq(1).clone()
    found_thin[8:20] = False  # the wide vessel missed
    tube = tubed_skeleton(target)
    miss_thin = skeleton_recall_loss(_vessel_logits(found_wide[None]), tube)
    miss_wide = skeleton_recall_loss(_vessel_logits(found_thin[None]), tube)
    assert 0.3 < miss_thin.item() < 0.7 and abs(miss_thin.item() - miss_wide.item()) < 0.1
    # Dice weighs by area: missing the thin vessel costs it a fraction of missing the wide one
    dice = [dice_loss(_vessel_logits(found[None]), target).item() for found in (found_wide, found_thin)]
    assert dice[0] < 0.5 * dice[1]


def test_skeleton_weight_adds_the_recall_term_and_zero_keeps_the_tutorial_loss():
    logits, target = _case(5)
    plain = SegmentationLoss()(logits, target)
    assert torch.equal(SegmentationLoss(skeleton_weight=0.0)(logits, target), plain)
    with_skeleton = SegmentationLoss(skeleton_weight=0.5)(logits, target)
    expected = plain + 0.5 * skeleton_recall_loss(logits, tubed_skeleton(target))
    assert torch.allclose(with_skeleton, expected)
    logits.requires_grad_(True)
    SegmentationLoss(skeleton_weight=1.0)(logits, target).backward()
    assert torch.isfinite(logits.grad).all()


def test_skeleton_recall_of_a_crop_without_vessels_is_zero():
    target = torch.zeros(2, 16, 16, dtype=torch.long)
    logits = torch.randn(2, 2, 16, 16)
    assert skeleton_recall_loss(logits, tubed_skeleton(target)).item() == 0.0
