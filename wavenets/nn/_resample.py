"""The resamplers behind the scale actions on data and the input-resampled scale channels:
magnification about the image centre, anti-aliased (the zoomed data sets,
:func:`wavenets.data.zoom`, and :class:`~wavenets.models.PyramidPatchNet`), and the band-limited
time stretch of a waveform (:func:`wavenets.data.time_stretch`, and
:class:`~wavenets.models.MNet`'s ``input_voices``)."""
from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["magnify", "time_stretch", "fit_length", "to_onset", "fast_length"]

# how each padding mode of the layers reads outside the image, in F.pad and in F.grid_sample
_PAD = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect"}
_GRID = {"zeros": "zeros", "replicate": "border", "reflect": "reflection"}


def _gaussian_blur(x: Tensor, sigmas: list[float], padding_mode: str) -> Tensor:
    """Blur each image of ``x: [B, C, H, W]`` with its own Gaussian ``sigmas[b]`` (pixels; 0: none),
    or every image with ``sigmas[0]`` when there is one (then nothing depends on the batch size: a
    traced or exported model runs on any)."""
    b, c, h, w = x.shape
    r = max(1, int(math.ceil(3 * max(sigmas))))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    sigma = torch.tensor(sigmas, dtype=torch.float64)
    s = sigma.to(x).clamp_min(1e-6).view(-1, 1)
    k = torch.exp(-0.5 * (t / s) ** 2)
    k = torch.where(sigma.to(x.device).view(-1, 1) > 0, k, (t == 0).to(x.dtype))  # sigma 0: identity
    k = k / k.sum(1, keepdim=True)  # [B or 1, 2r+1]
    mode = _PAD[padding_mode]
    if mode == "reflect" and min(h, w) <= r:
        mode = "replicate"  # reflect needs a pad below the image size
    if len(k) == 1:  # one kernel: every channel of every image as a one-channel image
        y = F.pad(x.reshape(-1, 1, h, w), (r, r, r, r), mode=mode)
        y = F.conv2d(F.conv2d(y, k.view(1, 1, -1, 1)), k.view(1, 1, 1, -1))
        return y.view_as(x)
    k = k.repeat_interleave(c, 0)  # [B·C, 2r+1]
    y = F.pad(x.reshape(1, b * c, h, w), (r, r, r, r), mode=mode)
    y = F.conv2d(y, k.view(b * c, 1, -1, 1), groups=b * c)
    y = F.conv2d(y, k.view(b * c, 1, 1, -1), groups=b * c)
    return y.view(b, c, h, w)


def magnify(x: Tensor, factors: Tensor | float, size: int | None = None, *, padding_mode: str = "zeros") -> Tensor:
    """Magnify each image of ``x: [B, C, S, S]`` by ``factors`` about its centre and cut the
    central ``size × size`` (default ``S``): output pixel ``i`` reads the input at
    ``c + (i − (size−1)/2) / z`` (``c = (S−1)/2``), bicubically. Factors below 1 first blur with
    the Gaussian ``σ = (1/z − 1)/2`` (scikit-image's anti-aliasing rule). ``z = 1`` with
    ``S − size`` even is an exact centre crop.

    Outside the image it reads as the layers pad (``padding_mode``: ``"zeros"``, ``"replicate"``
    or ``"reflect"``). Zooming out to ``z`` without reading outside needs ``S ≥ size / z``.
    """
    if padding_mode not in _GRID:
        raise ValueError(f"magnify reads outside the image as 'zeros', 'replicate' or 'reflect'; "
                         f"got padding_mode={padding_mode!r}")
    if x.dim() != 4:
        raise ValueError(f"magnify expected images [B, C, H, W], got {list(x.shape)}")
    b, _, h, w = x.shape
    size = h if size is None else size
    if h != w or h < size:
        raise ValueError(f"magnify expected square images of at least {size} px, got {list(x.shape)}")
    # one factor, or one per image, as Python numbers: the branches below then read no tensor, and a
    # model that magnifies by fixed factors traces (torch.compile, export) as one graph
    zs = [float(factors)] if isinstance(factors, (int, float)) else (
        torch.as_tensor(factors, dtype=torch.float64).flatten().tolist())
    if (len(zs) != 1 and len(zs) != b) or not all(f > 0 for f in zs):
        raise ValueError(f"magnify needs one positive factor per image ({b}), or one for all, got {factors!r}")
    if all(f == 1 for f in zs) and (h - size) % 2 == 0:
        off = (h - size) // 2
        return x[..., off:off + size, off:off + size]
    if any(f < 1 for f in zs):
        x = _gaussian_blur(x, [max((1 / f - 1) / 2, 0.0) for f in zs], padding_mode)
    z = torch.tensor(zs, dtype=torch.float64)
    c = (h - 1) / 2
    i = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    src = c + i[None, :] / z[:, None]  # [B or 1, size] input coordinate per output pixel
    norm = (src / (h - 1) * 2 - 1).to(x)
    grid = torch.stack([norm[:, None, :].expand(-1, size, size), norm[:, :, None].expand(-1, size, size)], -1)
    grid = grid.to(x.device).expand(b, -1, -1, -1)  # (one factor: the same grid, whatever the batch)
    return F.grid_sample(x, grid, mode="bicubic", padding_mode=_GRID[padding_mode], align_corners=True)


def fit_length(x: Tensor, length: int) -> Tensor:
    """Centre-crop or centre-zero-pad the last axis to ``length`` samples."""
    n = x.shape[-1]
    if n == length:
        return x
    if n > length:
        start = (n - length) // 2
        return x[..., start : start + length]
    left = (length - n) // 2
    return F.pad(x, (left, length - n - left))


#: the largest prime factor of a length :func:`fast_length` returns: pocketfft (torch's CPU FFT)
#: runs a prime factor ``p`` as a pass that costs ``O(p)`` per sample, so a length like
#: 11,585 = 5·7·331 takes 7-8× the time of 11,583 = 3⁴·11·13 (32 clips, float64, 2 cores)
FAST_PRIME = 31


def _largest_prime_factor(n: int) -> int:
    largest, p = 1, 2
    while p * p <= n:
        while n % p == 0:
            largest, n = p, n // p
        p += 1
    return max(largest, n)


@functools.lru_cache(maxsize=4096)
def fast_length(n: int) -> int:
    """The length closest to ``n`` (the shorter one of a tie) whose prime factors are all at most
    :data:`FAST_PRIME`, so that an FFT of it is fast; up to 1,024, ``n`` itself (a short FFT is
    cheap whatever its factors). Such lengths lie close together: the step from 5,793 (=
    3·1,931) to 5,796 is 0.05%, from 11,585 to 11,583 0.02%, from 62,367 to 62,370 0.005%, and
    above 1,024 never more than 0.5% (checked up to 10⁸; the widest gap is 1,105–1,116)."""
    n = max(2, int(n))
    if n <= 1024:
        return n
    for d in range(n):
        for m in (n - d, n + d):
            if m >= 2 and _largest_prime_factor(m) <= FAST_PRIME:
                return m
    return n  # (not reached: every power of two qualifies)


def time_stretch(x: Tensor, factor: float, *, keep_length: bool = True, fast: bool = False) -> Tensor:
    """``x: [..., T]`` played ``factor`` times slower (``factor < 1``: faster), same length T.

    The spectrum is truncated (contraction: no aliasing) or zero-padded (stretch) to the new
    length ``round(T·factor)``, amplitude preserved, then the clip is centre-cropped/padded
    (``keep_length=False``: the whole clip at its new length, nothing cropped or padded).
    ``fast=True`` takes the new length :func:`fast_length` of that instead, so the clip is played
    ``length / T`` times slower, within a fraction of a percent of ``factor``, and the inverse
    FFT never meets a large prime factor (the input voices of :class:`~wavenets.models.MNet` and
    the stretch augmentation, whose factors need no more precision than that; tape speeds under
    test stay exact).
    """
    if factor <= 0:
        raise ValueError(f"time_stretch needs a positive factor, got {factor}")
    t = int(x.shape[-1])  # (a traced export sees a size tensor; the clip length is fixed there)
    n = max(2, int(round(t * factor)))
    if fast:
        n = fast_length(n)
    if n == t:
        return x
    spec = torch.fft.rfft(x.double(), dim=-1)
    bins = n // 2 + 1
    spec = spec[..., :bins] if bins <= spec.shape[-1] else F.pad(spec, (0, bins - spec.shape[-1]))
    y = torch.fft.irfft(spec, n=n, dim=-1) * (n / t)
    return fit_length(y.to(x.dtype), t) if keep_length else y.to(x.dtype)


def to_onset(x: Tensor) -> Tensor:
    """``x: [B, C, T]`` with each clip moved so that its first non-zero sample (any channel) comes
    first: the leading exact zeros (digital silence, such as the padding around a clip contracted
    into a fixed window) move to the end. A clip without leading zeros is unchanged; a silent one
    stays silent."""
    t = x.shape[-1]
    sound = (x != 0).any(1)  # [B, T]
    first = torch.where(sound.any(1), sound.to(torch.uint8).argmax(1), torch.zeros_like(sound[:, 0], dtype=torch.long))
    index = (torch.arange(t, device=x.device)[None, :] + first[:, None]) % t
    return x.gather(2, index[:, None, :].expand_as(x))
