"""B-spline pre-blur for dilated (à-trous) kernels: the anti-aliasing option of dilation layers.

Blurring the input with the cubic B-spline at scale ``d``, ``b_d[n] = β³(n/d)/d``, before a
convolution with dilation ``d`` turns the sparse à-trous kernel into a smooth one (the learned
taps interpolated by B-splines), so coarse scales stop aliasing. For dyadic dilations the blurs
come from the B-spline two-scale relation ``b_2d = b_d * (h ↑ d)``, ``h = [1, 4, 6, 4, 1] / 16``:
each scale costs a 5-tap depthwise convolution whatever its size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["bspline_blurs", "bspline_kernel"]

_H = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)


def _cubic_bspline(x: Tensor) -> Tensor:
    a = x.abs()
    return torch.where(a < 1, 2 / 3 - a**2 + a**3 / 2, torch.where(a < 2, (2 - a) ** 3 / 6, torch.zeros_like(a)))


def bspline_kernel(d: int, dtype=torch.float64) -> Tensor:
    """``b_d[n] = β³(n/d)/d`` for ``|n| < 2d``: the sampled cubic B-spline at scale ``d``."""
    n = torch.arange(-2 * d + 1, 2 * d, dtype=torch.float64)
    return (_cubic_bspline(n / d) / d).to(dtype)


def _depthwise(x: Tensor, taps: Tensor, dilation: int, dim: int) -> Tensor:
    """Separable symmetric filter along the last ``dim`` axes, zero padding, same size."""
    c = x.shape[1]
    k = len(taps)
    pad = dilation * (k - 1) // 2
    w = taps.to(x.dtype).to(x.device)
    if dim == 1:
        return F.conv1d(x, w.view(1, 1, k).expand(c, 1, k), padding=pad, dilation=dilation, groups=c)
    x = F.conv2d(x, w.view(1, 1, k, 1).expand(c, 1, k, 1), padding=(pad, 0), dilation=dilation, groups=c)
    return F.conv2d(x, w.view(1, 1, 1, k).expand(c, 1, 1, k), padding=(0, pad), dilation=dilation, groups=c)


def bspline_blurs(x: Tensor, dilations: list[int], dim: int) -> dict[int, Tensor]:
    """``{d: x * b_d}`` for every dilation ``d`` (``x: [B, C, *S]``)."""
    out: dict[int, Tensor] = {}
    wanted = sorted(set(dilations))
    cur, cur_d = _depthwise(x, bspline_kernel(1), 1, dim), 1
    out[1] = cur
    for d in wanted:
        if d in out:
            continue
        if math.log2(d).is_integer():
            while cur_d < d:  # cascade: b_2d = b_d * (h dilated by d)
                cur = _depthwise(cur, torch.tensor(_H, dtype=torch.float64), cur_d, dim)
                cur_d *= 2
                out[cur_d] = cur
        else:
            out[d] = _depthwise(x, bspline_kernel(d), 1, dim)
    return out
