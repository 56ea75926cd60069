"""Equivariant layers. Features are ``[B, C, |G|, *S]`` with the group axis explicit (dense
layout), or, for dilation groups, a list of octave levels ``[B, C, V, *S_j]`` each at its own
rate (the scale-space pyramid layout, ``Pyramid*`` layers). ``Spectrogram`` is the librosa front end of
the spectrogram baselines."""
from ._export import FrozenGroupConv, export
from ._group_conv import GroupConv
from ._lifting import LiftingConv
from ._norm import GroupBatchNorm
from ._pool import GroupPool, SpatialPool
from ._pyramid import (PerLevel, PyramidGroupConv, PyramidLifting, centroid_octave, content_octave, drop_levels,
                       empty_octaves, from_dense, is_pyramid, outside_anchor, per_level, pyramid_readout,
                       random_fine_levels, scale_pyramid, to_dense)
from ._blur import pyramid_expand, pyramid_reduce
from ._resample import magnify, to_onset
from ._spectrogram import FRONTENDS, Spectrogram

__all__ = ["LiftingConv", "GroupConv", "GroupPool", "SpatialPool", "GroupBatchNorm", "export", "FrozenGroupConv",
           "PyramidLifting", "PyramidGroupConv", "PerLevel", "scale_pyramid", "pyramid_readout", "to_dense",
           "from_dense", "per_level", "is_pyramid", "pyramid_reduce", "pyramid_expand", "empty_octaves",
           "content_octave", "centroid_octave", "outside_anchor", "drop_levels", "random_fine_levels", "magnify",
           "to_onset", "Spectrogram", "FRONTENDS"]
