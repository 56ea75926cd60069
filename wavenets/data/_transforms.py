"""Batch-wise transforms on the device: scaling, normalisation, augmentation, rotation.

Augmentation draws from an explicit ``torch.Generator`` (seeded per epoch by the trainer), so
a resumed run sees exactly the augmentations an uninterrupted one would.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..nn import magnify

__all__ = ["Augment", "normalize", "rotate", "zoom", "random_zoom", "stratified_subset"]


def normalize(images: Tensor, mean, std) -> Tensor:
    """uint8 (or [0, 1] float) ``[B, C, H, W]`` -> float, per-channel standardised."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def rotate(x: Tensor, angles_deg: Tensor | float, *, padding: str = "zeros") -> Tensor:
    """Rotate each image of ``x: [B, C, H, W]`` counter-clockwise by ``angles_deg`` about its
    centre (multiples of 90° exactly with ``torch.rot90``, others bilinearly)."""
    b = x.shape[0]
    angles = torch.as_tensor(angles_deg, dtype=torch.float64).cpu().flatten()
    if angles.numel() == 1:
        angles = angles.expand(b)
    if torch.all(torch.remainder(angles, 90) == 0) and x.shape[-1] == x.shape[-2]:
        quarter = torch.remainder(angles / 90, 4).long()
        if torch.all(quarter == quarter[0]):
            return torch.rot90(x, int(quarter[0]), dims=(-2, -1))
        out = x.clone()
        for k in range(1, 4):
            sel = (quarter == k).nonzero().flatten().to(x.device)
            if len(sel):
                out[sel] = torch.rot90(x[sel], k, dims=(-2, -1))
        return out
    theta = torch.deg2rad(angles).to(device=x.device, dtype=x.dtype)
    c, s = torch.cos(theta), torch.sin(theta)
    # affine_grid works in (x=col, y=row) normalised coordinates; out(p) = in(R^-1 p)
    # with R counter-clockwise on screen (row axis points down).
    mat = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    mat[:, 0, 0], mat[:, 0, 1] = c, -s
    mat[:, 1, 0], mat[:, 1, 1] = s, c
    grid = F.affine_grid(mat, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=True)


def zoom(x: Tensor, factors: Tensor | float, size: int) -> Tensor:
    """Magnify each image of ``x: [B, C, S, S]`` by ``factors`` about its centre and cut the
    central ``size × size``, reflecting at the edges: :func:`wavenets.nn.magnify` with
    ``padding_mode="reflect"`` (anti-aliased below 1×). Zooming out to ``z`` needs ``S ≥ size / z``.
    """
    return magnify(x, factors, size, padding_mode="reflect")


def random_zoom(b: int, lo: float, hi: float, gen: torch.Generator) -> Tensor:
    """``b`` factors log-uniform in ``[lo, hi]`` (so that 0.5× and 2× are equally likely)."""
    u = torch.rand(b, generator=gen, dtype=torch.float64)
    return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


@dataclass
class Augment:
    """Switchable augmentations of a float batch ``[B, C, H, W]`` in [0, 1] (before normalisation).

    rot90: random multiples of 90°; flip: random horizontal flip (with rot90: all of D4);
    rotate: uniform random angle in [0°, 360°) (bilinear); color_jitter: brightness ±64/255,
    saturation ×[0.75, 1.25], hue ±0.04 turns, contrast ×[0.5, 1.5] (Bekkers, ICLR 2020).
    """

    rot90: bool = False
    flip: bool = False
    rotate: bool = False
    color_jitter: bool = False
    padding: str = "zeros"

    @property
    def active(self) -> bool:
        return self.rot90 or self.flip or self.rotate or self.color_jitter

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        b = x.shape[0]

        def draw(*shape):
            return torch.rand(*shape, generator=gen).to(x.device)

        if self.flip:
            mask = draw(b) < 0.5
            x = torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)
        if self.rotate:
            x = rotate(x, (draw(b) * 360).cpu(), padding=self.padding)
        elif self.rot90:
            x = rotate(x, (torch.randint(0, 4, (b,), generator=gen) * 90).double())
        if self.color_jitter and x.shape[1] == 3:
            x = _color_jitter(x, draw)
        return x


def _color_jitter(x: Tensor, draw) -> Tensor:
    b = x.shape[0]
    x = x + (draw(b) * 2 - 1).view(-1, 1, 1, 1) * (64 / 255)
    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    x = gray + (x - gray) * (0.75 + 0.5 * draw(b)).view(-1, 1, 1, 1)
    # hue: rotate the chroma plane of YIQ
    yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=x.device)
    ang = (draw(b) * 2 - 1) * 0.04 * 2 * math.pi
    rot = torch.zeros(b, 3, 3, device=x.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = ang.cos(), -ang.sin(), ang.sin(), ang.cos()
    m = torch.linalg.inv(yiq) @ rot @ yiq
    x = torch.einsum("bij,bjhw->bihw", m.to(x.dtype), x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * (0.5 + draw(b)).view(-1, 1, 1, 1)
    return x.clamp(0, 1)


def stratified_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset with ``fraction`` of every class (at least one each)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    if fraction == 1:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        keep.append(rng.choice(members, size=max(1, round(fraction * len(members))), replace=False))
    return np.sort(np.concatenate(keep))
