"""The tutorial's UNet: shapes for any input size, its two bugs fixed, and tutorial-compatible names."""

from __future__ import annotations

import pytest
import torch

from core.ml.model import DoubleConv, Down, OutConv, UNet, Up

SIZES = [(1, 37, 51), (2, 64, 64), (1, 16, 17), (1, 33, 16)]


@pytest.mark.parametrize(
    ("shape", "bilinear"),
    [(s, b) for b in (True, False) for s in [*SIZES, (1, 585, 566)]],
    ids=lambda v: ("bilinear" if v else "transposed") if isinstance(v, bool) else "x".join(map(str, v)),
)
def test_output_is_dict_with_n_x_2_x_h_x_w_logits_for_any_size(shape, bilinear):
    n, h, w = shape
    model = UNet(base_c=4, bilinear=bilinear).eval()
    with torch.inference_mode():
        out = model(torch.rand(n, 3, h, w))
    assert set(out) == {"out"}
    assert out["out"].shape == (n, 2, h, w)
    assert out["out"].dtype == torch.float32
    assert torch.isfinite(out["out"]).all()


def test_num_classes_and_in_channels_are_honoured():
    model = UNet(in_channels=1, num_classes=3, base_c=4).eval()
    with torch.inference_mode():
        assert model(torch.rand(1, 1, 40, 41))["out"].shape == (1, 3, 40, 41)


def test_double_conv_second_conv_reads_mid_channels():
    """The tutorial's notes fed in_channels to the second conv; it must read mid_channels."""
    block = DoubleConv(16, 8, mid_channels=5)
    first, second = block[0], block[3]
    assert (first.in_channels, first.out_channels) == (16, 5)
    assert (second.in_channels, second.out_channels) == (5, 8)
    assert block(torch.rand(1, 16, 9, 9)).shape == (1, 8, 9, 9)


def test_double_conv_without_mid_uses_out_channels():
    block = DoubleConv(3, 6)
    assert block[0].out_channels == 6 and block[3].in_channels == 6


def test_up_pads_odd_skip_connections_in_both_directions():
    """The tutorial computed the width difference from x2 alone; odd widths broke."""
    up = Up(16, 4, bilinear=True)
    x1 = torch.rand(1, 8, 5, 6)  # upsampled to 10 x 12
    x2 = torch.rand(1, 8, 11, 13)
    assert up(x1, x2).shape == (1, 4, 11, 13)


def test_building_blocks_have_the_tutorial_structure():
    down = Down(4, 8)
    assert isinstance(down, torch.nn.Sequential)
    assert isinstance(down[0], torch.nn.MaxPool2d) and isinstance(down[1], DoubleConv)
    out = OutConv(4, 2)
    assert isinstance(out, torch.nn.Sequential) and isinstance(out[0], torch.nn.Conv2d)
    assert out[0].kernel_size == (1, 1)


def test_arch_round_trips_through_the_constructor():
    model = UNet(in_channels=3, num_classes=2, bilinear=False, base_c=8)
    again = UNet(**model.arch())
    assert again.arch() == model.arch()
    assert {k: v.shape for k, v in again.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("bilinear", [True, False], ids=["bilinear", "transposed"])
def test_state_dict_keys_and_shapes_match_the_tutorial(bilinear):
    from tests.core._tutorial import tutorial_state_dict

    expected = {k: tuple(v.shape) for k, v in tutorial_state_dict(32, bilinear).items()}
    actual = {k: tuple(v.shape) for k, v in UNet(base_c=32, bilinear=bilinear).state_dict().items()}
    assert sorted(actual) == sorted(expected)
    assert actual == expected
    assert "down1.1.0.weight" in actual and "out_conv.0.weight" in actual
