"""The dilation group: scales base^start … base^(start+n-1), acting on R^1 and R^2.

The scale group (R_{>0}, ·) is not compact; wavenets samples a finite, ascending piece of it.
Products and inverses that leave the piece are undefined (``None`` / -1 in the Cayley table),
and features have no values there: a group convolution either zero-pads the missing scales
(``group_padding="zero"``) or keeps only output scales whose inputs all exist
(``group_padding="valid"``, the output then has ``n - N_h + 1`` scales).

**Discretisation.** A kernel ``k`` with K taps is dilated to scale ``s`` *à trous*: the taps are
placed ``s`` samples apart and the convolution runs with ``dilation=s``. This discretises
``(1/s) ∫ f(y) k((y - x)/s) dy``: each tap stands for a cell of width ``s``, so the
``1/|det h|`` normalisation cancels against the cell size and no factor appears in the code.
A non-integer scale ``s = d·r`` (``d = ⌊s⌋``, ``r ∈ [1, 2)``) places tap ``m`` at ``r·m``, split
linearly between the two neighbouring samples (equivalently: the signal is read between samples
by linear interpolation), then dilates by ``d``.
The cost of a scale therefore never grows with ``s``.

**The exact action.** Contraction by an integer factor ``c = base^-k`` (``k < 0``) acts on a
discrete signal by decimation, ``x[::c]``, and on features by decimation plus a shift of the
scale axis by ``k``. With à-trous kernels, ``decimate(Φ(f))[scale j+1] = Φ(decimate(f))[scale j]``
holds exactly for lifting and group convolutions (any stride, 'same' padding, odd kernels),
pointwise non-linearities and eval-mode batch norm. Stretches (``k > 0``) and non-integer
factors resample with cubic (Keys) interpolation and are approximate.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from ._base import Block, Group, KernelPlan

__all__ = ["Dilation", "resample"]

_EPS = 1e-9


def _keys(t: Tensor) -> list[Tensor]:
    """Keys cubic-convolution weights (a = -0.5) for taps at offsets -1, 0, 1, 2."""
    a = -0.5

    def near(s):
        return (a + 2) * s**3 - (a + 3) * s**2 + 1

    def far(s):
        return a * s**3 - 5 * a * s**2 + 8 * a * s - 4 * a

    return [far(1 + t), near(t), near(1 - t), far(2 - t)]


def resample(x: Tensor, factor: float, dims: int) -> Tensor:
    """``out(u) = x(u / factor)`` on the last ``dims`` axes, about sample 0.

    ``factor > 1`` stretches, ``factor < 1`` contracts. The output has ``⌊(T-1)·factor⌋ + 1``
    samples per axis. Where every source position is a sample (integer contraction) this is an
    exact index operation; otherwise cubic interpolation with zeros outside.
    """
    for axis in range(x.dim() - dims, x.dim()):
        t = x.shape[axis]
        n = int(math.floor((t - 1) * factor + _EPS)) + 1
        pos = torch.arange(n, dtype=torch.float64) / factor
        pos = torch.round(pos / _EPS) * _EPS
        if torch.all(pos == pos.round()):
            x = x.index_select(axis, pos.long().to(x.device))
            continue
        base = pos.floor()
        weights = _keys(pos - base)
        out = 0
        for off, w in zip((-1, 0, 1, 2), weights):
            idx = base.long() + off
            ok = (idx >= 0) & (idx < t)
            taken = x.index_select(axis, idx.clamp(0, t - 1).to(x.device))
            shape = [1] * x.dim()
            shape[axis] = n
            w = (w * ok).to(dtype=x.dtype, device=x.device).view(shape)
            out = out + taken * w
        x = out
    return x


def _hat(u: np.ndarray) -> np.ndarray:
    return np.clip(1 - np.abs(u), 0, None)


def _resample_operator(r: float, kernel_size: int) -> np.ndarray:
    """``[K_r, K]`` 1D operator placing tap ``m`` at ``r·m``, split linearly between its two
    neighbouring samples: ``k_r[y] = Σ_m k[m] hat(y − r·m)``.

    Convolving with ``k_r`` equals ``Σ_m k[m] f_lin(x + r·m)``, the à-trous sum with the signal
    read between samples by linear interpolation, so integer and non-integer scales discretise
    the same operator and ``r = 1`` is the identity.
    """
    c = (kernel_size - 1) // 2
    half = math.ceil(r * c - _EPS)
    y = np.arange(-half, half + 1)
    m = np.arange(kernel_size) - c
    return _hat(y[:, None] - r * m[None, :])


class Dilation(Group):
    """Scales ``base^start … base^(start+n-1)``, ascending, acting on R^1 and R^2.

    Args:
        n: number of sampled scales.
        base: ratio between neighbouring scales (> 1). 2 gives the dyadic grid of Wavelet
            Networks; 2**0.5 or 2**0.25 give finer grids.
        start: exponent of the finest scale (>= 0).
        direction: group-kernel convention. ``"coarser"`` (Wavelet Networks): output scale j
            reads input scales j … j+N_h-1; ``"centred"``: j-(N_h-1)/2 … j+(N_h-1)/2.

    Element *indices* (algebra, feature axis) run over 0 … n-1; the actions and
    :meth:`matrix` take an integer *exponent* ``k`` (scale ``base^k``), which may be negative.
    """

    dims = (1, 2)
    dilates_kernels = True

    def __init__(self, n: int, base: float = 2.0, *, start: int = 0, direction: str = "coarser"):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"Dilation(n) needs a positive integer n, got {n!r}")
        if not base > 1:
            raise ValueError(f"Dilation needs base > 1, got {base!r}")
        if start < 0:
            raise ValueError(f"Dilation needs start >= 0 (scales >= 1 sample), got {start}")
        if direction not in ("coarser", "centred"):
            raise ValueError(f"direction must be 'coarser' or 'centred', got {direction!r}")
        self.n, self.base, self.start, self.direction = n, float(base), start, direction

    @property
    def order(self) -> int:
        return self.n

    def elements(self) -> Tensor:
        return self.base ** (self.start + torch.arange(self.n, dtype=torch.float64))

    def identity(self) -> int:
        if not self.start <= 0 < self.start + self.n:
            raise ValueError(f"{self!r} does not sample the identity (scale 1)")
        return -self.start

    def _index(self, exponent: int) -> int | None:
        i = exponent - self.start
        return i if 0 <= i < self.n else None

    def product(self, a: int, b: int) -> int | None:
        return self._index(2 * self.start + a + b)

    def inverse(self, a: int) -> int | None:
        return self._index(-(self.start + a))

    def matrix(self, g: int, dim: int) -> Tensor:
        return self.base**g * torch.eye(dim, dtype=torch.float64)

    def is_exact(self, g: int, dim: int = 1) -> bool:
        if g > 0:
            return False
        c = self.base ** (-g)
        return abs(c - round(c)) < _EPS

    def test_elements(self) -> list[int]:
        return [-1, 1]

    # -- actions ---------------------------------------------------------------------------
    def act_on_signal(self, x: Tensor, g: int) -> Tensor:
        """Stretch (``g > 0``) or contract (``g < 0``) ``x: [B, C, *S]`` by ``base^g``."""
        return resample(x, self.base**g, x.dim() - 2)

    def act_on_features(self, x: Tensor, g: int) -> Tensor:
        """``x: [B, C, S, *X]``: resample space, shift the scale axis by ``g`` (NaN where undefined)."""
        dims = x.dim() - 3
        if dims not in self.dims:
            raise ValueError(f"act_on_features expected [B, C, S, T] or [B, C, S, H, W], got {list(x.shape)}")
        x = resample(x, self.base**g, dims)
        out = torch.full_like(x, float("nan"))
        n = x.shape[2]
        lo, hi = max(0, g), min(n, n + g)
        if lo < hi:
            out[:, :, lo:hi] = x[:, :, lo - g : hi - g]
        return out

    # -- plans ---------------------------------------------------------------------------
    def _integer_period(self) -> int | None:
        """Smallest p <= 8 with base^p an integer (1 for integer bases), or None."""
        for p in range(1, 9):
            if abs(self.base**p - round(self.base**p)) < _EPS:
                return p
        return None

    def _scale_parts(self, exponent: int) -> tuple[int, float]:
        """Split scale ``base^e`` into an integer dilation ``d`` and a residual ``r ∈ [1, 2)``.

        With ``q = base^p`` the smallest integer power of the base, ``d = q^⌊e/p⌋·⌊base^(e mod p)⌋``:
        contracting by ``q`` then divides ``d`` by ``q`` and keeps ``r``, which makes decimation
        by ``q`` exact on non-integer grids too (2^(1/2), 2^(1/4), …).
        """
        p = self._integer_period()
        if p is None:
            s = self.base**exponent
            d = int(math.floor(s + _EPS))
        else:
            q = round(self.base**p)
            rest = self.base ** (exponent % p)
            d = q ** (exponent // p) * int(math.floor(rest + _EPS))
            s = q ** (exponent // p) * rest
        r = s / d
        return d, (1.0 if abs(r - 1) < _EPS else r)

    def _spatial(self, exps: list[int], kernel_size: int, dim: int):
        """Spatial operators for a run of output exponents sharing one dilation."""
        if kernel_size % 2 == 0:
            raise ValueError(f"{self!r} needs odd kernel sizes (symmetric 'same' padding), got {kernel_size}")
        ops = [_resample_operator(self._scale_parts(e)[1], kernel_size) for e in exps]
        size = max(len(o) for o in ops)
        mats = []
        for o in ops:
            pad = (size - len(o)) // 2
            o = np.pad(o, ((pad, pad), (0, 0)))
            mats.append(functools.reduce(np.kron, [o] * dim))  # separable: one factor per axis
        mats = np.stack(mats)
        if size == kernel_size and np.all(mats == np.eye(kernel_size**dim)):
            return size, torch.arange(kernel_size**dim).expand(len(exps), -1).clone(), None
        return size, None, torch.from_numpy(mats)

    def _blocks(self, exps: list[int]) -> list[tuple[int, int, int]]:
        """Runs ``(first, stop, dilation)`` of consecutive output elements with one dilation."""
        runs: list[tuple[int, int, int]] = []
        for j, e in enumerate(exps):
            d = self._scale_parts(e)[0]
            if runs and runs[-1][2] == d:
                runs[-1] = (runs[-1][0], j + 1, d)
            else:
                runs.append((j, j + 1, d))
        return runs

    def lifting_plan(self, kernel_size: int, dim: int) -> KernelPlan:
        exps = [self.start + j for j in range(self.n)]
        blocks = []
        for a, b, d in self._blocks(exps):
            size, perm, mat = self._spatial(exps[a:b], kernel_size, dim)
            table = torch.zeros(b - a, 1, dtype=torch.long)
            blocks.append(Block(slice(a, b), slice(0, 1), table, size, d, perm, mat))
        return KernelPlan(blocks, self.n, 1, exact=all(b.matrix is None for b in blocks))

    def _slot0(self, group_kernel_size: int) -> int:
        if self.direction == "coarser":
            return 0
        if group_kernel_size % 2 == 0:
            raise ValueError(f"direction='centred' needs an odd group_kernel_size, got {group_kernel_size}")
        return -(group_kernel_size // 2)

    def out_group(self, group_kernel_size: int, group_padding: str) -> "Dilation":
        if group_padding == "zero":
            return self
        if group_padding != "valid":
            raise ValueError(f"group_padding must be 'zero' or 'valid', got {group_padding!r}")
        n = self.n - group_kernel_size + 1
        if n < 1:
            raise ValueError(
                f"group_padding='valid' with group_kernel_size={group_kernel_size} needs at least "
                f"{group_kernel_size} scales, {self!r} has {self.n}"
            )
        return Dilation(n, self.base, start=self.start - self._slot0(group_kernel_size), direction=self.direction)

    def default_group_kernel_size(self) -> int:
        return 1

    def group_plan(self, kernel_size, dim, group_kernel_size, group_padding) -> KernelPlan:
        m = group_kernel_size
        if m < 1:
            raise ValueError(f"group_kernel_size must be >= 1, got {m}")
        out = self.out_group(m, group_padding)
        t0 = self._slot0(m)
        exps = [out.start + j for j in range(out.n)]
        blocks = []
        for a, b, d in self._blocks(exps):
            # input indices i with 0 <= e_in - e_out - t0 < m for some output in the run
            lo = max(0, exps[a] + t0 - self.start)
            hi = min(self.n, exps[b - 1] + t0 + m - self.start)
            e_in = self.start + torch.arange(lo, hi)
            rel = e_in[None, :] - torch.tensor(exps[a:b])[:, None] - t0
            table = torch.where((rel >= 0) & (rel < m), rel, torch.full_like(rel, -1))
            size, perm, mat = self._spatial(exps[a:b], kernel_size, dim)
            blocks.append(Block(slice(a, b), slice(lo, hi), table, size, d, perm, mat))
        return KernelPlan(blocks, out.n, m, exact=all(b.matrix is None for b in blocks))

    def scale_axis(self) -> "Dilation":
        return self

    def with_scales(self, n: int) -> "Dilation":
        return Dilation(n, self.base)

    def octave_voices(self) -> int | None:
        """``V`` with ``base = 2^(1/V)`` (``start`` a multiple of ``V``): scale ``2^(j + v/V)`` is
        voice ``v`` of pyramid level ``j``. ``None`` for grids that do not nest in octaves."""
        v = round(math.log(2) / math.log(self.base))
        if v < 1 or abs(self.base**v - 2) > 1e-9 or self.start % v:
            return None
        return v

    def __repr__(self) -> str:
        extra = "" if self.base == 2.0 else f", base={self.base:g}"
        extra += f", start={self.start}" if self.start else ""
        extra += f", direction={self.direction!r}" if self.direction != "coarser" else ""
        return f"Dilation({self.n}{extra})"
