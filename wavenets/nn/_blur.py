"""B-spline pre-blur for dilated (à-trous) kernels: the anti-aliasing option of dilation layers.

Blurring the input with the cubic B-spline at scale ``d``, ``b_d[n] = β³(n/d)/d``, before a
convolution with dilation ``d`` turns the sparse à-trous kernel into a smooth one (the learned
taps interpolated by B-splines), so coarse scales stop aliasing. For dyadic dilations the blurs
come from the B-spline two-scale relation ``b_2d = b_d * (h ↑ d)``, ``h = [1, 4, 6, 4, 1] / 16``:
each scale costs a 5-tap depthwise convolution whatever its size. When scale ``d`` is only read
every ``s_d`` samples (multirate layers, ``s_d`` growing with ``d``), the cascade itself runs on the
subsampled signals (:func:`bspline_pyramid`): a Gaussian-pyramid-like cost of about two full-rate
passes in all, with exactly the full-rate cascade's values at the kept samples.

The scale-space pyramid layout (:mod:`wavenets.nn._pyramid`) uses the same ``h`` for its two
resampling operators: :func:`pyramid_reduce` ``↓2(g ∗ x)`` (Burt & Adelson's REDUCE, with a
sharper half-band ``g`` instead of ``h``) builds the next octave, and :func:`pyramid_expand`
``2·h ∗ (↑2 x)`` (EXPAND, cubic B-spline subdivision) brings a coarser octave to its finer
neighbour's rate.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ._spatial import spatial
from ._trace import _tracing

__all__ = ["bspline_blurs", "bspline_kernel", "bspline_pyramid", "pyramid_reduce", "pyramid_expand", "pyramid_expand_into",
           "REDUCE_FILTER"]

_H = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)


def _cubic_bspline(x: Tensor) -> Tensor:
    a = x.abs()
    return torch.where(a < 1, 2 / 3 - a**2 + a**3 / 2, torch.where(a < 2, (2 - a) ** 3 / 6, torch.zeros_like(a)))


def bspline_kernel(d: int, dtype=torch.float64) -> Tensor:
    """``b_d[n] = β³(n/d)/d`` for ``|n| < 2d``: the sampled cubic B-spline at scale ``d``."""
    n = torch.arange(-2 * d + 1, 2 * d, dtype=torch.float64)
    return (_cubic_bspline(n / d) / d).to(dtype)


def _depthwise(x: Tensor, taps: Tensor, dilation: int, dim: int, stride: int = 1,
               padding_mode: str = "zeros") -> Tensor:
    """Separable symmetric filter along the last ``dim`` axes, padded with zeros (or as
    ``padding_mode``: ``torch.nn.functional.pad`` modes); same size, or ``ceil(n / stride)``
    samples per axis (the filtered signal at multiples of ``stride``)."""
    c = x.shape[1]
    k = len(taps)
    pad = dilation * (k - 1) // 2
    w = taps.to(x.dtype).to(x.device)
    conv = spatial(dim).conv
    for axis in range(dim):  # one 1-D pass per axis

        def along(value, other):  # ``value`` on this pass's axis, ``other`` on the rest
            return tuple(value if a == axis else other for a in range(dim))

        shape = along(k, 1)
        if padding_mode != "zeros":
            # F.pad lists the last axis first
            x = F.pad(x, sum(((pad, pad) if a == axis else (0, 0) for a in reversed(range(dim))), ()), mode=padding_mode)
        x = conv(x, w.view(1, 1, *shape).expand(c, 1, *shape), stride=along(stride, 1),
                 padding=along(pad if padding_mode == "zeros" else 0, 0), dilation=along(dilation, 1), groups=c)
    return x


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


def bspline_pyramid(x: Tensor, steps: dict[int, int], dim: int) -> dict[int, Tensor]:
    """``{d: (x * b_d)[::s]}`` for every ``d: s`` in ``steps`` (``s`` divides ``d``; every
    ``s``-th sample along each of the last ``dim`` axes, ``ceil(n / s)`` samples).

    Dyadic scales cascade on the subsampled signals: ``(x * b_2d)[::s']`` reads
    ``(x * b_d)[::s]`` with ``h`` dilated by ``d / s`` at stride ``s' / s``, so coarse scales cost
    ``1/s^dim`` of a full-rate pass. The zero padding of each stage matches the full-rate cascade
    of :func:`bspline_blurs` sample for sample. Steps that do not nest that way fall back to the
    full-rate blur and a slice.
    """
    h = torch.tensor(_H, dtype=torch.float64)
    wanted = sorted(steps)
    top = max(wanted)
    dyadic = [1 << j for j in range(top.bit_length()) if 1 << j <= top]
    # the step each cascade level runs at: the finest step any later wanted scale needs
    level = {d: min([steps[w] for w in wanted if w >= d and w in dyadic] or [1]) for d in dyadic}
    nested = all(level[d] <= d and d % level[d] == 0 for d in dyadic) and all(
        level[2 * d] % level[d] == 0 for d in dyadic if 2 * d in level) and all(
        steps[d] % level[d] == 0 for d in wanted if d in level)
    out: dict[int, Tensor] = {}
    full = None
    if nested and any(w in level for w in wanted):
        cur = _depthwise(x, bspline_kernel(1), 1, dim, stride=level[1])  # b_1 is 3 taps: stride is exact
        for d in dyadic:
            if d > 1:  # (x * b_d)[::s] from (x * b_{d/2})[::s_prev]
                prev = level[d // 2]
                cur = _depthwise(cur, h, d // 2 // prev, dim, stride=level[d] // prev)
            if d in steps:
                s = steps[d] // level[d]
                out[d] = cur if s == 1 else cur[(Ellipsis,) + (slice(None, None, s),) * dim]
    for d in wanted:
        if d not in out:
            full = full if full is not None else bspline_blurs(x, [w for w in wanted if w not in out], dim)
            out[d] = full[d][(Ellipsis,) + (slice(None, None, steps[d]),) * dim]
    return out


def _halfband(taps: int = 31, beta: float = 8.0) -> Tensor:
    """Kaiser-windowed sinc low-pass at a quarter of the sampling rate (the new Nyquist after
    ↓2), normalised to unit DC gain: a 2× decimation filter."""
    n = torch.arange(taps, dtype=torch.float64) - taps // 2
    h = torch.sinc(n / 2) / 2 * torch.kaiser_window(taps, periodic=False, beta=beta, dtype=torch.float64)
    return h / h.sum()


#: the pyramid's decimation filter: 31 taps; within 1 dB up to 0.21 of the rate, -0.5 at 0.25,
#: -46 dB from 0.32 and -81 dB from 0.35 (measured)
REDUCE_FILTER = _halfband()


def pyramid_reduce(x: Tensor, dim: int, padding_mode: str = "zeros") -> Tensor:
    """``↓2(g ∗ x)`` on the last ``dim`` axes, zero padding (or ``padding_mode``, e.g.
    ``"replicate"``, under which a constant image stays constant): ``[B, C, *X] -> [B, C, *ceil(X/2)]``.

    ``g`` is :data:`REDUCE_FILTER`, a half-band (Kaiser-windowed sinc) low-pass, so an octave of
    the pyramid is close to an ideal 2× contraction (band-limited resampling, a tape played at
    double speed): on the embedded sounds the relative difference is 0.067, against 0.167 with
    the 5-tap B-spline ``h``. Sample ``t`` of the result sits on sample ``2t`` of ``x``; this is the
    pyramid's contraction by 2, the action under which pyramid-layout networks are exactly
    equivariant whatever the filter.
    """
    if padding_mode != "zeros" or x.device.type != "cpu" or max(x.shape[-dim:]) < POLYPHASE_FROM or _tracing():
        return _depthwise(x, _reduce_filter(x.dtype, x.device), 1, dim, stride=2, padding_mode=padding_mode)
    for axis in range(x.dim() - dim, x.dim()):  # one pass per axis, in _depthwise's order
        x = _reduce_polyphase(x.movedim(axis, -1)).movedim(-1, axis)
    return x


#: from this many samples on (along any axis), :func:`pyramid_reduce` on the CPU runs as polyphase
#: convolutions (:func:`_reduce_polyphase`, one per axis); traced and exported models keep the
#: stride-2 convolution. ``python -m benchmarks.cpu_paths`` times both; on 2 cores, torch 2.13,
#: float32, the polyphase REDUCE takes 0.26× the stride-2 convolution's time
#: at 32 × 16,384 samples, 0.26-0.43× at 4-16 × 88,200, 0.51× at 32 × 1,024, 0.76× at 32 × 128, and
#: about as long below 64 samples; float64 0.21-0.78×; images 0.29× at 8 × 3 × 512², 0.72× at
#: 32 × 3 × 44², 1.3× at 32 × 3 × 22².
POLYPHASE_FROM = 64
#: phases of the polyphase REDUCE: input samples per block (16 was the fastest of 8 / 16 / 32 / 64)
_PHASES = 16


def _polyphase(g: Tensor, p: int) -> tuple[Tensor, int]:
    """``(bank [p/2, p, 2·pad + 1], pad)``: the filter ``g`` at stride 2 as a convolution of blocks
    of ``p`` input samples (channels) to blocks of ``p/2`` output samples, reading ``pad`` blocks
    of zeros before and after the signal. Output ``q`` of block ``m`` is sample ``(p/2)·m + q`` of
    the REDUCE; it reads input sample ``p·m + 2q + k − r`` (``r`` the filter's radius) with tap
    ``k``, which is phase ``ph`` of block ``m + s``: ``bank[q, ph, s + pad] = g[k]``. Every entry
    holds one tap or zero, so the bank is the filter's own numbers."""
    radius = len(g) // 2
    pad = max(-((-radius) // p), (p - 2 + radius) // p)  # blocks read before and after block m
    bank = torch.zeros(p // 2, p, 2 * pad + 1, dtype=torch.float64)
    for q in range(p // 2):
        for k in range(len(g)):
            s, ph = divmod(2 * q + k - radius, p)
            bank[q, ph, s + pad] = g[k]
    return bank, pad


#: :data:`REDUCE_FILTER` as the polyphase bank (made here, once: never inside a trace)
_POLYPHASE_BANK, _POLYPHASE_PAD = _polyphase(REDUCE_FILTER, _PHASES)


def _reduce_polyphase(x: Tensor) -> Tensor:
    """:func:`pyramid_reduce` of ``x: [..., T]`` along its last axis with zero padding, as *one*
    dense convolution of the signal cut into blocks of ``P`` samples (``P`` input channels, ``P/2``
    output channels, 3 taps of blocks) instead of a one-channel convolution at stride 2, which the
    CPU runs at a few percent of its speed. The same sums of the same products, up to their order.

    The blocks are the signal's own memory read as a channels-last image ``[N, P, blocks, 1]``, and
    the output comes back channels-last, which is the output signal's memory: no copy in or out
    (one zero-padded copy in where ``T`` is not a multiple of ``P``)."""
    n = x.shape[-1]
    bank = _converted("polyphase", _POLYPHASE_BANK, x.dtype, x.device)
    p = _PHASES
    m = -(-n // p)
    flat = x.reshape(-1, n)
    if m * p != n:
        flat = F.pad(flat, (0, m * p - n))
    blocks = flat.view(-1, m, 1, p).permute(0, 3, 1, 2)  # [N, P, m, 1], channels-last: a view
    y = F.conv2d(blocks, bank[..., None], padding=(_POLYPHASE_PAD, 0))  # [N, P/2, m, 1]: block m, phase q
    y = y.permute(0, 2, 3, 1).reshape(*x.shape[:-1], m * p // 2)  # channels-last: a view
    return y if m * p == n else y[..., : (n + 1) // 2].contiguous()


_CONVERTED: dict[tuple, Tensor] = {}


def _converted(name: str, t: Tensor, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The constant ``t`` (called ``name``) in ``dtype`` on ``device``, converted once (not a
    conversion and, on a GPU, a host-to-device copy on every call).

    The copy kept is an ordinary tensor whatever the caller's mode: made outside inference mode
    (autograd may save it later), and never a tracer's stand-in (``torch.export`` converts it to
    a fake tensor, which is returned for that trace and not kept: an eager call after the export
    would otherwise compute on it)."""
    key = (name, dtype, device)
    kept = _CONVERTED.get(key)
    if kept is None:
        with torch.inference_mode(False):
            kept = t.to(dtype=dtype, device=device)
        if type(kept) is torch.Tensor:
            _CONVERTED[key] = kept
    return kept


def _reduce_filter(dtype: torch.dtype, device: torch.device) -> Tensor:
    """:data:`REDUCE_FILTER` in ``dtype`` on ``device`` (:func:`_converted`)."""
    return _converted("reduce", REDUCE_FILTER, dtype, device)


def _pad_last(x: Tensor, left: int, right: int, mode: str) -> Tensor:
    """``x`` padded on its last axis only, with zeros or as ``mode`` (any number of leading axes)."""
    if mode == "zeros":
        return F.pad(x, (left, right))
    return F.pad(x.reshape(-1, 1, x.shape[-1]), (left, right), mode=mode).view(*x.shape[:-1], -1)


def pyramid_expand(x: Tensor, size: list[int] | tuple[int, ...], dim: int, padding_mode: str = "zeros") -> Tensor:
    """``2·h ∗ (↑2 x)`` on the last ``dim`` axes, cropped or zero-padded to ``size`` (or padded
    as ``padding_mode``, e.g. ``"replicate"``: a constant stays constant).

    ``x: [B, C, *X]`` at half the rate of the wanted ``size``; sample ``t`` of ``x`` lands on
    sample ``2t``. The B-spline subdivision step: smooth, and a fixed linear operator, so a layer
    that reads a coarser octave through it stays exactly equivariant under the pyramid shift.
    Computed in polyphase form, ``y[2t] = (x[t−1] + 6x[t] + x[t+1]) / 8``,
    ``y[2t+1] = (x[t] + x[t+1]) / 2`` (zero outside): elementwise work, no depthwise
    convolution (whose backward is slow on CPU). With zero padding and no axis padded, forward
    and backward are each a few passes straight into their outputs, one axis at a time
    (:class:`_Expand`: no padded copy, no interleaving copy, no zero-filled gradients of slices;
    docs/benchmarks.md times it); under a tracer or compiler, plain tensor operations.
    """
    if padding_mode == "zeros" and all(n <= 2 * m for n, m in zip(size, x.shape[-dim:])) and not _tracing():
        for axis, n in zip(range(x.dim() - dim, x.dim()), size):
            x = _Expand.apply(x, n, axis, pyramid_expand_into, _expand_adjoint_into)
        return x
    for axis in range(x.dim() - dim, x.dim()):
        n = x.shape[axis]
        xp = _pad_last(x.movedim(axis, -1), 1, 1, padding_mode)  # [..., n + 2]
        prev, cur, nxt = xp[..., :-2], xp[..., 1:-1], xp[..., 2:]
        even = (prev + nxt + 6 * cur) * 0.125
        odd = (cur + nxt) * 0.5
        y = torch.stack((even, odd), -1).flatten(-2)  # [..., 2n]
        want = size[axis - (x.dim() - dim)]
        y = y[..., :want] if want <= 2 * n else _pad_last(y, 0, want - 2 * n, padding_mode)
        x = y.movedim(-1, axis)
    return x


def pyramid_expand_into(x: Tensor, out: Tensor) -> Tensor:
    """:func:`pyramid_expand` of ``x: [..., m]`` on its last axis, zeros outside, written into
    ``out: [..., n]`` (``n ≤ 2m``; any view, e.g. some group slots of a stack), cropped to ``n``.

    No temporary the size of the output and no interleaving copy: the odd and the even outputs are
    computed straight into ``out``'s two phases (``out[..., 1::2]``, ``out[..., 0::2]``). The
    values equal :func:`pyramid_expand`'s up to rounding (``y[2t] = 0.125·(x[t−1] + x[t+1]) +
    0.75·x[t]``). It writes through ``out=`` arguments, which autograd cannot follow: for inference,
    or inside :class:`_Expand`, whose backward is written by hand.
    """
    m, n = x.shape[-1], out.shape[-1]
    if n > 2 * m or out.shape[:-1] != x.shape[:-1]:
        raise ValueError(f"pyramid_expand_into writes at most twice the input's length with the same leading "
                         f"axes: input {tuple(x.shape)}, output {tuple(out.shape)}")
    if n == 0:
        return out
    even, odd = out[..., 0::2], out[..., 1::2]
    ne, no = even.shape[-1], odd.shape[-1]
    k = min(no, m - 1)  # odd outputs with both inputs inside: (x[t] + x[t+1]) / 2, one lerp
    torch.lerp(x[..., :k], x[..., 1:k + 1], 0.5, out=odd[..., :k])
    if no > k:
        torch.mul(x[..., k:no], 0.5, out=odd[..., k:])  # the last one when no = m: (x[m-1] + 0) / 2
    k = min(ne, m - 1)  # even outputs 1 … k-1 have both neighbours inside: (x[t-1] + x[t+1]) / 2
    if k > 1:
        torch.lerp(x[..., :k - 1], x[..., 2:k + 1], 0.5, out=even[..., 1:k])
    if m > 1:
        torch.mul(x[..., 1:2], 0.5, out=even[..., :1])  # (0 + x[1]) / 2
    else:
        even.zero_()
    first = max(k, 1)
    if ne > first:
        torch.mul(x[..., first - 1:ne - 1], 0.5, out=even[..., first:])  # the last one when ne = m > 1: (x[m-2] + 0) / 2
    torch.lerp(x[..., :ne], even, 0.25, out=even)  # 0.75·x[t] + 0.25·(neighbours' mean)
    return out


def _expand_adjoint_into(g: Tensor, out: Tensor) -> Tensor:
    """The adjoint (transpose) of :func:`pyramid_expand_into` on the last axis: ``g: [..., n]``,
    the gradient of an EXPAND output of ``n ≤ 2m`` samples, to ``out: [..., m]``,
    ``out[t] = 0.75·g[2t] + 0.125·(g[2t−2] + g[2t+2]) + 0.5·(g[2t−1] + g[2t+1])`` (zero outside)."""
    m = out.shape[-1]
    ge, go = g[..., 0::2], g[..., 1::2]  # even and odd outputs' gradients, ne ≤ m and no ≤ m of them
    ne, no = ge.shape[-1], go.shape[-1]
    torch.mul(ge, 0.75, out=out[..., :ne])
    if ne < m:
        out[..., ne:].zero_()
    out[..., 1:min(ne + 1, m)].add_(ge[..., :min(ne, m - 1)], alpha=0.125)  # ge[t − 1]
    if ne > 1:
        out[..., :ne - 1].add_(ge[..., 1:], alpha=0.125)  # ge[t + 1]
    out[..., :no].add_(go, alpha=0.5)  # go[t]
    k = min(no, m - 1)
    out[..., 1:k + 1].add_(go[..., :k], alpha=0.5)  # go[t − 1]
    return out


class _Expand(torch.autograd.Function):
    """:func:`pyramid_expand` on one axis, zeros outside, ``m -> n`` samples (``n ≤ 2m``), or its
    adjoint: ``write`` (:func:`pyramid_expand_into`, or :func:`_expand_adjoint_into` for the
    transposed map ``n -> m``) into a new tensor, a few strided passes with no padded copy, no
    interleaving copy and no zero-filled gradient of a slice. The gradient is the same Function
    with ``write`` and ``transpose`` swapped, so it is differentiable to any order."""

    @staticmethod
    def forward(ctx, x: Tensor, n: int, axis: int, write: Callable[[Tensor, Tensor], Tensor],
                transpose: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        ctx.m, ctx.axis, ctx.kernels = x.shape[axis], axis, (transpose, write)
        shape = list(x.shape)
        shape[axis] = n
        out = x.new_empty(shape)
        write(x.movedim(axis, -1), out.movedim(axis, -1))  # a last-axis kernel on both
        return out

    @staticmethod
    def backward(ctx, g: Tensor):
        return _Expand.apply(g, ctx.m, ctx.axis, *ctx.kernels), None, None, None, None
