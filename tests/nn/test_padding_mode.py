"""padding_mode: what a 'same' layer's border holds. With "replicate" a constant background
stays constant, so a blank margin of any width leaves no trace in the features."""
import pytest
import torch

from wavenets.groups import Dihedral, Dilation, Rotation, Trivial
from wavenets.nn import GroupConv, LiftingConv, PyramidGroupConv, PyramidLifting, export, pyramid_reduce


def _layers(group, mode):
    lift = LiftingConv(group, 2, 3, 5, dim=2, padding_mode=mode)
    conv = GroupConv(lift.out_group, 3, 4, 3, dim=2, padding_mode=mode)
    return lift, conv


@pytest.mark.parametrize("group", [Trivial(), Rotation(4), Dihedral(4), Rotation(4) * Dilation(2)], ids=repr)
def test_replicate_keeps_a_constant_image_constant(group, dtype):
    torch.manual_seed(0)
    lift, conv = (m.to(dtype) for m in _layers(group, "replicate"))
    x = torch.full((1, 2, 13, 13), 0.7, dtype=dtype)
    y = conv(lift(x))
    centre = y[..., 6:7, 6:7]
    torch.testing.assert_close(y, centre.expand_as(y), rtol=0, atol=100 * torch.finfo(dtype).eps)
    z = GroupConv(lift.out_group, 3, 4, 3, dim=2).to(dtype)(lift(x))  # zero padding: the border is an edge
    assert (z - z[..., 6:7, 6:7]).abs().max() > 1e-3


@pytest.mark.parametrize("mode", ["replicate", "reflect", "circular"])
def test_padding_modes_keep_rot90_and_flip_equivariance_exact(mode, dtype):
    torch.manual_seed(0)
    lift, conv = (m.to(dtype) for m in _layers(Dihedral(4), mode))
    x = torch.randn(2, 2, 11, 11, dtype=dtype)
    g, tol = Dihedral(4), 1e-5 if dtype == torch.float32 else 1e-10  # the exactness bar of the other layers
    for e in range(g.order):
        torch.testing.assert_close(conv(lift(g.act_on_signal(x, e))), g.act_on_features(conv(lift(x)), e),
                                   rtol=0, atol=tol)


def test_padding_mode_equals_padding_the_input_by_hand():
    torch.manual_seed(0)
    lift = LiftingConv(Rotation(4), 2, 3, 5, dim=2, padding_mode="replicate", bias=False).double()
    valid = LiftingConv(Rotation(4), 2, 3, 5, dim=2, padding="valid", bias=False).double()
    valid.load_state_dict(lift.state_dict())
    x = torch.randn(1, 2, 9, 9, dtype=torch.float64)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate")
    torch.testing.assert_close(lift(x), valid(padded), rtol=0, atol=1e-12)


def test_export_keeps_the_padding_mode():
    torch.manual_seed(0)
    lift, conv = _layers(Rotation(4), "replicate")
    net = torch.nn.Sequential(lift, conv).double().eval()
    x = torch.randn(2, 2, 12, 12, dtype=torch.float64)
    torch.testing.assert_close(export(net)(x), net(x), rtol=0, atol=1e-12)


def test_pyramid_layers_and_reduce_pad_as_asked():
    x = torch.full((1, 1, 17, 17), -0.4, dtype=torch.float64)
    torch.testing.assert_close(pyramid_reduce(x, 2, "replicate"), torch.full((1, 1, 9, 9), -0.4, dtype=torch.float64))
    assert (pyramid_reduce(x, 2) - (-0.4)).abs().max() > 1e-3  # zero padding darkens the border
    lift = PyramidLifting(Dilation(3), 1, 2, 3, dim=2, padding_mode="replicate").double()
    conv = PyramidGroupConv(Dilation(3), 2, 2, 3, dim=2, group_kernel_size=2, padding_mode="replicate").double()
    for level in conv(lift(x)):
        torch.testing.assert_close(level, level[..., :1, :1].expand_as(level), rtol=0, atol=1e-12)


def test_padding_mode_errors_say_what_is_allowed():
    with pytest.raises(ValueError, match="padding_mode must be one of zeros, replicate"):
        LiftingConv(Rotation(4), 1, 2, 3, dim=2, padding_mode="mirror")
    with pytest.raises(ValueError, match="antialias and multirate pad their blurs with zeros"):
        LiftingConv(Dilation(3), 1, 2, 3, dim=1, antialias=True, padding_mode="replicate")
    with pytest.raises(ValueError, match="padding_mode='zeros'"):
        LiftingConv(Dilation(3), 1, 2, 3, dim=1, padding_mode="replicate").forward_pooled(torch.randn(1, 1, 32), 4)
