"""Layer behaviour: plain-conv equivalence, gradients, modes, state, caching, bad input."""
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wavenets.groups import Dihedral, Dilation, Rotation, Trivial
from wavenets.nn import GroupBatchNorm, GroupConv, GroupPool, LiftingConv, SpatialPool


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("stride,padding", [(1, "same"), (2, "same"), (1, "valid"), (2, 1)])
def test_trivial_layers_equal_torch_convs(dim, stride, padding, dtype):
    torch.manual_seed(0)
    conv_cls = nn.Conv1d if dim == 1 else nn.Conv2d
    x = torch.randn(2, 3, *([13] * dim), dtype=dtype)
    lift = LiftingConv(Trivial(), 3, 5, 3, dim=dim, stride=stride, padding=padding).to(dtype)
    ref = conv_cls(3, 5, 3, stride=stride, padding=1 if padding == "same" else padding).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(lift.weight)
        ref.bias.copy_(torch.randn(5))
        lift.bias.copy_(ref.bias)
    torch.testing.assert_close(lift(x)[:, :, 0], ref(x))
    feats = torch.randn(2, 3, 1, *([13] * dim), dtype=dtype)
    gconv = GroupConv(Trivial(), 3, 5, 3, dim=dim, stride=stride, padding=padding, bias=False).to(dtype)
    ref = conv_cls(3, 5, 3, stride=stride, padding=1 if padding == "same" else padding, bias=False).to(dtype)
    with torch.no_grad():
        ref.weight.copy_(gconv.weight[:, :, 0])
    torch.testing.assert_close(gconv(feats)[:, :, 0], ref(feats[:, :, 0]))


@pytest.mark.parametrize("make,weight_is_bank", [
    (lambda: LiftingConv(Trivial(), 3, 4, 5, dim=1), "all"),
    (lambda: GroupConv(Trivial(), 3, 4, 3, dim=2), "all"),
    (lambda: LiftingConv(Dilation(4), 3, 4, 5, dim=1), "all"),  # à-trous: the dilation is the convolution's
    (lambda: GroupConv(Dilation(3), 3, 4, 3, dim=1, group_kernel_size=3, group_padding="valid"), "all"),  # a pyramid stack
    (lambda: GroupConv(Dilation(5), 3, 4, 3, dim=1, group_kernel_size=2), "some"),  # the top reads zeros
    (lambda: GroupConv(Dilation(3, 2**0.5), 3, 4, 3, dim=1, group_kernel_size=2), "none"),  # interpolated taps
    (lambda: LiftingConv(Rotation(4), 3, 4, 3), "none"),  # rotated taps
], ids=["trivial-lift", "trivial-gconv", "dilation-lift", "pyramid-stack", "dilation-gconv", "sqrt2", "C4"])
def test_banks_that_are_the_weight_are_views_and_equal_the_gathered_bank(make, weight_is_bank):
    """A block whose bank is the weight as it is (one output element reading every slot in order,
    taps untransformed) returns a view of the weight, no gather; every bank equals the one the
    general gather builds, with the same weight gradient."""
    torch.manual_seed(0)
    conv = make().double()
    flags = list(conv._weight_is_bank)
    assert {"all": all(flags), "some": any(flags) and not all(flags), "none": not any(flags)}[weight_is_bank], flags
    for b, flag in enumerate(flags):
        fast = conv._build_bank(b)
        if flag:
            assert fast.data_ptr() == conv.weight.data_ptr()  # the weight itself, viewed
        conv._weight_is_bank[b] = False
        slow = conv._build_bank(b)
        conv._weight_is_bank[b] = flag
        torch.testing.assert_close(fast, slow, rtol=0, atol=0)
        g = torch.randn_like(fast)
        (g_fast,) = torch.autograd.grad(fast, conv.weight, g)
        (g_slow,) = torch.autograd.grad(slow, conv.weight, g)
        torch.testing.assert_close(g_fast, g_slow, rtol=0, atol=0)


def test_lifting_bank_is_the_rotated_kernel():
    """C4 lifting = 4 plain convolutions with torch.rot90-rotated kernels."""
    torch.manual_seed(1)
    lift = LiftingConv(Rotation(4), 2, 3, 5, bias=False).double()
    x = torch.randn(1, 2, 11, 11, dtype=torch.float64)
    for k in range(4):
        w = torch.rot90(lift.weight, k, dims=(-2, -1))
        torch.testing.assert_close(lift(x)[:, :, k], F.conv2d(x, w, padding=2))


def test_dilation_lifting_is_dilated_convolution():
    torch.manual_seed(2)
    lift = LiftingConv(Dilation(4), 2, 3, 5, dim=1).double()
    x = torch.randn(2, 2, 100, dtype=torch.float64)
    for j in range(4):
        d = 2**j
        ref = F.conv1d(x, lift.weight, lift.bias, padding=2 * d, dilation=d)
        torch.testing.assert_close(lift(x)[:, :, j], ref)


@pytest.mark.parametrize("group,dim", [(Rotation(4), 2), (Rotation(8), 2), (Dihedral(2), 2), (Dilation(3), 1),
                                       (Dilation(3, 2**0.5), 1)], ids=repr)
def test_gradcheck(group, dim):
    torch.manual_seed(3)
    size = [7] * dim
    lift = LiftingConv(group, 2, 2, 3, dim=dim).double()
    gconv = GroupConv(group, 2, 2, 3, dim=dim, group_kernel_size=2 if isinstance(group, Dilation) else None).double()
    x = torch.randn(1, 2, *size, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: _call(lift, x, w), (x, lift.weight))
    f = torch.randn(1, 2, group.order, *size, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, w: _call(gconv, f, w), (f, gconv.weight))


def _call(module, x, weight):
    return torch.func.functional_call(module, {"weight": weight}, (x,))


@pytest.mark.parametrize("group,dim", [(Rotation(8), 2), (Dilation(4, 2**0.5), 1)], ids=repr)
def test_train_and_eval_agree_and_state_dict_keys_match(group, dim, tmp_path):
    torch.manual_seed(4)
    net = nn.Sequential(LiftingConv(group, 3, 4, 3, dim=dim), nn.ReLU(),
                        GroupConv(group, 4, 4, 3, dim=dim, group_kernel_size=2 if dim == 1 else None))
    x = torch.randn(2, 3, *([12] * dim))
    train_keys = list(net.state_dict())
    y_train = net(x)
    net.eval()
    with torch.no_grad():
        y_eval = net(x)
        y_eval_cached = net(x)
    assert list(net.state_dict()) == train_keys
    assert train_keys == ["0.weight", "0.bias", "2.weight", "2.bias"]
    torch.testing.assert_close(y_train, y_eval)
    assert torch.equal(y_eval, y_eval_cached)
    # save in eval mode, load into a fresh model in train mode
    path = tmp_path / "model.pt"
    torch.save(net.state_dict(), path)
    fresh = nn.Sequential(LiftingConv(group, 3, 4, 3, dim=dim), nn.ReLU(),
                          GroupConv(group, 4, 4, 3, dim=dim, group_kernel_size=2 if dim == 1 else None))
    fresh.load_state_dict(torch.load(path, weights_only=True))
    torch.testing.assert_close(fresh(x), y_train)


def test_eval_cache_is_used_and_invalidated():
    torch.manual_seed(5)
    conv = GroupConv(Rotation(4), 3, 3, 3).eval()
    x = torch.randn(1, 3, 4, 9, 9)
    with torch.no_grad():
        y0 = conv(x)
        bank = conv._bank0
        conv(x)
        assert conv._bank0 is bank  # cached, not rebuilt
        conv.weight.mul_(2)  # optimizer-style in-place update
        y1 = conv(x)
        assert conv._bank0 is not bank
        torch.testing.assert_close(y1 - conv.bias.view(1, -1, 1, 1, 1), 2 * (y0 - conv.bias.view(1, -1, 1, 1, 1)))
        conv.load_state_dict({"weight": torch.zeros_like(conv.weight), "bias": conv.bias})
        assert conv(x).sub(conv.bias.view(1, -1, 1, 1, 1)).abs().max() == 0
    conv.train()
    assert conv._bank0 is None
    # eval with gradients enabled still trains the weights (no stale cache)
    conv.eval()
    conv(x).sum().backward()
    assert conv.weight.grad is not None


def test_a_bank_cached_in_inference_mode_serves_input_gradients():
    """A frozen eval-mode model used first inside ``inference_mode`` (predictions), then for a
    saliency map (gradients with respect to the input): the cached bank is reused, and autograd
    can save it (an inference tensor cannot be saved for backward)."""
    torch.manual_seed(7)
    conv = GroupConv(Rotation(4), 3, 3, 3).eval().requires_grad_(False)
    x = torch.randn(1, 3, 4, 9, 9)
    with torch.inference_mode():
        y0 = conv(x)
    bank = conv._bank0
    assert not bank.is_inference()
    x.requires_grad_(True)
    y = conv(x)
    assert conv._bank0 is bank  # the cache served both calls
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.testing.assert_close(y.detach(), y0)


def test_cache_follows_dtype_changes():
    conv = LiftingConv(Rotation(4), 2, 2, 3).eval()
    x = torch.randn(1, 2, 7, 7)
    with torch.no_grad():
        conv(x)
        conv.double()
        assert conv(x.double()).dtype == torch.float64


def test_bias_is_shared_over_the_group_axis():
    conv = LiftingConv(Rotation(8), 2, 3, 3)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))
    y = conv(torch.randn(1, 2, 5, 5))
    assert torch.equal(y, torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1, 1).expand_as(y))


def test_he_init_keeps_variance_through_depth():
    torch.manual_seed(6)
    g = Rotation(4)
    layers = [LiftingConv(g, 8, 16, 3)] + [GroupConv(g, 16, 16, 3) for _ in range(6)]
    x = torch.randn(8, 8, 24, 24)
    h = torch.relu(layers[0](x))
    first = h.pow(2).mean()
    for layer in layers[1:]:
        h = torch.relu(layer(h))
    ratio = (h.pow(2).mean() / first).item()
    assert 0.25 < ratio < 4, ratio


def test_shapes_and_out_group():
    d = Dilation(9)
    conv = GroupConv(d, 4, 5, 3, dim=1, group_kernel_size=3, group_padding="valid")
    assert conv.out_group == Dilation(7)
    assert conv(torch.randn(2, 4, 9, 30)).shape == (2, 5, 7, 30)
    assert "group_kernel_size=3" in repr(conv)
    assert SpatialPool(2)(torch.randn(2, 3, 4, 8, 8)).shape == (2, 3, 4, 4, 4)
    assert GroupPool("mean")(torch.randn(2, 3, 4, 8, 8)).shape == (2, 3, 8, 8)


# -- bad input --------------------------------------------------------------------------------------
def test_errors_name_expected_and_actual_shapes():
    conv = GroupConv(Rotation(8), 16, 16, 3)
    with pytest.raises(ValueError, match=r"expected input \[B, 16, 8, H, W\].*\[32, 16, 4, 20, 20\].*8 elements"):
        conv(torch.randn(32, 16, 4, 20, 20))
    with pytest.raises(ValueError, match=r"\[2, 15, 8, 9, 9\] \(15 channels\)"):
        conv(torch.randn(2, 15, 8, 9, 9))
    with pytest.raises(ValueError, match="lift it with LiftingConv first"):
        conv(torch.randn(2, 16, 9, 9))
    lift = LiftingConv(Rotation(8), 3, 4, 3)
    with pytest.raises(ValueError, match="use GroupConv"):
        lift(torch.randn(2, 3, 8, 9, 9))
    with pytest.raises(TypeError, match="floating-point"):
        lift(torch.ones(2, 3, 9, 9, dtype=torch.long))
    with pytest.raises(TypeError, match="expected dtype torch.float32"):
        lift(torch.ones(2, 3, 9, 9, dtype=torch.float64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        lift([[1.0]])
    with pytest.raises(ValueError, match="pass dim=1 or dim=2"):
        LiftingConv(Dilation(3), 3, 4, 3)
    with pytest.raises(ValueError, match="group_kernel_size=8"):
        GroupConv(Dihedral(4), 3, 3, 3, group_kernel_size=3)
    with pytest.raises(ValueError, match="needs padding='same'"):
        LiftingConv(Dilation(3), 3, 4, 3, dim=1, padding="valid")
    with pytest.raises(ValueError, match="reduce"):
        GroupPool("sum")
    with pytest.raises(ValueError, match=r"GroupBatchNorm expected \[B, 4"):
        GroupBatchNorm(4)(torch.randn(2, 3, 4, 5, 5))


def test_model_built_inside_inference_mode_runs():
    """Parameters created under inference_mode are inference tensors (no version counter):
    the layer must not try to cache against them."""
    import copy

    conv = GroupConv(Rotation(4), 3, 3, 3).eval()
    x = torch.randn(1, 3, 4, 9, 9)
    ref = conv(x).detach()
    with torch.inference_mode():
        inner = copy.deepcopy(conv)
        assert inner.weight.is_inference()
        torch.testing.assert_close(inner(x), ref)
        torch.testing.assert_close(inner(x), ref)
