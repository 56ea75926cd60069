"""Octave levels laid end to end: many short 1D inputs run as one call.

A pyramid layer applies one operation to every octave level. Run level by level, each call pays
a fixed cost (a CPU convolution packs its weights, a GPU kernel is launched) that is most of the
time at the coarse levels, a few samples each. Along one axis, levels of any length can be laid
end to end with zero gaps wide enough that no output reads across a gap: one call then computes
every level's output, and each equals its separate call's up to floating-point summation order.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ._spatial import spatial

#: inputs longer than this (samples) run in their own call: the fixed cost is small against their
#: work, and copying them into a packed tensor would cost more (1,024 was the fastest of 0 / 1,024 /
#: 4,096 / 16,384 / all for the W-Nets on 2 CPU cores; ``python -m benchmarks.pack_levels`` times
#: the default against 0, one call per level)
PACK_BELOW = 1024

#: in eval mode, pyramid models keep the levels packed from layer to layer where their layers allow
#: (:class:`PackedLevels`); False runs every layer on the list of levels (``benchmarks.pack_levels``
#: times both)
KEEP_PACKED = True


def can_pack(dim: int, padding_mode: str) -> bool:
    """Whether inputs of a layer on ``dim`` spatial axes with ``padding_mode`` can be laid end to
    end: one axis only (2D levels differ on both), and zeros in the gaps as at the ends."""
    return spatial(dim).packs_levels and padding_mode == "zeros"


def packed_call(run: Callable[[Tensor], Tensor], xs: Sequence[Tensor], *, gap: int, align: int = 1,
                out_span: Callable[[int, int], tuple[int, int]],
                run_one: Callable[[int, Tensor], Tensor] | None = None) -> list[Tensor]:
    """``[run_one(i, x) for i, x in enumerate(xs)]``, the inputs of at most :data:`PACK_BELOW`
    samples (last axis) computed by *one* ``run`` on them laid end to end.

    Args:
        run: the operation on a packed tensor (every axis but the last as in each input).
        gap: zeros needed between two inputs so that no output reads across (a convolution's
            padding).
        align: every input starts at a multiple of this (a convolution's stride).
        out_span: ``(i, start) -> (first output sample, output length)`` of input ``i`` laid at
            ``start``.
        run_one: the operation on one input (default ``run``).
    """
    run_one = run_one or (lambda i, x: run(x))
    groups: dict[tuple, list[int]] = {}  # short inputs by their other axes (a pyramid's top level may hold fewer voices)
    for i, x in enumerate(xs):
        if x.shape[-1] <= PACK_BELOW:
            groups.setdefault(tuple(x.shape[1:-1]), []).append(i)  # (the batch is every input's, and may be symbolic)
    out = {}
    for i, x in enumerate(xs):
        if len(groups.get(tuple(x.shape[1:-1]), [])) < 2 or x.shape[-1] > PACK_BELOW:
            out[i] = run_one(i, x)
    for small in (g for g in groups.values() if len(g) > 1):
        starts, parts, end = [], [], 0
        for i in small:
            x = xs[i]
            start = -(-(end + gap) // align) * align if starts else 0
            if start > end:
                parts.append(x.new_zeros(*x.shape[:-1], start - end))
            starts.append(start)
            parts.append(x)
            end = start + x.shape[-1]
        y = run(torch.cat(parts, -1))
        sizes, at = [], 0  # (skipped, output) pairs: one split, whose backward is one cat
        for i, start in zip(small, starts):
            first, n = out_span(i, start)
            sizes += [first - at, n]
            at = first + n
        sizes.append(y.shape[-1] - at)
        out.update(zip(small, y.split(sizes, -1)[1::2]))
    return [out[i] for i in range(len(xs))]


class PackedLevels:
    """Pyramid levels kept laid end to end between layers: ``data: [B, C, S, L]`` holds level
    ``j`` (``slots[j]`` group slots of ``S``, ``lengths[j]`` samples) at ``starts[j]``, with at
    least ``gap`` samples between levels and at both ends.

    Layers that act on every sample alike (batch norm with running statistics, ReLU, a residual
    sum, a stride-1 'same' convolution whose padding fits in the gap) then run once on ``data``
    instead of once per level, and no layer copies the levels into a packed tensor and back.
    What such a layer writes into the gaps (and into the group slots a short top level lacks) is
    not a level's: :meth:`zeroed` sets it back to zero before anything reads across a level's
    edge. :meth:`levels` gives the levels as views."""

    def __init__(self, data: Tensor, starts: list[int], lengths: list[int], slots: list[int], gap: int,
                 clean: bool = False):
        self.data, self.starts, self.lengths, self.slots, self.gap = data, starts, lengths, slots, gap
        self.clean = clean  # the gaps and missing slots hold zeros
        self._mask: Tensor | None = None

    @classmethod
    def pack(cls, levels: Sequence[Tensor], gap: int) -> "PackedLevels":
        """``levels: [B, C, S_j, X_j]`` (``S_j`` at most ``S_0``) laid end to end, ``gap`` zeros
        before, between and after them, missing slots zero (one copy)."""
        full = int(levels[0].shape[2])  # (ints, not a tracer's sizes: the layout is fixed for a clip length)
        parts, starts, at = [], [], gap
        head = levels[0].new_zeros(*levels[0].shape[:2], full, gap)
        parts.append(head)
        for x in levels:
            if x.shape[2] < full:
                x = torch.cat([x, x.new_zeros(*x.shape[:2], full - x.shape[2], x.shape[3])], 2)
            starts.append(at)
            parts += [x, head]
            at += int(x.shape[3]) + gap
        return cls(torch.cat(parts, 3), starts, [int(x.shape[3]) for x in levels], [int(x.shape[2]) for x in levels],
                   gap, clean=True)

    def like(self, data: Tensor, slots: list[int] | None = None, levels: int | None = None) -> "PackedLevels":
        """New data in this layout (the first ``levels`` levels; ``slots`` per level), gaps not zeroed."""
        n = len(self.starts) if levels is None else levels
        out = PackedLevels(data, self.starts[:n], self.lengths[:n], (slots or self.slots)[:n], self.gap)
        if out.slots == self.slots and data.shape[2:] == self.data.shape[2:]:
            out._mask = self._mask  # the same layout: the same mask
        return out

    def mask(self) -> Tensor:
        """``[1, 1, S, L]``: one where a level's sample is, zero in the gaps and missing slots."""
        if self._mask is None:
            mask = torch.zeros(1, 1, *self.data.shape[2:], dtype=self.data.dtype, device=self.data.device)
            for start, n, s in zip(self.starts, self.lengths, self.slots):
                mask[..., :s, start:start + n] = 1
            self._mask = mask
        return self._mask

    def zeroed(self) -> "PackedLevels":
        """The same levels with zeros in the gaps and missing slots."""
        if self.clean:
            return self
        out = PackedLevels(self.data * self.mask(), self.starts, self.lengths, self.slots, self.gap, clean=True)
        out._mask = self._mask
        return out

    def levels(self) -> list[Tensor]:
        """The levels ``[B, C, slots_j, lengths_j]`` (views of ``data``)."""
        return [self.data[:, :, :s, start:start + n] for start, n, s in zip(self.starts, self.lengths, self.slots)]

    def map(self, fn) -> "PackedLevels":
        """``fn`` on the data (an elementwise or per-channel layer); gaps no longer zero."""
        return self.like(fn(self.data))
