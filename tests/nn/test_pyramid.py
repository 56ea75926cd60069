"""The scale-space pyramid layout: resampling operators, exactness of every layer under the
pyramid contraction (1D and 2D, octave and sub-octave grids), layout conversions, shared batch
statistics, export, and the errors a user meets."""
import math

import numpy as np
import pytest
import torch

from wavenets.groups import Dilation, Rotation
from wavenets.nn._blur import REDUCE_FILTER, pyramid_expand_into
from wavenets.nn import (GroupBatchNorm, GroupConv, PerLevel, PyramidGroupConv, PyramidLifting, SpatialPool, export,
                         from_dense, pyramid_expand, pyramid_readout, pyramid_reduce, scale_pyramid, to_dense)
from wavenets.testing import (assert_pyramid_equivariant, default_tolerance, pyramid_contract,
                              pyramid_equivariance_error)

H = np.array([1, 4, 6, 4, 1]) / 16


def test_reduce_is_halfband_then_decimate():
    g = REDUCE_FILTER.numpy()
    assert len(g) % 2 == 1 and np.allclose(g, g[::-1]) and abs(g.sum() - 1) < 1e-12
    spectrum = np.abs(np.fft.rfft(g, 4096))
    assert abs(spectrum[1024] - 0.5) < 1e-3  # half gain at the new Nyquist (a quarter of the rate)
    x = torch.randn(2, 3, 41, dtype=torch.float64)
    p = len(g) // 2
    full = np.stack([[np.convolve(np.pad(c, p), g, mode="valid") for c in b] for b in x.numpy()])
    assert torch.allclose(pyramid_reduce(x, 1), torch.from_numpy(full[..., ::2]), atol=1e-14)
    assert pyramid_reduce(torch.randn(1, 1, 9, 8), 2).shape == (1, 1, 5, 4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_long_reduce_is_the_same_filter_at_every_length(dtype, monkeypatch):
    """From POLYPHASE_FROM samples on, the REDUCE runs as a polyphase convolution (blocks of 16
    samples). It gives the stride-2 filter's samples at every length around a block boundary, for
    several channels and batch items, its gradient is the filter's adjoint, and on images it
    equals the separable filter."""
    from wavenets.nn import _blur
    g = REDUCE_FILTER.numpy()
    p = len(g) // 2
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    default = _blur.POLYPHASE_FROM
    monkeypatch.setattr(_blur, "POLYPHASE_FROM", 1)  # every length below takes the polyphase path
    torch.manual_seed(0)
    for n in [1, 2, 15, 16, 17, 31, 32, 33, 47, 100, 257]:
        x = torch.randn(2, 3, n, dtype=dtype)
        full = np.stack([[np.convolve(np.pad(c, p), g, mode="valid") for c in b] for b in x.double().numpy()])
        y = pyramid_reduce(x, 1)
        assert y.shape == (2, 3, (n + 1) // 2) and y.is_contiguous()
        assert torch.allclose(y.double(), torch.from_numpy(full[..., ::2]), atol=tol), n
    x = torch.randn(2, 2, 50, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pyramid_reduce(t, 1), (x,))
    monkeypatch.setattr(_blur, "POLYPHASE_FROM", 10**9)  # the default path agrees with it at a long length
    x = torch.randn(2, 1, 4133, dtype=dtype)
    direct = pyramid_reduce(x, 1)
    monkeypatch.setattr(_blur, "POLYPHASE_FROM", default)
    assert torch.allclose(pyramid_reduce(x, 1), direct, atol=tol)
    img = torch.randn(2, 3, 19, 34, dtype=dtype)  # on images: one polyphase pass per axis
    separable = pyramid_reduce(img, 2)
    monkeypatch.setattr(_blur, "POLYPHASE_FROM", 1)
    assert torch.allclose(pyramid_reduce(img, 2), separable, atol=tol)


def _upsample_then_blur(x: torch.Tensor, n: int) -> torch.Tensor:
    """EXPAND by its definition, ``2·h ∗ (↑2 x)`` (numpy, float64), cropped to ``n ≤ 2m`` samples."""
    up = np.zeros(x.shape[:-1] + (2 * x.shape[-1],))
    up[..., ::2] = x.detach().double().numpy()
    full = np.apply_along_axis(lambda c: np.convolve(np.pad(c, 2), 2 * H, mode="valid"), -1, up)
    return torch.from_numpy(full[..., :n])


def test_expand_is_upsample_then_blur():
    x = torch.randn(2, 3, 11, dtype=torch.float64)
    full = _upsample_then_blur(x, 22).numpy()
    assert torch.allclose(pyramid_expand(x, [22], 1), torch.from_numpy(full), atol=1e-14)
    assert torch.allclose(pyramid_expand(x, [21], 1), torch.from_numpy(full[..., :21]), atol=1e-14)
    assert pyramid_expand(x, [25], 1)[..., 22:].abs().max() == 0  # zero-padded past the end
    img = torch.randn(1, 2, 5, 4, dtype=torch.float64)
    cols = pyramid_expand(img, [7], 1)  # last axis only
    both = pyramid_expand(cols.transpose(-1, -2), [10], 1).transpose(-1, -2)
    assert torch.allclose(pyramid_expand(img, [10, 7], 2), both, atol=1e-14)  # separable


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_expand_into_writes_expand_into_a_view_and_nothing_else(dtype):
    """pyramid_expand_into (the in-place EXPAND behind pyramid_expand on one axis) equals
    upsample-then-blur for every input length and every output length up to twice it, written
    into a strided view of a bigger tensor (some group slots of a stack) without touching the
    samples around it."""
    torch.manual_seed(0)
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    for m in range(1, 10):
        x = torch.randn(2, 3, m, dtype=dtype)
        for n in range(2 * m + 1):
            big = torch.full((2, 3, 4, n + 5), 7.0, dtype=dtype)
            pyramid_expand_into(x, big[:, :, 2, 2:2 + n])  # a strided view: rows 4·(n + 5) apart
            want = _upsample_then_blur(x, n).to(dtype)
            assert torch.allclose(big[:, :, 2, 2:2 + n], want, atol=tol, rtol=0), (m, n)
            assert torch.allclose(pyramid_expand(x, [n], 1), want, atol=tol, rtol=0), (m, n)
            big[:, :, 2, 2:2 + n] = 7.0
            assert (big == 7.0).all(), (m, n)  # nothing written outside the view
    with pytest.raises(ValueError, match="at most twice"):
        pyramid_expand_into(torch.zeros(1, 1, 4), torch.zeros(1, 1, 9))


def test_expand_gradients_are_its_adjoint_to_second_order():
    """pyramid_expand runs as an autograd Function per axis with a hand-written backward (the
    adjoint, itself a Function whose backward is EXPAND): gradcheck and gradgradcheck for every
    input length, every output length up to twice it, contiguous and strided inputs, and on two
    axes."""
    torch.manual_seed(0)
    for m in range(1, 8):
        for n in range(2 * m + 1):
            for x in (torch.randn(2, 3, m, dtype=torch.float64),
                      torch.randn(2, 3, 2 * m, dtype=torch.float64)[..., ::2]):  # a strided view
                x.requires_grad_()
                fn = lambda t: pyramid_expand(t, [n], 1)
                assert torch.autograd.gradcheck(fn, (x,)), (m, n)
                assert torch.autograd.gradgradcheck(fn, (x,)), (m, n)
    img = torch.randn(2, 2, 4, 5, dtype=torch.float64, requires_grad=True)  # two axes, one Function each
    for size in ([8, 10], [7, 9], [5, 6]):
        assert torch.autograd.gradcheck(lambda t: pyramid_expand(t, size, 2), (img,)), size
        assert torch.autograd.gradgradcheck(lambda t: pyramid_expand(t, size, 2), (img,)), size
    x = torch.randn(3, 2, 9, dtype=torch.float64, requires_grad=True)  # the gradient, checked by hand too
    g = torch.randn(3, 2, 17, dtype=torch.float64)
    (grad,) = torch.autograd.grad(pyramid_expand(x, [17], 1), x, g)
    up = torch.nn.functional.pad(g, (2, 3))  # y[k] reads x[t] with weight 2h[k − 2t + 2]: correlate g with 2h at 2t
    want = sum(2 * H[i] * up[..., i:i + 18:2] for i in range(5))
    assert torch.allclose(grad, want, atol=1e-14)


def test_scale_pyramid_levels_and_skip():
    x = torch.randn(1, 2, 100)
    levels = scale_pyramid(x, 4, 1)
    assert [lv.shape[-1] for lv in levels] == [100, 50, 25, 13] and levels[0] is x
    assert torch.equal(scale_pyramid(x, 2, 1, skip=2)[0], levels[2])


def _net(group, dim, taps, padding, stride=1):
    lift = PyramidLifting(group, 2, 4, 5, dim=dim)
    conv = PyramidGroupConv(lift.out_group, 4, 3, 3, dim=dim, group_kernel_size=taps, group_padding=padding,
                            stride=stride)
    return torch.nn.Sequential(lift, GroupBatchNorm(4), PerLevel(torch.nn.ReLU()),
                               PerLevel(SpatialPool(2, dim=dim, ceil_mode=True)), conv).eval()


@pytest.mark.parametrize("dim,size", [(1, 203), (2, (37, 30))])
@pytest.mark.parametrize("base,taps", [(2.0, 1), (2.0, 3), (2**0.5, 3), (2 ** (1 / 3), 4)])
def test_layers_exact_under_the_pyramid_contraction(dim, size, base, taps, dtype):
    torch.manual_seed(0)
    n = {2.0: 8, 2**0.5: 9}.get(base, 12)  # 4 octaves
    net = _net(Dilation(n, base), dim, taps, "valid", stride=2).to(dtype)
    for m in net.modules():  # non-trivial running statistics
        if isinstance(m, GroupBatchNorm):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 2, *((size,) if dim == 1 else size), dtype=dtype)
    for octaves in (1, 2):
        errs = assert_pyramid_equivariant(net, x, octaves)
        assert len(errs) == len(net(x)) - octaves
    assert default_tolerance(dtype) <= 1e-5


def test_zero_group_padding_exact_below_the_levels_it_reads_past():
    torch.manual_seed(0)
    net = _net(Dilation(6), 1, 3, "zero").double()
    x = torch.randn(2, 2, 300, dtype=torch.float64)
    errs = pyramid_equivariance_error(net, x, 1)
    assert len(errs) == 5 and errs[:3].max() < 1e-12  # output level j reads input levels j..j+2
    assert errs[4] > 1e-3  # the top level read zeros in the original where the contracted input has a level
    assert_pyramid_equivariant(net, x, 1, skip_top=2)
    with pytest.raises(AssertionError, match="level 4"):
        assert_pyramid_equivariant(net, x, 1)


def test_group_conv_matches_the_dense_layer_at_the_pyramid_samples():
    """With V voices and every level read at its own rate, the pyramid group conv of a dense
    input's pyramid equals the dense GroupConv on level 0 (where both see the same samples)."""
    torch.manual_seed(0)
    g = Dilation(4, 2**0.5)
    pyr = PyramidGroupConv(g, 3, 2, 5, dim=1, group_kernel_size=2, group_padding="valid").double()
    dense = GroupConv(Dilation(3, 2**0.5), 3, 2, 5, dim=1, group_kernel_size=2, group_padding="valid").double()
    dense.weight.data.copy_(pyr.conv.weight.data)
    x = [torch.randn(1, 3, 2, 40, dtype=torch.float64), torch.randn(1, 3, 2, 20, dtype=torch.float64)]
    local = torch.cat([x[0], pyramid_expand(x[1].flatten(1, 2), [40], 1).unflatten(1, (3, 2))[:, :, :1]], 2)
    assert torch.allclose(pyr(x)[0], dense(local)[:, :, :2], atol=1e-12)
    assert [lv.shape[2] for lv in pyr(x)] == [2, 1]  # 4 scales, N_h=2, valid: 3 scales over 2 levels


def test_parameters_are_the_dense_layers():
    g = Dilation(9)
    assert PyramidGroupConv(g, 5, 7, 3, dim=1, group_kernel_size=3).conv.weight.shape == \
        GroupConv(g, 5, 7, 3, dim=1, group_kernel_size=3).weight.shape
    assert PyramidLifting(g, 1, 7, 9, dim=1).conv.weight.shape == (7, 1, 9)
    lift = PyramidLifting(Dilation(5, 2**0.5), 1, 2, 3, dim=1)
    assert lift.levels == 3 and [lv.shape[2] for lv in lift(torch.randn(1, 1, 64))] == [2, 2, 1]


def test_dense_round_trip(dtype):
    torch.manual_seed(0)
    levels = PyramidLifting(Dilation(7, 2**0.5), 1, 3, 5, dim=1).to(dtype)(torch.randn(2, 1, 61, dtype=dtype))
    dense = to_dense(levels)
    assert dense.shape == (2, 3, 7, 61)
    assert all(torch.equal(a, b) for a, b in zip(from_dense(dense, 2), levels))
    img = [torch.randn(1, 2, 1, 9, 8), torch.randn(1, 2, 1, 5, 4)]
    assert to_dense(img).shape == (1, 2, 2, 9, 8)
    assert all(torch.equal(a, b) for a, b in zip(from_dense(to_dense(img)), img))


def test_batch_norm_shares_statistics_over_levels():
    torch.manual_seed(0)
    bn = GroupBatchNorm(3)
    levels = [torch.randn(4, 3, 1, 32) * 3 + 1, torch.randn(4, 3, 1, 16)]
    out = bn(levels)
    joint = torch.cat([lv.flatten(2) for lv in levels], 2)
    ref = (joint - joint.mean((0, 2), keepdim=True)) / (joint.var((0, 2), unbiased=False, keepdim=True) + bn.eps).sqrt()
    assert torch.allclose(torch.cat([o.flatten(2) for o in out], 2), ref, atol=1e-5)
    with pytest.raises(ValueError, match=r"expected \[B, 3, .*\(2 channels\)"):
        bn([torch.randn(2, 2, 1, 8)])


def test_batch_norm_shares_statistics_over_inputs_of_different_lengths(dtype):
    """forward_many: several pyramids (and a plain tensor) of different lengths normalised with one
    set of statistics over every stored sample, running statistics updated once as for that one
    batch; equal shapes give what one batch of them concatenated gives; in eval mode each input
    is normalised alone."""
    torch.manual_seed(0)
    long = [torch.randn(4, 3, 1, 32, dtype=dtype) * 3 + 1, torch.randn(4, 3, 1, 16, dtype=dtype)]
    short = [torch.randn(4, 3, 1, 23, dtype=dtype) - 2, torch.randn(4, 3, 1, 12, dtype=dtype)]
    plain = torch.randn(4, 3, 2, 5, dtype=dtype)
    bn, ref_bn = GroupBatchNorm(3).to(dtype), GroupBatchNorm(3).to(dtype)
    out = bn.forward_many([long, short, plain])
    assert [len(o) for o in out[:2]] == [2, 2] and out[2].shape == plain.shape
    joint = torch.cat([t.flatten(2) for t in long + short + [plain]], 2)
    ref = ref_bn(joint[:, :, None])[:, :, 0]  # one batch of every sample
    got = torch.cat([t.flatten(2) for t in list(out[0]) + list(out[1]) + [out[2]]], 2)
    torch.testing.assert_close(got, ref, rtol=0, atol=10 * torch.finfo(dtype).eps * ref.abs().max().item())
    torch.testing.assert_close(bn.running_var, ref_bn.running_var)
    assert [tuple(t.shape) for t in out[1]] == [tuple(t.shape) for t in short]
    # equal shapes: the same as concatenating along the batch
    other = [torch.randn(4, 3, 1, 32, dtype=dtype), torch.randn(4, 3, 1, 16, dtype=dtype)]
    pair = bn.forward_many([long, other])
    batched = bn([torch.cat([a, b]) for a, b in zip(long, other)])
    for a, b, c in zip(pair[0], pair[1], batched):
        torch.testing.assert_close(torch.cat([a, b]), c)
    bn.eval()
    alone = bn.forward_many([long, short])
    assert all(torch.equal(a, b) for a, b in zip(alone[1], bn(short)))
    with pytest.raises(ValueError, match="one batch size"):
        bn.train().forward_many([long, [t[:2] for t in short]])


def test_readout_and_export():
    torch.manual_seed(0)
    net = _net(Dilation(5), 1, 3, "zero")
    x = torch.randn(2, 2, 64)
    pooled = pyramid_readout(net(x))
    assert pooled.shape == (2, 3, 5, 1)
    frozen = export(net)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(frozen(x), net(x)))


def test_clear_errors():
    with pytest.raises(ValueError, match=r"base 2\^\(1/V\)"):
        PyramidLifting(Dilation(4, 3.0), 1, 2, 3, dim=1)
    with pytest.raises(ValueError, match="base 2"):
        PyramidLifting(Rotation(4), 1, 2, 3, dim=2)
    with pytest.raises(ValueError, match="direction='coarser'"):
        PyramidGroupConv(Dilation(4, direction="centred"), 2, 2, 3, dim=1, group_kernel_size=3)
    conv = PyramidGroupConv(Dilation(4), 2, 2, 3, dim=1)
    with pytest.raises(TypeError, match="from_dense"):
        conv(torch.randn(1, 2, 4, 16))
    with pytest.raises(ValueError, match="4 levels"):
        conv([torch.randn(1, 2, 1, 16)] * 2)
    with pytest.raises(ValueError, match="level 1"):
        conv([torch.randn(1, 2, 1, 16), torch.randn(1, 3, 1, 8)] * 2)
    with pytest.raises(ValueError, match="no level"):
        pyramid_equivariance_error(PyramidLifting(Dilation(1), 1, 1, 3, dim=1), torch.randn(1, 1, 8), 1)
    assert len(pyramid_contract([1, 2, 3], 2)) == 1


@pytest.mark.parametrize("dim", [1, 2])
def test_empty_octaves_finds_the_band_empty_levels_of_a_slowed_signal(dim):
    """Noise at its own rate has no band-empty level; upsampled by 2^k (band-limited, zero
    spectrum above the old Nyquist) it has exactly k, the finest ones; and the test commutes with
    the pyramid contraction: one reduce shifts the flags by one level."""
    from wavenets.nn import empty_octaves

    torch.manual_seed(0)
    n = 1024 if dim == 1 else 64
    x = torch.randn(3, 2, *(n,) * dim, dtype=torch.float64)

    def upsample(z, k):  # zero-padded spectrum: content below 1/2^k of the new Nyquist
        axes = tuple(range(-dim, 0))
        spec = torch.fft.fftn(z, dim=axes)
        for a in axes:
            m = spec.shape[a]
            lo, hi = spec.narrow(a, 0, m // 2), spec.narrow(a, m // 2, m - m // 2)
            shape = list(spec.shape)
            shape[a] = m * (2**k - 1)
            spec = torch.cat([lo, spec.new_zeros(shape), hi], a)
        return torch.fft.ifftn(spec, dim=axes).real

    levels = 5
    assert not empty_octaves(x, levels, dim).any()
    for k in (1, 2):
        flags = empty_octaves(upsample(x, k), levels, dim)
        assert flags[:, :k].all() and not flags[:, k:].any(), flags
    y = upsample(x, 1)
    assert torch.equal(empty_octaves(pyramid_reduce(y, dim), levels - 1, dim), empty_octaves(y, levels, dim)[:, 1:])
    assert not empty_octaves(torch.zeros_like(y), levels, dim)[:, -1].any()  # the coarsest level always stays
    with pytest.raises(ValueError, match="threshold"):
        empty_octaves(x, levels, dim, threshold=1.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_empty_octaves_tests_only_the_leading_run_and_agrees_with_every_level_tested(monkeypatch, dtype):
    """A batch of clips with 0, 1, 2 and 3 band-empty finest levels, and one whose level 0 carries a
    top-band tone above a level 1 that is band-empty (so its run is 0): the flags are those of each
    clip alone, the same from the waveform (with ``skip``) and from its pyramid, and the same as when
    every level of every clip is tested (the path a tracer takes), while the finer-first test
    leaves out the clips whose run has ended."""
    from wavenets.nn import _pyramid, empty_octaves

    torch.manual_seed(0)
    n, levels = 2048, 6
    noise = torch.randn(5, 1, n, dtype=torch.float64)

    def slowed(z, k):  # band-limited to 1/2^k of the Nyquist rate
        spec = torch.fft.rfft(z, dim=-1)
        spec[..., n // 2 ** (k + 1) + 1:] = 0
        return torch.fft.irfft(spec, n=n, dim=-1)

    t = torch.arange(n, dtype=torch.float64)
    x = torch.cat([noise[:1], slowed(noise[1:2], 1), slowed(noise[2:3], 2), slowed(noise[3:4], 3),
                   slowed(noise[4:5], 3) + torch.sin(2 * math.pi * 0.42 * t)]).to(dtype)
    want = torch.zeros(5, levels, dtype=torch.bool)
    for clip, k in enumerate((0, 1, 2, 3, 0)):
        want[clip, :k] = True
    tested = []
    band_empty = _pyramid._band_empty
    monkeypatch.setattr(_pyramid, "_band_empty", lambda level, *a: tested.append(level.shape[0]) or band_empty(level, *a))
    flags = empty_octaves(x, levels, 1)
    assert torch.equal(flags, want), flags
    assert tested == [5, 3, 2, 1], tested  # clips 0 and 4 stop after level 0, clip 1 after level 1, ...
    for clip in range(5):
        assert torch.equal(empty_octaves(x[clip:clip + 1], levels, 1), want[clip:clip + 1])
    assert torch.equal(empty_octaves(scale_pyramid(x, levels, 1), levels, 1), want)
    after = torch.zeros(5, levels - 1, dtype=torch.bool)  # from level 1 on, the tone of clip 4 is gone
    after[2, :1] = after[3, :2] = after[4, :2] = True
    assert torch.equal(empty_octaves(x, levels - 1, 1, skip=1), after)
    assert torch.equal(empty_octaves(pyramid_reduce(x, 1), levels - 1, 1), after)
    monkeypatch.setattr(_pyramid, "_tracing", lambda: True)
    assert torch.equal(empty_octaves(x, levels, 1), want)
    assert torch.equal(empty_octaves(scale_pyramid(x, levels, 1), levels, 1), want)


def test_band_test_filter_is_a_time_invariant_high_pass_with_its_documented_bands():
    """The band test's polyphase FIR is one linear filter (an impulse at any phase gives the same
    response, shifted), rejects everything below TOP_BAND by more than 95 dB and passes everything
    from TOP_BAND + BAND_TRANSITION within 1e-4; a tone just below TOP_BAND leaves a level
    band-empty, one just above the transition does not."""
    from wavenets.nn import empty_octaves
    from wavenets.nn._pyramid import BAND_TRANSITION, TOP_BAND, _top_band

    n = 200
    responses = []
    for at in (0, 5, 16, 37):
        impulse = torch.zeros(1, n, dtype=torch.float64)
        impulse[0, at] = 1
        y = _top_band(impulse, -1)[0]
        responses.append(y[at:at + 129])
        assert y[:at].abs().sum() < 1e-15 and y[at + 129:].abs().sum() < 1e-15
    for r in responses[1:]:
        torch.testing.assert_close(r, responses[0], rtol=0, atol=1e-15)
    h = responses[0]
    x = torch.randn(3, 300, dtype=torch.float64)
    direct = torch.stack([torch.as_tensor(np.convolve(row.numpy(), h.numpy())) for row in x])
    torch.testing.assert_close(_top_band(x, -1)[:, :direct.shape[1]], direct, rtol=0, atol=1e-12)
    power = torch.fft.rfft(h, 1 << 15).abs().pow(2)
    f = torch.arange(len(power), dtype=torch.float64) / (1 << 15)
    assert power[f <= TOP_BAND].max() < 10 ** -9.5
    assert (power[f >= TOP_BAND + BAND_TRANSITION] - 1).abs().max() < 1e-4

    t = torch.arange(4096, dtype=torch.float64)
    for f0, empty in ((TOP_BAND - 0.01, True), (TOP_BAND + BAND_TRANSITION + 0.01, False)):
        tone = (torch.sin(2 * math.pi * 0.05 * t) + 0.1 * torch.sin(2 * math.pi * f0 * t))[None, None]
        assert empty_octaves(tone, 3, 1)[0, 0].item() is empty, f0
        assert empty_octaves(tone.float(), 3, 1)[0, 0].item() is empty, f0


def _harmonic(f0: float, n: int = 8192, harmonics: int = 6, seed: int = 0) -> torch.Tensor:
    """``[1, 1, n]`` float64: a sawtooth-like tone of fundamental ``f0`` (cycles per sample) with
    white noise 40 dB below it."""
    t = torch.arange(n, dtype=torch.float64)
    k = torch.arange(1, harmonics + 1, dtype=torch.float64)[:, None]
    x = ((torch.sin(2 * np.pi * f0 * k * t) / k) * (k * f0 < 0.45)).sum(0)
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (x + 0.01 * x.std() * noise).view(1, 1, n)


def test_content_octave_is_the_fundamentals_octave_and_shifts_with_the_contraction():
    """A tone of fundamental f0 (cycles per sample) sits in the top octave [1/4, 1/2) of level j's
    rate when f0·2^j is there: that level is its content octave. One pyramid reduce moves it by
    exactly one level; silence anchors at the coarsest level, a collapse just below it at it."""
    from wavenets.nn import content_octave, outside_anchor

    levels = 8
    for j_expected, f0 in ((1, 0.15), (3, 0.04), (5, 0.01), (7, 0.003)):  # f0·2^j in [1/4, 1/2) at exactly j_expected
        x = _harmonic(f0)
        assert content_octave(x, levels, 1).item() == j_expected, f0
        pyr = scale_pyramid(x, levels + 1, 1)
        assert content_octave(pyr[1:], levels, 1).item() == j_expected - 1  # reads the levels' own samples
        assert content_octave(pyramid_reduce(x, 1), levels, 1).item() == j_expected - 1
    both = torch.cat([torch.randn(1, 1, 8192, dtype=torch.float64), torch.zeros(1, 1, 8192, dtype=torch.float64)])
    noise, silence = content_octave(both, levels, 1).tolist()
    assert silence == levels - 1 and 0 <= noise < levels
    window = outside_anchor(torch.tensor([3, 0, 7]), levels, 2)
    assert window.tolist() == [[j not in (2, 3) for j in range(8)], [j != 0 for j in range(8)],
                               [j not in (6, 7) for j in range(8)]]
    with pytest.raises(ValueError, match="ratio"):
        content_octave(both, levels, 1, ratio=1.0)


def test_content_octave_without_a_sharp_collapse_is_its_deepest_drop():
    """A tone over a white floor loud enough that no level keeps less than 20% of the finer one's
    power (the floor halves per level; the tone's level keeps 30%): the rule falls back to the
    deepest drop, the tone's octave, and still moves by one level under the contraction. Before,
    such a clip anchored at the coarsest level, as about a fifth of real spoken words did."""
    from wavenets.nn import content_octave

    n, f0, j_tone = 32768, 0.04, 3
    t = torch.arange(n, dtype=torch.float64)
    floor = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = (2**0.5 * torch.sin(2 * torch.pi * f0 * t) + 1.5**0.5 * 2 ** (j_tone / 2) * floor).view(1, 1, n)
    pyr = scale_pyramid(x, 10, 1)
    power = torch.stack([level.pow(2).mean() for level in pyr])
    share = power[1:] / power[:-1]
    assert share.min() > 0.2 and share.argmin().item() == j_tone  # no sharp collapse; the deepest drop at the tone
    assert content_octave(x, 8, 1).item() == j_tone
    assert content_octave(pyramid_reduce(x, 1), 8, 1).item() == j_tone - 1
    assert content_octave(x, 8, 1, ratio=0.35).item() == j_tone  # the first drop below 0.35 is the same level


def test_centroid_octave_is_where_the_power_sits_and_shifts_with_the_contraction():
    """A tone in the top octave [1/4, 1/2) of level j's rate has its power in band j: the centroid
    is j; two equal tones in bands 1 and 3 give 2, twice the power in band 3 2.33 (rounds to 2),
    four times 2.6 (rounds to 3). One pyramid reduce moves the anchor by exactly one level
    for a clip with no power in its finest band; silence anchors at the coarsest level."""
    from wavenets.nn import centroid_octave

    n, levels = 8192, 8
    t = torch.arange(n, dtype=torch.float64)
    tone = lambda f, a=1.0: a * torch.sin(2 * torch.pi * f * t)
    for j, f in ((0, 0.35), (1, 0.17), (2, 0.09), (3, 0.045), (5, 0.011)):  # f·2^j in [1/4, 1/2)
        assert centroid_octave(tone(f).view(1, 1, n), levels, 1).item() == j, f
    pair = torch.stack([tone(0.17) + tone(0.045), tone(0.17) + tone(0.045, 2**0.5), tone(0.17) + tone(0.045, 2.0)])
    assert centroid_octave(pair[:, None], levels, 1).tolist() == [2, 2, 3]
    low = torch.stack([tone(0.09) + tone(0.03), tone(0.045) + tone(0.011, 2.0)])[:, None]  # nothing above 1/4
    assert centroid_octave(low, levels, 1).tolist() == [3, 5]
    assert centroid_octave(pyramid_reduce(low, 1), levels, 1).tolist() == [2, 4]
    pyr = scale_pyramid(low, levels + 1, 1)
    assert centroid_octave(pyr[1:], levels, 1).tolist() == [2, 4]  # reads the levels' own samples
    assert centroid_octave(torch.zeros(1, 1, n, dtype=torch.float64), levels, 1).item() == levels - 1


def test_centroid_octave_of_vowel_like_clips_moves_with_tape_speed_less_with_pitch():
    """On vowel-like clips (formants, vibrato, noise, a DC offset) the centroid moves by one level
    per octave of tape speed for nearly every clip (measured 63, 63 and 59 of 64 at ×0.5, ×2 and
    ×0.25). The pitch alone moves it less than the content octave: the same formants under
    pitches 85 and 260 Hz (1.6 octaves) keep their centroid for most clips and their content
    octave for few (the glottal roll-off puts much of a voice's power in its first harmonics, so
    pitch still counts)."""
    from wavenets.data import time_stretch
    from wavenets.nn import centroid_octave, content_octave

    x, _ = _vowels(64)
    base = centroid_octave(x, 9, 1)
    for factor, shift in ((0.5, -1), (2.0, 1), (0.25, -2)):
        moved = centroid_octave(time_stretch(x, factor), 9, 1) - base
        assert (moved == shift).float().mean() >= 0.9, (factor, moved.tolist())
    low, high = _vowels(32, f0=85.0), _vowels(32, f0=260.0)  # the same formants and noise, another pitch
    kept = (centroid_octave(low[0], 9, 1) == centroid_octave(high[0], 9, 1)).float().mean()
    content_kept = (content_octave(low[0], 9, 1) == content_octave(high[0], 9, 1)).float().mean()
    assert kept >= 0.5 and kept - content_kept >= 0.3, (kept, content_kept)  # measured 20 / 32 against 6 / 32


def _vowels(count: int, sr: int = 16000, n: int = 16000, seed: int = 0,
            f0: float | None = None) -> tuple[torch.Tensor, list[float]]:
    """Vowel-like clips unlike the embedded sounds: a glottal pulse train (f0 85–260 Hz, or ``f0``
    for every clip with all else the same, 3% vibrato, jitter), -12 dB/oct glottal roll-off, lip
    radiation, three formant resonators, an envelope of 0.6 s, white noise at 20 dB SNR and a DC
    offset."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    clips, f0s = [], []
    pitch = f0
    for _ in range(count):
        f0 = float(np.exp(rng.uniform(np.log(85), np.log(260))))
        f0 = f0 if pitch is None else pitch
        t = np.arange(n) / sr
        inst = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t)) * (1 + 1e-4 * rng.standard_normal(n).cumsum())
        pulses = np.diff(np.floor(np.cumsum(inst) / sr), prepend=0)
        y = np.diff(lfilter([1], [1, -0.97], lfilter([1], [1, -0.97], pulses)), prepend=0)
        for f, bw in ((rng.uniform(300, 900), 80), (rng.uniform(900, 2300), 120), (rng.uniform(2300, 3200), 160)):
            r, th = np.exp(-np.pi * bw / sr), 2 * np.pi * f / sr
            y = lfilter([1 - r], [1, -2 * r * np.cos(th), r * r], y)
        env = np.clip(1 - ((np.arange(n) - rng.uniform(0.3, 0.7) * n) / (0.3 * sr)) ** 2, 0, None) ** 0.5
        y = y * env / (np.std(y * env) + 1e-12)
        clips.append(y + 0.1 * rng.standard_normal(n) + 0.05)
        f0s.append(f0)
    return torch.tensor(np.stack(clips), dtype=torch.float32)[:, None], f0s


def test_content_octave_of_vowel_like_clips_moves_with_tape_speed():
    """Not only the embedded sounds: on vowel-like clips at 16 kHz (formants, vibrato, noise, a DC
    offset) the content octave moves by exactly one level per octave of tape speed (FFT
    stretch, centre-cropped to the clip) for nearly every clip: measured 64 / 64 at ×0.5 and
    ×0.25, 63 / 64 at ×2 (the crop can cut the vowel's edge)."""
    from wavenets.data import time_stretch
    from wavenets.nn import content_octave

    x, _ = _vowels(64)
    base = content_octave(x, 9, 1)
    assert len(set(base.tolist())) >= 2  # anchors spread over levels: not a constant
    for factor, shift in ((0.5, -1), (2.0, 1), (0.25, -2)):
        moved = content_octave(time_stretch(x, factor), 9, 1) - base
        assert (moved == shift).float().mean() >= 0.9, (factor, moved.tolist())
    # above the floor the faster speeds move as well (measured 64 / 64), the zero padding left out;
    # slowed down twice, a vowel of 0.6 s fills the window and leaves no quiet frames: 50 / 64 move
    # by exactly one level (the plain rule 63; floor = 0.4: 27), the floor's cost (docs/wavelet_networks.md)
    base = content_octave(x, 9, 1, floor=0.25)
    for factor, shift in ((0.5, -1), (0.25, -2)):
        moved = content_octave(time_stretch(x, factor), 9, 1, floor=0.25) - base
        assert (moved == shift).float().mean() >= 0.95, (factor, moved.tolist())


def _with_hum(x: torch.Tensor, snr_db: float, sr: int = 16000) -> torch.Tensor:
    """``x`` plus a 60 Hz mains hum ``snr_db`` below each clip's power: a steady background in the
    coarse octaves, below every voice's fundamental."""
    t = torch.arange(x.shape[-1], dtype=torch.float64) / sr
    hum = 2**0.5 * torch.sin(2 * torch.pi * 60 * t)
    return (x.double() + hum * (x.double().pow(2).mean(-1, keepdim=True) * 10 ** (-snr_db / 10)).sqrt())


def test_content_octave_above_the_floor_holds_under_a_steady_hum():
    """A hum 10 dB below vowel-like clips holds power in the octaves below their fundamentals, so
    the plain rule misses the drop below the voice and anchors coarser for most clips (it keeps
    the clean anchor of 9 of 64). With ``floor = 0.25`` each octave band counts only its power
    above its quietest quarter of frames, and 44 of 64 keep it (``floor = 0.4``: 59). Without the
    hum, ``floor = 0.25`` changes no anchor of these clips, whose vowel leaves quiet frames in the
    window (``0.4`` changes 3)."""
    from wavenets.nn import content_octave

    x, _ = _vowels(64)
    clean = content_octave(x, 9, 1)
    hummed = _with_hum(x, 10.0)
    assert (content_octave(hummed, 9, 1) == clean).float().mean() <= 0.25
    assert (content_octave(hummed, 9, 1, floor=0.25) == clean).float().mean() >= 0.6
    assert (content_octave(hummed, 9, 1, floor=0.4) == clean).float().mean() >= 0.85
    assert (content_octave(x, 9, 1, floor=0.25) == clean).float().mean() >= 0.95
    with pytest.raises(ValueError, match="floor quantile"):
        content_octave(x, 9, 1, floor=1.0)


def test_the_floor_reads_each_levels_own_samples_and_skips_digital_silence():
    """The floor-corrected powers of the pyramid contracted once are the original's one level on,
    bit for bit (the anchor shifts with the contraction as the plain rule's does), and the zeros
    that pad a clip played faster hold no floor: a hummed clip padded with digital silence on
    both sides has the powers of the clip alone, to 2% (the frames beside the padding, which hold
    the REDUCE's smear of the clip's edge, are left out; counted, they moved powers by up to 16%)."""
    from wavenets.nn._pyramid import _level_powers

    x, _ = _vowels(8)
    x = _with_hum(x, 10.0)
    pyr = scale_pyramid(x, 10, 1)
    for q in (0.0, 0.25, 0.4):
        assert torch.equal(_level_powers(pyr[1:], 8, 1, 0, q), _level_powers(pyr, 9, 1, 0, q)[:, 1:])
    alone = _level_powers(x[..., :8192], 5, 1, 0, 0.25)
    padded = torch.nn.functional.pad(x[..., :8192], (4096, 4096))  # whole frames of zeros at every level used
    scale = 2.0  # twice the samples: the mean powers halve, the floors do not
    torch.testing.assert_close(_level_powers(padded, 5, 1, 0, 0.25) * scale, alone, rtol=0.02, atol=0)


def test_the_floors_quantile_is_torchs_over_the_valid_entries():
    from wavenets.nn._pyramid import _quantile

    gen = torch.Generator().manual_seed(0)
    v = torch.randn(6, 11, generator=gen, dtype=torch.float64)
    valid = torch.rand(6, 11, generator=gen) > 0.4
    valid[0] = True
    valid[1] = False
    valid[2] = False
    valid[2, 3] = True
    for q in (0.0, 0.1, 0.25, 0.4, 0.9):
        got = _quantile(v, valid, q)
        for row in range(6):
            want = torch.quantile(v[row][valid[row]], q) if valid[row].any() else torch.tensor(0.0, dtype=v.dtype)
            torch.testing.assert_close(got[row], want, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_band_tests_window_is_torchs_hann_window_bitwise(dtype):
    """The band test's window is written out in plain operators (exportable to ONNX by older
    torch) and equals torch.hann_window(n, periodic=False) bit for bit, so no decision moves."""
    from wavenets.nn._pyramid import _hann

    like = torch.empty(0, dtype=dtype)
    for n in [1, 2, 3, 5, 8, 31, 345, 1379, 2757, 8192, 16384, 44100, 88200]:
        assert torch.equal(_hann(n, like), torch.hann_window(n, periodic=False, dtype=dtype)), n
