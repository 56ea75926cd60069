"""The scale-space pyramid layout of dilation-group features: each octave at its own rate.

The dense layout ``[B, C, S, *X]`` stores every scale at the full rate. The pyramid layout stores
a *list* of octave levels, level ``j`` holding the ``V`` voices ``2^(j + v/V)`` of that octave at
``1/2^j`` of the input rate:

    ``[x_0, x_1, …]``,  ``x_j: [B, C, V, *X_j]``,  ``X_{j+1} = ceil(X_j / 2)``.

A product ``H × Dilation`` (roto-scale, :class:`~wavenets.groups.Product`) keeps its ``|H|``
elements beside each voice: ``x_j: [B, C, V·|H|, *X_j]``, voice-major as in the dense layout.

The input pyramid is ``x_0 = x``, ``x_{j+1} = ↓2(g ∗ x_j)`` (:func:`pyramid_reduce`, ``g`` a 31-tap
half-band low-pass). Every layer applies *the same* operation to every level:
a kernel of K taps at level ``j`` spans ``K·2^j`` input samples, a pool of 4 covers ``4·2^j``, a
stride is a stride at the level's own rate. Contracting the input by the pyramid's own operator,
``x -> ↓2(g ∗ x)``, therefore shifts every level by exactly one (``Φ(↓x)_j = Φ(x)_{j+1}``), for
the whole network, pooling and strides included; only the finest level leaves the range and,
where a layer reads coarser levels than exist, the top ones change (``group_padding="zero"``) or
are cropped (``"valid"``). The work of a level is ``2^-j·d`` that of the finest one
(``d`` = spatial dimensions), so the whole pyramid costs less than ``2×`` (1D) or ``4/3×``
(2D) one level.

A group convolution spanning ``N_h`` neighbouring scales reads, for output level ``j``, the
voices of level ``j`` and as many coarser levels as the span needs, brought to level ``j``'s
rate by :func:`pyramid_expand`, and applies one ordinary dense :class:`GroupConv` on that local
stack ('valid' along scale). The learned kernels are the dense layer's ``[C_out, C_in, N_h, *k]``.

Layers here take and return lists; :func:`to_dense` / :func:`from_dense` convert for inspection.
On one spatial axis, the short levels of a layer run as *one* convolution (and one EXPAND),
laid end to end with zero gaps (:mod:`wavenets.nn._pack`): the fixed cost of a call is paid once
per layer instead of once per level.
"""
from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..groups import Group
from ._blur import _tracing, pyramid_expand, pyramid_expand_into, pyramid_reduce
from ._group_conv import GroupConv
from ._lifting import LiftingConv
from ._core import block_padding
from ._pack import FlatLevels, PackedLevels, can_pack, packed_call
from ._spatial import spatial

__all__ = [
    "PerLevel",
    "PyramidGroupConv",
    "PyramidLifting",
    "content_octave",
    "drop_levels",
    "empty_octaves",
    "from_dense",
    "is_pyramid",
    "outside_anchor",
    "per_level",
    "pyramid_readout",
    "random_fine_levels",
    "scale_pyramid",
    "to_dense",
]

Levels = list[Tensor]


def is_pyramid(x) -> bool:
    """Whether ``x`` is pyramid-layout features (a list or tuple of level tensors)."""
    return isinstance(x, (list, tuple))


def per_level(fn: Callable[[Tensor], Tensor], x, *, elementwise: bool = False):
    """``fn`` on a tensor, or on every level of a pyramid. ``elementwise``: ``fn`` acts on each
    value alone (ReLU), so on levels that are views of one tensor
    (:class:`~wavenets.nn._pack.FlatLevels`) it runs once, on that tensor."""
    if elementwise and isinstance(x, FlatLevels):
        return x.map(fn)
    return [fn(level) for level in x] if is_pyramid(x) else fn(x)


def _voices(group: Group, who: str) -> tuple[int, Group, int]:
    """``(V, scale factor, fiber)``: voices per octave, the group's dilation factor, and the
    feature slots per scale (1 for a dilation group, ``|H|`` for ``H × Dilation``)."""
    v = group.octave_voices()
    if v is None:
        raise ValueError(
            f"{who} stores a dilation group as octave levels and needs base 2^(1/V) (V = 1, 2, …) with "
            f"start a multiple of V; got {group!r}. Use Dilation(n) or Dilation(n, base=2**(1/V))"
        )
    scales = group.scale_axis()
    return v, scales, group.order // scales.order


def scale_pyramid(x: Tensor, levels: int, dim: int, *, skip: int = 0, padding_mode: str = "zeros") -> Levels:
    """``[x_skip, …, x_{skip+levels-1}]`` with ``x_0 = x``, ``x_{j+1} = ↓2(g ∗ x_j)``.

    ``x: [B, C, *X]`` -> signals ``[B, C, *X_j]``; ``skip`` drops the finest levels;
    ``padding_mode`` as :func:`pyramid_reduce`.
    """
    if levels < 1:
        raise ValueError(f"scale_pyramid needs levels >= 1, got {levels}")
    out = []
    for j in range(skip + levels):
        if j:
            x = pyramid_reduce(x, dim, padding_mode)
        if j >= skip:
            out.append(x)
    return out


#: the top band of a level: frequencies at or above this fraction of its rate (Nyquist = 0.5)
TOP_BAND = 0.3
#: the band test's filter passes the top band fully from ``TOP_BAND + BAND_TRANSITION`` on
BAND_TRANSITION = 0.05
_BAND_TAPS, _BAND_PHASES = 129, 16


def _band_filter() -> np.ndarray:
    """The band test's high-pass as a polyphase bank ``[P, P, K]`` (float64): a Kaiser-windowed
    sinc (129 taps, beta 10.06), below -99 dB up to ``TOP_BAND`` and within 2e-5 of one from
    ``TOP_BAND + BAND_TRANSITION``. Output phase ``p`` reads input phase ``q`` at tap ``k``:
    ``y[t·P + p] = Σ W[p, q, k] · x[(t + k)·P + q]``. A 16-channel convolution runs far faster
    than a one-channel one with 129 taps, and in ONNX Runtime far faster than a DFT. (Computed
    once at import, so that a model traced for export reads it as a constant.)"""
    n, p = _BAND_TAPS, _BAND_PHASES
    t = np.arange(n) - (n - 1) / 2
    cutoff = TOP_BAND + BAND_TRANSITION / 2
    low = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, 10.06)
    h = -low / low.sum()
    h[(n - 1) // 2] += 1  # symmetric: correlation = convolution
    k = -(-(n + p - 1) // p)
    d = np.arange(k)[None, None, :] * p + np.arange(p)[None, :, None] - np.arange(p)[:, None, None]
    return np.where((d >= 0) & (d < n), h[d.clip(0, n - 1)], 0.0)


_BAND_BANK = torch.from_numpy(_band_filter())


def _top_band(w: Tensor, axis: int) -> Tensor:
    """``w`` filtered by the band test's high-pass along ``axis`` (full linear convolution, the
    axis ``_BAND_TAPS - 1`` samples longer or more, zeros past the end)."""
    w = w.movedim(axis, -1)
    shape, n = w.shape[:-1], w.shape[-1]
    bank = _BAND_BANK.to(dtype=w.dtype, device=w.device)
    p, k = bank.shape[1:]
    steps = -(-(n + _BAND_TAPS - 1) // p)
    x = F.pad(w.reshape(-1, 1, n), (_BAND_TAPS - 1, (steps + k - 1) * p - n - (_BAND_TAPS - 1)))
    y = F.conv1d(x.reshape(x.shape[0], -1, p).transpose(1, 2), bank)  # [M, P, steps]
    return y.transpose(1, 2).reshape(*shape, steps * p).movedim(-1, axis)


def empty_octaves(x: Tensor | Levels, levels: int, dim: int, *, skip: int = 0, threshold: float = 1e-6) -> Tensor:
    """``[B, levels]`` bool: which of the finest levels of ``scale_pyramid(x, levels, dim, skip)``
    carry no signal in their top octave, clip by clip (``x`` may be that pyramid already).

    Level ``j`` is *band-empty* when its top band (every frequency ``≥ TOP_BAND`` of the level's
    rate on some axis) holds less than ``threshold`` of the level's power. The level is
    Hann-windowed, so that the clip's own edges do not leak into the band, and high-passed by a
    129-tap FIR that rejects everything below ``TOP_BAND`` (-99 dB) and passes everything from
    ``TOP_BAND + BAND_TRANSITION`` (0.35) on. Only the leading run of band-empty levels is
    flagged, and never the coarsest level. An input slowed down by ``2^k`` (or upsampled from a
    lower rate) has ``k`` such levels; a natural recording at its own rate has none, because its
    noise floor alone sits far above ``threshold = 1e-6`` (-60 dB). The test reads each level's
    own samples, so it commutes with the pyramid contraction exactly (``empty_octaves`` of
    ``↓2(g ∗ x)`` is that of ``x`` shifted by one level). Computed in float32 (float64 for
    float64 input), without an FFT, so that an exported model runs it fast. The levels are tested
    finest first, each only for the clips whose finer levels were all band-empty, so a clip at its
    own rate costs one level's test (under a tracer every level of every clip is tested; the flags
    are the same).
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"empty_octaves needs a power threshold in [0, 1), got {threshold!r}")
    pyr = list(x[:levels]) if is_pyramid(x) else scale_pyramid(x, levels, dim, skip=skip)
    if _tracing():  # a traced graph cannot leave clips out: every level is tested, the leading run taken after
        flags = torch.stack([_band_empty(level, dim, threshold) for level in pyr], 1)
        flags[:, -1] = False
        return (~flags).long().cumsum(1) == 0
    # level by level, only the clips whose finer levels were all band-empty (a recording at its own
    # rate: only the finest level is tested)
    b = pyr[0].shape[0]
    flags = torch.zeros(b, len(pyr), dtype=torch.bool, device=pyr[0].device)
    run = torch.arange(b, device=pyr[0].device)
    for j, level in enumerate(pyr[:-1]):  # never the coarsest level
        empty = _band_empty(level if len(run) == b else level[run], dim, threshold)
        flags[run, j] = empty
        run = run[empty]
        if not len(run):
            break
    return flags


def _hann(n: int, like: Tensor) -> Tensor:
    """``torch.hann_window(n, periodic=False)`` in ``like``'s dtype and device, bitwise: the same
    operations as ATen's window (arange, × 2π/(n−1), cos, × −½, + ½), written out so that an
    ONNX export holds plain operators (torch < 2.13's exporter has no ``hann_window``)."""
    if n == 1:
        return torch.ones(1, dtype=like.dtype, device=like.device)
    return torch.arange(n, dtype=like.dtype, device=like.device).mul(2 * math.pi / (n - 1)).cos().mul(-0.5).add(0.5)


def _band_empty(level: Tensor, dim: int, threshold: float) -> Tensor:
    """``[B]`` bool: whether each clip of one pyramid level is band-empty (:func:`empty_octaves`)."""
    axes = tuple(range(-dim, 0))
    w = level.to(torch.float64 if level.dtype == torch.float64 else torch.float32).flatten(0, 1)  # [B·C, *X]
    for a in axes:
        shape = [1] * dim
        shape[a] = w.shape[a]
        w = w * _hann(w.shape[a], w).view(shape)
    high = 0
    for size in range(1, dim + 1):  # the union of the axes' top bands, by inclusion-exclusion
        for subset in itertools.combinations(axes, size):
            y = w
            for a in subset:
                y = _top_band(y, a)
            high = high + (-1) ** (size + 1) * y.pow(2).flatten(1).sum(1)
    total = w.pow(2).flatten(1).sum(1).view(level.shape[:2]).sum(1)  # over samples and channels
    return high.view(level.shape[:2]).sum(1) < threshold * total


def _level_powers(x: Tensor | Levels, levels: int, dim: int, skip: int, floor: float = 0.0) -> Tensor:
    """``[B, levels + 1]`` float64: the mean power ``P_j`` of each level of ``scale_pyramid(x,
    levels, dim, skip)`` (or of the pyramid ``x``'s first ``levels``) and of one level past them;
    with ``floor`` > 0, each level's octave bands less their stationary floor
    (:func:`content_octave`)."""
    pyr = list(x[:levels]) if is_pyramid(x) else scale_pyramid(x, levels, dim, skip=skip)
    pyr.append(pyramid_reduce(pyr[-1], dim))
    if not floor:
        return torch.stack([level.double().pow(2).flatten(1).mean(1) for level in pyr], 1)
    maps = [level.double().pow(2).mean(1) for level in pyr]  # [B, *X_j]: power per sample, over channels
    power = torch.stack([m.flatten(1).mean(1) for m in maps], 1)
    # P_j = P_levels + sum of the bands from j on, each band (P_k - P_{k+1}) less its floor
    bands = [_band_above_floor(maps[k], maps[k + 1], power[:, k] - power[:, k + 1], dim, floor)
             for k in range(levels)]
    return torch.stack(bands + [power[:, -1]], 1).flip(1).cumsum(1).flip(1)


#: frames of the stationary-floor estimate (``content_octave(..., floor=q)``): this many samples
#: of a level per axis (half as many of the next coarser level)
FLOOR_FRAME = 16
#: a frame at most this share of its level's loudest frame's power is silence (-90 dB)
SILENT_FRAME = 1e-9


def _band_above_floor(fine: Tensor, coarse: Tensor, band: Tensor, dim: int, q: float) -> Tensor:
    """``[B]``: the octave band between pyramid levels ``j`` and ``j + 1`` (mean power ``band``)
    less its stationary floor: the ``q``-quantile, over the frames that hold signal, of the band's
    power in frames of :data:`FLOOR_FRAME` samples (a frame's power at level ``j`` less that of the
    same stretch at level ``j + 1``), times the share of such frames; ``fine``, ``coarse``: the two
    levels' power per sample ``[B, *X]``. Frames of silence (:data:`SILENT_FRAME`: a faster clip's
    zero padding) and their neighbours (which hold the REDUCE's smear of the clip's edge) hold no
    floor. A level of fewer than two frames that do keeps its band whole."""
    a = _frame_means(fine, FLOOR_FRAME, dim)  # [B, *n]: mean power per frame
    if math.prod(a.shape[1:]) < 2:
        return band.clamp_min(0)
    b = _frame_means(coarse, FLOOR_FRAME // 2, dim)
    b = b[(slice(None),) + tuple(slice(0, n) for n in a.shape[1:])]  # the same stretches one level down
    # frames of digital silence (a faster clip's padding), and their neighbours, which hold the
    # REDUCE's smear of the clip's edge, hold no floor
    silent = _grown(a <= SILENT_FRAME * a.flatten(1).amax(1).view(-1, *[1] * dim), dim)
    a, b, signal = a.flatten(1), b.flatten(1), ~silent.flatten(1)
    floor = torch.where(signal.sum(1) >= 2, _quantile(a - b, signal, q), torch.zeros_like(band))
    return (band - floor * signal.to(band.dtype).mean(1)).clamp_min(0)


def _frame_means(m: Tensor, frame: int, dim: int) -> Tensor:
    """``m: [B, *X]`` averaged over frames of ``frame`` samples per axis (whole frames only). A
    reshape per axis, not a pooling layer: ONNX Runtime pools no float64."""
    for axis in range(-dim, 0):
        n = m.shape[axis] // frame
        m = m.narrow(axis, 0, n * frame).unflatten(axis, (n, frame)).mean(axis)
    return m


def _grown(mask: Tensor, dim: int) -> Tensor:
    """``mask: [B, *n]`` bool, or-ed with its neighbours along each of the last ``dim`` axes."""
    for axis in range(-dim, 0):
        if mask.shape[axis] > 1:
            n = mask.shape[axis]
            mask = torch.cat([mask.narrow(axis, 0, 1) | mask.narrow(axis, 1, 1),
                              mask.narrow(axis, 1, n - 2) | mask.narrow(axis, 0, n - 2) | mask.narrow(axis, 2, n - 2),
                              mask.narrow(axis, n - 1, 1) | mask.narrow(axis, n - 2, 1)], axis)
    return mask


def _quantile(v: Tensor, valid: Tensor, q: float) -> Tensor:
    """``[B]``: the ``q``-quantile (linear interpolation) of each row of ``v: [B, n]`` over its
    ``valid`` entries; 0 where a row has none. Sort and gather, operators an exported graph holds."""
    k = valid.sum(1)
    s = torch.where(valid, v, torch.full_like(v, math.inf)).sort(1).values
    pos = q * (k - 1).clamp_min(0).to(v.dtype)
    lo = pos.floor().long()
    hi = torch.minimum(lo + 1, (k - 1).clamp_min(0))
    low, high = s.gather(1, lo[:, None])[:, 0], s.gather(1, hi[:, None])[:, 0]
    value = low + (pos - lo.to(v.dtype)) * (high - low).nan_to_num(0.0, posinf=0.0, neginf=0.0)
    return torch.where(k > 0, value, torch.zeros_like(value))


def content_octave(x: Tensor | Levels, levels: int, dim: int, *, skip: int = 0, ratio: float = 0.2,
                   floor: float = 0.0) -> Tensor:
    """``[B]`` long: per clip, the level of ``scale_pyramid(x, levels, dim, skip)`` that holds its
    lowest octave of content: the finest level ``j`` whose next coarser level keeps less than
    ``ratio`` of its power (``P_{j+1} < ratio · P_j``); where no level's does, the level of the
    deepest drop (smallest ``P_{j+1} / P_j``).

    ``P_j`` is level ``j``'s mean power over channels and samples; ``x_{j+1}`` is ``x_j`` low-passed
    to its lower half band and decimated, so ``P_{j+1} / P_j`` is the share of level ``j``'s power
    below half its band. For a harmonic sound that share is large until the band edge passes the
    fundamental, where it collapses to the noise floor; the level found is the fundamental's
    octave. Real speech collapses less sharply (vibrato, breath, a room's rumble): about a fifth
    of spoken words never drop below 0.2 and take their deepest drop instead. The test reads one
    level past the range (``x_levels``), so a collapse just below the coarsest level anchors there.
    A change of time scale by ``2^k`` (a tape played faster or slower) moves the anchor by ``-k``
    levels, and the pyramid contraction moves it by exactly one, because the test reads each
    level's own samples. It is a scale *anchor*: a readout that reads levels counted from it is
    invariant to the contraction as long as those levels exist. Silence anchors at the coarsest
    level; a white spectrum (every ratio near 0.5) has no content octave and anchors where its
    power happens to drop most.

    ``floor`` (a quantile ``q`` in [0, 1); 0: off) measures the powers of the clip's *foreground*.
    A recording's stationary background (a room's rumble, mains hum, a microphone's DC) adds power
    to the coarse levels that no fundamental explains, so the drop below the voice is missed and
    the anchor slides coarser. With ``floor = q`` every octave band (``P_j - P_{j+1}``) counts only
    its power above its floor: the ``q``-quantile of the band's power over frames of
    :data:`FLOOR_FRAME` samples of the level, taken over the frames that hold signal (the zeros
    padding a clip played faster hold none). ``P_j`` is then the sum of the bands from ``j`` down,
    plus the level past the range. Around a sound in digital silence the quietest frames are its
    own fading edges, so the floor stays near 0 there. The test still reads each level's own
    samples, so the pyramid contraction still moves the anchor by exactly one. Levels of fewer
    than two frames keep their bands whole.
    """
    if not 0 < ratio < 1:
        raise ValueError(f"content_octave needs a power ratio in (0, 1), got {ratio!r}")
    if not 0 <= floor < 1:
        raise ValueError(f"content_octave needs a floor quantile in [0, 1), got {floor!r}")
    power = _level_powers(x, levels, dim, skip, floor)
    share = torch.where(power[:, :-1] > 0, power[:, 1:] / power[:, :-1].clamp_min(1e-300), torch.ones_like(power[:, 1:]))
    drops = share < ratio
    anchor = torch.where(drops.any(1), drops.long().argmax(1), share.argmin(1))
    return torch.where(power[:, 0] > 0, anchor, torch.full_like(anchor, levels - 1))


def centroid_octave(x: Tensor | Levels, levels: int, dim: int, *, skip: int = 0) -> Tensor:
    """``[B]`` long: per clip, the power centroid of its octave bands in ``scale_pyramid(x, levels,
    dim, skip)``, rounded to a level: band ``j`` holds ``P_j − P_{j+1}`` (level ``j``'s mean power
    less the part below its half band), and the anchor is ``round(Σ j·B_j / Σ B_j)``.

    Where :func:`content_octave` finds a voice's fundamental, this finds where its power sits: for
    speech the formants, which a vocal tract sets and a voice's pitch moves little. Over 107
    speakers saying the same word, the fundamental's octave spreads over four levels (64% of a
    word's clips share its most common one), the centroid over two (90%). A change of time scale
    by ``2^k`` moves the centroid by ``-k`` levels exactly while the bands stay inside the
    pyramid; the pyramid contraction drops the finest band, so it moves the rounded anchor by
    exactly one when that band holds no power (a band-limited clip) and may move it by one more
    or less when it does and the centroid sits near half a level. Silence anchors at the
    coarsest level.
    """
    power = _level_powers(x, levels, dim, skip)
    band = (power[:, :-1] - power[:, 1:]).clamp_min(0)
    j = torch.arange(levels, device=band.device, dtype=band.dtype)
    total = band.sum(1)
    centre = (band * j).sum(1) / total.clamp_min(1e-300)
    anchor = torch.floor(centre + 0.5).long().clamp(0, levels - 1)
    return torch.where(total > 0, anchor, torch.full_like(anchor, levels - 1))


def outside_anchor(anchor: Tensor, levels: int, span: int) -> Tensor:
    """``[B, levels]`` bool: the levels outside each clip's window ``anchor − span + 1 … anchor``
    (the anchor's octave and the ``span − 1`` finer ones), for :func:`drop_levels`."""
    j = torch.arange(levels, device=anchor.device)[None, :]
    return (j > anchor[:, None]) | (j <= anchor[:, None] - span)


def random_fine_levels(batch: int, levels: int, most: int, device=None) -> Tensor:
    """``[batch, levels]`` bool: per example, its ``k`` finest levels, ``k`` uniform in
    ``0 … most`` (and at most ``levels − 1``: one level always stays). Skipping them is what a
    contraction by ``2^k`` does to a pyramid: level dropout, a free dyadic augmentation."""
    k = torch.randint(0, min(most, levels - 1) + 1, (batch,), device=device)
    return torch.arange(levels, device=device)[None, :] < k[:, None]


def drop_levels(h: Tensor, drop: Tensor, slots_per_level: int) -> Tensor:
    """``h: [B, C, G, …]`` (group axis level-major, ``slots_per_level`` slots a level) with every
    slot of the levels flagged in ``drop: [B, levels]`` set to -inf, so a max never takes it."""
    level = torch.arange(h.shape[2], device=h.device) // slots_per_level
    mask = drop[:, level].view(h.shape[0], 1, h.shape[2], *([1] * (h.dim() - 3)))
    return h.masked_fill(mask, float("-inf"))


def _check_levels(x, who: str, channels: int, voices: int, dim: int, levels: int) -> None:
    """``voices``: group slots of a full level (voices × fiber)."""
    expected = f"a list of {levels} levels [B, {channels}, {voices}, {spatial(dim).axes}]"
    if not is_pyramid(x):
        shape = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{who} expected pyramid features ({expected}), got {shape}; "
                        "convert dense features with wavenets.nn.from_dense")
    if len(x) < levels:
        raise ValueError(f"{who} expected {expected}, got {len(x)} levels")
    for j, level in enumerate(x[:levels]):
        if level.dim() != dim + 3 or level.shape[1] != channels or level.shape[2] > voices:
            raise ValueError(f"{who} expected {expected}, got level {j} of shape {list(level.shape)}")


class PyramidLifting(nn.Module):
    """Lifting convolution in the pyramid layout.

    ``x: [B, C_in, *X]`` (or its :func:`scale_pyramid`) ``-> [x_j: [B, C_out, V, *X_j'] for the
    octave levels j]``: the learned kernel, resampled to the ``V`` voices of one octave
    (a dense :class:`LiftingConv` over ``Dilation(V, 2^(1/V))``), applied to every level of the
    input pyramid. The top level holds only the voices the group samples.

    Args:
        group: ``Dilation(n, base=2^(1/V), start=s·V)``: ``n`` scales, ``ceil(n / V)`` levels,
            the finest at pyramid level ``s``.
        in_channels, out_channels, kernel_size, dim, stride, padding, padding_mode, bias: as
            :class:`LiftingConv`; ``stride`` and ``padding`` act at each level's own rate, and the
            input pyramid is padded as the convolutions are (``padding_mode``).
    """

    def __init__(self, group: Group, in_channels: int, out_channels: int, kernel_size: int, *,
                 dim: int | None = None, stride: int = 1, padding: str | int = "same", padding_mode: str = "zeros",
                 bias: bool = True):
        super().__init__()
        self.voices, scales, self.fiber = _voices(group, "PyramidLifting")
        self.group = self.out_group = group
        self.scales = scales.order
        self.levels = math.ceil(scales.order / self.voices)
        self.skip = scales.start // self.voices
        inner = group.with_scales(min(self.voices, scales.order))
        self.conv = LiftingConv(inner, in_channels, out_channels, kernel_size, dim=dim, stride=stride,
                                padding=padding, padding_mode=padding_mode, bias=bias)
        self.padding_mode = padding_mode
        self.dim, self.in_channels, self.out_channels = self.conv.dim, in_channels, out_channels

    def forward(self, x: Tensor | Levels) -> Levels:
        if not is_pyramid(x):
            axes = spatial(self.dim).axes
            if not isinstance(x, Tensor) or x.dim() != self.dim + 2 or x.shape[1] != self.in_channels:
                got = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
                raise ValueError(f"PyramidLifting expected a signal [B, {self.in_channels}, {axes}] or its "
                                 f"scale_pyramid, got {got}")
            x = scale_pyramid(x, self.levels, self.dim, skip=self.skip, padding_mode=self.padding_mode)
        elif len(x) < self.levels:
            raise ValueError(f"PyramidLifting expected a signal or a pyramid of {self.levels} levels, got {len(x)}")
        out = self.conv.forward_packed(list(x[: self.levels]))  # one filter bank, one convolution for every level
        top = (self.scales - (self.levels - 1) * self.voices) * self.fiber
        if top < out[-1].shape[2]:
            out[-1] = out[-1][:, :, :top]
        return out

    def extra_repr(self) -> str:
        return f"{self.group!r}, levels={self.levels}, voices={self.voices}"


class PyramidGroupConv(nn.Module):
    """Group convolution in the pyramid layout: levels ``[B, C_in, V, *X_j]`` -> ``[B, C_out, V, *X_j']``.

    Output scale ``s`` reads input scales ``s … s+N_h−1`` (``direction="coarser"``); those of
    coarser levels are brought to level ``⌊s/V⌋``'s rate by :func:`pyramid_expand`, and one dense
    :class:`GroupConv` (``Dilation(V + N_h − 1, base)``, ``group_padding="valid"``) maps the local
    stack to the level's ``V`` outputs. Scales past the top are zero (``group_padding="zero"``,
    same number of scales) or the outputs that would read them are dropped (``"valid"``,
    ``n − N_h + 1`` scales; :attr:`out_group`), exactly as in the dense layer.

    Args: as :class:`GroupConv` (``group_kernel_size`` = ``N_h``, default 1: no mixing across
    scales, each level convolved on its own).
    """

    def __init__(self, group: Group, in_channels: int, out_channels: int, kernel_size: int, *,
                 dim: int | None = None, group_kernel_size: int = 1, group_padding: str = "zero",
                 stride: int = 1, padding: str | int = "same", padding_mode: str = "zeros", bias: bool = True):
        super().__init__()
        v, scales, self.fiber = _voices(group, "PyramidGroupConv")
        self.voices = v
        if scales.direction != "coarser":
            raise ValueError(f"PyramidGroupConv reads coarser scales only (direction='coarser'), got {group!r}")
        m = group_kernel_size[-1] if isinstance(group_kernel_size, (tuple, list)) else group_kernel_size
        if m < 1:
            raise ValueError(f"group_kernel_size must be >= 1 (scales), got {group_kernel_size!r}")
        self.group, self.out_group = group, group.out_group(group_kernel_size, group_padding)
        self.group_padding, self.padding_mode = group_padding, padding_mode
        self.local = v + m - 1  # input scales one output level reads
        self.conv = GroupConv(group.with_scales(self.local), in_channels, out_channels, kernel_size, dim=dim,
                              group_kernel_size=group_kernel_size, group_padding="valid", stride=stride,
                              padding=padding, padding_mode=padding_mode, bias=bias)
        self.dim, self.in_channels, self.out_channels = self.conv.dim, in_channels, out_channels
        self.scales, self.out_scales = scales.order, self.out_group.scale_axis().order
        self.in_levels = math.ceil(self.scales / v)
        self.out_levels = math.ceil(self.out_scales / v)

    @property
    def group_kernel_size(self) -> int:
        return self.conv.group_kernel_size

    def _stack_pieces(self, near: list[Levels], j: int) -> list[Tensor]:
        """The pieces of level ``j``'s local stack, in slot order: ``near[d][j]`` (level ``j + d``
        at level ``j``'s rate) for ``d = 0, 1, …`` while slots are wanted, the last one cropped;
        the slots past them (past the top) are zero."""
        want = self.local * self.fiber  # group slots of the local stack
        pieces, have = [], 0
        for d in range(len(near)):
            if have >= want or j >= len(near[d]):
                break
            piece = near[d][j]
            pieces.append(piece if have + piece.shape[2] <= want else piece[:, :, :want - have])
            have += pieces[-1].shape[2]
        return pieces

    def _stack(self, near: list[Levels], j: int) -> Tensor:
        """Input scales ``jV … jV + local − 1`` at level ``j``'s rate, zero past the top."""
        pieces = self._stack_pieces(near, j)
        stack = torch.cat(pieces, 2) if len(pieces) > 1 else pieces[0]
        want = self.local * self.fiber
        return F.pad(stack, (0, 0) * self.dim + (0, want - stack.shape[2])) if stack.shape[2] < want else stack

    def _near(self, x: Levels) -> list[Levels]:
        """``[x, x expanded by one octave, by two, …]``: entry ``d`` holds, for every output level
        ``j`` that reads ``d`` levels up, level ``j + d`` at level ``j``'s rate (one octave at a time,
        every level of a step in one packed call where the layout allows)."""
        slots = self.voices * self.fiber
        octaves = -(-(self.local * self.fiber - slots) // slots)  # coarser levels a full output level reads
        near = [list(x)]
        for d in range(1, octaves + 1):
            src = near[-1][1:self.out_levels + octaves - d + 1]  # what later steps still read
            if not src:
                break
            ups = self._expand([t.flatten(1, 2) for t in src], [x[j].shape[-self.dim:] for j in range(len(src))])
            near.append([up.unflatten(1, t.shape[1:3]) for up, t in zip(ups, src)])
        return near

    def _expand(self, xs: list[Tensor], sizes: list) -> list[Tensor]:
        """``pyramid_expand`` of every ``xs[i]`` to ``sizes[i]``."""
        one = lambda i, t: pyramid_expand(t, sizes[i], self.dim, self.padding_mode)
        fits = all(s[-1] <= 2 * t.shape[-1] for s, t in zip(sizes, xs))  # a crop, never a pad
        if len(xs) < 2 or not fits or not can_pack(self.dim, self.padding_mode):
            return [one(i, t) for i, t in enumerate(xs)]
        # EXPAND reads one sample either side (zeros past the ends): a gap of one zero isolates the inputs
        return packed_call(lambda t: pyramid_expand(t, [2 * t.shape[-1]], self.dim), xs, gap=1,
                           out_span=lambda i, start: (2 * start, sizes[i][-1]), run_one=one)

    def keeps_packed(self, gap: int) -> bool:
        """Whether :class:`~wavenets.nn._pack.PackedLevels` with ``gap`` zeros between levels run
        through this layer as one convolution on the packed data, output in the same layout:
        one spatial axis, zero padding, stride 1, 'same' size, the padding within the gap."""
        conv = self.conv
        if not conv.packable() or conv.stride != 1:
            return False
        pads = [(b, block_padding(conv.padding, b)) for b in self._blocks()]
        return all(pad <= gap and b.dilation * (b.kernel_size - 1) == 2 * pad for b, pad in pads)

    def _blocks(self):
        """The convolution's kernel blocks (a GroupConv's plan, or the blocks of its frozen form)."""
        return self.conv.plan.blocks if hasattr(self.conv, "plan") else self.conv.blocks

    def packed_gap(self) -> int:
        """The zeros :meth:`keeps_packed` needs between levels: the convolution's widest padding."""
        return max(block_padding(self.conv.padding, b) for b in self._blocks())

    def _forward_kept(self, x: PackedLevels) -> PackedLevels:
        """The layer on levels kept packed (:meth:`keeps_packed`): a layer of one scale tap
        convolves each part as it is; one that reads coarser levels builds each level's local
        stack as :meth:`forward` does, written straight into tensors of the same layout."""
        slots = self.voices * self.fiber
        shapes = [list(p.shape[1:3]) for p in x.parts]
        if len(x.starts) < self.in_levels or any(s != [self.in_channels, slots] for s in shapes):
            raise ValueError(f"PyramidGroupConv expected {self.in_levels} packed levels [B, {self.in_channels}, "
                             f"{slots}, …], got {len(x.starts)} levels in parts of {shapes}")
        if not self.keeps_packed(x.gap):
            return PackedLevels.pack(self.forward(x.levels()), x.gap)
        stacks = x.zeroed().parts if self.local == self.voices else self._packed_stacks(x)
        keep = [min(self.voices, self.out_scales - j * self.voices) * self.fiber for j in range(self.out_levels)]
        return x.like([self.conv(stack) for stack in stacks], keep, self.out_levels)

    def _packed_stacks(self, x: PackedLevels) -> list[Tensor]:
        """Every output level's local stack (:meth:`_stack`) in ``x``'s layout, a tensor per part
        that holds output levels, zero in the gaps.

        Built from the top level down: level ``j``'s stack is its own ``V`` slots, then the first
        ``local − V`` slots of level ``j+1``'s stack brought to level ``j``'s rate by one EXPAND
        (``[E x_{j+1}, E² x_{j+2}, …] = E [x_{j+1}, E x_{j+2}, …]``), written straight into the
        stack: no per-octave copies of the expanded levels and no concatenation. Without
        gradients the EXPAND writes in place (:func:`pyramid_expand_into`)."""
        vf, want = self.voices * self.fiber, self.local * self.fiber
        reads = want - vf  # slots of level j's stack that come from level j+1's
        levels, n = x.levels(), min(len(x.starts), self.in_levels)
        # in place only where nothing records it: a traced graph may later run with gradients
        inplace = not (torch.is_grad_enabled() and any(p.requires_grad for p in x.parts)) and not _tracing()
        stacks: dict[int, Tensor] = {}  # part -> its stack

        def window(j: int) -> Tensor:
            return stacks[x.part[j]][..., x.starts[j]:x.starts[j] + x.lengths[j]]

        for k in sorted({x.part[j] for j in range(n)}, reverse=True):
            members = [j for j in x.members(k) if j < n]
            part = x.parts[k]
            # zeros in the gaps: one fill of the whole part costs less than a fill of each gap (a column a row)
            alloc = part.new_empty if x.whole(k) else part.new_zeros
            stacks[k] = alloc(*part.shape[:2], want, part.shape[-1])
            if inplace and len(members) > 1 and all(j + 1 >= n or x.part[j + 1] == k for j in members):
                self._shared_stacks(x, k, n, stacks[k])
                continue
            for j in reversed(members):
                w, level = window(j), levels[j]
                w[:, :, :level.shape[2]] = level
                if level.shape[2] < vf:
                    w[:, :, level.shape[2]:vf].zero_()  # a short top level's missing slots
                if j + 1 >= n:
                    w[:, :, vf:].zero_()  # scales past the top
                elif inplace and x.lengths[j] <= 2 * x.lengths[j + 1]:
                    pyramid_expand_into(window(j + 1)[:, :, :reads], w[:, :, vf:])
                else:
                    w[:, :, vf:] = pyramid_expand(window(j + 1)[:, :, :reads], [x.lengths[j]], 1)
        out = []
        for k in sorted({x.part[j] for j in range(self.out_levels)}):
            last = max(j for j in x.members(k) if j < self.out_levels)
            end = x.starts[last] + x.lengths[last] + (0 if x.whole(k) else x.gap)
            out.append(stacks[k] if end == stacks[k].shape[-1] else stacks[k][..., :end].contiguous())
        return out

    def _shared_stacks(self, x: PackedLevels, k: int, n: int, out: Tensor) -> None:
        """The stacks of every level of part ``k`` at once, written into ``out`` (zeros), where each
        level's coarser neighbour lies in the same part or past the top (the short levels): the
        part's own slots, then one octave of slots at a time, EXPAND of the *whole* part's
        previous octave (a level's gap neighbours are zeros, so each level expands as it does
        alone) gathered from where level ``j + 1`` expanded lands (``2·start_{j+1}``) to where
        level ``j`` is. Four calls an octave, whatever the number of levels; inference only (the
        writes go through ``out=``)."""
        vf, want = self.voices * self.fiber, self.local * self.fiber
        part, mask = x.parts[k], x.masks()[k]
        if mask is None:
            out[:, :, :vf] = part
        else:
            torch.mul(part, mask, out=out[:, :, :vf])  # zeros in the gaps and in a short top level's slots
        length = part.shape[-1]
        index = _coarser_index(tuple(x.part), tuple(x.starts), tuple(x.lengths), k, n, length, part.device)
        for lo in range(vf, want, vf):
            slots = min(vf, want - lo)
            up = part.new_empty(*part.shape[:2], slots, 2 * length + 1)
            pyramid_expand_into(out[:, :, lo - vf:lo - vf + slots], up[..., :-1])
            up[..., -1].zero_()  # where the gaps and the levels past the top read
            torch.gather(up, 3, index.expand(*part.shape[:2], slots, length), out=out[:, :, lo:lo + slots])

    def forward(self, x: Levels | PackedLevels) -> Levels | PackedLevels:
        if isinstance(x, PackedLevels):
            return self._forward_kept(x)
        _check_levels(x, "PyramidGroupConv", self.in_channels, self.voices * self.fiber, self.dim, self.in_levels)
        x = list(x[: self.in_levels])
        if x[-1].shape[2] != (self.scales - (self.in_levels - 1) * self.voices) * self.fiber:
            raise ValueError(f"PyramidGroupConv expected {self.group.order} group slots ({self.group!r}), got "
                             f"{sum(level.shape[2] for level in x)}")
        near = self._near(x)
        out = []  # one filter bank, one convolution for every level
        for j, y in enumerate(self.conv.forward_packed([self._stack(near, j) for j in range(self.out_levels)])):
            keep = min(self.voices, self.out_scales - j * self.voices) * self.fiber
            out.append(y if keep == y.shape[2] else y[:, :, :keep])
        return out

    def extra_repr(self) -> str:
        return (f"{self.group!r} -> {self.out_group!r}, levels {self.in_levels} -> {self.out_levels}, "
                f"voices={self.voices}")


@functools.lru_cache(maxsize=64)
def _coarser_index(part: tuple[int, ...], starts: tuple[int, ...], lengths: tuple[int, ...], k: int, n: int,
                   length: int, device: torch.device) -> Tensor:
    """``[1, 1, 1, length]``: for every sample of packed part ``k``, where :meth:`PyramidGroupConv.
    _shared_stacks` reads it in the part's EXPAND (``2·length`` samples, then one zero): sample
    ``t`` of level ``j`` reads sample ``t`` of level ``j + 1``'s expansion, ``2·start_{j+1} + t``;
    the gaps and the levels with no coarser level below ``n`` read the zero."""
    index = torch.full((length,), 2 * length, dtype=torch.long)
    for j, (at, start, size) in enumerate(zip(part, starts, lengths)):
        if at == k and j + 1 < n:
            index[start:start + size] = torch.arange(size) + 2 * starts[j + 1]
    return index.to(device).view(1, 1, 1, length)


#: modules that act on each value alone, with no randomness: :class:`PerLevel` runs them once
#: on levels that are views of one tensor
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Identity)


class PerLevel(nn.Module):
    """Apply ``module`` to every level of a pyramid (or to a dense tensor as is): pooling,
    non-linearities, dropout. ``PerLevel(SpatialPool(4, dim=1, ceil_mode=True))``. A module in
    :data:`ELEMENTWISE` runs once on levels that are views of one tensor (batch norm's output in
    training), with the same values."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return per_level(self.module, x, elementwise=isinstance(self.module, ELEMENTWISE))


def pyramid_readout(x: Levels, reduce: str = "mean") -> Tensor:
    """Global spatial pooling of every level, then the levels side by side on the scale axis:
    ``[x_j: [B, C, V, *X_j]] -> [B, C, S, 1…]`` (dense, every spatial size 1)."""
    if reduce not in ("mean", "max"):
        raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}")
    pooled = []
    for level in x:
        space = tuple(range(3, level.dim()))
        pooled.append(level.mean(space, keepdim=True) if reduce == "mean" else level.amax(space, keepdim=True))
    return torch.cat(pooled, 2)


def to_dense(x: Levels, size: Sequence[int] | None = None) -> Tensor:
    """Pyramid ``[x_j: [B, C, V, *X_j]]`` -> dense ``[B, C, S, *X]``, level ``j`` read at every
    sample by linear interpolation between its samples (sample ``t`` of level ``j`` sits on
    ``2^j·t``; edge values held past the last one). ``size`` defaults to level 0's."""
    if not is_pyramid(x) or not x:
        raise TypeError("to_dense expects pyramid features (a non-empty list of level tensors)")
    dim = x[0].dim() - 3
    size = list(size) if size is not None else list(x[0].shape[-dim:])
    mode = spatial(dim).interpolate
    out = []
    for j, level in enumerate(x):
        step = 2**j
        flat = level.flatten(1, 2)
        fine = [(n - 1) * step + 1 for n in flat.shape[-dim:]]
        y = F.interpolate(flat, size=fine, mode=mode, align_corners=True) if step > 1 else flat
        grow = []
        for n, want in zip(reversed(fine), reversed(size)):
            grow += [0, want - n]
        y = F.pad(y, grow, mode="replicate") if any(g > 0 for g in grow) else F.pad(y, grow)
        out.append(y.unflatten(1, level.shape[1:3]))
    return torch.cat(out, 2)


def from_dense(x: Tensor, voices: int = 1, fiber: int = 1) -> Levels:
    """Dense ``[B, C, S, *X]`` -> pyramid: scale ``s`` goes to level ``j = s // voices``, read
    at every ``2^j``-th sample. Inverse of :func:`to_dense` on pyramid features. ``fiber``: group
    slots per scale (``|H|`` for a product ``H × Dilation``, whose axis is scale-major)."""
    if not isinstance(x, Tensor) or x.dim() < 4:
        raise ValueError(f"from_dense expected dense features [B, C, S, *X], got "
                         f"{list(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    dim = x.dim() - 3
    per = voices * fiber
    levels = math.ceil(x.shape[2] / per)
    return [x[:, :, j * per:(j + 1) * per][(Ellipsis,) + (slice(None, None, 2**j),) * dim]
            for j in range(levels)]
