"""Fold each BatchNorm into the convolution before it, for inference.

In eval mode a BatchNorm is a fixed per-channel scale and shift, which the preceding convolution can
absorb into its weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``). The network computes
the same function (to float rounding) with one pass over each feature map fewer: at the small channel
counts of the shipped UNets those passes are memory-bound and a large share of a CPU forward.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold every ``Conv2d -> BatchNorm2d`` pair inside an ``nn.Sequential`` of ``model``, in place.

    The model must be in eval mode (its running statistics are what gets folded); the BatchNorm's
    place is taken by an ``nn.Identity`` so module names, and so checkpoints, keep their meaning.
    Returns ``model``.
    """
    if model.training:
        raise ValueError("fold BatchNorms only in eval mode: training needs them to keep learning")
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        for (conv_name, conv), (bn_name, bn) in zip(children[:-1], children[1:], strict=True):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
    return model
