"""One table of what differs between signals on R^1 and images on R^2 (and volumes on R^3).

Layers look their dimension up here instead of branching on ``dim == 1``, so a group acting on
R^3 needs no change in :mod:`wavenets.nn`; it only has to declare ``dims = (3,)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn.functional as F
from torch import nn

from ._maxpool import max_pool1d, max_pool2d

__all__ = ["Spatial", "SPATIAL", "spatial"]


@dataclass(frozen=True)
class Spatial:
    """The torch operations and names for signals with ``dim`` spatial axes."""

    dim: int
    conv: Callable  # F.conv1d / conv2d / conv3d
    conv_module: type  # nn.Conv1d / Conv2d / Conv3d (what ``export`` freezes a layer into)
    max_pool: Callable  # F.max_poolNd's arguments and values; R^1 and R^2 run _maxpool's faster CPU paths
    avg_pool: Callable
    interpolate: str  # F.interpolate mode: (bi/tri)linear
    axes: str  # how shapes name the spatial axes in messages: "T", "H, W", "D, H, W"
    packs_levels: bool  # pyramid levels (sizes differing on every axis) run end to end in one conv: 1 axis only


SPATIAL: dict[int, Spatial] = {
    1: Spatial(1, F.conv1d, nn.Conv1d, max_pool1d, F.avg_pool1d, "linear", "T", True),
    2: Spatial(2, F.conv2d, nn.Conv2d, max_pool2d, F.avg_pool2d, "bilinear", "H, W", False),
    3: Spatial(3, F.conv3d, nn.Conv3d, F.max_pool3d, F.avg_pool3d, "trilinear", "D, H, W", False),
}


def spatial(dim: int) -> Spatial:
    """The :class:`Spatial` row of ``dim``, or a ValueError naming the supported ones."""
    try:
        return SPATIAL[dim]
    except (KeyError, TypeError):
        raise ValueError(f"spatial dimension must be one of {sorted(SPATIAL)}, got {dim!r}") from None
