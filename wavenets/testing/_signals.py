"""Smooth, band-limited test inputs: what approximate equivariance should be measured on."""
from __future__ import annotations

import math

import torch

__all__ = ["smooth_image", "smooth_signal"]


def smooth_image(batch: int, channels: int, size: int, *, cutoff: float = 0.12, seed: int = 0,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``[B, C, size, size]`` noise band-limited to radial frequency < ``cutoff`` cycles/pixel,
    inside a soft disk (radius 0.45·size) so rotations by any angle lose nothing; unit std."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, size, size, generator=g, dtype=torch.float64)
    f = torch.fft.fftfreq(size, dtype=torch.float64)
    radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    x = torch.fft.ifft2(torch.fft.fft2(x) * (radius < cutoff)).real
    c = (size - 1) / 2
    r = torch.sqrt((torch.arange(size) - c)[:, None] ** 2 + (torch.arange(size) - c)[None, :] ** 2)
    x = x * 0.5 * (1 + torch.cos(math.pi * torch.clamp(r / (0.45 * size), 0, 1)))
    return (x / x.std()).to(dtype)


def smooth_signal(batch: int, channels: int, length: int, *, seed: int = 0, dtype: torch.dtype = torch.float64,
                  max_cycles: float = 12.0) -> torch.Tensor:
    """``[B, C, length]``: four random sinusoids (≤ ``max_cycles`` per signal) under a Gaussian
    window, far below Nyquist and near zero at both ends; unit std."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, length, dtype=torch.float64)
    out = torch.zeros(batch, channels, length, dtype=torch.float64)
    for _ in range(4):
        freq = torch.rand(batch, channels, 1, generator=g, dtype=torch.float64) * max_cycles + 1
        phase = torch.rand(batch, channels, 1, generator=g, dtype=torch.float64) * 2 * math.pi
        out += torch.sin(2 * math.pi * freq * t + phase)
    out *= torch.exp(-(((t - 0.5) / 0.18) ** 2))
    return (out / out.std()).to(dtype)
