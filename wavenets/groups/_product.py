"""Direct products ``H × D`` of two groups acting on the same space, e.g. roto-scale
``Rotation(4) * Dilation(4)``.

The first factor must transform kernels in place (one convolution, no dilation, same kernel
size: the finite groups ``Trivial``, ``Rotation``, ``Dihedral``); the second may be any group,
typically :class:`~wavenets.groups.Dilation`. Both act linearly on coordinates and commute
(rotations and flips commute with isotropic scaling), so element ``(h, d)`` acts by
``matrix(h) @ matrix(d)`` and a kernel is first rotated on its own grid, then dilated.

**Layout.** The group axis of features is second-factor-major: flat index ``i = d·|H| + h``, so
the ``|H|`` elements of one scale sit together (a scale-space pyramid level then holds ``V``
voices × ``|H|`` elements, see :mod:`wavenets.nn`). The learned kernel's group axis is
``[N_d, N_h]`` flattened the same way.

**Actions.** The algebra (``product``, ``inverse``, the Cayley table) works on flat indices.
The actions (``act_on_signal``, ``act_on_features``, ``matrix``, ``is_exact``) take a pair
``(h, d)`` of the factors' own action elements (an index for a finite group, an exponent for
Dilation). ``rot90 × decimation`` is exact on grids where decimation by ``c`` keeps the image
centre on a sample: sizes with ``(size − 1) % c == 0``.
"""
from __future__ import annotations

import itertools

import torch
from torch import Tensor

from ._base import Block, Group, KernelPlan

__all__ = ["Product"]


def _operators(block: Block, taps: int) -> Tensor:
    """``[E, P, Q]`` float64 operators of a block, from its permutation or matrix."""
    if block.matrix is not None:
        return block.matrix.double()
    perm = block.perm
    ops = torch.zeros(perm.shape[0], perm.shape[1], taps, dtype=torch.float64)
    rows, cols = (perm >= 0).nonzero(as_tuple=True)
    ops[rows, cols, perm[rows, cols]] = 1.0
    return ops


def _compose(outer: Block, inner: Block, taps: int) -> tuple[Tensor | None, Tensor | None]:
    """Spatial operators of every (outer element, inner element) pair, outer-major:
    ``op[e·|I| + i] = outer[e] @ inner[i]`` (the inner transform applied first)."""
    if outer.perm is not None and inner.perm is not None:
        src = outer.perm  # [Eo, P]: tap of the inner-transformed kernel read by output tap p
        perm = inner.perm[:, src.clamp_min(0)].transpose(0, 1)  # [Eo, I, P]: inner.perm[i, src[e, p]]
        perm = torch.where(src[:, None, :] < 0, -1, perm)
        return perm.flatten(0, 1), None
    a, b = _operators(outer, taps), _operators(inner, taps)
    return None, torch.einsum("epq,iqr->eipr", a, b).flatten(0, 1)


class Product(Group):
    """The direct product ``first × second``: elements ``(h, d)``, features ``[B, C, |D|·|H|, *S]``.

    Args:
        first: a group that transforms kernels in place (``Trivial``, ``Rotation``, ``Dihedral``).
        second: any group acting on the same space (``Dilation``: roto-scale / roto-dilation).

    ``Rotation(4) * Dilation(4)`` is the same as ``Product(Rotation(4), Dilation(4))``.
    ``group_kernel_size`` of a group convolution is a pair ``(N_h, N_d)``, or an int ``N_d``
    (the span along the second factor, the first factor's default span).
    """

    def __init__(self, first: Group, second: Group):
        if not isinstance(first, Group) or not isinstance(second, Group):
            raise TypeError(f"Product needs two groups, got {type(first).__name__} and {type(second).__name__}")
        if first.dilates_kernels:
            raise ValueError(f"Product's first factor must transform kernels in place (a finite group such as "
                             f"Rotation); {first!r} dilates them. Put it second: Product(Rotation(4), {first!r})")
        dims = tuple(d for d in first.dims if d in second.dims)
        if not dims:
            raise ValueError(f"{first!r} acts on R^{first.dims} and {second!r} on R^{second.dims}: no common space")
        self.first, self.second, self.dims = first, second, dims
        self.dilates_kernels = second.dilates_kernels

    # -- indices ---------------------------------------------------------------------------
    def _split(self, i: int) -> tuple[int, int]:
        return i % self.first.order, i // self.first.order

    def _join(self, h: int | None, d: int | None) -> int | None:
        return None if h is None or d is None else d * self.first.order + h

    # -- algebra ---------------------------------------------------------------------------
    @property
    def order(self) -> int:
        return self.first.order * self.second.order

    def elements(self) -> Tensor:
        """``[|G|, p_h + p_d]``: the factors' parameters side by side (angle …, scale …)."""
        a = self.first.elements().reshape(self.first.order, -1)
        b = self.second.elements().reshape(self.second.order, -1)
        return torch.cat([a.repeat(self.second.order, 1), b.repeat_interleave(self.first.order, 0)], 1)

    def identity(self) -> int:
        return self._join(self.first.identity(), self.second.identity())

    def product(self, a: int, b: int) -> int | None:
        (ha, da), (hb, db) = self._split(a), self._split(b)
        return self._join(self.first.product(ha, hb), self.second.product(da, db))

    def inverse(self, a: int) -> int | None:
        h, d = self._split(a)
        return self._join(self.first.inverse(h), self.second.inverse(d))

    def matrix(self, g: tuple[int, int], dim: int) -> Tensor:
        h, d = self._pair(g)
        return self.first.matrix(h, dim) @ self.second.matrix(d, dim)

    def is_exact(self, g: tuple[int, int], dim: int = 2) -> bool:
        h, d = self._pair(g)
        return self.first.is_exact(h, dim) and self.second.is_exact(d, dim)

    def test_elements(self) -> list[tuple[int, int]]:
        return list(itertools.product(self.first.test_elements(), self.second.test_elements()))

    def _pair(self, g) -> tuple[int, int]:
        if not (isinstance(g, (tuple, list)) and len(g) == 2):
            raise TypeError(f"{self!r} acts by pairs (h, d) of its factors' elements, got {g!r}")
        return int(g[0]), int(g[1])

    # -- actions -----------------------------------------------------------------------------
    def act_on_signal(self, x: Tensor, g: tuple[int, int]) -> Tensor:
        h, d = self._pair(g)
        return self.first.act_on_signal(self.second.act_on_signal(x, d), h)

    def act_on_features(self, x: Tensor, g: tuple[int, int]) -> Tensor:
        h, d = self._pair(g)
        nh, nd = self.first.order, self.second.order
        if x.dim() < 4 or x.shape[2] != self.order:
            raise ValueError(f"act_on_features expected [B, C, {self.order}, *S] ({self!r}: {nd} × {nh} "
                             f"elements), got {list(x.shape)}")
        b, c = x.shape[:2]
        y = x.unflatten(2, (nd, nh)).transpose(2, 3).flatten(1, 2)  # [B, C·|H|, |D|, *S]
        y = self.second.act_on_features(y, d)
        y = y.unflatten(1, (c, nh)).transpose(2, 3).flatten(1, 2)  # [B, C·|D|, |H|, *S']
        y = self.first.act_on_features(y, h)
        return y.unflatten(1, (c, nd)).flatten(2, 3)

    # -- plans -------------------------------------------------------------------------------
    def _first_block(self, plan: KernelPlan, kernel_size: int) -> Block:
        block = plan.blocks[0]
        if len(plan.blocks) != 1 or block.dilation != 1 or block.kernel_size != kernel_size:
            raise ValueError(f"Product needs a first factor with one in-place kernel transform; {self.first!r} "
                             "has several blocks or dilates")
        return block

    def _compose_plan(self, inner: KernelPlan, outer: KernelPlan, kernel_size: int, dim: int,
                      lifting: bool) -> KernelPlan:
        hb = self._first_block(inner, kernel_size)
        nh_out, nh_in = inner.out_order, (1 if lifting else self.first.order)
        blocks = []
        for ob in outer.blocks:
            perm, mat = _compose(ob, hb, kernel_size**dim)
            if lifting:
                table = torch.zeros(perm.shape[0] if perm is not None else mat.shape[0], 1, dtype=torch.long)
                in_index = slice(0, 1)
            else:
                to, th = ob.table, hb.table  # [Eo, Io], [Eh, Ih]
                table = to[:, None, :, None] * inner.slots + th[None, :, None, :]
                table = torch.where((to[:, None, :, None] < 0) | (th[None, :, None, :] < 0), -1, table)
                table = table.flatten(2, 3).flatten(0, 1)
                in_index = slice(ob.in_index.start * nh_in, ob.in_index.stop * nh_in)
            out_index = slice(ob.out_index.start * nh_out, ob.out_index.stop * nh_out)
            blocks.append(Block(out_index, in_index, table, ob.kernel_size, ob.dilation, perm, mat))
        slots = 1 if lifting else inner.slots * outer.slots
        return KernelPlan(blocks, inner.out_order * outer.out_order, slots,
                          exact=all(b.matrix is None for b in blocks))

    def lifting_plan(self, kernel_size: int, dim: int) -> KernelPlan:
        return self._compose_plan(self.first.lifting_plan(kernel_size, dim),
                                  self.second.lifting_plan(kernel_size, dim), kernel_size, dim, True)

    def _kernel_sizes(self, group_kernel_size) -> tuple[int, int]:
        if isinstance(group_kernel_size, int):
            return self.first.default_group_kernel_size(), group_kernel_size
        if isinstance(group_kernel_size, (tuple, list)) and len(group_kernel_size) == 2:
            return int(group_kernel_size[0]), int(group_kernel_size[1])
        raise ValueError(f"{self!r} takes group_kernel_size as a pair (N_h, N_d) or an int N_d, "
                         f"got {group_kernel_size!r}")

    def group_plan(self, kernel_size, dim, group_kernel_size, group_padding) -> KernelPlan:
        mh, md = self._kernel_sizes(group_kernel_size)
        return self._compose_plan(self.first.group_plan(kernel_size, dim, mh, group_padding),
                                  self.second.group_plan(kernel_size, dim, md, group_padding), kernel_size, dim, False)

    def default_group_kernel_size(self) -> tuple[int, int]:
        return self.first.default_group_kernel_size(), self.second.default_group_kernel_size()

    def out_group(self, group_kernel_size, group_padding: str) -> "Product":
        mh, md = self._kernel_sizes(group_kernel_size)
        return Product(self.first.out_group(mh, group_padding), self.second.out_group(md, group_padding))

    def kernel_fan_in_taps(self, kernel_size: int, dim: int) -> int:
        return self.first.kernel_fan_in_taps(kernel_size, dim)

    # -- scale-space pyramid -------------------------------------------------------------------
    def scale_axis(self):
        return self.second.scale_axis()

    def with_scales(self, n: int) -> "Product":
        return Product(self.first, self.second.with_scales(n))

    def octave_voices(self) -> int | None:
        return self.second.octave_voices()

    def __repr__(self) -> str:
        return f"Product({self.first!r}, {self.second!r})"
