"""Batch normalisation for group features, statistics shared over the group axis."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._pack import FlatLevels


class GroupBatchNorm(nn.BatchNorm1d):
    """``x: [B, C, |G|, *S] -> same``: one mean/var/affine per channel, pooled over batch,
    group axis and space, so any permutation or transformation of the group axis commutes.

    Under the decimation action of :class:`~wavenets.groups.Dilation`, batch statistics change
    with the input (train mode); eval mode (running statistics) is exactly equivariant.

    Pyramid features (a list of levels ``[B, C, V, *X_j]``) share one set of statistics over
    all levels, every stored sample counted once (a level's weight is its sample count, ``2^-j·d``
of the finest), so that the statistics, like every other layer, are the same function of each
level. In eval mode (running statistics) each level is normalised where it is, without a copy;
in training the levels come back as :class:`~wavenets.nn._pack.FlatLevels`, views of the one
normalised tensor, on which an elementwise layer after it runs once. :meth:`forward_many`
normalises several inputs of different lengths with one set of statistics.
    """

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            for level in x:
                self._check(level)
            if not self.training and self.track_running_stats:  # a fixed affine map: level by level, no copy
                return [super(GroupBatchNorm, self).forward(level.flatten(2)).view_as(level) for level in x]
            y = super().forward(torch.cat([level.flatten(2) for level in x], 2))
            return FlatLevels(y, [level.shape[2:] for level in x])  # views of one tensor: ReLU etc. run once
        self._check(x)
        return super().forward(x.flatten(2)).view_as(x)

    def forward_many(self, xs: list) -> list:
        """Several inputs (tensors or pyramids, of any lengths) normalised with *one* set of
        statistics, as one batch would be: in training every stored sample of every input counts
        once (what concatenating them along the batch does when their shapes agree); with running
        statistics each is normalised on its own. Returns one output per input, pyramids as
        :class:`~wavenets.nn._pack.FlatLevels` views of the one normalised tensor in training."""
        if len(xs) == 1:
            return [self(xs[0])]
        if not self.training and self.track_running_stats:  # a fixed affine map: each on its own
            return [self(x) for x in xs]
        levels = [list(x) if isinstance(x, (list, tuple)) else [x] for x in xs]
        b = levels[0][0].shape[0]
        if any(t.shape[0] != b for group in levels for t in group):
            raise ValueError(f"GroupBatchNorm.forward_many expected inputs of one batch size, got "
                             f"{[[t.shape[0] for t in group] for group in levels]}")
        y = self([t for group in levels for t in group]).flat  # every level of every input as one pyramid
        out = []
        for x, flat in zip(xs, y.split([sum(math.prod(t.shape[2:]) for t in group) for group in levels], 2)):
            if isinstance(x, (list, tuple)):
                out.append(FlatLevels(flat, [t.shape[2:] for t in x]))
            else:
                out.append(flat.view_as(x))
        return out

    def _check(self, x: Tensor) -> None:
        if x.dim() < 4:
            raise ValueError(f"GroupBatchNorm expected [B, C, |G|, *S], got {list(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"GroupBatchNorm expected [B, {self.num_features}, |G|, *S], got {list(x.shape)} "
                f"({x.shape[1]} channels)"
            )
