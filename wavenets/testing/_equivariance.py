"""Equivariance checks for your own modules.

>>> from wavenets.groups import Rotation
>>> from wavenets.testing import equivariance_error, assert_equivariant
>>> errs = equivariance_error(model, Rotation(8), x, in_type="signal", out_type="invariant")
>>> assert_equivariant(model, Rotation(4), x, in_type="signal", out_type="features")

``in_type`` / ``out_type`` say how the group acts on the module's input and output:

* ``"signal"``   ``[B, C, *S]``: the group moves the spatial axes (``group.act_on_signal``);
* ``"features"`` ``[B, C, |G|, *S]``: space and group axis (``group.act_on_features``);
* ``"invariant"`` anything: the group does not act (the output must not change).

The error for element ``g`` is ``‖Φ(g·x) − g·Φ(x)‖ / ‖g·Φ(x)‖``, taken over the entries where
``g·Φ(x)`` is defined (group slots that ``g`` moves in from outside a truncated group, such as
the scales of :class:`~wavenets.groups.Dilation`, are NaN and skipped). Such slots of a
transformed *input* are set to zero; outputs that depend on them are exactly the ones the
reference leaves undefined when the module crops the group axis (``group_padding="valid"``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ..groups import Group

__all__ = ["equivariance_error", "assert_equivariant", "default_tolerance"]

_TYPES = ("signal", "features", "invariant")


def _act(group: Group, x: Tensor, g: int, kind: str) -> Tensor:
    if kind == "signal":
        return group.act_on_signal(x, g)
    if kind == "features":
        return group.act_on_features(x, g)
    return x


def equivariance_error(
    module: Callable[[Tensor], Tensor],
    group: Group,
    x: Tensor,
    elements: Sequence[int] | None = None,
    *,
    in_type: str = "signal",
    out_type: str = "features",
    out_group: Group | None = None,
) -> Tensor:
    """Relative equivariance error of ``module`` for each element, a float64 tensor.

    Args:
        module: any callable ``Tensor -> Tensor`` (an ``nn.Module`` in the mode you want tested).
        group: the group acting on the input.
        x: an input batch.
        elements: element indices (exponents for Dilation); default ``group.test_elements()``.
        in_type, out_type: ``"signal"``, ``"features"`` or ``"invariant"`` (see module doc).
        out_group: the group acting on the output features when it differs from ``group``
            (e.g. ``layer.out_group`` after ``group_padding="valid"``).
    """
    for name, kind in (("in_type", in_type), ("out_type", out_type)):
        if kind not in _TYPES:
            raise ValueError(f"{name} must be one of {_TYPES}, got {kind!r}")
    out_group = group if out_group is None else out_group
    elements = group.test_elements() if elements is None else list(elements)
    with torch.no_grad():
        y = module(x)
        errs = []
        for g in elements:
            gx = _act(group, x, g, in_type)
            if in_type == "features":
                gx = gx.nan_to_num(0.0)  # slots moved in from outside a truncated group: zero
            y_g = module(gx)
            ref = _act(out_group, y, g, out_type)
            if y_g.shape != ref.shape:
                raise ValueError(
                    f"element {g}: output of the transformed input has shape {list(y_g.shape)} but the "
                    f"transformed output has {list(ref.shape)}; the input size breaks the group's grid "
                    "(see the size rules in the README)"
                )
            keep = torch.isfinite(ref)
            diff = (y_g - ref)[keep].double().norm()
            scale = ref[keep].double().norm()
            errs.append(diff / scale.clamp_min(torch.finfo(torch.float64).tiny))
    return torch.stack(errs)


def default_tolerance(dtype: torch.dtype) -> float:
    """Tolerance for *exact* equivariance: rounding only (1e-5 float32, 1e-10 float64)."""
    return {torch.float64: 1e-10, torch.float32: 1e-5}.get(dtype, 1e-2)


def assert_equivariant(
    module: Callable[[Tensor], Tensor],
    group: Group,
    x: Tensor,
    elements: Sequence[int] | None = None,
    *,
    atol: float | None = None,
    **kwargs,
) -> Tensor:
    """Raise ``AssertionError`` naming each element whose error exceeds ``atol``.

    ``atol`` defaults to :func:`default_tolerance` of ``x.dtype``; keyword arguments go to
    :func:`equivariance_error`. Returns the errors.
    """
    elements = group.test_elements() if elements is None else list(elements)
    errs = equivariance_error(module, group, x, elements, **kwargs)
    tol = default_tolerance(x.dtype) if atol is None else atol
    bad = [(g, float(e)) for g, e in zip(elements, errs) if not e <= tol]
    if bad:
        detail = ", ".join(f"element {g}: {e:.3g}" for g, e in bad)
        raise AssertionError(f"not equivariant under {group!r} within {tol:g}: {detail}")
    return errs
