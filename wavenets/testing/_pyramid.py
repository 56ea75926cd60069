"""Equivariance of pyramid-layout modules under the pyramid's own contraction.

The scale-space pyramid layout (:mod:`wavenets.nn`, ``Pyramid*`` layers) is exactly equivariant
to ``x -> ↓2(g ∗ x)`` (:func:`~wavenets.nn.pyramid_reduce`): contracting the input by ``k``
octaves shifts every output level by ``k``, ``Φ(↓^k x)_j = Φ(x)_{j+k}``. Only the ``k`` finest
levels of ``Φ(x)`` leave the range, and the ``k`` coarsest of ``Φ(↓^k x)`` have no counterpart.

>>> from wavenets.testing import pyramid_equivariance_error
>>> errs = pyramid_equivariance_error(model.features, x, octaves=1)  # one error per compared level
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..nn import is_pyramid, pyramid_reduce
from ._equivariance import default_tolerance

__all__ = ["pyramid_contract", "pyramid_equivariance_error", "assert_pyramid_equivariant"]


def pyramid_contract(x, octaves: int = 1, *, dim: int | None = None):
    """The pyramid's contraction by ``2^octaves``: on a signal ``[B, C, *X]``, ``octaves``
    times ``↓2(g ∗ ·)``; on pyramid features (a list of levels), drop the ``octaves`` finest."""
    if octaves < 0:
        raise ValueError(f"pyramid_contract contracts (octaves >= 0); got {octaves}")
    if is_pyramid(x):
        return list(x[octaves:])
    dim = x.dim() - 2 if dim is None else dim
    for _ in range(octaves):
        x = pyramid_reduce(x, dim)
    return x


def pyramid_equivariance_error(module: Callable, x: Tensor, octaves: int = 1) -> Tensor:
    """Relative error ``‖Φ(↓^k x)_j − Φ(x)_{j+k}‖ / ‖Φ(x)_{j+k}‖`` for every level ``j`` both
    sides have (a float64 tensor, finest first; on a partial top level, over the voices both
    sides have). ``module`` maps a signal (or a pyramid) to
    pyramid features; call it in the mode you want tested (eval mode for batch norm)."""
    with torch.no_grad():
        y = module(x)
        y_c = module(pyramid_contract(x, octaves))
        if not (is_pyramid(y) and is_pyramid(y_c)):
            raise TypeError("pyramid_equivariance_error needs a module whose output is pyramid features (a list of "
                            f"levels), got {type(y).__name__}")
        ref = y[octaves:]
        errs = []
        for j, (a, b) in enumerate(zip(y_c, ref)):
            if a.dim() > 2 and b.dim() > 2:  # a partial top level: the voices both sides have
                v = min(a.shape[2], b.shape[2])
                a, b = a[:, :, :v], b[:, :, :v]
            if a.shape != b.shape:
                raise ValueError(f"level {j} of the contracted input's output has shape {list(a.shape)}, level "
                                 f"{j + octaves} of the original's {list(b.shape)}: a layer is not applied at each "
                                 "level's own rate")
            scale = b.double().norm().clamp_min(torch.finfo(torch.float64).tiny)
            errs.append((a - b).double().norm() / scale)
    if not errs:
        raise ValueError(f"no level to compare: the output has {len(y)} levels, the contraction drops {octaves}")
    return torch.stack(errs)


def assert_pyramid_equivariant(module: Callable, x: Tensor, octaves: int = 1, *, atol: float | None = None,
                               skip_top: int = 0) -> Tensor:
    """Raise ``AssertionError`` naming each level whose error exceeds ``atol`` (default: rounding,
    :func:`default_tolerance`); ``skip_top`` ignores the coarsest compared levels (where layers
    with ``group_padding="zero"`` read scales past the top). Returns the errors."""
    errs = pyramid_equivariance_error(module, x, octaves)
    tol = default_tolerance(x.dtype) if atol is None else atol
    checked = errs[: len(errs) - skip_top] if skip_top else errs
    bad = [(j, float(e)) for j, e in enumerate(checked) if not e <= tol]
    if bad:
        detail = ", ".join(f"level {j}: {e:.3g}" for j, e in bad)
        raise AssertionError(f"not equivariant under the pyramid contraction by 2^{octaves} within {tol:g}: {detail}")
    return errs
