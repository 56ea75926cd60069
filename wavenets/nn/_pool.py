"""Pooling over the group axis (invariance) and over space (keeping the group axis)."""
from __future__ import annotations

from torch import Tensor, nn

from ._spatial import spatial

_REDUCE = ("max", "mean")


def _check_reduce(reduce: str) -> str:
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be one of {_REDUCE}, got {reduce!r}")
    return reduce


class GroupPool(nn.Module):
    """Projection over the group axis: ``x: [B, C, |G|, *S] -> [B, C, *S]``.

    Max or mean over ``h`` of ``F(x, h)``; the result transforms like a signal, so an equivariant
    network followed by GroupPool is invariant to the group's action on the group axis.
    """

    def __init__(self, reduce: str = "max"):
        super().__init__()
        self.reduce = _check_reduce(reduce)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 3:
            raise ValueError(f"GroupPool expected [B, C, |G|, *S], got {list(x.shape)}")
        return x.amax(2) if self.reduce == "max" else x.mean(2)

    def extra_repr(self) -> str:
        return f"reduce={self.reduce!r}"


class SpatialPool(nn.Module):
    """Spatial max/mean pooling of each group slice: ``[B, C, |G|, *S] -> [B, C, |G|, *S']``.

    Exactly equivariant to rot90 / flips when each spatial size is a multiple of the stride
    (windows then tile the grid symmetrically); see the README's size rules. ``ceil_mode``
    keeps a partial last window (``ceil(S / stride)`` samples), which the pyramid layout
    needs: ``ceil(ceil(S/2)/k) = ceil(ceil(S/k)/2)``, so octave levels keep halving.
    """

    def __init__(self, kernel_size: int, *, dim: int = 2, stride: int | None = None, reduce: str = "max",
                 ceil_mode: bool = False):
        super().__init__()
        self.ceil_mode = ceil_mode
        spatial(dim)  # a clear error for an unsupported dimension
        self.kernel_size, self.dim = kernel_size, dim
        self.stride = kernel_size if stride is None else stride
        self.reduce = _check_reduce(reduce)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != self.dim + 3:
            raise ValueError(f"SpatialPool expected [B, C, |G|, {spatial(self.dim).axes}], got {list(x.shape)}")
        folded = x.flatten(1, 2)
        ops = spatial(self.dim)
        fn = ops.max_pool if self.reduce == "max" else ops.avg_pool
        y = fn(folded, self.kernel_size, self.stride, ceil_mode=self.ceil_mode)
        return y.unflatten(1, x.shape[1:3])

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, dim={self.dim}, stride={self.stride}, reduce={self.reduce!r}"
        return s + (", ceil_mode=True" if self.ceil_mode else "")
