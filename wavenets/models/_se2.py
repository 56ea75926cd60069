"""Roto-translation G-CNNs for image patches (Bekkers, ICLR 2020; Lafarge et al., MedIA 2021).

One network for every group: ``Trivial()`` gives the CNN baseline with the same code.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..groups import Dihedral, Group, Rotation, Trivial
from ..nn import GroupBatchNorm, GroupConv, GroupPool, LiftingConv, SpatialPool
from ._registry import register_model

__all__ = ["SE2Net", "PRESETS", "budget_width", "make_group"]

#: Channel widths per group order that keep the parameter count near that of the N=1 net (ICLR 2020).
BUDGET_WIDTHS = {1: 40, 4: 20, 8: 14, 12: 11, 16: 10}

#: Layer stacks: ``crop`` (centre crop or None), ``layers`` of (kernel, pool after), input size.
PRESETS: dict[str, dict] = {
    # PCam 96x96 -> crop 88: 88 -5-> 84 /2-> 42 -5-> 38 /2-> 19 -5-> 15 /3-> 5 -5-> 1
    "pcam": {"input_size": 96, "crop": 88, "layers": [(5, 2), (5, 2), (5, 3), (5, 1)]},
    # embedded tissue patches 44x44 -> crop 40: 40 -5-> 36 /2-> 18 -5-> 14 /2-> 7 -5-> 3 -3-> 1
    "tissue": {"input_size": 44, "crop": 40, "layers": [(5, 2), (5, 2), (5, 1), (3, 1)]},
    # digits padded to 12x12: 12 -3-> 10 /2-> 5 -3-> 3 -3-> 1
    "digits": {"input_size": 12, "crop": None, "layers": [(3, 2), (3, 1), (3, 1)]},
}


def budget_width(order: int) -> int:
    """Budget-matched channel width for a group with ``order`` elements."""
    return BUDGET_WIDTHS.get(order, max(1, round(40 / math.sqrt(order))))


def make_group(name: str, order: int, *, mask: bool) -> Group:
    """``"trivial"``, ``"rotation"`` (C_order) or ``"dihedral"`` (D_order) by name."""
    name = name.lower()
    if name == "trivial" or (name == "rotation" and order == 1 and not mask):
        return Trivial()
    if name == "rotation":
        return Rotation(order, mask=mask)
    if name == "dihedral":
        return Dihedral(order, mask=mask)
    raise ValueError(f"unknown group {name!r}: expected 'trivial', 'rotation' or 'dihedral'")


class SE2Net(nn.Module):
    """Patch classifier: lifting + group convs ('valid'), BN + ReLU, spatial max-pools, a 1×1
    group conv, max over the group axis, then two 1×1 convs to the logits.

    ``x: [B, C_in, S, S] -> [B, num_classes]``. With ``S`` as in the preset every stage keeps
    the size rules of exact equivariance, so for a rotation group of order 4k the logits are
    exactly invariant to 90° rotations of the input (train and eval mode).

    Args:
        group: Trivial (CNN), Rotation or Dihedral.
        in_channels, num_classes: input channels, number of classes.
        preset: ``"pcam"``, ``"tissue"`` or ``"digits"`` (layer stack and input size), or pass
            ``layers``, ``crop`` and ``input_size`` yourself.
        width: channels per group element (default: budget-matched, :data:`BUDGET_WIDTHS`).
        hidden, head: channels of the 1×1 group conv (64) and of the 1×1 conv after pooling (16).
    """

    def __init__(
        self,
        group: Group,
        in_channels: int = 3,
        num_classes: int = 2,
        *,
        preset: str | None = "pcam",
        layers: Sequence[Sequence[int]] | None = None,
        crop: int | None = None,
        input_size: int | None = None,
        width: int | None = None,
        hidden: int = 64,
        head: int = 16,
    ):
        super().__init__()
        if group.scale_axis() is not None:
            raise ValueError(f"SE2Net is the patch classifier for rotation groups (Trivial, Rotation, Dihedral); "
                             f"{group!r} has a scale axis: use PyramidPatchNet({group!r}, ...) (in a recipe: "
                             f"model.name = \"pyramid_patchnet\", model.scales = N), which takes every group here")
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"unknown SE2Net preset {preset!r}; choose one of {sorted(PRESETS)} (or None)")
        cfg = dict(PRESETS[preset]) if preset is not None else {}
        layers = [tuple(l) for l in (layers if layers is not None else cfg["layers"])]
        crop = crop if crop is not None else cfg.get("crop")
        input_size = input_size if input_size is not None else cfg.get("input_size")
        width = width or budget_width(group.order)
        self.group, self.crop, self.input_size, self.width = group, crop, input_size, width
        self.in_channels = in_channels
        self._check_sizes(layers)
        #: the window one output reads (pixels) and the step between outputs in forward_dense
        self.window, self.stride = 1, 1
        for k, pool in reversed(layers):
            self.window = self.window * pool + k - 1
        for _, pool in layers:
            self.stride *= pool
        blocks: list[nn.Module] = []
        c_in = in_channels
        for i, (k, pool) in enumerate(layers):
            conv_cls = LiftingConv if i == 0 else GroupConv
            blocks += [conv_cls(group, c_in, width, k, dim=2, padding="valid", bias=False),
                       GroupBatchNorm(width), nn.ReLU(inplace=True)]
            if pool > 1:
                blocks.append(SpatialPool(pool))
            c_in = width
        blocks += [GroupConv(group, width, hidden, 1, dim=2, bias=False), GroupBatchNorm(hidden), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*blocks)
        self.pool = GroupPool("max")
        self.head = nn.Sequential(
            nn.Conv2d(hidden, head, 1, bias=False), nn.BatchNorm2d(head), nn.ReLU(inplace=True),
            nn.Conv2d(head, num_classes, 1),
        )

    def _check_sizes(self, layers) -> None:
        if self.input_size is None:
            return
        size = self.crop or self.input_size
        trace = [str(size)]
        for k, pool in layers:
            size -= k - 1
            if size < 1 or size % pool:
                raise ValueError(
                    f"layer stack {layers} does not fit input {self.input_size} (crop {self.crop}): "
                    f"after {' -> '.join(trace)} a {k}x{k} conv gives {size}, not a positive multiple of pool {pool}"
                )
            size //= pool
            trace.append(str(size))
        if size != 1:
            raise ValueError(f"layer stack ends at {size}x{size}, not 1x1 ({' -> '.join(trace)}); adjust layers or crop")

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"SE2Net expected images [B, C, H, W], got {list(x.shape)}")
        if self.input_size is not None and tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            raise ValueError(
                f"SE2Net expected {self.input_size}x{self.input_size} images, got {list(x.shape)}; "
                "resize or pick the matching preset"
            )
        if self.crop is not None:
            off = (x.shape[-1] - self.crop) // 2
            x = x[..., off : off + self.crop, off : off + self.crop]
        return self.head(self.pool(self.features(x))).flatten(1)

    def forward_dense(self, x: Tensor) -> Tensor:
        """Logits at every ``window × window`` window of a larger image, every ``stride`` pixels:
        ``[B, C, H, W] -> [B, classes, (H − window) / stride + 1, …]``, one pass (the network is
        fully convolutional). Output ``(i, j)`` is :meth:`forward` on the window at
        ``(i·stride, j·stride)`` (for a preset with a centre crop: on any input whose crop is that
        window); ``H − window`` and ``W − window`` must be multiples of ``stride``."""
        if x.dim() != 4 or min(x.shape[-2:]) < self.window:
            raise ValueError(f"SE2Net.forward_dense expected images [B, C, H, W] of at least {self.window}×"
                             f"{self.window} px, got {list(x.shape)}")
        if any((n - self.window) % self.stride for n in x.shape[-2:]):
            raise ValueError(f"SE2Net.forward_dense needs H − {self.window} and W − {self.window} to be multiples of "
                             f"{self.stride} (its pools), got {list(x.shape[-2:])}; crop the image")
        return self.head(self.pool(self.features(x)))


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model`` (frozen ones left out)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@register_model("se2net", forwards=SE2Net, builds=("group",))
def se2net(*, group: str, order: int = 1, mask: bool = False, **options) -> SE2Net:
    """:class:`SE2Net` over ``group`` ``"rotation"`` (C_order), ``"dihedral"`` (D_order) or
    ``"trivial"`` (its CNN baseline), ``mask``: disk-masked kernels (:func:`make_group`)."""
    return SE2Net(make_group(group, order, mask=mask), **options)
