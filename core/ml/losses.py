"""Cross-entropy plus Dice, both ignoring pixels labelled IGNORE_INDEX (outside the FOV), and optionally
the skeleton recall of thin vessels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.io.datasets import IGNORE_INDEX, VESSEL_OF_UNKNOWN_TYPE


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


def tubed_skeleton(target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """The centrelines of the vessel labels of a (N, H, W) target, widened to 3 px (a "tube") but never
    into ignored pixels, as floats.

    Centrelines by the biomarkers' own ``skeleton_of``, per image on the CPU."""
    from scipy import ndimage as ndi

    from core.measure.biomarkers.skeleton import skeleton_of

    labels = target.cpu().numpy()
    cross = ndi.generate_binary_structure(2, 1)
    tubes = [ndi.binary_dilation(skeleton_of(v), cross) & (t != ignore_index)
             for t, v in zip(labels, labels == 1, strict=True)]
    return torch.from_numpy(np.stack(tubes)).to(device=target.device, dtype=torch.float32)


def skeleton_recall_loss(logits: torch.Tensor, skeleton: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - the share of the labels' centreline tubes the soft vessel probability covers (Kirchhoff et al.
    2024): a thin vessel weighs as much per length as a wide one, where in Dice it weighs by area."""
    vessel = logits.float().softmax(1)[:, 1]
    return 1.0 - ((vessel * skeleton).sum() + eps) / (skeleton.sum() + eps)


class SegmentationLoss(torch.nn.Module):
    """Weighted cross-entropy (default weights [1, 2]) plus Dice, as in the tutorial's recipe; plus, weighted
    by ``skeleton_weight``, the skeleton recall (0: off, the tutorial's loss)."""

    def __init__(self, class_weights: Sequence[float] = (1.0, 2.0), dice_weight: float = 1.0,
                 ignore_index: int = IGNORE_INDEX, skeleton_weight: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("class_weights", torch.tensor(class_weights, dtype=torch.float32))
        self.dice_weight = dice_weight
        self.ignore_index = ignore_index
        self.skeleton_weight = skeleton_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if (target != self.ignore_index).any():
            ce = F.cross_entropy(logits, target, weight=self.class_weights, ignore_index=self.ignore_index)
        else:  # all pixels ignored: CE would be NaN
            ce = logits.sum() * 0.0
        loss = ce
        if self.dice_weight:
            loss = loss + self.dice_weight * dice_loss(logits, target, self.ignore_index)
        if self.skeleton_weight:
            skeleton = tubed_skeleton(target, self.ignore_index)
            loss = loss + self.skeleton_weight * skeleton_recall_loss(logits, skeleton)
        return loss


class ArteryVeinLoss(torch.nn.Module):
    """Loss of a (background, artery, vein) model on partly typed labels.

    Cross-entropy where the type is known; where only "vessel" is known (crossings, uncertain pixels,
    datasets without artery/vein labels) the log-probability of "artery or vein" (a partial-label
    cross-entropy), so every vessel label teaches the vessel/background decision and only typed ones
    the artery/vein decision. Vessel pixels weigh ``vessel_weight``; plus the soft Dice of the vessel
    probability (1 - P(background)), as the vessel recipe uses; plus, weighted by ``type_weight``, the
    artery-vs-vein cross-entropy averaged over the typed vessel pixels alone. Vessels are a tenth of the
    pixels, so inside the first term the type decision gets a tenth of the gradient; averaged on its own
    it learns several times faster.
    """

    def __init__(self, vessel_weight: float = 2.0, dice_weight: float = 1.0, type_weight: float = 1.0,
                 ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        self.vessel_weight = vessel_weight
        self.dice_weight = dice_weight
        self.type_weight = type_weight
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = logits.float().log_softmax(1)
        valid = target != self.ignore_index
        if not valid.any():
            return logits.sum() * 0.0
        vessel_logp = torch.logsumexp(logp[:, 1:3], dim=1)
        typed = target.clamp(max=2).unsqueeze(1)
        nll = torch.where(target == VESSEL_OF_UNKNOWN_TYPE, -vessel_logp,
                          -logp.gather(1, typed).squeeze(1))
        is_vessel = valid & (target != 0)
        weight = torch.where(is_vessel, self.vessel_weight, 1.0) * valid
        loss = (nll * weight).sum() / weight.sum()
        typed_pixels = (target == 1) | (target == 2)
        if self.type_weight and typed_pixels.any():
            type_logp = logits.float()[:, 1:3].log_softmax(1)
            type_nll = -type_logp.gather(1, (target.clamp(1, 2) - 1).unsqueeze(1)).squeeze(1)
            loss = loss + self.type_weight * type_nll[typed_pixels].mean()
        if self.dice_weight:
            p_vessel = vessel_logp.exp() * valid
            v = is_vessel.float()
            p_back = (1 - vessel_logp.exp()) * valid
            b = (valid & ~is_vessel).float()
            dice_v = (2 * (p_vessel * v).sum() + 1) / (p_vessel.sum() + v.sum() + 1)
            dice_b = (2 * (p_back * b).sum() + 1) / (p_back.sum() + b.sum() + 1)
            loss = loss + self.dice_weight * (1 - (dice_v + dice_b) / 2)
        return loss
