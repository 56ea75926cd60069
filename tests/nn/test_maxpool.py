"""Max pooling over time in training (wavenets.nn._maxpool): torch's values and gradients, bit for
bit, without torch's index path; and where it does not apply, torch's own pool."""
import pytest
import torch
import torch.nn.functional as F

from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet
from wavenets.nn import SpatialPool, _maxpool
from wavenets.nn._maxpool import _WindowMax, max_pool1d


def _both(x0: torch.Tensor, g_seed: int = 0, **kw):
    """(values, input gradient) of torch's pool and of max_pool1d on copies of ``x0``."""
    out = []
    for pool in (F.max_pool1d, max_pool1d):
        x = x0.clone().requires_grad_()
        y = pool(x, **kw)
        y.backward(torch.randn(y.shape, generator=torch.Generator().manual_seed(g_seed)).to(y.dtype))
        out.append((y.detach(), x.grad))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("k", [2, 4, 8])
def test_window_max_is_torchs_pool_bit_for_bit(dtype, k):
    """Every length around the window size, floor and ceil mode, random values and values with
    ties (a window of equal maxima: torch's pool passes the gradient to the first)."""
    torch.manual_seed(0)
    for n in [1, 2, 3, k - 1, k, k + 1, 2 * k, 5 * k + 3, 100]:
        for ceil_mode in (False, True):
            if n < k and not ceil_mode:
                continue
            for ties in (False, True):
                x = torch.randn(3, 5, n, dtype=torch.float64)
                x = (x.round().clamp(-1, 1).relu() if ties else x).to(dtype)
                (y0, g0), (y1, g1) = _both(x, kernel_size=k, ceil_mode=ceil_mode)
                assert torch.equal(y0, y1) and torch.equal(g0, g1), (n, ceil_mode, ties)
    ties = torch.zeros(1, 1, 4 * k, dtype=dtype)  # all equal: the first of each window
    (_, g0), (_, g1) = _both(ties, kernel_size=k)
    assert torch.equal(g0, g1) and g1.view(4, k)[:, 1:].abs().sum() == 0


def test_window_max_takes_strided_inputs_and_says_what_it_cannot_do():
    torch.manual_seed(1)
    base = torch.randn(6, 40, 3)
    x = base[::2, :, 1].unsqueeze(1)  # [3, 1, 40], not contiguous
    (y0, g0), (y1, g1) = _both(x, kernel_size=4, ceil_mode=True)
    assert torch.equal(y0, y1) and torch.equal(g0, g1)
    x = torch.randn(2, 3, 16, requires_grad=True)
    assert max_pool1d(x, 4).grad_fn.name() == "_WindowMaxBackward"
    with pytest.raises(RuntimeError, match="twice|once"):  # no double backward: an error, not a wrong number
        y = max_pool1d(x, 4)
        (g,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
        g.sum().backward()


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=4, stride=2), dict(kernel_size=4, padding=1),
                                dict(kernel_size=2, dilation=2), dict(kernel_size=4, return_indices=True)])
def test_other_pools_are_torchs(kw):
    """Windows that overlap, pad, dilate, return indices or are not 2, 4 or 8 samples long run
    torch's pool (and its gradient)."""
    x = torch.randn(2, 3, 24, requires_grad=True)
    y = max_pool1d(x, **kw)
    ref = F.max_pool1d(x, **kw)
    if kw.get("return_indices"):
        assert torch.equal(y[0], ref[0]) and torch.equal(y[1], ref[1])
    else:
        assert torch.equal(y, ref) and y.grad_fn.name() != "_WindowMaxBackward"
    with torch.no_grad():  # nothing to differentiate: torch's plain pool
        assert max_pool1d(x, 4).grad_fn is None


@pytest.mark.parametrize("layout", ["dense", "pyramid"])
def test_a_training_step_is_the_same_with_torchs_pool(layout, monkeypatch):
    """Every parameter's gradient of an M-Net and of a pyramid W-Net, through SpatialPool's
    window max, equals the gradient through torch's pool, bit for bit."""
    def grads():
        torch.manual_seed(0)
        model = (MNet(Trivial(), "m5", 4, width=8) if layout == "dense"
                 else MNet(Dilation(4), "m5", 4, width=8, layout="pyramid")).double()
        x = torch.randn(3, 1, 2000, dtype=torch.float64)
        F.cross_entropy(model(x), torch.tensor([0, 1, 3])).backward()
        return [p.grad for p in model.parameters()]

    calls = []
    monkeypatch.setattr(_WindowMax, "apply", lambda *a, _f=_WindowMax.apply: calls.append(1) or _f(*a))
    fast = grads()
    assert calls  # the window max ran
    monkeypatch.setattr(_maxpool, "FAST_POOLS", False)
    assert all(torch.equal(a, b) for a, b in zip(fast, grads()))


def test_spatial_pool_on_images_is_torchs():
    x = torch.randn(2, 3, 4, 8, 8, requires_grad=True)
    y = SpatialPool(2)(x)
    assert torch.equal(y, F.max_pool2d(x.flatten(1, 2), 2).unflatten(1, (3, 4)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_image_pool_without_gradient_is_torchs(dtype):
    """Windows that tile the image, as strided maxima: torch's values, for every window size and
    layout (channels last, a strided view); and torch's own pool where a gradient is recorded or
    the windows do not tile the image."""
    torch.manual_seed(0)
    for k in (2, 3, 4):
        for x in (torch.randn(2, 5, 4 * k, 2 * k, dtype=dtype),
                  torch.randn(2, 5, 3 * k, 3 * k, dtype=dtype).round().relu(),  # ties
                  torch.randn(2, 5, 2 * k, 2 * k, dtype=dtype).contiguous(memory_format=torch.channels_last),
                  torch.randn(2, 10, 2 * k, 6 * k, dtype=dtype)[:, ::2, :, ::3]):
            with torch.no_grad():
                assert torch.equal(_maxpool.max_pool2d(x, k), F.max_pool2d(x, k))
                assert torch.equal(_maxpool.max_pool2d(x, (k, k), stride=k), F.max_pool2d(x, k))
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    assert _maxpool.max_pool2d(x, 2).grad_fn.name() == F.max_pool2d(x, 2).grad_fn.name()
    with torch.no_grad():
        odd = torch.randn(2, 3, 9, 8)
        assert _maxpool.max_pool2d(odd, 2, ceil_mode=True).shape == (2, 3, 5, 4)  # torch's pool: a partial window
        x = torch.randn(2, 3, 8, 8)
        assert torch.equal(_maxpool.max_pool2d(x, 2, stride=1), F.max_pool2d(x, 2, stride=1))


def test_an_se2_network_predicts_the_same_with_torchs_image_pool(monkeypatch):
    """A C4 tissue network in eval mode gives torch's pool's outputs, and the strided maxima ran."""
    from wavenets.groups import Rotation
    from wavenets.models import SE2Net

    torch.manual_seed(0)
    model = SE2Net(Rotation(4), 3, 2, preset="tissue").eval()
    x = torch.randn(3, 3, 44, 44)
    calls = []
    monkeypatch.setattr(_maxpool, "_tiled_max", lambda *a, _f=_maxpool._tiled_max: calls.append(1) or _f(*a))
    with torch.no_grad():
        fast = model(x)
        ran = len(calls)
        monkeypatch.setattr(_maxpool, "FAST_POOLS", False)
        assert ran == 2 and torch.equal(model(x), fast) and len(calls) == ran  # its two pools, then torch's
