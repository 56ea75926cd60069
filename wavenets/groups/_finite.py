"""Finite groups of orthogonal transformations: Trivial, Rotation (C_n) and Dihedral (D_n).

Every element is an orthogonal matrix; products, inverses and the Cayley table are found by
matching matrices, so the algebra of all three groups is one piece of code.

Kernels are transformed by ``k_h(x) = k(h⁻¹ x)`` sampled on the kernel grid with bilinear
interpolation about the centre tap. Rotations by multiples of 90° and the flips map the grid
onto itself, and the operator is then an exact permutation of taps (used as an index gather).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._base import Block, Group, KernelPlan

__all__ = ["FiniteGroup", "Trivial", "Rotation", "Dihedral"]

_ROUND = 1e-9  # coordinates closer than this to a grid point are on it (cos(pi/2) is 6e-17)


def disk_mask(kernel_size: int) -> np.ndarray:
    """SE2CNN's circular support: keep (i-c)² + (j-c)² <= (c + 0.5)², c = (k-1)/2."""
    c = (kernel_size - 1) / 2
    i, j = np.meshgrid(np.arange(kernel_size), np.arange(kernel_size), indexing="ij")
    return ((i - c) ** 2 + (j - c) ** 2) <= (math.floor(c) + 0.5) ** 2


def _bilinear_operator(mats: np.ndarray, kernel_size: int, mask: bool) -> np.ndarray:
    """``[E, K², K²]`` operators sampling ``k(h⁻¹ p)`` bilinearly for each matrix ``h``."""
    k = kernel_size
    c = (k - 1) / 2
    idx = np.arange(k) - c
    p = np.stack(np.meshgrid(idx, idx, indexing="ij"), -1).reshape(-1, 2)  # [P, 2] (row, col)
    keep = disk_mask(k).reshape(-1) if mask else np.ones(k * k, dtype=bool)
    ops = np.zeros((len(mats), k * k, k * k))
    for e, m in enumerate(mats):
        src = p @ np.linalg.inv(m).T + c  # h⁻¹ p, in kernel index coordinates
        src = np.round(src / _ROUND) * _ROUND
        base = np.floor(src).astype(int)
        frac = src - base
        for di in (0, 1):
            for dj in (0, 1):
                w = (frac[:, 0] if di else 1 - frac[:, 0]) * (frac[:, 1] if dj else 1 - frac[:, 1])
                r, s = base[:, 0] + di, base[:, 1] + dj
                ok = (w > 0) & (r >= 0) & (r < k) & (s >= 0) & (s < k)
                q = np.where(ok, r * k + s, 0)
                np.add.at(ops[e], (np.nonzero(ok)[0], q[ok]), w[ok])
        ops[e] *= keep[:, None]  # taps outside the disk are neither produced …
        ops[e] *= keep[None, :]  # … nor read
    return ops


def _as_permutation(ops: np.ndarray) -> np.ndarray | None:
    """``[E, P]`` source index per tap if every operator is a 0/1 selection, else None."""
    if not np.all((ops == 0) | (ops == 1)) or np.any(ops.sum(-1) > 1):
        return None
    perm = ops.argmax(-1)
    perm[ops.sum(-1) == 0] = -1
    return perm


class FiniteGroup(Group):
    """A finite group of orthogonal ``[d, d]`` matrices (subclasses give the matrices)."""

    def __init__(self, mats: np.ndarray, *, mask: bool = False):
        self._mats = np.asarray(mats, dtype=np.float64)
        self.mask = mask
        n = len(self._mats)
        flat = self._mats.reshape(n, -1)
        prod = np.einsum("aij,bjk->abik", self._mats, self._mats).reshape(n, n, -1)
        dist = np.abs(prod[:, :, None, :] - flat[None, None]).max(-1)  # [a, b, c]
        self._table = torch.from_numpy(np.where(dist.min(-1) < 1e-9, dist.argmin(-1), -1))

    @property
    def order(self) -> int:
        return len(self._mats)

    def identity(self) -> int:
        eye = np.eye(self._mats.shape[-1])
        return int(np.abs(self._mats - eye).reshape(self.order, -1).max(-1).argmin())

    def product(self, a: int, b: int) -> int | None:
        p = int(self._table[a, b])
        return None if p < 0 else p

    def inverse(self, a: int) -> int | None:
        row = (self._table[a] == self.identity()).nonzero()
        return int(row[0, 0]) if len(row) else None

    def cayley_table(self) -> Tensor:
        return self._table.clone()

    def matrix(self, g: int, dim: int) -> Tensor:
        m = self._mats[g]
        if m.shape[0] != dim:
            raise ValueError(f"{self!r} acts on R^{m.shape[0]}, not R^{dim}")
        return torch.from_numpy(m.copy())

    def is_exact(self, g: int, dim: int = 2) -> bool:
        m = self._mats[g]
        return bool(np.all(np.abs(np.abs(m) - np.round(np.abs(m))) < _ROUND))

    # -- actions -----------------------------------------------------------------------------
    def _quarter_turns_and_flip(self, g: int) -> tuple[int, bool]:
        m = self._mats[g]
        flip = np.linalg.det(m) < 0
        r = m @ np.diag([1.0, -1.0]) if flip else m  # m = R F  =>  R = m F
        return int(round(math.atan2(r[1, 0], r[0, 0]) / (math.pi / 2))) % 4, bool(flip)

    def act_on_signal(self, x: Tensor, g: int) -> Tensor:
        d = self._mats.shape[-1]
        if x.dim() < d + 1:
            raise ValueError(f"act_on_signal expected [..., *S] with {d} spatial axes, got {list(x.shape)}")
        if g == self.identity():
            return x
        if self.is_exact(g):
            k, flip = self._quarter_turns_and_flip(g)
            if flip:
                x = torch.flip(x, dims=[-1])  # L_{RF} = L_R L_F: flip first
            return torch.rot90(x, k, dims=(-2, -1))
        return _rotate_bicubic(x, self._mats[g])

    def act_on_features(self, x: Tensor, g: int) -> Tensor:
        n = self.order
        if x.dim() < 3 or x.shape[-3] != n:
            raise ValueError(
                f"act_on_features expected [..., {n}, H, W] ({self!r} has {n} elements), got {list(x.shape)}"
            )
        ginv = self.inverse(g)
        src = self._table[ginv]  # (g⁻¹ h) for every h
        return self.act_on_signal(x.index_select(-3, src), g)

    # -- plans ---------------------------------------------------------------------------
    def _spatial(self, kernel_size: int, dim: int) -> tuple[Tensor | None, Tensor | None]:
        if dim == 1 or self.order == 1 and not self.mask:
            k = kernel_size**dim
            return torch.arange(k).expand(self.order, k).clone(), None
        ops = _bilinear_operator(self._mats, kernel_size, self.mask)
        perm = _as_permutation(ops)
        if perm is not None:
            return torch.from_numpy(perm), None
        return None, torch.from_numpy(ops)

    def lifting_plan(self, kernel_size: int, dim: int) -> KernelPlan:
        perm, mat = self._spatial(kernel_size, dim)
        table = torch.zeros(self.order, 1, dtype=torch.long)
        block = Block(slice(0, self.order), slice(0, 1), table, kernel_size, 1, perm, mat)
        return KernelPlan([block], self.order, 1, exact=mat is None)

    def group_plan(self, kernel_size, dim, group_kernel_size, group_padding) -> KernelPlan:
        table = self._relative_table(group_kernel_size)
        perm, mat = self._spatial(kernel_size, dim)
        block = Block(slice(0, self.order), slice(0, self.order), table, kernel_size, 1, perm, mat)
        return KernelPlan([block], self.order, group_kernel_size, exact=mat is None)

    def _relative_table(self, group_kernel_size: int) -> Tensor:
        """``table[h, g]`` = slot of the relative element ``h⁻¹ g`` in the learned kernel."""
        if group_kernel_size != self.order:
            raise ValueError(
                f"{self!r} needs group_kernel_size={self.order} (the whole group), got {group_kernel_size}"
            )
        inv = torch.tensor([self.inverse(h) for h in range(self.order)])
        return self._table[inv]  # [h, g] -> index of h⁻¹ g

    def kernel_fan_in_taps(self, kernel_size: int, dim: int) -> int:
        """Number of learned spatial taps that reach the filter bank (the disk when masked)."""
        if self.mask and dim == 2:
            return int(disk_mask(kernel_size).sum())
        return kernel_size**dim


def _rotate_bicubic(x: Tensor, mat: np.ndarray) -> Tensor:
    """``out(p) = x(m⁻¹ p)`` about the image centre, bicubic, zeros outside."""
    *lead, h, w = x.shape
    flat = x.reshape(-1, 1, h, w) if lead else x[None, None]
    inv = torch.from_numpy(np.linalg.inv(mat)).to(dtype=x.dtype, device=x.device)
    ch, cw = (h - 1) / 2, (w - 1) / 2
    rows = torch.arange(h, dtype=x.dtype, device=x.device) - ch
    cols = torch.arange(w, dtype=x.dtype, device=x.device) - cw
    p = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), -1)  # [H, W, 2] (row, col)
    src = p @ inv.T
    grid = torch.stack([(src[..., 1] + cw) / max(w - 1, 1) * 2 - 1, (src[..., 0] + ch) / max(h - 1, 1) * 2 - 1], -1)
    n = flat.shape[0]
    out = F.grid_sample(flat.reshape(1, n, h, w), grid[None], mode="bicubic", padding_mode="zeros", align_corners=True)
    return out.reshape(*lead, h, w) if lead else out[0, 0]


def _rot(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


class Trivial(FiniteGroup):
    """The trivial group {e}: layers built with it are ordinary convolutions (the CNN baseline).

    Acts on R^1 and R^2. Features keep a group axis of size 1: ``[B, C, 1, *S]``.
    """

    dims = (1, 2)

    def __init__(self):
        super().__init__(np.eye(2)[None])

    def elements(self) -> Tensor:
        return torch.zeros(1, dtype=torch.float64)

    def matrix(self, g: int, dim: int) -> Tensor:
        return torch.eye(dim, dtype=torch.float64)

    def is_exact(self, g: int, dim: int = 2) -> bool:
        return True

    def act_on_signal(self, x: Tensor, g: int) -> Tensor:
        return x

    def act_on_features(self, x: Tensor, g: int) -> Tensor:
        if x.dim() < 3 or x.shape[2] != 1:
            raise ValueError(f"act_on_features expected [B, C, 1, *S] (Trivial has 1 element), got {list(x.shape)}")
        return x

    def __repr__(self) -> str:
        return "Trivial()"


class Rotation(FiniteGroup):
    """C_n: rotations of R² by 2πk/n, k = 0 … n-1 (counter-clockwise as the image is shown).

    Coordinates are (row, col) about the centre; element k acts by the matrix
    ``[[cos θ, -sin θ], [sin θ, cos θ]]``, so element n/4 is ``torch.rot90(x, 1, dims=(-2, -1))``.
    ``mask=True`` restricts kernels to the disk of the SE(2) papers (rotations then lose no taps).
    ``group_kernel_size`` may be smaller than n (odd): the kernel then covers the relative
    rotations -(N-1)/2 … (N-1)/2 steps, a localised kernel along the rotation axis.
    """

    dims = (2,)

    def __init__(self, n: int, *, mask: bool = False):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"Rotation(n) needs a positive integer n, got {n!r}")
        self.n = n
        super().__init__(np.stack([_rot(2 * math.pi * k / n) for k in range(n)]), mask=mask)

    def elements(self) -> Tensor:
        return torch.arange(self.n, dtype=torch.float64) * (2 * math.pi / self.n)

    def _relative_table(self, group_kernel_size: int) -> Tensor:
        n, m = self.n, group_kernel_size
        if m == n:
            return super()._relative_table(m)
        if m < 1 or m > n or m % 2 == 0:
            raise ValueError(f"Rotation({n}) needs an odd group_kernel_size <= {n} (or {n}), got {m}")
        h = torch.arange(n)[:, None]
        rel = (torch.arange(n)[None, :] - h) % n  # h⁻¹g as a rotation step
        rel = torch.where(rel > n // 2, rel - n, rel)
        return torch.where(rel.abs() <= m // 2, rel + m // 2, torch.full_like(rel, -1))

    def __repr__(self) -> str:
        return f"Rotation({self.n}{', mask=True' if self.mask else ''})"


class Dihedral(FiniteGroup):
    """D_n: the n rotations of C_n followed by the n reflections, 2n elements.

    Element k < n is the rotation by 2πk/n; element n + k is that rotation after the flip of the
    column axis (``torch.flip(x, dims=[-1])``), i.e. the matrix ``R_k @ diag(1, -1)``.
    """

    dims = (2,)

    def __init__(self, n: int, *, mask: bool = False):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"Dihedral(n) needs a positive integer n, got {n!r}")
        self.n = n
        flip = np.diag([1.0, -1.0])
        rots = [_rot(2 * math.pi * k / n) for k in range(n)]
        super().__init__(np.stack(rots + [r @ flip for r in rots]), mask=mask)

    def elements(self) -> Tensor:
        """``[2n, 2]``: (flip ∈ {0, 1}, angle)."""
        ang = torch.arange(self.n, dtype=torch.float64) * (2 * math.pi / self.n)
        flips = torch.cat([torch.zeros(self.n), torch.ones(self.n)]).double()
        return torch.stack([flips, torch.cat([ang, ang])], -1)

    def __repr__(self) -> str:
        return f"Dihedral({self.n}{', mask=True' if self.mask else ''})"
