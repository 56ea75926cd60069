"""Export for inference: every lifting / group convolution becomes plain ``nn.Conv1d`` /
``nn.Conv2d`` modules that hold the transformed filter banks (one per block; one in total for a
finite group), so a deployed model needs no bank building, no group code and no caches."""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ._core import _PlannedConv, block_input, block_padding, run_packed
from ._pack import can_pack
from ._spatial import spatial

__all__ = ["FrozenGroupConv", "export"]


class FrozenGroupConv(nn.Module):
    """The frozen form of a LiftingConv / GroupConv: fixed plain convolutions on the folded
    ``[B, C·|G|, *S]`` view, same shapes in and out as the layer it replaces."""

    def __init__(self, layer: _PlannedConv):
        super().__init__()
        conv_cls = spatial(layer.dim).conv_module
        self.in_order, self.out_channels = layer.in_order, layer.out_channels
        self.dim, self.padding, self.stride, self.padding_mode = layer.dim, layer.padding, layer.stride, layer.padding_mode
        self.blocks = layer.plan.blocks
        self.convs = nn.ModuleList()
        with torch.no_grad():
            for block, (bank, bias) in zip(self.blocks, layer.filter_banks()):
                conv = conv_cls(bank.shape[1], bank.shape[0], block.kernel_size, stride=layer.stride,
                                padding=block_padding(layer.padding, block), dilation=block.dilation,
                                bias=bias is not None, padding_mode=layer.padding_mode).to(bank.device, bank.dtype)
                conv.weight.copy_(bank)  # in the bank's dtype: a float64 layer keeps float64 weights
                if bias is not None:
                    conv.bias.copy_(bias)
                self.convs.append(conv)

    def packable(self) -> bool:
        """As the layer's: inputs of different lengths can run as one call (1D, zero padding)."""
        return can_pack(self.dim, self.padding_mode)

    def forward_packed(self, xs: list[Tensor]) -> list[Tensor]:
        """``[forward(x) for x in xs]``, as one call where 1D and zero-padded (see
        ``LiftingConv.forward_packed``)."""
        if len(xs) > 1 and self.packable():
            return run_packed(self.forward, xs, self.blocks, self.padding, self.stride)
        return [self.forward(x) for x in xs]

    def forward(self, x: Tensor) -> Tensor:
        outs = []
        for conv, block in zip(self.convs, self.blocks):
            e = block.out_index.stop - block.out_index.start
            outs.append(conv(block_input(x, block, self.in_order)).unflatten(1, (self.out_channels, e)))
        return outs[0] if len(outs) == 1 else torch.cat(outs, 2)


def export(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with every group convolution frozen into plain convs.

    Outputs equal the eval-mode model's (tested). Anti-aliased dilation layers are not
    exportable yet (their input blur would need its own frozen module).
    """
    model = copy.deepcopy(model).eval()

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, _PlannedConv):
                if child.antialias:
                    raise ValueError(f"{name}: export of antialias=True layers is not supported yet")
                setattr(parent, name, FrozenGroupConv(child))
            else:
                swap(child)

    if isinstance(model, _PlannedConv):
        return FrozenGroupConv(model).eval()
    swap(model)
    return model
