"""Max pooling on the CPU without torch's slow paths.

- Over time in training. ``F.max_pool1d`` of a tensor that needs a gradient runs the pool that
  also returns each window's index. At ``[64, 28, 4096]`` (the first level of a two-voice SC09
  batch; 2 cores, torch 2.13) that pool takes about 20 ms against 1.5-2.5 ms for the pool alone,
  and 22-24 ms with its backward. :func:`max_pool1d` runs the plain pool forward and finds each
  window's first maximum in the backward, from the input (which the ReLU before the pool
  already keeps) and the output: 11-14 ms in all, the same values and the same gradient, bit
  for bit. A training step of the M-Nets takes 0.86-0.94× its time with torch's pool, the
  pyramid recipes' 0.93-0.97×.
- Images at inference: :func:`max_pool2d` takes windows that tile the image as element-wise
  maxima of strided views, about 10× torch's NCHW pool.

``python -m benchmarks.cpu_paths`` times both against torch's pools.
"""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from ._trace import _tracing

#: window sizes whose masks fit one machine word per window (bytes -> word)
_WORDS = {2: torch.int16, 4: torch.int32, 8: torch.int64}
#: the lowest set byte of a word is its first byte in memory only on little-endian machines
_LITTLE_ENDIAN = sys.byteorder == "little"
#: False runs torch's pools everywhere (``python -m benchmarks.cpu_paths`` times both)
FAST_POOLS = True


def max_pool1d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``F.max_pool1d`` (same arguments, same result); non-overlapping windows of 2, 4 or 8
    samples of a CPU tensor that needs a gradient take :class:`_WindowMax`."""
    if (FAST_POOLS and kernel_size in _WORDS and stride in (None, kernel_size) and padding == 0 and dilation == 1
            and not return_indices and x.requires_grad and torch.is_grad_enabled() and x.device.type == "cpu"
            and _LITTLE_ENDIAN and not _tracing()):
        return _WindowMax.apply(x, kernel_size, ceil_mode)
    return F.max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=return_indices)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``F.max_pool2d`` (same arguments, same values). With no gradient to record, on the CPU,
    windows that tile the image (stride = kernel, sizes multiples of it) are taken as ``k - 1``
    element-wise maxima of strided views per axis: torch's NCHW pool runs at about a tenth of that
    speed (``[32, 96, 44, 44]``, 2 cores: 15 ms against 1.3-1.8 ms), and the image recipes' inference
    takes 0.66-0.78× its time. In training torch's pool stays (a first-maximum backward built
    like :class:`_WindowMax`'s saved 0-27% of its forward and backward, not kept)."""
    ks = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
    if (FAST_POOLS and stride in (None, kernel_size, ks) and padding in (0, (0, 0)) and dilation in (1, (1, 1))
            and not return_indices and not (x.requires_grad and torch.is_grad_enabled()) and x.device.type == "cpu"
            and x.dim() >= 3
            and all(n % k == 0 for n, k in zip(x.shape[-2:], ks)) and not _tracing()):
        return _tiled_max(x, ks)
    return F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=return_indices)


def _tiled_max(x: Tensor, ks: tuple[int, ...]) -> Tensor:
    """Max over the windows ``ks`` that tile the last ``len(ks)`` axes (sizes multiples of them)."""
    for axis, k in zip(range(x.dim() - len(ks), x.dim()), ks):
        window = [slice(None)] * x.dim()
        m = None
        for i in range(k):
            window[axis] = slice(i, None, k)
            m = x[tuple(window)] if m is None else torch.maximum(m, x[tuple(window)])
        x = m
    return x


class _WindowMax(torch.autograd.Function):
    """Max over windows of ``k`` samples along the last axis (``k`` in :data:`_WORDS`).

    Backward (once differentiable): the windows' masks ``x == y``, read as one ``k``-byte
    word per window; ``w & -w`` keeps the lowest set byte, which is the window's first maximum
    (on a little-endian machine; :func:`max_pool1d` uses torch's pool on others), the one torch's
    pool picks. A partial last window (``ceil_mode``) takes ``argmax``, which also picks the first.
    A window whose maximum is NaN passes no gradient (torch's pool passes it to a NaN sample)."""

    @staticmethod
    def forward(ctx, x: Tensor, k: int, ceil_mode: bool) -> Tensor:
        y = F.max_pool1d(x, k, k, ceil_mode=ceil_mode)
        ctx.save_for_backward(x, y)
        ctx.k = k
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, g: Tensor):
        x, y = ctx.saved_tensors
        k, t = ctx.k, x.shape[-1]
        n = t // k  # whole windows
        gx = None if n * k == t else torch.zeros_like(x)
        if n:
            eq = (x[..., : n * k].unflatten(-1, (n, k)) == y[..., :n, None]).contiguous()
            w = eq.view(torch.uint8).view(_WORDS[k])  # [..., n, 1]: one word per window
            first = (w & -w).view(torch.uint8)  # [..., n, k]
            if gx is None:
                return (first * g[..., None]).flatten(-2), None, None
            torch.mul(first, g[..., :n, None], out=gx[..., : n * k].unflatten(-1, (n, k)))
        if y.shape[-1] > n:  # the partial window of ceil_mode
            tail = x[..., n * k:]
            gx[..., n * k:] = torch.zeros_like(tail).scatter_(-1, tail.argmax(-1, keepdim=True), g[..., n:])
        return gx, None, None
