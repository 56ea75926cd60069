"""SampleCNN (Lee et al., SMC 2017) and its Wavelet Network counterpart (Romero et al.), one class.

``[B, 1, 59049] -> [B, num_tags]``: ten 3-tap layers with 3× max-pooling (3^10 = 59049) and a
3-tap 512-channel layer, then a linear layer to the tags. With ``Trivial()`` the first layer is
the published stride-3 convolution (convs with bias, BN, ReLU; 2,394,162 parameters for 50
tags). With ``Dilation(9)`` it is a 3-tap lifting over 9 dyadic scales followed by a 3× pool;
layers 2, 5, 8 and 11 span 3 scales and crop 'valid' along scale (9 → 7 → 5 → 3 → 1), the
others 1; 90 channels give 2,403,860 parameters.
"""
from __future__ import annotations

from torch import Tensor, nn

from ..groups import Dilation, Group, Trivial
from ..nn import (GroupBatchNorm, GroupConv, GroupPool, LiftingConv, PerLevel, PyramidGroupConv, PyramidLifting,
                  SpatialPool, pyramid_readout)
from ._mnet import audio_group
from ._registry import register_model

__all__ = ["SampleCNN"]

#: channel multipliers of layers 2-11 (layer 1 has the base width)
_MULT = (1, 1, 2, 2, 2, 2, 2, 2, 4, 4)
#: scale taps of layers 2-11 in the W-Net
_WNET_TAPS = (3, 1, 1, 3, 1, 1, 3, 1, 1, 3)


class SampleCNN(nn.Module):
    """``x: [B, 1, 59049] -> [B, num_classes]`` tag logits.

    Args:
        group: ``Trivial()`` (SampleCNN) or ``Dilation(9)`` (W-SampleCNN).
        num_classes: tags (50 for MagnaTagATune).
        width: base channels (default 128, or 90 for the W-Net).
        dropout: after layer 6 and after layer 11, as published.
        layout: ``"dense"`` or ``"pyramid"`` (W-SampleCNN only): octave ``j`` stored at ``1/2^j``
            of the rate, every layer and 3× pool at each level's own rate (partial last windows
            kept), max over time and levels at the end; same parameters (see
            :class:`~wavenets.models.MNet`).
    """

    def __init__(self, group: Group, num_classes: int = 50, *, width: int | None = None, dropout: float = 0.5,
                 layout: str = "dense"):
        super().__init__()
        wavelet = not isinstance(group, Trivial)
        if wavelet and not isinstance(group, Dilation):
            raise ValueError(f"SampleCNN needs Trivial() or a Dilation group, got {group!r}")
        if layout not in ("dense", "pyramid"):
            raise ValueError(f"layout must be 'dense' or 'pyramid', got {layout!r}")
        pyramid = layout == "pyramid"
        if pyramid and not wavelet:
            raise ValueError("layout='pyramid' stores the scales of a W-SampleCNN; SampleCNN (Trivial group) has none")
        width = width or (90 if wavelet else 128)
        self.group, self.width, self.layout = group, width, layout
        wrap = PerLevel if pyramid else (lambda m: m)

        def pool() -> nn.Module:
            return PerLevel(SpatialPool(3, dim=1, ceil_mode=True)) if pyramid else SpatialPool(3, dim=1)

        if wavelet:
            lift = PyramidLifting if pyramid else LiftingConv
            layers: list[nn.Module] = [lift(group, 1, width, 3, dim=1, bias=False), pool(),
                                       GroupBatchNorm(width), wrap(nn.ReLU())]
        else:
            layers = [LiftingConv(group, 1, width, 3, dim=1, stride=3, padding=0), GroupBatchNorm(width), nn.ReLU()]
        g, c_in = group, width
        for i, (mult, taps) in enumerate(zip(_MULT, _WNET_TAPS)):
            taps = taps if wavelet else 1
            conv = (PyramidGroupConv if pyramid else GroupConv)(
                g, c_in, width * mult, 3, dim=1, group_kernel_size=taps, group_padding="valid" if taps > 1 else "zero",
                bias=not wavelet)
            layers += [conv, GroupBatchNorm(width * mult), wrap(nn.ReLU())]
            if i < len(_MULT) - 1:  # layers 2-10 pool, layer 11 does not
                layers.append(pool())
            if i in (4, 9):  # after layer 6 and layer 11
                layers.append(wrap(nn.Dropout(dropout)))
            g, c_in = conv.out_group, width * mult
        self.features = nn.Sequential(*layers)
        self.pool = GroupPool("max")
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"SampleCNN expected waveforms [B, 1, 59049], got {list(x.shape)}")
        h = self.features(x)
        if isinstance(h, list):  # pyramid: max over each level's time, then over levels
            return self.fc(pyramid_readout(h, "max").amax((2, 3)))
        h = self.pool(h)  # [B, C, T'] after the max over scales
        return self.fc(h.amax(-1))


@register_model("samplecnn", forwards=SampleCNN, builds=("group",))
def samplecnn(*, group: str, order: int | None = None, base: float | None = None, start: int | None = None,
              **options) -> SampleCNN:
    """:class:`SampleCNN` with ``group = "trivial"``, its Wavelet Network with ``"dilation"``
    (:func:`~wavenets.models.audio_group`)."""
    return SampleCNN(audio_group(group, order, base, start), **options)
