"""Exact equivariance of every layer where the group maps the grid onto itself."""
import pytest
import torch
from torch import nn

from wavenets.groups import Dihedral, Dilation, Rotation, Trivial
from wavenets.nn import GroupBatchNorm, GroupConv, GroupPool, LiftingConv, SpatialPool
from wavenets.testing import assert_equivariant, default_tolerance, equivariance_error

# (group, elements acting exactly on the grid)
ROTATIONS = [
    (Rotation(4), [0, 1, 2, 3]),
    (Rotation(8), [0, 2, 4, 6]),
    (Rotation(8, mask=True), [2, 4, 6]),
    (Dihedral(4), list(range(8))),
    (Dihedral(8), [0, 2, 4, 6, 8, 10, 12, 14]),
]


def test_exact_element_lists_match_the_groups():
    for group, elements in ROTATIONS:
        assert elements == [g for g in range(group.order) if group.is_exact(g)][-len(elements):]
IDS = [repr(g) for g, _ in ROTATIONS]


def three_layer(group, *, dim=2, k=5, c=6, group_padding="zero", gk=None, stride=1, pool=None):
    lift = LiftingConv(group, 3, c, k, dim=dim, stride=stride)
    g1 = GroupConv(group, c, c, 3, dim=dim, group_kernel_size=gk, group_padding=group_padding)
    g2 = GroupConv(g1.out_group, c, c, 3, dim=dim, group_kernel_size=gk, group_padding=group_padding)
    layers = [lift, GroupBatchNorm(c), nn.ReLU(), g1, GroupBatchNorm(c), nn.ReLU()]
    if pool is not None:
        layers.append(SpatialPool(pool, dim=dim))
    layers.append(g2)
    return nn.Sequential(*layers), g2.out_group


@pytest.mark.parametrize("group,elements", ROTATIONS, ids=IDS)
@pytest.mark.parametrize("size", [15, 16])
def test_rotation_layers_exact(group, elements, size, dtype):
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size, dtype=dtype)
    lift = LiftingConv(group, 3, 5, 5).to(dtype)
    assert_equivariant(lift, group, x, elements)
    feats = torch.randn(2, 5, group.order, size, size, dtype=dtype)
    gconv = GroupConv(group, 5, 4, 3).to(dtype)
    assert_equivariant(gconv, group, feats, elements, in_type="features")
    bn = GroupBatchNorm(5).to(dtype)
    assert_equivariant(bn, group, feats, elements, in_type="features")  # train mode: batch stats
    bn.eval()
    assert_equivariant(bn, group, feats, elements, in_type="features")


@pytest.mark.parametrize("group,elements", ROTATIONS, ids=IDS)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_three_layer_network_and_invariance(group, elements, train, dtype):
    torch.manual_seed(1)
    net, _ = three_layer(group)
    net = net.to(dtype).train(train)
    x = torch.randn(3, 3, 17, 17, dtype=dtype)
    assert_equivariant(net, group, x, elements)
    pooled = nn.Sequential(net, GroupPool("max"))
    assert_equivariant(pooled, group, x, elements, out_type="signal")
    invariant = nn.Sequential(net, GroupPool("mean"), nn.AdaptiveAvgPool2d(1))
    assert_equivariant(invariant, group, x, elements, out_type="invariant")


def test_rotation_kernel_is_localised_along_the_group_axis(dtype):
    torch.manual_seed(2)
    g = Rotation(8)
    conv = GroupConv(g, 3, 3, 3, group_kernel_size=3).to(dtype)
    assert conv.weight.shape == (3, 3, 3, 3, 3)
    feats = torch.randn(2, 3, 8, 11, 11, dtype=dtype)
    assert_equivariant(conv, g, feats, [0, 2, 4, 6], in_type="features")


# -- size rules: where exactness holds and where it breaks ----------------------------------------
@pytest.mark.parametrize("size", [17, 9])
def test_stride_two_is_exact_when_size_minus_one_is_even(size):
    g = Rotation(4)
    x = torch.randn(2, 3, size, size, dtype=torch.float64)
    lift = LiftingConv(g, 3, 4, 3, stride=2).double()
    assert_equivariant(lift, g, x)


def test_stride_two_breaks_on_even_sizes():
    """Pins the size rule: 'same' padding + stride s is exact only if (n - 1) % s == 0."""
    g = Rotation(4)
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    lift = LiftingConv(g, 3, 4, 3, stride=2).double()
    errs = equivariance_error(lift, g, x)
    assert errs[0] == 0 and (errs[1:] > 0.1).all()


@pytest.mark.parametrize("size,exact", [(16, True), (15, False)])
def test_spatial_pool_needs_sizes_divisible_by_the_window(size, exact):
    g = Rotation(4)
    pool = SpatialPool(2)
    feats = torch.randn(2, 3, 4, size, size, dtype=torch.float64)
    errs = equivariance_error(pool, g, feats, in_type="features")
    assert (errs.max() < 1e-12) == exact


def test_valid_padding_and_even_kernels_are_exact():
    g = Rotation(4)
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
    assert_equivariant(LiftingConv(g, 3, 4, 5, padding="valid").double(), g, x)
    assert_equivariant(LiftingConv(g, 3, 4, 4, padding="valid").double(), g, x)


def test_same_padding_rejects_even_kernels():
    with pytest.raises(ValueError, match="odd kernel_size"):
        LiftingConv(Rotation(4), 3, 4, 4)


# -- dilations: the decimation action ------------------------------------------------------------
@pytest.mark.parametrize("length", [64, 63, 50])
@pytest.mark.parametrize("stride", [1, 2])
def test_dilation_1d_exact_under_decimation(length, stride, dtype):
    torch.manual_seed(3)
    d = Dilation(5)
    net, out_group = three_layer(d, dim=1, gk=2, group_padding="valid", stride=stride)
    net = net.to(dtype).eval()
    x = torch.randn(2, 3, length, dtype=dtype)
    errs = assert_equivariant(net, d, x, [-1, -2], out_group=out_group)
    assert errs.max() <= default_tolerance(dtype)
    lift = net[0]
    assert_equivariant(lift, d, x, [-1, -2])


def test_dilation_centred_kernels_exact():
    torch.manual_seed(4)
    d = Dilation(6, direction="centred")
    net, out_group = three_layer(d, dim=1, gk=3, group_padding="valid")
    assert out_group.order == 2 and out_group.start == 2
    x = torch.randn(2, 3, 80, dtype=torch.float64)
    assert_equivariant(net.double().eval(), d, x, [-1], out_group=out_group)


def test_dilation_2d_exact_under_decimation(dtype):
    torch.manual_seed(5)
    d = Dilation(3)
    net, out_group = three_layer(d, dim=2, k=3, gk=2, group_padding="valid")
    x = torch.randn(2, 3, 33, 32, dtype=dtype)
    assert_equivariant(net.to(dtype).eval(), d, x, [-1], out_group=out_group)


def test_dilation_zero_group_padding_breaks_at_the_coarse_end():
    """Pins the boundary rule: after lifting, the contracted signal has real features at the top
    scale where the original's group convolution read zero padding; 'valid' cropping is exact."""
    torch.manual_seed(6)
    d = Dilation(5)
    lift = LiftingConv(d, 3, 3, 3, dim=1).double()
    conv = GroupConv(d, 3, 3, 3, dim=1, group_kernel_size=2, group_padding="zero").double()
    net = nn.Sequential(lift, conv)
    x = torch.randn(2, 3, 40, dtype=torch.float64)
    assert equivariance_error(net, d, x, [-1]) > 0.05
    # ... and only the coarsest defined scale is wrong
    moved = d.act_on_features(net(x), -1)
    direct = net(d.act_on_signal(x, -1))
    assert torch.allclose(direct[:, :, :3], moved[:, :, :3], atol=1e-12)
    assert not torch.allclose(direct[:, :, 3], moved[:, :, 3], atol=1e-3)


def test_dilation_train_mode_batch_norm_is_not_exact():
    torch.manual_seed(7)
    d = Dilation(4)
    net, out_group = three_layer(d, dim=1, gk=2, group_padding="valid")
    x = torch.randn(2, 3, 64, dtype=torch.float64)
    assert equivariance_error(net.double().train(), d, x, [-1], out_group=out_group) > 1e-3


def test_trivial_network_is_translation_only():
    net, _ = three_layer(Trivial())
    x = torch.randn(2, 3, 12, 12)
    assert net(x).shape == (2, 6, 1, 12, 12)
    assert_equivariant(net, Trivial(), x)


@pytest.mark.parametrize("base,period", [(2**0.5, 2), (2**0.25, 4), (3.0, 1)])
def test_non_dyadic_grids_are_exact_under_integer_contraction(base, period, dtype):
    """Contraction by the smallest integer power of the base is an index operation, and the
    scale split (integer dilation x residual) makes the layers commute with it exactly."""
    torch.manual_seed(8)
    d = Dilation(2 * period + 2, base)
    assert d.is_exact(-period) and (period == 1 or not d.is_exact(-1))
    net, out_group = three_layer(d, dim=1, gk=2, group_padding="valid")
    x = torch.randn(2, 3, 90, dtype=dtype)
    assert_equivariant(net.to(dtype).eval(), d, x, [-period], out_group=out_group)
