"""Octave levels laid end to end: many short 1D inputs run as one call.

A pyramid layer applies one operation to every octave level. Run level by level, each call pays
a fixed cost (a CPU convolution packs its weights, a GPU kernel is launched) that is most of the
time at the coarse levels, a few samples each. Along one axis, levels of any length can be laid
end to end with zero gaps wide enough that no output reads across a gap: one call then computes
every level's output, and each equals its separate call's up to floating-point summation order.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ._blur import _tracing
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
    if run_one is None:  # (not `run_one or ...`: torch 2.9's compiler cannot branch on a function's truth)
        run_one = lambda i, x: run(x)  # noqa: E731
    groups: dict[tuple, list[int]] = {}  # short inputs by their other axes (a pyramid's top level may hold fewer voices)
    for i, x in enumerate(xs):
        if x.shape[-1] <= PACK_BELOW:
            groups.setdefault(tuple(x.shape[1:-1]), []).append(i)  # (the batch is every input's, and may be symbolic)
    out = {}
    for i, x in enumerate(xs):
        if len(groups.get(tuple(x.shape[1:-1]), [])) < 2 or x.shape[-1] > PACK_BELOW:
            out[i] = run_one(i, x)
    for small in (g for g in groups.values() if len(g) > 1):
        starts, parts, end, zeros = [], [], 0, {}
        for i in small:
            x = xs[i]
            start = -(-(end + gap) // align) * align if starts else 0
            if start > end:  # one zero tensor for every gap of a width (a stride-1 call has one width)
                if start - end not in zeros:
                    zeros[start - end] = x.new_zeros(*x.shape[:-1], start - end)
                parts.append(zeros[start - end])
            starts.append(start)
            parts.append(x)
            end = start + x.shape[-1]
        y = run(torch.cat(parts, -1))
        sizes, at = [], 0  # (skipped, output) pairs
        for i, start in zip(small, starts):
            first, n = out_span(i, start)
            sizes += [first - at, n]
            at = first + n
        sizes.append(y.shape[-1] - at)
        out.update(zip(small, y.split(sizes, -1)[1::2] if _tracing() else _Unpack.apply(y, sizes)))
    return [out[i] for i in range(len(xs))]


class _Unpack(torch.autograd.Function):
    """The odd pieces of ``y.split(sizes, -1)`` (the outputs between the gaps), as views. Its
    backward is one concatenation with a zero tensor per gap width, not one per gap: a plain
    split fills every piece without a gradient with zeros of its own (one allocation, on a GPU
    one kernel, each)."""

    @staticmethod
    def forward(ctx, y: Tensor, sizes: list[int]):
        ctx.sizes, ctx.shape = sizes, y.shape[:-1]
        ctx.set_materialize_grads(False)
        return tuple(y.split(sizes, -1)[1::2])

    @staticmethod
    def backward(ctx, *grads):
        like = next((g for g in grads if g is not None), None)
        if like is None:
            return None, None
        zeros: dict[int, Tensor] = {}

        def zero(n: int) -> Tensor:
            if n not in zeros:
                zeros[n] = like.new_zeros(*ctx.shape, n)
            return zeros[n]

        pieces = []
        for k, n in enumerate(ctx.sizes):
            g = grads[k // 2] if k % 2 else None
            if n:
                pieces.append(g if g is not None else zero(n))
        return torch.cat(pieces, -1), None


class FlatLevels(list):
    """Pyramid levels that are views of *one* tensor ``flat: [B, C, N]``, level ``j`` its
    ``shapes[j]`` (``[S_j, *X_j]``) laid end to end along the last axis: what batch norm makes in
    training (it concatenates the levels for the shared statistics). An elementwise map
    (:meth:`map`: ReLU, a residual sum, channel padding) then runs once on ``flat`` instead of
    once per level, with the same values: one operator call instead of nine, which on a GPU is
    one kernel launch instead of nine. It is a list of the levels, so every layer that takes a
    pyramid takes it."""

    def __init__(self, flat: Tensor, shapes: Sequence[tuple[int, ...]]):
        self.flat, self.shapes = flat, [tuple(s) for s in shapes]
        sizes = [math.prod(s) for s in self.shapes]
        super().__init__(piece.view(*flat.shape[:2], *shape) for piece, shape in zip(flat.split(sizes, -1), self.shapes))

    def map(self, fn: Callable[..., Tensor], *others: "FlatLevels") -> "FlatLevels":
        """``fn(flat, *(o.flat for o in others))`` as levels of the same shapes (``fn``
        elementwise, or acting on the channel axis only; ``others`` of these shapes)."""
        return FlatLevels(fn(self.flat, *(o.flat for o in others)), self.shapes)

    def adopt(self, levels) -> "FlatLevels | None":
        """``levels`` (a list of tensors ``[B, C', *shapes[j]]``) as :class:`FlatLevels` of this
        layout: themselves if they are, one concatenation if not; None where the shapes differ."""
        if (not isinstance(levels, (list, tuple)) or len(levels) != len(self.shapes)
                or any(tuple(t.shape[2:]) != s or t.shape[0] != self.flat.shape[0] for t, s in zip(levels, self.shapes))):
            return None
        return levels if isinstance(levels, FlatLevels) else FlatLevels(torch.cat([t.flatten(2) for t in levels], 2), self.shapes)


class PackedLevels:
    """Pyramid levels kept laid out between layers, as a few tensors ``parts[k]: [B, C, S, L_k]``:
    a level longer than :data:`PACK_BELOW` samples is a part of its own (its tensor, no copy),
    the short levels share one part, end to end, with at least ``gap`` zeros before, between and
    after them. Level ``j`` is ``parts[part[j]][..., :slots[j], starts[j]:starts[j] + lengths[j]]``.

    Layers that act on every sample alike (batch norm with running statistics, ReLU, a residual
    sum, a stride-1 'same' convolution whose padding fits in the gap) then run once per part
    instead of once per level, and no layer copies the levels into a packed tensor and back.
    (One convolution over the long levels and the short ones together ran slower per sample on
    a CPU, 50 ms against 34 ms for W-M5's first stage: hence the parts.) What such a layer
    writes into the gaps (and into the group slots a short top level lacks) is not a level's:
    :meth:`zeroed` sets it back to zero before anything reads across a level's edge. :meth:`levels`
    gives the levels as views."""

    def __init__(self, parts: list[Tensor], part: list[int], starts: list[int], lengths: list[int],
                 slots: list[int], gap: int, clean: bool = False):
        self.parts, self.part, self.starts, self.lengths, self.slots = parts, part, starts, lengths, slots
        self.gap = gap
        self.clean = clean  # the gaps and missing slots hold zeros
        self._masks: list[Tensor | None] | None = None

    @staticmethod
    def layout(lengths: Sequence[int], gap: int) -> tuple[list[int], list[int], list[int]]:
        """``(part, starts, part_lengths)`` for levels of these lengths."""
        part, starts, sizes, shared = [], [], [], None
        for n in lengths:
            if n > PACK_BELOW:  # a part of its own
                part.append(len(sizes))
                starts.append(0)
                sizes.append(n)
                continue
            if shared is None:
                shared = len(sizes)
                sizes.append(gap)
            part.append(shared)
            starts.append(sizes[shared])
            sizes[shared] += n + gap
        return part, starts, sizes

    @classmethod
    def pack(cls, levels: Sequence[Tensor], gap: int) -> "PackedLevels":
        """``levels: [B, C, S_j, X_j]`` (``S_j`` at most ``S_0``) laid out as above (the short ones
        copied once), missing slots zero."""
        full = int(levels[0].shape[2])  # (ints, not a tracer's sizes: the layout is fixed for a clip length)
        lengths = [int(x.shape[3]) for x in levels]
        part, starts, sizes = cls.layout(lengths, gap)

        def full_slots(x):
            return x if x.shape[2] == full else torch.cat([x, x.new_zeros(*x.shape[:2], full - x.shape[2], x.shape[3])], 2)

        parts = []
        for k in range(len(sizes)):
            members = [j for j, at in enumerate(part) if at == k]
            if len(members) == 1 and starts[members[0]] == 0:
                parts.append(full_slots(levels[members[0]]))
                continue
            head = levels[0].new_zeros(*levels[0].shape[:2], full, gap)
            pieces = [head]
            for j in members:
                pieces += [full_slots(levels[j]), head]
            parts.append(torch.cat(pieces, 3))
        return cls(parts, part, starts, lengths, [int(x.shape[2]) for x in levels], gap, clean=True)

    def like(self, parts: list[Tensor], slots: list[int] | None = None, levels: int | None = None) -> "PackedLevels":
        """New parts in this layout (the first ``levels`` levels, ``slots`` per level; the parts
        that hold them), gaps not zeroed."""
        n = len(self.starts) if levels is None else levels
        out = PackedLevels(parts, self.part[:n], self.starts[:n], self.lengths[:n], (slots or self.slots)[:n], self.gap)
        if out.slots == self.slots and [p.shape[2:] for p in parts] == [p.shape[2:] for p in self.parts]:
            out._masks = self._masks  # the same layout: the same masks
        return out

    def map(self, fn, other: "PackedLevels | None" = None) -> "PackedLevels":
        """``fn`` on every part (an elementwise or per-channel layer), or ``fn(part, other's part)``;
        gaps no longer zero."""
        if other is None:
            return self.like([fn(p) for p in self.parts])
        return self.like([fn(p, q) for p, q in zip(self.parts, other.parts)])

    def masks(self) -> list[Tensor | None]:
        """Per part ``[1, 1, S, L_k]``: one where a level's sample is, zero in the gaps and missing
        slots (None for a part that is one whole level)."""
        if self._masks is None:
            self._masks = []
            for k, p in enumerate(self.parts):
                members = self.members(k)
                if self.whole(k) and self.slots[members[0]] == p.shape[2]:
                    self._masks.append(None)
                    continue
                mask = torch.zeros(1, 1, *p.shape[2:], dtype=p.dtype, device=p.device)
                for j in members:
                    mask[..., :self.slots[j], self.starts[j]:self.starts[j] + self.lengths[j]] = 1
                self._masks.append(mask)
        return self._masks

    def members(self, k: int) -> list[int]:
        """The levels part ``k`` holds."""
        return [j for j, at in enumerate(self.part) if at == k]

    def whole(self, k: int) -> bool:
        """Whether part ``k`` is one level and nothing else (no gaps)."""
        members = self.members(k)
        return len(members) == 1 and self.starts[members[0]] == 0 and self.lengths[members[0]] == self.parts[k].shape[-1]

    def zeroed(self) -> "PackedLevels":
        """The same levels with zeros in the gaps and missing slots."""
        if self.clean:
            return self
        parts = [p if m is None else p * m for p, m in zip(self.parts, self.masks())]
        out = PackedLevels(parts, self.part, self.starts, self.lengths, self.slots, self.gap, clean=True)
        out._masks = self._masks
        return out

    def levels(self) -> list[Tensor]:
        """The levels ``[B, C, slots_j, lengths_j]`` (views of the parts)."""
        return [self.parts[k][:, :, :s, start:start + n]
                for k, start, n, s in zip(self.part, self.starts, self.lengths, self.slots)]
