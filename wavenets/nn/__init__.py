"""Equivariant layers. Features are ``[B, C, |G|, *S]`` with the group axis explicit."""
from ._export import FrozenGroupConv, export
from ._group_conv import GroupConv
from ._lifting import LiftingConv
from ._norm import GroupBatchNorm
from ._pool import GroupPool, SpatialPool

__all__ = ["LiftingConv", "GroupConv", "GroupPool", "SpatialPool", "GroupBatchNorm", "export", "FrozenGroupConv"]
