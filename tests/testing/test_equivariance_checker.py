"""The checker users run on their own models must catch what is not equivariant."""
import pytest
import torch
from torch import nn

from wavenets.groups import Dilation, Rotation
from wavenets.nn import LiftingConv
from wavenets.testing import assert_equivariant, default_tolerance, equivariance_error


def test_plain_conv_is_caught():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 9, 9)
    errs = equivariance_error(conv, Rotation(4), x, in_type="signal", out_type="signal")
    assert errs[0] == 0 and (errs[1:] > 0.1).all()
    with pytest.raises(AssertionError, match="element 1"):
        assert_equivariant(conv, Rotation(4), x, in_type="signal", out_type="signal")


def test_isotropic_conv_is_rotation_equivariant():
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[0.0, 1, 0], [1, 4, 1], [0, 1, 0]]).view(1, 1, 3, 3))
    errs = assert_equivariant(conv, Rotation(4), torch.randn(2, 1, 8, 8), in_type="signal", out_type="signal")
    assert errs.shape == (4,)


def test_wrong_group_axis_order_is_caught():
    torch.manual_seed(1)
    lift = LiftingConv(Rotation(4), 3, 4, 3)
    x = torch.randn(2, 3, 9, 9)
    flipped = lambda t: lift(t).flip(2)  # noqa: E731 - reversed group axis: a classic bug
    assert equivariance_error(flipped, Rotation(4), x)[1] > 0.1


def test_size_mismatch_explains_itself():
    d = Dilation(3)
    with pytest.raises(ValueError, match="size rules"):
        equivariance_error(lambda t: t[..., :-1], d, torch.randn(1, 1, 9), [1], out_type="signal")


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="in_type"):
        equivariance_error(lambda t: t, Rotation(4), torch.randn(1, 1, 4, 4), in_type="image")
    assert default_tolerance(torch.float32) == 1e-5 and default_tolerance(torch.float64) == 1e-10
