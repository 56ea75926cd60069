"""Batch normalisation for group features, statistics shared over the group axis."""
from __future__ import annotations

from torch import Tensor, nn


class GroupBatchNorm(nn.BatchNorm1d):
    """``x: [B, C, |G|, *S] -> same``: one mean/var/affine per channel, pooled over batch,
    group axis and space, so any permutation or transformation of the group axis commutes.

    Under the decimation action of :class:`~wavenets.groups.Dilation`, batch statistics change
    with the input (train mode); eval mode (running statistics) is exactly equivariant.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 4:
            raise ValueError(f"GroupBatchNorm expected [B, C, |G|, *S], got {list(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"GroupBatchNorm expected [B, {self.num_features}, |G|, *S], got {list(x.shape)} "
                f"({x.shape[1]} channels)"
            )
        return super().forward(x.flatten(2)).view_as(x)
