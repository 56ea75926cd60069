"""Raw-waveform classifiers: M-Nets (Dai et al., ICASSP 2017) and their Wavelet Network
counterparts (Romero, Bekkers, Tomczak, Hoogendoorn; TMLR 2024), one class for both.

With ``Trivial()`` the network is an M-Net: an 80-tap stride-4 convolution, max-pools of 4 and
stacks of 3-tap convolutions. With ``Dilation(n)`` it is a W-Net: a 79-tap lifting convolution
over ``n`` dyadic scales, two 4× max-pools in place of the strided first layer, and 3-tap group
convolutions that span ``scale_taps`` neighbouring scales. Both end in the published invariant
head: mean over time → 1×1 (group) convolution to the classes → max over scales.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..groups import Dilation, Group, Trivial
from ..nn import (GroupBatchNorm, GroupConv, GroupPool, LiftingConv, PerLevel, PyramidGroupConv, PyramidLifting,
                  SpatialPool, centroid_octave, content_octave, drop_levels, empty_octaves, outside_anchor, per_level,
                  pyramid_readout, is_pyramid, random_fine_levels, scale_pyramid)
from ..nn import _pack
from ..nn._pack import FlatLevels, PackedLevels
from ..nn._resample import time_stretch, to_onset
from ._registry import register_model

__all__ = ["MNet", "audio_group", "MNET_SPECS", "WNET_WIDTHS", "WNET_SCALE_TAPS", "READOUTS", "GLOBAL_POOLS"]

#: scale-invariant readouts: pool over scales the logits ("max", "mean") or the time-pooled
#: features before a 1×1 head ("feature_max", "feature_mean"; "feature_max_normalized" divides the
#: pooled feature vector by its L2 norm over channels first)
READOUTS = ("max", "mean", "feature_max", "feature_mean", "feature_max_normalized", "feature_window", "window_vote")
#: readouts that take a max over scales (or read a window of them): the ones ``level_dropout``,
#: ``empty_band`` and ``anchor_levels`` can skip levels of
MAX_READOUTS = ("max", "feature_max", "feature_max_normalized", "feature_window", "window_vote")
#: readouts that read a window of levels counted from each clip's content octave
WINDOW_READOUTS = ("feature_window", "window_vote")
#: how readout="window_vote" combines its levels' logits (see MNet's ``vote``)
VOTES = ("mean", "confidence")
#: what ``anchor_levels`` windows are counted from (``anchor``)
ANCHORS = ("content", "centroid")
ALIGNS = ("none", "onset")
#: how long the faster copies of ``input_voices`` are (see MNet's ``voice_length``)
VOICE_LENGTHS = ("clip", "own")
#: pooling over time before the readout (see MNet's ``global_pool``)
GLOBAL_POOLS = ("mean", "max", "excess", "active")

#: stages as (channel multiplier, number of conv layers — residual blocks for m34res)
MNET_SPECS: dict[str, dict] = {
    "m3": {"width": 256, "stages": [(1, 1)], "pool_last": True, "residual": False},
    "m5": {"width": 128, "stages": [(1, 1), (2, 1), (4, 1)], "pool_last": True, "residual": False},
    "m11": {"width": 64, "stages": [(1, 2), (2, 2), (4, 3), (8, 2)], "pool_last": False, "residual": False},
    "m18": {"width": 64, "stages": [(1, 4), (2, 4), (4, 4), (8, 4)], "pool_last": False, "residual": False},
    "m34res": {"width": 48, "stages": [(1, 3), (2, 4), (4, 6), (8, 3)], "pool_last": False, "residual": True},
}
#: parameter-matched W-Net widths (ANCHORS §3)
WNET_WIDTHS = {"m3": 150, "m5": 74, "m11": 51, "m18": 57, "m34res": 45}
#: scale taps per stage and for the head (chosen to match the published parameter counts)
WNET_SCALE_TAPS: dict[str, tuple[list, int]] = {  # per stage: an int, or per layer / residual block
    "m3": ([3], 3),
    "m5": ([3, 3, 3], 3),
    "m11": ([3, 1, 3, 1], 3),
    "m18": ([[3, 1, 1, 1]] * 4, 3),  # the first layer of every stage spans 3 scales
    # per residual block, a pair for its two convs: the first three convs of stages 1 and 3 span 3 scales
    # (4,022,415 parameters, +0.05% of the published count; the choice is measured in docs/benchmarks.md)
    "m34res": ([[3, (3, 1), 1], 1, [3, (3, 1), 1, 1, 1, 1], 1], 3),
}


def _min_length(wavelet: bool, kernel: int, stage_pools: int) -> int:
    """The shortest clip every pool of the dense layouts keeps at least one sample of: the M-Net
    front is a stride-4 conv (padding ``(k − 1) // 2``) and a 4× pool, the W-Net front a 'same'
    lifting and two 4× pools; every later pool divides by 4, rounding down."""
    def survives(t: int) -> bool:
        t = t if wavelet else (t + 2 * ((kernel - 1) // 2) - kernel) // 4 + 1
        for _ in range(stage_pools + (2 if wavelet else 1)):
            t //= 4
            if t < 1:
                return False
        return True

    t = 1
    while not survives(t):
        t += 1
    return t


class _Block(nn.Module):
    """conv → BN → ReLU, or a residual block of two such convs (ReLU after the sum); dense
    features or pyramid levels (``conv_cls`` ``GroupConv`` or ``PyramidGroupConv``)."""

    def __init__(self, group, c_in, c_out, taps, padding, residual, antialias=False, multirate=False,
                 conv_cls=GroupConv):
        """``taps``: scale taps of the convolution(s), or of a residual block's two as a pair."""
        super().__init__()
        taps1, taps2 = (taps, taps) if isinstance(taps, int) else taps
        kw = dict(dim=1, group_padding=padding, bias=False)
        if conv_cls is GroupConv:
            kw.update(antialias=antialias, multirate=multirate)
        self.conv1 = conv_cls(group, c_in, c_out, 3, group_kernel_size=taps1, **kw)
        self.bn1 = GroupBatchNorm(c_out)
        self.out_group = self.conv1.out_group
        self.residual = residual
        if residual:
            self.conv2 = conv_cls(self.out_group, c_out, c_out, 3, group_kernel_size=taps2, **kw)
            self.bn2 = GroupBatchNorm(c_out)
            self.out_group = self.conv2.out_group
            self.extra_channels = c_out - c_in  # identity shortcut, new channels zero (parameter-free)

    def _convs_norms(self) -> tuple[list[nn.Module], list[GroupBatchNorm]]:
        if self.residual:
            return [self.conv1, self.conv2], [self.bn1, self.bn2]
        return [self.conv1], [self.bn1]

    def keeps_packed(self) -> bool:
        """Whether the block runs on pyramid levels kept packed (:class:`PackedLevels`, gap
        :attr:`gap`) in eval mode: batch norm with running statistics, pyramid convolutions that
        keep the layout."""
        convs, norms = self._convs_norms()
        return (not self.training and all(isinstance(c, PyramidGroupConv) and c.keeps_packed(self.gap) for c in convs)
                and all(bn.track_running_stats for bn in norms))

    @property
    def gap(self) -> int:
        """Zeros between packed levels: the widest 'same' padding of the block's convolutions."""
        convs, _ = self._convs_norms()
        return max(c.packed_gap() for c in convs) if all(isinstance(c, PyramidGroupConv) for c in convs) else 0

    def _pad(self, t: Tensor) -> Tensor:
        """The shortcut's channels zero-padded to the block's output channels."""
        if not self.residual or self.extra_channels == 0:
            return t
        return torch.nn.functional.pad(t, (0, 0) * (t.dim() - 2) + (0, self.extra_channels))  # the channel axis

    def forward(self, x):
        pad = self._pad
        if isinstance(x, PackedLevels):  # eval: norm, ReLU and sum once on the packed data
            y = self.conv1(x).map(lambda t: torch.relu(self.bn1(t)))
            if not self.residual:
                return y
            return self.conv2(y).map(lambda t, s: torch.relu(self.bn2(t) + pad(s)), x)
        y = per_level(torch.relu, self.bn1(self.conv1(x)), elementwise=True)
        if not self.residual:
            return y
        return self._sum(self.bn2(self.conv2(y)), x)

    def forward_many(self, xs: list) -> list:
        """The block on several inputs (pyramids of different lengths) at once, batch norm's
        statistics shared over all of them (:meth:`GroupBatchNorm.forward_many`)."""
        ys = [per_level(torch.relu, y, elementwise=True) for y in self.bn1.forward_many([self.conv1(x) for x in xs])]
        if not self.residual:
            return ys
        return [self._sum(y, x) for y, x in zip(self.bn2.forward_many([self.conv2(y) for y in ys]), xs)]

    def _sum(self, y, x):
        """ReLU of the residual sum ``y + x`` (``y``: the second norm's output)."""
        pad = self._pad
        shortcut = y.adopt(x) if isinstance(y, FlatLevels) else None
        if shortcut is not None:  # training: the sum once, on the flat tensors (from here on the shortcut is flat too)
            return y.map(lambda a, b: torch.relu(a + pad(b)), shortcut)
        if isinstance(y, list):  # 'zero' group padding keeps the levels, so shortcut and output pair up
            return [torch.relu(a + pad(b)) for a, b in zip(y, x)]
        return torch.relu(y + pad(x))


class _Features(nn.Sequential):
    """The feature stack; in a multirate W-Net the front (lifting → BN → ReLU → two 4× pools)
    runs as one fused multirate lifting + 16× max-pool, then BN and ReLU (same modules, same
    state-dict keys, so weights move freely between the reference and the multirate layout).
    In eval mode, the blocks of a pyramid W-Net keep the levels packed from block to block
    (:class:`~wavenets.nn._pack.PackedLevels`; ``_pack.KEEP_PACKED = False`` turns it off): batch
    norm, ReLU and the residual sums run once per layer instead of once per level, and no
    convolution packs and splits its input. The levels are unpacked for the pools and the readout."""

    multirate_window: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.multirate_window is None and not self.training and _pack.KEEP_PACKED:  # eval: levels kept packed
            def unpacked(t):
                return t.levels() if isinstance(t, PackedLevels) else t

            h = x
            for layer in self:
                if isinstance(layer, _Block) and (isinstance(h, PackedLevels) or is_pyramid(h)) and layer.keeps_packed():
                    if not isinstance(h, PackedLevels) or h.gap < layer.gap:
                        h = PackedLevels.pack(unpacked(h), layer.gap)
                    h = layer(h)
                else:
                    h = layer(unpacked(h))
            return unpacked(h)
        if self.multirate_window is None:
            return super().forward(x)
        lift, bn, relu = self[0], self[1], self[2]
        h = relu(bn(lift.forward_pooled(x, self.multirate_window)))
        for layer in list(self)[5:]:
            h = layer(h)
        return h

    def forward_many(self, xs: list) -> list:
        """The features of several inputs of different lengths (input voices at their own
        lengths): in training the layers run input by input and batch norm pools its statistics
        over all of them, as one batch of equal shapes would; in eval mode each input on its own."""
        if not self.training:
            return [self(x) for x in xs]
        if self.multirate_window is not None:
            raise ValueError("the multirate W-Net's fused front takes one input at a time")
        hs = list(xs)
        for layer in self:
            hs = layer.forward_many(hs) if isinstance(layer, (_Block, GroupBatchNorm)) else [layer(h) for h in hs]
        return hs


class MNet(nn.Module):
    """``x: [B, C_in, T] -> [B, num_classes]`` logits (or tag scores).

    Args:
        group: ``Trivial()`` for the M-Net, ``Dilation(n)`` for the W-Net.
        arch: ``"m3"``, ``"m5"``, ``"m11"``, ``"m18"`` or ``"m34res"``.
        num_classes, in_channels: output classes, input channels (1: mono).
        width: base channels (default: the published M-Net width, or the parameter-matched
            W-Net width for a dilation group).
        scale_taps: scale taps per stage (an int, or a list with one entry per layer; for m34res
            one per residual block, an int or a pair for its two convs), and
            ``head_taps`` of the 1×1 head (W-Net only;
            default :data:`WNET_SCALE_TAPS`); stages use ``group_padding="valid"`` while enough
            scales remain and zero padding otherwise (residual stages always zero-pad).
        lift_kernel: taps of the first layer (80 strided for M-Nets, 79 for W-Nets).
        time_pool: ``"max"`` (published) or ``"subsample"`` (keep every 4th sample): strided
            subsampling commutes with the exact (decimation) action of the dilation group, so
            ``features`` is then exactly scale equivariant; max-pooling is approximately so.
        antialias: B-spline pre-blur in every dilation layer (W-Net only), see
            :class:`~wavenets.nn.LiftingConv`.
        multirate: (W-Net only; implies ``antialias``; 0 = off) evaluate scale ``d`` at
            ``multirate`` points per ``d`` samples: the lifting is fused with the two 4× max-pools
            (coarse full-rate maps are never stored) and the group convolutions interpolate
            coarse scales linearly (see :class:`~wavenets.nn.LiftingConv`). Same parameters and state-dict
            keys as the reference layout; its accuracy and equivariance error against the
            reference are in ``docs/benchmarks.md``.
        layout: ``"dense"`` (every scale at the full rate, the published layout) or
            ``"pyramid"`` (W-Net only): octave ``j`` of the scale axis stored at ``1/2^j`` of
            the rate (:mod:`wavenets.nn._pyramid`). The lifting runs on the half-band pyramid of
            the input with the M-Net's front (stride 4, one 4× pool, both at each level's rate),
            pools keep partial windows, and the network is exactly equivariant to the pyramid's
            contraction ``↓2(g ∗ x)``; costs < 2× one level. Same parameter count as the dense
            W-Net (the learned kernels have the same shapes).
        readout: how the head becomes invariant over scales, one of :data:`READOUTS`:
            ``"max"`` over the logits of every scale (published), ``"mean"`` of them, or
            ``"feature_max"`` / ``"feature_mean"`` over the time-averaged features, then a 1×1
            head (needs ``head_taps=1``), or ``"feature_max_normalized"``: the feature max
            divided by its L2 norm over channels, so that only the *pattern* of the features
            reaches the head, not their amount (how much of a clip the window holds).
            ``"feature_window"`` and ``"window_vote"`` read the ``anchor_levels`` levels counted
            from each clip's content octave (pyramid layout): side by side into one head, or each
            level into a 1×1 head of its own, the logits averaged over the levels that exist
            (:meth:`level_logits`); in training every level's head is also fitted alone (the
            trainer adds its loss, see ``level_outputs``), so a contraction that pushes the finest
            window levels out of the pyramid leaves a vote of levels that each classify alone.
        global_pool: how time is pooled before the readout: ``"mean"`` (published), ``"max"``,
            or ``"excess"``: the sum over time of each level's response *in excess of its
            response to silence* (a zero clip run alongside the batch), divided by the number
            of time steps of the finest level (so that it reads like a mean there). A clip
            contracted inside a window of fixed length keeps the same number of samples at its
            matched level (the pyramid shifts by one) and the rest of the window is silence, so
            the excess sum does not change, while a mean is diluted by the window's share of
            silence (docs/wavelet_networks.md). ``"active"``: per level, the mean over time of
            that excess, each step weighted by its activity (its mean |excess| over channels):
            silent steps weigh nothing, so neither the silence a contraction adds nor the crop of
            a stretch that fills the window changes it.
        level_dropout: (pyramid layout, max readouts; 0 = off) in training, each clip's readout
            skips its ``k`` finest octave levels, ``k`` uniform in ``0 … level_dropout``. The
            network is exactly equivariant to the pyramid contraction, so this *is* training on
            the clip contracted by ``2^k`` (with the pyramid's own operator), at no cost: a
            dyadic contraction augmentation, labelled as such in every report.
        empty_band: (pyramid layout, max readouts; 0 = off) the readout skips, clip by clip,
            the finest octave levels whose top band holds less than ``empty_band`` of their
            power (:func:`~wavenets.nn.empty_octaves`; ``1e-6`` = -60 dB). A clip slowed down
            by ``2^k`` has ``k`` such levels, whose content is slower than anything the network
            met in training and whose features would otherwise win the max; the readout then
            starts at the level where the slowed clip matches a training clip. No clip at its
            own rate is affected. Not augmentation: a fixed rule, the same in training and test.
        anchor_levels: (pyramid layout, max readouts; 0 = off) the readout reads, clip by clip,
            only ``anchor_levels`` octave levels counted from the clip's *content octave*
            (:func:`~wavenets.nn.content_octave`: the level below which its power collapses,
            the fundamental's octave of a harmonic sound) towards finer levels. A clip played
            ``2^k`` times faster has its content octave ``k`` levels finer and the same
            features there, so the readout sees the same window: the head never depends on the
            absolute level, only on levels relative to the content. In training and test alike
            (a fixed rule, not augmentation).
        anchor_ratio: the power share that marks the content octave's lower edge (see
            :func:`~wavenets.nn.content_octave`; 0.2 = the next coarser level keeps < 20%).
        anchor_floor: (``anchor="content"``) a quantile ``q`` in [0, 1) (0: off): the content
            octave reads each octave band's power above its stationary floor, the band's
            ``q``-quantile over short frames (:func:`~wavenets.nn.content_octave`'s ``floor``). A
            recording's steady background (rumble, hum, DC) otherwise slides the anchor coarser.
        anchor: what the window of ``anchor_levels`` levels is counted from, clip by clip:
            ``"content"``, the content octave (a voice's fundamental), or ``"centroid"``, the
            octave of the clip's power centroid (:func:`~wavenets.nn.centroid_octave`: for
            speech the formants, which vary less from speaker to speaker than pitch does). Both
            move by ``-k`` levels under a tape speed ``2^k``.
        anchor_offset: the window starts this many levels coarser than the anchor (levels past
            the coarsest do not exist for the vote). A centroid sits above a voice's fundamental,
            so a window from it needs an offset to reach the coarse levels.
        vote: (``readout="window_vote"``) how the levels' logits are combined: ``"mean"``, or
            ``"confidence"``: each level weighted by ``exp(-H)`` of its own softmax (``H`` its
            entropy; 1 for a certain level, ``1/K`` for a uniform one), the weights held fixed in
            the gradient. A level that cannot tell (a coarse level that sees a cropped clip as a
            whole, a level that sees only noise) then abstains. For single-label (softmax) tasks.
        input_voices: (``readout="window_vote"``, an octave group; 1 = off) scale channels
            between the octaves, made by resampling the input (Jansson & Lindeberg's scale
            channels): the network runs, with shared weights and shared batch statistics, on the
            clip and on the clip played ``2^(v/V)`` times faster (:func:`~wavenets.data.time_stretch`,
            band-limited, zero-padded to the clip's length; to the nearest length with a fast FFT,
            :func:`~wavenets.data.fast_length`, within 0.5% of the factor), ``v < V``, each copy with its own
            input pyramid and content octave, and the vote runs over every copy's window levels.
            A clip played ``2^(1/V)`` times slower turns copy ``v + 1`` into copy ``v``, and
            copy 0 into copy ``V − 1`` one octave lower, which the content octave absorbs: the
            set of copies is the same up to resampling and the window, so the vote does not
            change between octaves either. The pyramid alone is equivariant to octaves only, and
            kernel-resampled voices (``Dilation(n, 2^(1/V))``) do not survive its pools. Cost:
            ``V`` times the network (``voice_length="clip"``), or ``Σ_v 2^(-v/V)`` times
            (``"own"``: 1.71× for ``V = 2``).
        align: ``"none"`` or ``"onset"``: every clip (and every input-voice copy) is first moved
            so that its first non-zero sample comes first (:func:`~wavenets.nn.to_onset`), in
            training and at test time alike (a fixed rule, not augmentation). A clip contracted
            into a fixed window and zero-padded then starts where the clip itself starts, on the
            same grid of every level's strides and pools, so its coarse levels read as the
            clip's one level coarser; centred, the padding moves it against those grids. Clips
            without leading digital silence are unchanged. The rule holds only where the
            silence is exact zeros both in training and at test time: a band-limited resampling
            or a noise floor leaves none, and a test clip that is not moved then sits where
            training never saw a clip (spoken words, 107 speakers: mean over 9 tape speeds 0.776
            with ``"none"``, 0.627 with ``"onset"``; docs/wavelet_networks.md, "Sixth round").
        voice_length: (``input_voices > 1``) how long copy ``v`` is: ``"clip"``, the clip's
            length (the faster copy zero-padded, centred; the copies run as one batch), or
            ``"own"``: its own length ``fast_length(round(T·2^(-v/V)))``, the whole clip and no padding, in
            training and at test time alike. A copy then holds no silence that its clip does not,
            and costs what its samples cost; in training the copies run one after the other, batch
            norm's statistics pooled over all of them
            (:meth:`~wavenets.nn.GroupBatchNorm.forward_many`). Not with ``global_pool="excess"``,
            whose sum over time the length would scale.
        voice_dropout: (``input_voices > 1``) in training, each clip runs *one* of its ``V``
            copies, chosen uniformly at random, instead of all of them; the other copies' levels
            do not exist for that clip's vote and per-level loss. A dropout of scale channels:
            the copies are those the network computes anyway (no scale is added that training
            without it would not see), and at test time every copy runs and votes. A training
            step then costs one copy's network instead of ``V`` (plus the resampling).
    """

    def __init__(
        self,
        group: Group,
        arch: str = "m11",
        num_classes: int = 10,
        *,
        in_channels: int = 1,
        width: int | None = None,
        scale_taps: Sequence[int] | None = None,
        head_taps: int | None = None,
        lift_kernel: int | None = None,
        time_pool: str = "max",
        antialias: bool = False,
        multirate: int = 0,
        layout: str = "dense",
        readout: str = "max",
        global_pool: str = "mean",
        level_dropout: int = 0,
        empty_band: float = 0.0,
        anchor_levels: int = 0,
        anchor_ratio: float = 0.2,
        anchor_floor: float = 0.0,
        anchor: str = "content",
        anchor_offset: int = 0,
        vote: str = "mean",
        input_voices: int = 1,
        align: str = "none",
        voice_length: str = "clip",
        voice_dropout: bool = False,
    ):
        super().__init__()
        if arch not in MNET_SPECS:
            raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(MNET_SPECS)}")
        spec = MNET_SPECS[arch]
        wavelet = not isinstance(group, Trivial)
        if wavelet and not isinstance(group, Dilation):
            raise ValueError(f"MNet needs Trivial() or a Dilation group, got {group!r}")
        width = width or (WNET_WIDTHS[arch] if wavelet else spec["width"])
        default_taps, default_head = WNET_SCALE_TAPS[arch] if wavelet else ([1] * len(spec["stages"]), 1)
        scale_taps = list(scale_taps or default_taps)
        head_taps = head_taps or default_head
        if len(scale_taps) != len(spec["stages"]):
            raise ValueError(f"{arch} has {len(spec['stages'])} stages; got scale_taps={scale_taps}")
        if time_pool not in ("max", "subsample"):
            raise ValueError(f"time_pool must be 'max' or 'subsample', got {time_pool!r}")
        if multirate and not wavelet:
            raise ValueError(f"multirate={multirate} evaluates the coarse scales of a W-Net; an M-Net (Trivial group) "
                             f"has none")
        if multirate and time_pool != "max":
            raise ValueError(f"multirate={multirate} fuses the lifting with max-pooling; use time_pool='max'")
        if layout not in ("dense", "pyramid"):
            raise ValueError(f"layout must be 'dense' or 'pyramid', got {layout!r}")
        pyramid = layout == "pyramid"
        if pyramid and not wavelet:
            raise ValueError("layout='pyramid' stores the scales of a W-Net; an M-Net (Trivial group) has none")
        if pyramid and (antialias or multirate or time_pool != "max"):
            raise ValueError("layout='pyramid' is anti-aliased by its half-band pyramid and pools at each level's rate; "
                             "it takes no antialias, multirate or time_pool options")
        if global_pool not in GLOBAL_POOLS:
            raise ValueError(f"global_pool must be one of {GLOBAL_POOLS}, got {global_pool!r}")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        if readout.startswith("feature") and head_taps > 1:
            raise ValueError(f"readout={readout!r} pools over scales before the head; it needs head_taps=1, "
                             f"got {head_taps}")
        for option, value in (("level_dropout", level_dropout), ("empty_band", empty_band),
                              ("anchor_levels", anchor_levels)):
            if value and (not pyramid or readout not in MAX_READOUTS):
                raise ValueError(f"{option} skips fine octave levels of a pyramid W-Net's max readout; got "
                                 f"layout={layout!r}, readout={readout!r}")
        if not 0 <= empty_band < 1:
            raise ValueError(f"empty_band is a fraction of a level's power in [0, 1), got {empty_band!r}")
        if anchor_levels < 0 or not 0 < anchor_ratio < 1:
            raise ValueError(f"anchor_levels is a number of octave levels >= 0 (0: off) and anchor_ratio a power share "
                             f"in (0, 1); got {anchor_levels!r}, {anchor_ratio!r}")
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
        if not 0 <= anchor_floor < 1 or (anchor_floor and (anchor != "content" or not anchor_levels)):
            raise ValueError(f"anchor_floor is a quantile in [0, 1) for the content octave (anchor='content' with "
                             f"anchor_levels set); got anchor_floor={anchor_floor!r}, anchor={anchor!r}, "
                             f"anchor_levels={anchor_levels!r}")
        if not isinstance(anchor_offset, int) or isinstance(anchor_offset, bool) or anchor_offset < 0:
            raise ValueError(f"anchor_offset is a number of octave levels >= 0, got {anchor_offset!r}")
        if (anchor != "content" or anchor_offset) and not anchor_levels:
            raise ValueError(f"anchor={anchor!r} and anchor_offset={anchor_offset} place the window of anchor_levels "
                             "levels; set anchor_levels too")
        self.group, self.arch, self.width = group, arch, width
        self.layout, self.readout, self.global_pool = layout, readout, global_pool
        self.level_dropout, self.empty_band = int(level_dropout), float(empty_band)
        self.anchor_levels, self.anchor_ratio = int(anchor_levels), float(anchor_ratio)
        self.anchor, self.anchor_offset, self.anchor_floor = anchor, anchor_offset, float(anchor_floor)
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, got {vote!r}")
        if vote != "mean" and readout != "window_vote":
            raise ValueError(f"vote={vote!r} combines the levels of readout='window_vote'; got readout={readout!r}")
        self.vote = vote
        if not isinstance(input_voices, int) or isinstance(input_voices, bool) or input_voices < 1:
            raise ValueError(f"input_voices is a number of scale channels per octave (1: off), got {input_voices!r}")
        if input_voices > 1 and (readout != "window_vote" or group.octave_voices() > 1):
            raise ValueError(f"input_voices={input_voices} resamples the input between the octaves of a pyramid W-Net "
                             f"read by readout='window_vote' over an octave group (base 2); got readout={readout!r}, "
                             f"group {group!r}")
        self.input_voices = input_voices
        if voice_length not in VOICE_LENGTHS:
            raise ValueError(f"voice_length must be one of {VOICE_LENGTHS}, got {voice_length!r}")
        if voice_length == "own" and global_pool == "excess":
            raise ValueError("voice_length='own' runs the faster input voices at their own, shorter lengths; "
                             "global_pool='excess' sums over time, which that length would scale. Use "
                             "global_pool='active' (or 'max', 'mean') with it, or voice_length='clip'")
        self.voice_length = voice_length
        if not isinstance(voice_dropout, bool):
            raise ValueError(f"voice_dropout is true or false, got {voice_dropout!r}")
        if voice_dropout and input_voices == 1:
            raise ValueError("voice_dropout runs one of the input voices' copies per clip in training; it needs "
                             "input_voices >= 2, got 1")
        if voice_dropout and voice_length == "own":
            raise ValueError("voice_dropout runs each clip's chosen copy in one batch, which needs copies of one "
                             "length; use voice_length='clip' with it")
        self.voice_dropout = voice_dropout
        if align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}, got {align!r}")
        self.align = align

        def pool():
            if pyramid:
                return PerLevel(SpatialPool(4, dim=1, ceil_mode=True))
            return SpatialPool(4, dim=1) if time_pool == "max" else SpatialPool(1, dim=1, stride=4)

        if pyramid:
            k = lift_kernel or 79
            front = [PyramidLifting(group, in_channels, width, k, dim=1, stride=4, bias=False),
                     GroupBatchNorm(width), PerLevel(nn.ReLU()), pool()]
        elif wavelet:
            k = lift_kernel or 79
            front = [LiftingConv(group, in_channels, width, k, dim=1, bias=False, antialias=antialias,
                                 multirate=multirate),
                     GroupBatchNorm(width), nn.ReLU(),
                     pool(), pool()]
        else:
            k = lift_kernel or 80
            front = [LiftingConv(group, in_channels, width, k, dim=1, stride=4, padding=(k - 1) // 2, bias=False),
                     GroupBatchNorm(width), nn.ReLU(), pool()]
        layers: list[nn.Module] = list(front)
        g, c_in = group, width
        for s, ((mult, n), taps_s) in enumerate(zip(spec["stages"], scale_taps)):
            c_out = width * mult
            per_layer = list(taps_s) if isinstance(taps_s, (list, tuple)) else [taps_s] * n
            if len(per_layer) != n:
                raise ValueError(f"stage {s} of {arch} has {n} layers; got scale taps {taps_s}")
            for taps in per_layer:
                if isinstance(taps, (list, tuple)) and (not spec["residual"] or len(taps) != 2):
                    raise ValueError(f"stage {s} of {arch}: a layer's scale taps are a whole number"
                                     f"{' (or a pair for the two convs of a residual block)' if spec['residual'] else ''}"
                                     f"; got {list(taps)}")
                # crop along scale ('valid', exact) while enough scales remain for the head
                cropping = not spec["residual"] and taps > 1 and g.order - (taps - 1) >= head_taps
                block = _Block(g, c_in, c_out, taps, "valid" if cropping else "zero", spec["residual"],
                               antialias and wavelet, multirate, PyramidGroupConv if pyramid else GroupConv)
                layers.append(block)
                g, c_in = block.out_group, c_out
            if s < len(spec["stages"]) - 1 or spec["pool_last"]:
                layers.append(pool())
        self.features = _Features(*layers)
        n_pools = sum(1 for s in range(len(spec["stages"])) if s < len(spec["stages"]) - 1 or spec["pool_last"])
        self.min_length = 1 if pyramid else _min_length(wavelet, k, n_pools)
        self.multirate = multirate
        if multirate:
            self.features.multirate_window = 16
        self.features_group = g  # group of the features' scale axis (after 'valid' cropping)
        head_pad = "valid" if g.order >= head_taps and head_taps > 1 else "zero"
        if readout in WINDOW_READOUTS and not anchor_levels:
            raise ValueError(f"readout={readout!r} reads the levels counted from each clip's content octave; it "
                             f"needs anchor_levels >= 1")
        if readout in WINDOW_READOUTS and level_dropout:
            raise ValueError(f"level_dropout skips the finest levels of a max over levels; readout={readout!r} "
                             f"reads levels counted from the content octave, which a contraction moves instead. Use "
                             f"level_dropout=0 with it")
        if readout == "window_vote" and head_taps > 1:
            raise ValueError(f"readout='window_vote' gives every level of the window a 1x1 head of its own; it needs "
                             f"head_taps=1, got {head_taps}")
        self.level_outputs: tuple[Tensor, Tensor] | None = None  # window_vote, training: per-level logits, exists
        if readout == "window_vote":  # one 1x1 head per window level (a grouped conv), logits averaged
            voices = group.octave_voices()
            self.head = nn.Conv1d(c_in * voices * anchor_levels, num_classes * anchor_levels, 1,
                                  groups=anchor_levels, bias=False)
        else:
            head_group = Trivial() if readout.startswith("feature") else g
            if readout == "feature_window":  # the window's levels side by side, finest last
                c_in = c_in * anchor_levels * group.octave_voices()
            self.head = GroupConv(head_group, c_in, num_classes, 1, dim=1, group_kernel_size=head_taps,
                                  group_padding=head_pad, bias=False)
        self.pool = None if readout in WINDOW_READOUTS else GroupPool(  # (a window reads levels, pools none)
            readout.removeprefix("feature_").removesuffix("_normalized"))

    def forward(self, x: Tensor) -> Tensor:
        if self.readout == "window_vote":
            z, exists = self.level_logits(x)
            if self.training:  # for the trainer's per-level loss (deep supervision), which picks the levels
                # that exist: a selection here would give a data-dependent shape and split a compiled graph
                self.level_outputs = (z, exists)
            return _vote(z, exists, self.vote)
        x, h = self._levels(x)
        if self.readout == "feature_window":
            w, _ = self._window(x, h)
            return self.head(w.flatten(1)[..., None, None]).flatten(1)
        if self.anchor_levels:
            h = self._anchored_window(x, h)
        skip = self._skip_fine_levels if self.training and self.level_dropout else (lambda t: t)
        if self.readout.startswith("feature"):  # pool over scales, then the 1x1 head
            v = self.pool(skip(h))  # [B, C, 1]
            if self.readout.endswith("_normalized"):
                v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-6)
            return self.head(v.unsqueeze(2)).flatten(1)
        return self.pool(skip(self.head(h))).flatten(1)  # 1x1 -> pool over scales

    def _skip_fine_levels(self, h: Tensor) -> Tensor:
        """``h: [B, C, S, 1]`` with the ``k_b·V`` finest scales of clip ``b`` set to -inf (never
        the max), ``k_b`` uniform in ``0 … level_dropout`` and at least one level kept."""
        voices = self.group.octave_voices()
        drop = random_fine_levels(h.shape[0], -(-h.shape[2] // voices), self.level_dropout, h.device)
        return drop_levels(h, drop, voices)

    def _skip_empty_levels(self, x: Tensor | list[Tensor], h: Tensor) -> Tensor:
        """``h: [B, C, S, 1]`` with the scales of clip ``b``'s band-empty finest levels set to -inf;
        ``x``: the input, or its pyramid from the lifting's first level."""
        lifting = self.features[0]
        with torch.no_grad():
            empty = empty_octaves(x, lifting.levels, 1, skip=lifting.skip, threshold=self.empty_band)
        return drop_levels(h, empty, self.group.octave_voices())

    def _window_anchor(self, x: list[Tensor]) -> Tensor:
        """``[B]``: the coarsest level of each clip's window in the input pyramid ``x``: its content
        octave (``anchor="content"``) or its power centroid's (``"centroid"``), ``anchor_offset``
        levels coarser (no gradient; may lie past the coarsest level)."""
        with torch.no_grad():
            if self.anchor == "centroid":
                return centroid_octave(x, len(x), 1) + self.anchor_offset
            return content_octave(x, len(x), 1, ratio=self.anchor_ratio, floor=self.anchor_floor) + self.anchor_offset

    def _anchored_window(self, x: list[Tensor], h: Tensor) -> Tensor:
        """``h: [B, C, S, 1]`` with every scale outside clip ``b``'s window of ``anchor_levels``
        levels ending at its content octave set to -inf; ``x``: the input pyramid."""
        outside = outside_anchor(self._window_anchor(x), len(x), self.anchor_levels)
        return drop_levels(h, outside, self.group.octave_voices())

    def _window(self, x: list[Tensor], h: Tensor) -> tuple[Tensor, Tensor]:
        """``([B, C, n·V], [B, n])``: the features of the ``n = anchor_levels`` levels from clip
        ``b``'s content octave towards finer ones, in that order (the content octave first), every
        voice, and which of those levels exist; levels that do not exist or were skipped read 0."""
        voices = self.group.octave_voices()
        level = self._window_anchor(x)[:, None] - torch.arange(self.anchor_levels, device=h.device)[None, :]  # [B, n]
        top = h.shape[2] // voices - 1
        slot = (level.clamp(0, top)[:, :, None] * voices + torch.arange(voices, device=h.device)).flatten(1)
        b, c = h.shape[:2]
        w = h[..., 0].gather(2, slot[:, None, :].expand(b, c, -1))  # [B, C, n·V]
        valid = ((level >= 0) & (level <= top)).repeat_interleave(voices, 1)[:, None, :] & torch.isfinite(w)
        exists = valid.reshape(b, c, -1, voices).all(-1).all(1)  # [B, n]: every voice of the level read
        return torch.where(valid, w, torch.zeros_like(w)), exists

    def level_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``readout="window_vote"``: ``([B, n·V, K], [B, n·V])``, the logits of each of the
        ``n = anchor_levels`` window levels' own head (content octave first, then finer ones) and
        which of those levels exist for the clip, for each of the ``V = input_voices`` copies
        (level ``l`` of copy ``v`` at ``l·V + v``); the forward returns their mean over the
        existing ones. A clip contracted by the pyramid's operator gives the same logits at the
        levels it keeps (its finest window level may leave the pyramid)."""
        if self.readout != "window_vote":
            raise ValueError(f"level_logits reads the per-level heads of readout='window_vote'; this MNet has "
                             f"readout={self.readout!r}")
        voices = self.input_voices
        if voices == 1:
            return self._window_logits(x)
        if x.dim() != 3:
            raise ValueError(f"MNet expected waveforms [B, C, T], got {list(x.shape)}")
        if self.align == "onset":  # before the copies: they are then the same for any place of the clip
            x = to_onset(x)
        own = self.voice_length == "own"
        copies = [x] + [time_stretch(x, 2 ** (-v / voices), keep_length=not own, fast=True) for v in range(1, voices)]
        if self.training and self.voice_dropout:
            return self._one_voice_logits(copies)
        if self.training and not own:  # one batch: shared batch statistics
            z, exists = self._window_logits(torch.cat(copies))
        else:  # running statistics: copy by copy (on CPU, a batch V times larger runs slower than V batches);
            # copies of their own lengths in training: copy by copy, batch statistics shared
            parts = [self._logits_of_window(*self._window(*levels)) for levels in self._levels_many(copies)]
            z, exists = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        b, n = x.shape[0], self.anchor_levels  # [V·B, n, ...] -> [B, n·V, ...]
        z = z.view(voices, b, n, -1).permute(1, 2, 0, 3).reshape(b, n * voices, -1)
        return z, exists.view(voices, b, n).permute(1, 2, 0).reshape(b, n * voices)

    def _one_voice_logits(self, copies: list[Tensor]) -> tuple[Tensor, Tensor]:
        """:meth:`level_logits` in training with ``voice_dropout``: clip ``b`` runs copy ``pick_b`` only
        (uniform), as one batch; the other copies' slots read 0 and do not exist."""
        voices, b, n = len(copies), copies[0].shape[0], self.anchor_levels
        pick = torch.randint(0, voices, (b,), device=copies[0].device)
        z, exists = self._window_logits(torch.stack(copies)[pick, torch.arange(b, device=pick.device)])
        mine = pick[:, None, None] == torch.arange(voices, device=pick.device)  # [B, 1, V]
        z = torch.where(mine[..., None], z[:, :, None, :], torch.zeros_like(z[:, :, None, :]))  # [B, n, V, K]
        return z.reshape(b, n * voices, -1), (exists[:, :, None] & mine).reshape(b, n * voices)

    def _window_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``([B, n, K], [B, n])``: each window level's logits and which levels exist (one copy)."""
        return self._logits_of_window(*self._window(*self._levels(x)))

    def _logits_of_window(self, w: Tensor, exists: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`_window_logits` from the window's features ``w: [B, C, n·V]`` (:meth:`_window`)."""
        b, c, nv = w.shape
        n = self.anchor_levels
        z = self.head(w.reshape(b, c, n, nv // n).permute(0, 2, 3, 1).reshape(b, -1, 1))  # levels as conv groups
        return z.reshape(b, n, -1), exists

    def _levels(self, x: Tensor) -> tuple[Tensor | list[Tensor], Tensor]:
        """``(x or its input pyramid, [B, C, S, 1])``: the input as the level tests read it and the
        features pooled over time per scale (per level), band-empty fine levels skipped."""
        return self._levels_many([x])[0]

    def _levels_many(self, xs: list[Tensor]) -> list[tuple[Tensor | list[Tensor], Tensor]]:
        """:meth:`_levels` of several inputs of any lengths (input voices), run as one batch would be
        (:meth:`_Features.forward_many`)."""
        xs = [self._prepare(x) for x in xs]
        hs = self._pooled_features_many(xs)
        return [(x, self._skip_empty_levels(x, h) if self.empty_band else h) for x, h in zip(xs, hs)]

    def _prepare(self, x: Tensor) -> Tensor | list[Tensor]:
        """The clip checked, aligned (``align``) and, where the level tests read it, as its input pyramid."""
        if x.dim() != 3:
            raise ValueError(f"MNet expected waveforms [B, C, T], got {list(x.shape)}")
        if x.shape[-1] < self.min_length:
            raise ValueError(f"MNet ({self.arch}) needs clips of at least {self.min_length} samples (its pools reduce "
                             f"time by about that much), got {x.shape[-1]}; use longer clips (data.length) or a "
                             f"higher sample rate")
        if self.align == "onset":
            x = to_onset(x)
        if self.empty_band or self.anchor_levels:  # the lifting and the level tests read one input pyramid
            lifting = self.features[0]
            x = scale_pyramid(x, lifting.levels, 1, skip=lifting.skip)
        return x

    def _pooled_features(self, x: Tensor) -> Tensor:
        return self._pooled_features_many([x])[0]

    def _pooled_features_many(self, xs: list) -> list[Tensor]:
        """``[B, C, S, 1]`` per input: its features pooled over time, per scale (per level)."""
        silence = self.global_pool in ("excess", "active")
        if silence:  # the silence reference rides along in the same batch (a zero clip, or its zero pyramid)
            xs = [per_level(lambda t: torch.cat([t, t.new_zeros(1, *t.shape[1:])]), x) for x in xs]
        # [B, C, S, T'] (dense: one level), or pyramid levels [B, C, V, T'_j]
        hs = [self.features(xs[0])] if len(xs) == 1 else self.features.forward_many(xs)
        return [self._pool_time(h, silence) for h in hs]

    def _pool_time(self, h, silence: bool) -> Tensor:
        """Features (a tensor or levels) pooled over time by ``global_pool`` -> ``[B, C, S, 1]``."""
        levels = h if isinstance(h, list) else [h]
        if not silence:
            return pyramid_readout(levels, self.global_pool)
        if self.global_pool == "active":
            return torch.cat([_active_mean(lv[:-1] - lv[-1:]) for lv in levels], 2)
        steps = levels[0].shape[-1]  # one constant for every level: a mean at the finest level
        return torch.cat([(lv[:-1] - lv[-1:]).sum(-1, keepdim=True) / steps for lv in levels], 2)

    def group_parameters(self):
        """Learned kernels of the (group) convolutions, for the wavelet (zero-mean) loss."""
        return [m.weight for m in self.modules() if isinstance(m, (LiftingConv, GroupConv)) and m.weight.shape[-1] > 1]


def _active_mean(excess: Tensor) -> Tensor:
    """``[B, C, V, T] -> [B, C, V, 1]``: the mean over time of the response in excess of silence,
    each time step weighted by its activity (the mean |excess| over channels). Silent steps
    weigh nothing, so the result changes neither when silence pads the clip (a contraction in a
    fixed window) nor when the window crops a clip whose content fills it (a stretch)."""
    w = excess.abs().mean(1, keepdim=True)
    return (w * excess).sum(-1, keepdim=True) / w.sum(-1, keepdim=True).clamp_min(1e-12)


def _vote(z: Tensor, exists: Tensor, how: str = "mean") -> Tensor:
    """``[B, K]``: the mean of the per-level logits ``z: [B, n, K]`` over the levels that exist
    (``exists: [B, n]``); a clip with none reads its first (content-octave) level, zeros. With
    cross-entropy, a mean of logits is a mean of log-probabilities (a product of the levels'
    votes), since the per-level normalisers do not depend on the class. ``how="confidence"``
    weights each level by ``exp(-entropy)`` of its softmax, without gradient."""
    weight = exists.to(z.dtype)
    if how == "confidence":
        with torch.no_grad():
            logp = (z if z.dtype == torch.float64 else z.float()).log_softmax(-1)  # (bf16 logits: in float32)
            weight = weight * torch.exp((logp.exp() * logp).sum(-1)).to(z.dtype)
    weight[:, 0] += (weight.sum(1) == 0).to(z.dtype)
    return (z * weight[..., None]).sum(1) / weight.sum(1, keepdim=True)


def wavelet_loss(model: nn.Module) -> Tensor:
    """Σ_layers mean over kernels of (Σ_taps w)²: pushes every kernel towards zero mean
    (a wavelet's admissibility), as the optional loss term of Wavelet Networks."""
    terms = [w.sum(-1).pow(2).mean() for w in model.group_parameters()]
    return torch.stack(terms).sum()


def audio_group(group: str, order: int | None = None, base: float | None = None, start: int | None = None) -> Group:
    """The group of a raw-waveform model's recipe: ``"trivial"`` (the M-Net, SampleCNN), or
    ``"dilation"``: ``Dilation(order, base, start=start)``, ``base`` and ``start`` unset taking
    :class:`~wavenets.groups.Dilation`'s defaults."""
    kind = group.lower() if isinstance(group, str) else group
    if kind == "trivial":
        extra = [f"model.{k} = {v!r}" for k, v in (("order", order), ("base", base), ("start", start))
                 if v is not None and not (k == "order" and v == 1)]
        if extra:
            raise ValueError(f"group 'trivial' has one element and no scales; drop {', '.join(extra)}")
        return Trivial()
    if kind == "dilation":
        if order is None:
            raise ValueError("group 'dilation' needs model.order, its number of scales (9 in the published Wavelet "
                             "Networks)")
        return Dilation(order, **{k: v for k, v in (("base", base), ("start", start)) if v is not None})
    raise ValueError(f"a raw-waveform model needs group 'trivial' (M-Net) or 'dilation' (W-Net), got {group!r}")


@register_model("mnet", forwards=MNet, builds=("group",))
def mnet(*, group: str, order: int | None = None, base: float | None = None, start: int | None = None,
         **options) -> MNet:
    """:class:`MNet`: the M-Net with ``group = "trivial"``, the W-Net with ``"dilation"``
    (:func:`audio_group`)."""
    return MNet(audio_group(group, order, base, start), **options)
