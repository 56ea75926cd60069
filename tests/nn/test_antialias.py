"""The B-spline anti-aliasing option of dilation layers."""
import pytest
import torch
import torch.nn.functional as F

from wavenets.groups import Dilation, Rotation
from wavenets.nn import GroupConv, LiftingConv
from wavenets.nn._blur import bspline_blurs, bspline_kernel, bspline_pyramid
from wavenets.testing import equivariance_error, smooth_signal


@pytest.mark.parametrize("dim", [1, 2])
def test_cascade_equals_the_sampled_bspline(dim):
    x = torch.randn(2, 3, *([96] * dim), dtype=torch.float64)
    blurs = bspline_blurs(x, [1, 2, 4, 8, 3], dim)
    for d in (1, 2, 4, 8, 3):
        k = bspline_kernel(d)
        assert abs(k.sum().item() - 1) < 1e-12
        ref = x
        for axis in range(dim):
            shape = [1, 1] + [1] * dim
            shape[2 + axis] = len(k)
            w = k.view(shape).expand(3, *shape[1:])
            pad = [0] * dim
            pad[axis] = len(k) // 2
            ref = (F.conv1d if dim == 1 else F.conv2d)(ref, w, padding=tuple(pad) if dim == 2 else pad[0], groups=3)
        inner = (slice(None), slice(None)) + (slice(40, -40),) * dim
        assert torch.allclose(blurs[d][inner], ref[inner], atol=1e-12)


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("steps", [
    {1: 1, 2: 1, 4: 2, 8: 4, 16: 8, 32: 16},  # multirate=2
    {1: 1, 2: 1, 4: 2, 8: 4, 16: 8, 32: 8, 64: 8},  # capped by a pooling window of 16
    {4: 2, 16: 8},  # only some scales wanted
    {1: 1, 3: 1, 4: 4},  # a non-dyadic scale falls back to the full-rate blur
    {2: 2, 4: 1},  # steps that do not nest fall back too
])
def test_pyramid_equals_the_full_rate_cascade_at_its_samples(dim, steps):
    x = torch.randn(2, 3, *([67, 45][:dim]), dtype=torch.float64)
    full = bspline_blurs(x, list(steps), dim)
    pyramid = bspline_pyramid(x, steps, dim)
    assert sorted(pyramid) == sorted(steps)
    for d, s in steps.items():
        ref = full[d][(Ellipsis,) + (slice(None, None, s),) * dim]
        assert pyramid[d].shape == ref.shape
        torch.testing.assert_close(pyramid[d], ref, rtol=0, atol=1e-12)


def test_antialias_reduces_the_stretch_error_on_broadband_signals():
    x = smooth_signal(4, 1, 4096, max_cycles=800)
    up = F.interpolate(x, size=2 * 4096 - 1, mode="linear", align_corners=True)
    errs = {}
    for aa in (False, True):
        torch.manual_seed(0)
        lift = LiftingConv(Dilation(9), 1, 8, 79, dim=1, antialias=aa).double()
        y = Dilation(9).act_on_features(lift(x), 1)
        keep = torch.isfinite(y)
        errs[aa] = ((lift(up) - y)[keep].norm() / y[keep].norm()).item()
        assert equivariance_error(lift, Dilation(9), x, [-1]).item() < (1e-10 if not aa else 0.05)
    assert errs[True] < 0.8 * errs[False]  # measured: 4.7% -> 2.8%


def test_antialias_group_conv_and_errors():
    g = Dilation(4)
    conv = GroupConv(g, 3, 2, 3, dim=1, group_kernel_size=2, antialias=True)
    assert conv(torch.randn(2, 3, 4, 64)).shape == (2, 2, 4, 64)
    assert "antialias=True" in repr(conv)
    with pytest.raises(ValueError, match="antialias=True blurs"):
        LiftingConv(Rotation(4), 3, 2, 3, antialias=True)
