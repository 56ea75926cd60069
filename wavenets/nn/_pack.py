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
            groups.setdefault(tuple(x.shape[:-1]), []).append(i)
    out = {}
    for i, x in enumerate(xs):
        if len(groups.get(tuple(x.shape[:-1]), [])) < 2 or x.shape[-1] > PACK_BELOW:
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
