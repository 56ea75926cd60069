"""A 2D CNN on a log-mel or constant-Q spectrogram: the front end audio practitioners start from,
as a baseline for the wavelet networks, with the stages of the M-Nets (Dai et al., 2017).

The convolutions are the toolkit's own with the trivial group, as in every baseline here.
"""
from __future__ import annotations

import inspect

import torch
from torch import Tensor, nn

from ..groups import Trivial
from ..nn import GroupBatchNorm, GroupConv, GroupPool, LiftingConv, SpatialPool, Spectrogram
from ._mnet import MNET_SPECS, _active_mean
from ._registry import register_model

__all__ = ["SpecCNN", "SPEC_ARCHS", "matched_width"]

#: spectrogram CNNs that mirror the M-Nets: the stem is the M-Net's first (front-end) layer and
#: every stage keeps its channel multiplier and number of 3×3 conv layers
SPEC_ARCHS = ("m5", "m11", "m18")
#: pooling over frequency and time before the head (see SpecCNN's ``global_pool``)
SPEC_POOLS = ("mean", "active")


class SpecCNN(nn.Module):
    """``x: [B, C, T]`` waveforms (or ``[B, C, F, N]`` features already made by ``frontend``)
    ``-> [B, num_classes]``.

    The front end (:class:`~wavenets.nn.Spectrogram`) turns waveforms into dB spectrograms; a
    batch norm on that input standardises it; a 3×3 conv stem then, per stage of the M-Net of
    the same ``arch``, 3×3 convs with BN and ReLU and a 2×2 max pool (partial windows kept);
    global mean pooling over frequency and time, and a linear head. A shift along the CQT's
    frequency axis (a tape-speed change) moves the features before the global pool.

    Args:
        frontend: the :class:`~wavenets.nn.Spectrogram`.
        arch: ``"m5"``, ``"m11"`` or ``"m18"`` (stages of :data:`~wavenets.models.MNET_SPECS`).
        num_classes, in_channels: classes and input channels (1: mono).
        width: channels of the first stage (default: :func:`matched_width`, the parameter count of
            the published M-Net of ``arch``).
        global_pool: ``"mean"`` over frequency and time, or ``"active"``: the mean of the response
            in excess of silence's (a spectrogram at the front end's floor, ``-top_db`` everywhere,
            rides along in the batch), each position weighted by its activity, as in MNet's
            ``global_pool="active"``. Digital silence sits at the floor, far below any recorded
            noise; a contraction pads the clip with it and a stretch empties the top band, and
            the mean counts both, the active mean neither.
    """

    def __init__(self, frontend: Spectrogram, arch: str = "m5", num_classes: int = 10, *, in_channels: int = 1,
                 width: int | None = None, global_pool: str = "mean"):
        super().__init__()
        if arch not in SPEC_ARCHS:
            raise ValueError(f"SpecCNN arch must be one of {', '.join(SPEC_ARCHS)}, got {arch!r}")
        if global_pool not in SPEC_POOLS:
            raise ValueError(f"SpecCNN global_pool must be one of {', '.join(SPEC_POOLS)}, got {global_pool!r}")
        if global_pool == "active" and frontend.top_db is None:
            raise ValueError("SpecCNN global_pool='active' compares with silence at the front end's floor; give the "
                             "Spectrogram a top_db (model.top_db)")
        self.global_pool = global_pool
        self.group, self.arch, self.frontend, self.in_channels = Trivial(), arch, frontend, in_channels
        self.width = width or matched_width(arch, num_classes, in_channels)
        g, w = self.group, self.width
        layers: list[nn.Module] = [LiftingConv(g, in_channels, w, 3, dim=2, padding="same", bias=False),
                                   GroupBatchNorm(w), nn.ReLU(inplace=True), SpatialPool(2, ceil_mode=True)]
        c_in = w
        stages = MNET_SPECS[arch]["stages"]
        for s, (mult, n) in enumerate(stages):
            for _ in range(n):
                layers += [GroupConv(g, c_in, w * mult, 3, dim=2, padding="same", bias=False),
                           GroupBatchNorm(w * mult), nn.ReLU(inplace=True)]
                c_in = w * mult
            if s < len(stages) - 1:
                layers.append(SpatialPool(2, ceil_mode=True))
        self.input_norm = nn.BatchNorm2d(in_channels)
        self.features = nn.Sequential(*layers)
        self.pool = GroupPool("max")
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 3:
            if x.shape[1] != self.in_channels:
                raise ValueError(f"SpecCNN expected waveforms [B, {self.in_channels}, T], got {list(x.shape)}")
            x = self.frontend(x)
        elif x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SpecCNN expected waveforms [B, {self.in_channels}, T] or spectrograms "
                             f"[B, {self.in_channels}, F, N], got {list(x.shape)}")
        if self.global_pool == "mean":
            return self.fc(self.pool(self.features(self.input_norm(x))).mean((-2, -1)))
        silence = x.new_full((1, *x.shape[1:]), -self.frontend.top_db)
        h = self.pool(self.features(self.input_norm(torch.cat([x, silence]))))  # [B + 1, C, F', N']
        excess = (h[:-1] - h[-1:]).flatten(2)[:, :, None]  # [B, C, 1, F'·N']
        return self.fc(_active_mean(excess).flatten(1))

    def extra_repr(self) -> str:
        return f"arch={self.arch!r}, width={self.width}" + (", global_pool='active'" if self.global_pool != "mean" else "")


def _parameters(arch: str, width: int, num_classes: int, in_channels: int) -> int:
    w, c_in = width, in_channels
    total = 2 * in_channels + 9 * c_in * w + 2 * w
    c_in = w
    for mult, n in MNET_SPECS[arch]["stages"]:
        for _ in range(n):
            total += 9 * c_in * w * mult + 2 * w * mult
            c_in = w * mult
    return total + c_in * num_classes + num_classes


def matched_width(arch: str, num_classes: int, in_channels: int = 1, params: int | None = None) -> int:
    """The first-stage width whose SpecCNN has the parameter count nearest ``params`` (default:
    the published M-Net of ``arch``, ``MNet(Trivial(), arch)``)."""
    if params is None:
        from ._mnet import MNet
        from ._se2 import count_parameters

        params = count_parameters(MNet(Trivial(), arch, num_classes, in_channels=in_channels))
    return min(range(1, 513), key=lambda w: abs(_parameters(arch, w, num_classes, in_channels) - params))


@register_model("spec_cnn", forwards=(SpecCNN, Spectrogram), builds=("frontend", "kind"))
def spec_cnn(*, frontend: str, sample_rate: int, **options) -> SpecCNN:
    """:class:`SpecCNN` on a ``frontend`` (``"logmel"`` or ``"cqt"``) :class:`~wavenets.nn.Spectrogram`
    of audio at ``sample_rate`` Hz; the spectrogram's keys (``n_bins``, ``hop_length``, …) go to it."""
    front = set(inspect.signature(Spectrogram).parameters)
    spec = {k: options.pop(k) for k in list(options) if k in front}
    return SpecCNN(Spectrogram(frontend, sample_rate, **spec), **options)
