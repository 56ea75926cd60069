"""Direct-product groups (roto-scale): axioms, the layout of the group axis, layers that reduce
to their factors' layers, exactness on rot90 × decimation (dense and pyramid layouts), export,
and the errors a user meets."""
import itertools

import pytest
import torch

from wavenets.groups import Dihedral, Dilation, Product, Rotation, Trivial
from wavenets.nn import (GroupBatchNorm, GroupConv, GroupPool, LiftingConv, PerLevel, PyramidGroupConv,
                         PyramidLifting, export, from_dense, pyramid_readout, to_dense)
from tests.nn.test_equivariance_approx import smooth_kernels_
from wavenets.testing import assert_equivariant, assert_pyramid_equivariant, equivariance_error, smooth_image

PRODUCTS = [Rotation(4) * Dilation(3), Dihedral(2) * Dilation(2), Rotation(8) * Dilation(4, 2**0.5),
            Trivial() * Dilation(3), Rotation(4, mask=True) * Dilation(1)]


@pytest.mark.parametrize("group", PRODUCTS, ids=repr)
def test_axioms_where_defined(group):
    h, d = group.first, group.second
    table = group.cayley_table()
    e = group.identity()
    assert e == d.identity() * h.order + h.identity()
    for a, b in itertools.product(range(group.order), repeat=2):
        ha, da, hb, db = a % h.order, a // h.order, b % h.order, b // h.order
        closes = d.product(da, db) is not None
        assert (table[a, b] >= 0) == closes
        if closes:  # the product acts factor by factor
            assert table[a, b] == d.product(da, db) * h.order + h.product(ha, hb)
    for a in range(group.order):
        assert table[e, a] == a and table[a, e] == a
        inv = group.inverse(a)
        if inv is not None:
            assert table[a, inv] == e and table[inv, a] == e
    for a, b, c in itertools.product(range(group.order), repeat=3):
        ab, bc = table[a, b], table[b, c]
        if ab >= 0 and bc >= 0 and table[ab, c] >= 0:
            assert table[ab, c] == table[a, bc]


def test_elements_matrices_and_the_spelling():
    g = Rotation(4) * Dilation(3)
    assert g == Product(Rotation(4), Dilation(3)) and g.order == 12 and g.dims == (2,)
    assert (Trivial() * Dilation(3)).dims == (1, 2)
    el = g.elements()
    assert el.shape == (12, 2)
    assert torch.allclose(el[5], torch.tensor([torch.pi / 2, 2.0], dtype=torch.float64))  # scale-major: (h=1, d=1)
    m = g.matrix((1, -1), 2)
    assert torch.allclose(m, torch.tensor([[0.0, -0.5], [0.5, 0.0]], dtype=torch.float64))
    assert g.is_exact((1, -1)) and not g.is_exact((1, 1)) and not (Rotation(8) * Dilation(2)).is_exact((1, -1))
    assert len(g.test_elements()) == 4 * 2


def test_actions_factor_by_factor():
    g = Rotation(4) * Dilation(3)
    x = torch.randn(2, 3, 17, 17, dtype=torch.float64)
    assert torch.equal(g.act_on_signal(x, (1, -1)), torch.rot90(x[..., ::2, ::2], 1, dims=(-2, -1)))
    f = torch.randn(2, 3, 12, 17, 17, dtype=torch.float64)
    out = g.act_on_features(f, (1, -1))
    ref = f.unflatten(2, (3, 4))
    ref = torch.rot90(ref.roll(1, 3)[..., ::2, ::2], 1, dims=(-2, -1))  # rotation slot h <- h - 1
    assert torch.equal(out.unflatten(2, (3, 4))[:, :, :2], ref[:, :, 1:])  # scale slot d <- d + 1
    assert out.unflatten(2, (3, 4))[:, :, 2].isnan().all()  # moved in from past the finest scale


def _copy(dst, src):
    with torch.no_grad():
        dst.weight.copy_(src.weight.reshape(dst.weight.shape))
    return dst


def test_layers_reduce_to_their_factors():
    """Product(Trivial, D) is D's layer and Product(H, Dilation(1)) is H's, same weights."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 21, 21, dtype=torch.float64)
    for prod, factor in [(Trivial() * Dilation(4, 2**0.5), Dilation(4, 2**0.5)), (Rotation(8) * Dilation(1), Rotation(8)),
                         (Dihedral(4, mask=True) * Dilation(1), Dihedral(4, mask=True))]:
        lift, ref = LiftingConv(prod, 3, 2, 5, dim=2).double(), LiftingConv(factor, 3, 2, 5, dim=2).double()
        _copy(ref, lift)
        torch.testing.assert_close(lift(x), ref(x), rtol=0, atol=1e-12)
        y = ref(x)
        conv = GroupConv(prod, 2, 3, 3, dim=2, group_kernel_size=(prod.first.order, 2 if prod.second.order > 1 else 1),
                         bias=False).double()
        cref = GroupConv(factor, 2, 3, 3, dim=2, group_kernel_size=conv.plan.slots, bias=False).double()
        _copy(cref, conv)
        torch.testing.assert_close(conv(y), cref(y), rtol=0, atol=1e-12)


def test_the_bank_is_the_rotated_then_dilated_kernel():
    """Output (h, d) of the lifting bank is the learned kernel rotated by h, then dilated à trous."""
    torch.manual_seed(0)
    g = Rotation(4) * Dilation(3)
    lift = LiftingConv(g, 1, 1, 3, dim=2, bias=False).double()
    w = lift.weight[0, 0]
    for block, (bank, _) in zip(lift.plan.blocks, lift.filter_banks()):
        assert bank.shape == (4, 1, 3, 3) and block.dilation == 2 ** (block.out_index.start // 4)
        for h in range(4):
            assert torch.equal(bank[h, 0], torch.rot90(w, h, dims=(0, 1)))


@pytest.mark.parametrize("group", [Rotation(4) * Dilation(3), Dihedral(4) * Dilation(4, 2**0.5),
                                   Rotation(4, mask=True) * Dilation(3)], ids=repr)
def test_dense_layers_exact_on_rot90_times_decimation(group, dtype):
    torch.manual_seed(0)
    h = group.first
    quarter = [k for k in range(h.order) if h.is_exact(k)]
    contraction = -1 if group.second.base == 2 else -2  # decimation by 2
    elements = [(k, contraction) for k in quarter] + [(k, 0) for k in quarter]
    conv = GroupConv(group, 4, 3, 3, dim=2, group_kernel_size=2, group_padding="valid", stride=2)
    net = torch.nn.Sequential(LiftingConv(group, 3, 4, 5, dim=2), GroupBatchNorm(4), torch.nn.ReLU(),
                              conv).to(dtype).eval()
    assert conv.out_group == Product(h, group.second.out_group(2, "valid"))
    x = torch.randn(2, 3, 33, 33, dtype=dtype)  # 33 - 1 divisible by 2 (decimation) and by 2 (stride)
    errs = assert_equivariant(net, group, x, elements, out_type="features", out_group=conv.out_group)
    assert len(errs) == 2 * len(quarter)
    pooled = torch.nn.Sequential(net, GroupPool("max"))  # a signal again: rotations rotate it
    assert_equivariant(pooled, group, x, [(k, 0) for k in quarter], out_type="signal")


def test_approximate_elements_have_bounded_errors():
    """Non-grid rotations and stretches are interpolated: bounded like their factors' layers
    (tests/nn/test_equivariance_approx.py, docs/equivariance.md), never exact."""
    torch.manual_seed(0)
    g = Rotation(8) * Dilation(3)
    x = smooth_image(2, 3, 33)
    lift = LiftingConv(g, 3, 8, 5).double()
    errs = equivariance_error(lift, g, x, [(1, 0), (1, -1), (0, 1)])
    assert (errs > 1e-4).all() and errs[0] < 0.62 and errs[1] < 0.62  # Rotation(8) alone: < 0.62
    smooth_kernels_(lift)
    errs = equivariance_error(lift, g, x, [(1, 0), (1, -1), (0, 1)])
    assert (errs > 1e-6).all() and (errs < 0.25).all()


def test_pyramid_layers_exact_on_rot90_and_the_contraction(dtype):
    torch.manual_seed(0)
    g = Rotation(4) * Dilation(6, 2**0.5)  # 3 octaves of 2 voices, 4 rotations each
    lift = PyramidLifting(g, 2, 4, 5, dim=2)
    conv = PyramidGroupConv(g, 4, 3, 3, dim=2, group_kernel_size=3, group_padding="valid", stride=2)
    net = torch.nn.Sequential(lift, GroupBatchNorm(4), PerLevel(torch.nn.ReLU()), conv).to(dtype).eval()
    x = torch.randn(2, 2, 65, 65, dtype=dtype)  # odd at every level: ↓2 and stride 2 keep the centre
    out = net(x)
    assert [lv.shape[2] for lv in out] == [8, 8] and conv.out_group == Rotation(4) * Dilation(4, 2**0.5)
    assert_pyramid_equivariant(net, x, 1)
    for k in range(4):  # rot90 rotates every level and cycles its rotation slots
        out_k = net(torch.rot90(x, k, dims=(-2, -1)))
        for a, b in zip(out_k, out):
            ref = torch.rot90(b.unflatten(2, (-1, 4)).roll(k, 3), k, dims=(-2, -1)).flatten(2, 3)
            torch.testing.assert_close(a, ref, rtol=0, atol=20 * torch.finfo(dtype).eps * b.abs().max().item())
    pooled = GroupPool("max")(pyramid_readout(out))
    torch.testing.assert_close(GroupPool("max")(pyramid_readout(net(torch.rot90(x, 1, dims=(-2, -1))))), pooled)
    dense = to_dense(out)
    assert dense.shape[2] == 16 and all(torch.equal(a, b) for a, b in zip(from_dense(dense, 2, 4), out))


def test_export_and_checker_support():
    torch.manual_seed(0)
    g = Rotation(4) * Dilation(3)
    net = torch.nn.Sequential(LiftingConv(g, 1, 2, 3, dim=2), torch.nn.ReLU(), GroupConv(g, 2, 2, 3, dim=2)).eval()
    x = torch.randn(1, 1, 17, 17)
    torch.testing.assert_close(export(net)(x), net(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match=r"element \(1, 1\)"):
        assert_equivariant(net, g, x, [(1, -1), (1, 1)])


def test_clear_errors():
    with pytest.raises(ValueError, match="first factor must transform kernels in place"):
        Dilation(3) * Rotation(4)
    with pytest.raises(ValueError, match="no common space"):
        Product(Rotation(4), _OnlyR1())
    with pytest.raises(ValueError, match=r"pair \(N_h, N_d\)"):
        GroupConv(Rotation(4) * Dilation(3), 2, 2, 3, dim=2, group_kernel_size="all")
    with pytest.raises(TypeError, match="pairs"):
        (Rotation(4) * Dilation(3)).act_on_signal(torch.zeros(1, 1, 5, 5), 1)
    with pytest.raises(ValueError, match=r"expected \[B, C, 12"):
        (Rotation(4) * Dilation(3)).act_on_features(torch.zeros(1, 1, 4, 5, 5), (0, 0))
    with pytest.raises(ValueError, match="base 2"):
        PyramidLifting(Rotation(4) * Dilation(3, 3.0), 1, 2, 3, dim=2)


class _OnlyR1(Trivial):
    dims = (1,)
