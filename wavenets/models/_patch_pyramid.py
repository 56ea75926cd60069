"""Patch classifiers at any magnification: scale and roto-scale G-CNNs in the scale-space
pyramid layout (Bekkers, ICLR 2020; Sosnovik et al., ICLR 2020; Jansson & Lindeberg, 2022).

One network for every group with a scale axis: ``Dilation(n)`` (scale-translation G-CNN),
``Rotation(4) * Dilation(n)`` (roto-scale), and ``Dilation(1)`` (one level: the plain CNN, or
with ``Rotation(4) * Dilation(1)`` the SE(2) G-CNN) with the same code, so baselines are fair by
construction.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..groups import Dilation, Group
from ..nn import (GroupBatchNorm, PerLevel, PyramidGroupConv, PyramidLifting, drop_levels, magnify,
                  random_fine_levels, scale_pyramid)
from ..nn._spatial import spatial
from ._registry import register_model
from ._se2 import budget_width, make_group

__all__ = ["PyramidPatchNet", "centre_readout", "global_readout", "foveate"]


def centre_readout(levels: list[Tensor]) -> Tensor:
    """Features at the input's centre, level by level: ``[x_j: [B, C, G_j, *X_j]] -> [B, C, ΣG_j]``.

    Sample ``t`` of a level holds input position ``t·(S−1)/(X_j−1)`` along an axis of ``S``
    input pixels (strided 'same' layers on odd sizes keep both ends on samples), so the centre
    ``(S−1)/2`` is read by linear interpolation; on odd sizes it is a sample and the read is
    exact. The receptive field of level ``j`` is ``2^j`` times that of level 0 in input pixels,
    so this readout is covariant with magnification by ``2^k`` (a shift of ``k`` levels).
    """
    out = []
    for level in levels:
        flat = level.flatten(1, 2)
        dim = level.dim() - 3
        # centre of a level is its middle sample position (n - 1) / 2: read it with align_corners
        centre = F.interpolate(flat, size=[3] * dim, mode=spatial(dim).interpolate, align_corners=True)
        out.append(centre[(Ellipsis,) + (1,) * dim].unflatten(1, level.shape[1:3]))
    return torch.cat(out, 2)


def global_readout(levels: list[Tensor]) -> Tensor:
    """The spatial max of every level: ``[x_j: [B, C, G_j, *X_j]] -> [B, C, ΣG_j]``.

    For whole objects on a blank background (digits) rather than a label at the patch centre.
    Invariant to translation. Under magnification by ``2^k`` it shifts by ``k`` levels only up
    to the frame: a zoomed object sits at another distance from the image border, and after a
    batch norm the blank background is no longer zero, so zero padding draws an edge there.
    ``padding_mode="replicate"`` removes that edge at the finest level; a foveated pyramid on a
    wider canvas (``fovea``) removes it at every level.
    """
    return torch.cat([level.flatten(3).amax(3) for level in levels], 2)


_READOUTS = {"centre": centre_readout, "global": global_readout}


def foveate(levels: list[Tensor], size: int) -> list[Tensor]:
    """Every level cut to its central ``size`` samples per axis (levels already smaller stay).

    Sizes must leave an even margin (odd level sizes and odd ``size``), so the crop is exact and
    the centre stays on a sample. Cutting the scale-space pyramid ``[x_0, x_1, …]`` of a wide
    input this way gives level ``j`` a field of view ``2^j`` times wider at the same pixel count
    (a foveated pyramid): level ``j + 1`` of an image is level ``j`` of the image contracted by
    the pyramid's own operator, crop and borders included.
    """
    out = []
    for level in levels:
        n = level.shape[-1]
        if n > size:
            if (n - size) % 2:
                raise ValueError(f"foveate needs odd level sizes for an odd fovea of {size}; got a level of {n} "
                                 f"(use inputs of 2^m·{size - 1} + 1 px, e.g. {2 * size - 1})")
            off = (n - size) // 2
            level = level[..., off:off + size, off:off + size]
        out.append(level)
    return out


class PyramidPatchNet(nn.Module):
    """Lifting + strided group convs on every octave level, BN + ReLU, a 1×1 group conv, the
    features at the patch centre of every level (or the spatial max, ``readout="global"``),
    max (or mean, ``group_pool``) over the group (scales and rotations), then two 1×1 layers to
    the logits.

    ``x: [B, C_in, S, S] -> [B, num_classes]``. With ``S = 2^m + 1`` (33, 65) the centre stays
    on a sample at every level, so for ``Rotation(4) * Dilation(n)`` the logits are exactly
    invariant to 90° rotations, and contracting the input by the pyramid's own operator shifts
    every level by one (exact below the levels that leave the range).

    Args:
        group: a group with a scale axis (``Dilation(n, base=2^(1/V))`` or ``H * Dilation(…)``).
        in_channels, num_classes: input channels and classes.
        layers: ``(kernel, stride)`` per convolution; the first lifts.
        width: channels per group element (default: budget-matched to the rotation factor's
            order, as :class:`~wavenets.models.SE2Net`).
        group_kernel_size: scales each group conv spans (1: levels do not mix).
        hidden, head: channels of the 1×1 group conv and of the head.
        level_dropout: (0 = off) in training, each patch's max skips its ``k`` finest octave
            levels, ``k`` uniform in ``0 … level_dropout`` (at least one level kept). Skipping
            ``k`` finest levels is exactly what zooming out by ``2^k`` does to the pyramid, so
            this is a free magnification augmentation towards zoom-out.
        readout: ``"centre"`` (the label belongs to the patch centre: tissue) or ``"global"``
            (the label belongs to the whole image: digits), see :func:`centre_readout` and
            :func:`global_readout`.
        fovea: (odd, or ``None``: off) cut every level of the input pyramid to its central
            ``fovea`` px (:func:`foveate`). On inputs wider than ``fovea`` every level then has a
            real field of view, ``2^j·fovea`` input px, instead of zero padding around a small
            patch, and magnification by 2 shifts the levels exactly. Levels do not mix
            (``group_kernel_size = 1``).
        padding_mode: how every convolution and the input pyramid fill the border (``"zeros"``
            or ``"replicate"``, see :class:`~wavenets.nn.LiftingConv`). On objects against a
            blank background, ``"replicate"`` keeps the image frame out of the features: after
            a batch norm the background is no longer zero, and zero padding would draw an edge
            at a distance from the object that changes with magnification.
        input_voices: (1 = off) scale channels between the octaves, made by resampling the
            input (Jansson & Lindeberg's scale channels): the network runs, with shared weights
            and shared batch statistics, on the input magnified by ``2^(−v/V)``, ``v < V``, each
            copy with its own octave pyramid, so scale channel ``jV + v`` sees ``2^(j + v/V)``.
            Every layer's strides and kernels then act on each channel at its own rate, and
            magnifying the input by ``2^(1/V)`` shifts the channels by one up to interpolation
            and the frame. Kernel-resampled voices (``Dilation(n, 2^(1/V))``) are not equivariant
            through strided layers; these are. Cost: ``V`` times the octave network. With level
            dropout, ``k`` finest *channels* are skipped, ``k`` uniform in ``0 … level_dropout·V``
            (a free zoom-out in steps of ``2^(1/V)``).
        group_pool: ``"max"`` over the group (scales and rotations; invariant) or ``"mean"``
            (every scale votes; invariant to rotations, and to zoom only up to the levels that
            leave or enter the range). Skipped levels are left out of the mean.
    """

    def __init__(self, group: Group, in_channels: int = 3, num_classes: int = 2, *,
                 layers: Sequence[Sequence[int]] = ((5, 1), (3, 2), (3, 2), (3, 1)), width: int | None = None,
                 group_kernel_size: int = 1, hidden: int = 64, head: int = 16, level_dropout: int = 0,
                 readout: str = "centre", fovea: int | None = None, padding_mode: str = "zeros",
                 input_voices: int = 1, group_pool: str = "max"):
        super().__init__()
        if group_pool not in ("max", "mean"):
            raise ValueError(f"group_pool is 'max' or 'mean' (over scales and rotations), got {group_pool!r}")
        self.group_pool = group_pool
        if readout not in _READOUTS:
            raise ValueError(f"readout must be one of {', '.join(_READOUTS)}, got {readout!r}")
        if fovea is not None and (not isinstance(fovea, int) or fovea < 1 or fovea % 2 == 0):
            raise ValueError(f"fovea is an odd number of pixels (or None: off), got {fovea!r}")
        if fovea is not None and group_kernel_size != 1:
            raise ValueError(f"a foveated pyramid keeps its levels apart (group_kernel_size = 1): the levels cover "
                             f"different fields of view; got group_kernel_size = {group_kernel_size}")
        scales = group.scale_axis()
        if scales is None:
            raise ValueError(f"PyramidPatchNet needs a group with a scale axis, e.g. Dilation(4) or "
                             f"Rotation(4) * Dilation(4); got {group!r} (use Rotation(4) * Dilation(1) for SE(2))")
        fiber = group.order // scales.order
        if not isinstance(input_voices, int) or isinstance(input_voices, bool) or input_voices < 1:
            raise ValueError(f"input_voices is a number of scale channels per octave (1: off), got {input_voices!r}")
        if input_voices > 1 and group.octave_voices() > 1:
            raise ValueError(f"choose one kind of voices: input_voices={input_voices} resamples the input, and "
                             f"{group!r} resamples the kernels; use an octave group (base 2) with input_voices")
        if input_voices > 1 and padding_mode not in ("zeros", "replicate", "reflect"):
            raise ValueError(f"input_voices resamples the input, which reads outside it as 'zeros', 'replicate' or "
                             f"'reflect'; got padding_mode={padding_mode!r}")
        width = width or budget_width(fiber)
        if not isinstance(level_dropout, int) or level_dropout < 0:
            raise ValueError(f"level_dropout is a number of octave levels (0: off), got {level_dropout!r}")
        self.group, self.width, self.level_dropout, self.readout, self.fovea = group, width, level_dropout, readout, fovea
        self.in_channels = in_channels
        self.input_voices, self.padding_mode, self.fiber = input_voices, padding_mode, fiber
        self.slots_per_level = fiber * group.octave_voices() * input_voices
        layers = [tuple(map(int, layer)) for layer in layers]
        blocks: list[nn.Module] = []
        g, c_in = group, in_channels
        for i, (k, stride) in enumerate(layers):
            if i == 0:
                conv = PyramidLifting(g, c_in, width, k, dim=2, stride=stride, padding_mode=padding_mode, bias=False)
            else:
                conv = PyramidGroupConv(g, c_in, width, k, dim=2, group_kernel_size=group_kernel_size,
                                        group_padding="valid", stride=stride, padding_mode=padding_mode, bias=False)
            g = conv.out_group
            blocks += [conv, GroupBatchNorm(width), PerLevel(nn.ReLU())]
            c_in = width
        blocks += [PyramidGroupConv(g, width, hidden, 1, dim=2, bias=False), GroupBatchNorm(hidden),
                   PerLevel(nn.ReLU())]
        self.out_group = g
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(hidden, head, bias=False), nn.BatchNorm1d(head), nn.ReLU(inplace=True),
                                  nn.Linear(head, num_classes))

    def level_logits(self, x: Tensor) -> Tensor:
        """``[B, C, G]``: the read-out features of every group element (before the max), level
        by level, the input voices of a level (then the fiber) within it."""
        v = self.input_voices
        if v > 1:  # the copies go through the network as one batch: shared batch statistics
            x = torch.cat([x] + [magnify(x, 2 ** (-i / v), padding_mode=self.padding_mode) for i in range(1, v)])
        if self.fovea is not None:
            lift = self.features[0]
            x = foveate(scale_pyramid(x, lift.levels, 2, skip=lift.skip, padding_mode=lift.padding_mode), self.fovea)
        h = _READOUTS[self.readout](self.features(x))
        if v > 1:  # [V·B, C, L·fiber] -> [B, C, L·V·fiber]
            b, c, g = h.shape[0] // v, h.shape[1], h.shape[2]
            h = h.view(v, b, c, g // self.fiber, self.fiber).permute(1, 2, 3, 0, 4).reshape(b, c, g * v)
        return h

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"PyramidPatchNet expected images [B, C, H, W], got {list(x.shape)}")
        h = self.level_logits(x)
        if self.training and self.level_dropout:
            h = self._skip_fine_levels(h)
        if self.group_pool == "max":
            return self.head(h.amax(2))
        kept = torch.isfinite(h)  # level dropout marks skipped slots -inf
        return self.head(torch.where(kept, h, 0.0).sum(2) / kept.sum(2).clamp_min(1))

    def _skip_fine_levels(self, h: Tensor) -> Tensor:
        """``h: [B, C, G]`` with the slots of each patch's ``k`` finest levels (input voices:
        scale channels) at -inf."""
        unit = self.fiber if self.input_voices > 1 else self.slots_per_level  # the slots skipped together
        drop = random_fine_levels(h.shape[0], -(-h.shape[2] // unit), self.level_dropout * self.input_voices, h.device)
        return drop_levels(h, drop, unit)

    @staticmethod
    def make_group(first: Group, scales: int, voices: int) -> Group:
        """``first × Dilation(scales, 2^(1/voices))`` (just the dilation when ``first`` is trivial)."""
        d = Dilation(scales, 2 ** (1 / voices))
        return d if first.order == 1 else first * d


@register_model("pyramid_patchnet", forwards=PyramidPatchNet, builds=("group", "group_kernel_size", "readout"))
def pyramid_patchnet(*, group: str, order: int = 1, mask: bool = False, scales: int = 1, voices: int = 1,
                     scale_taps: int | None = None, spatial_readout: str | None = None, **options) -> PyramidPatchNet:
    """:class:`PyramidPatchNet` over ``make_group(group, order, mask) × Dilation(scales,
    2^(1/voices))``; ``scale_taps`` and ``spatial_readout`` are its ``group_kernel_size`` and
    ``readout`` (unset: the class's defaults)."""
    given = {k: v for k, v in (("group_kernel_size", scale_taps), ("readout", spatial_readout)) if v is not None}
    net_group = PyramidPatchNet.make_group(make_group(group, order, mask=mask), scales, voices)
    return PyramidPatchNet(net_group, **given, **options)
