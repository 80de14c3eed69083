"""State dicts spelled out from the tutorial's module names, independent of core.ml.model.

The tutorial's UNet: ``DoubleConv`` is Sequential(conv, BN, ReLU, conv, BN, ReLU) with bias-free
convs; ``Down`` is Sequential(MaxPool2d, DoubleConv); ``Up`` holds ``up`` (Upsample or
ConvTranspose2d) and ``conv``; ``OutConv`` is Sequential(Conv2d 1x1).
"""

from __future__ import annotations

import torch


def _double_conv(sd: dict[str, torch.Tensor], prefix: str, cin: int, cout: int, mid: int | None = None) -> None:
    mid = mid or cout
    for i, (a, b) in ((0, (cin, mid)), (3, (mid, cout))):
        sd[f"{prefix}.{i}.weight"] = torch.randn(b, a, 3, 3) * 0.1
        bn = f"{prefix}.{i + 1}"
        sd[f"{bn}.weight"] = torch.ones(b)
        sd[f"{bn}.bias"] = torch.zeros(b)
        sd[f"{bn}.running_mean"] = torch.zeros(b)
        sd[f"{bn}.running_var"] = torch.ones(b)
        sd[f"{bn}.num_batches_tracked"] = torch.tensor(0)


def tutorial_state_dict(base_c: int = 32, bilinear: bool = True, in_channels: int = 3,
                        num_classes: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    c, f = base_c, 2 if bilinear else 1
    sd: dict[str, torch.Tensor] = {}
    _double_conv(sd, "in_conv", in_channels, c)
    for i, (cin, cout) in enumerate([(c, 2 * c), (2 * c, 4 * c), (4 * c, 8 * c), (8 * c, 16 * c // f)], start=1):
        _double_conv(sd, f"down{i}.1", cin, cout)
    for i, (cin, cout) in enumerate([(16 * c, 8 * c // f), (8 * c, 4 * c // f), (4 * c, 2 * c // f), (2 * c, c)],
                                    start=1):
        if bilinear:
            _double_conv(sd, f"up{i}.conv", cin, cout, cin // 2)
        else:
            sd[f"up{i}.up.weight"] = torch.randn(cin, cin // 2, 2, 2) * 0.1
            sd[f"up{i}.up.bias"] = torch.zeros(cin // 2)
            _double_conv(sd, f"up{i}.conv", cin, cout)
    sd["out_conv.0.weight"] = torch.randn(num_classes, c, 1, 1) * 0.1
    sd["out_conv.0.bias"] = torch.zeros(num_classes)
    return sd
