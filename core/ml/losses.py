"""Cross-entropy plus Dice, both ignoring pixels labelled IGNORE_INDEX (outside the FOV)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from core.io.datasets import IGNORE_INDEX


def dice_loss(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX, eps: float = 1.0
) -> torch.Tensor:
    """1 - mean soft Dice over classes, counted only where target != ignore_index."""
    num_classes = logits.shape[1]
    valid = (target != ignore_index).unsqueeze(1).to(logits.dtype)
    safe = torch.where(target == ignore_index, torch.zeros_like(target), target)
    onehot = F.one_hot(safe, num_classes).permute(0, 3, 1, 2).to(logits.dtype)
    probs = logits.softmax(1) * valid
    onehot = onehot * valid
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    total = probs.sum(dims) + onehot.sum(dims)
    return 1.0 - ((2 * inter + eps) / (total + eps)).mean()


class SegmentationLoss(torch.nn.Module):
    """Weighted cross-entropy (default weights [1, 2]) plus Dice, as in the tutorial's recipe."""

    def __init__(self, class_weights: Sequence[float] = (1.0, 2.0), dice_weight: float = 1.0,
                 ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.register_buffer("class_weights", torch.tensor(class_weights, dtype=torch.float32))
        self.dice_weight = dice_weight
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if (target != self.ignore_index).any():
            ce = F.cross_entropy(logits, target, weight=self.class_weights, ignore_index=self.ignore_index)
        else:  # all pixels ignored: CE would be NaN
            ce = logits.sum() * 0.0
        if self.dice_weight:
            return ce + self.dice_weight * dice_loss(logits, target, self.ignore_index)
        return ce
