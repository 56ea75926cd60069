"""Lifting convolution: a signal on R^d to features on the group."""
from __future__ import annotations

from ..groups import Group
from ._core import _PlannedConv


class LiftingConv(_PlannedConv):
    """``(f ⋆ k)(x, h) = ∫ f(y) k(h⁻¹(y − x)) dy`` (÷|det h| for dilations, see :class:`Dilation`).

    ``x: [B, C_in, *S] -> [B, C_out, |G|, *S']``, group axis in ``group.elements()`` order.

    Args:
        group: the group whose transformed copies of the kernel are applied.
        in_channels, out_channels: as in :class:`torch.nn.Conv2d`.
        kernel_size: spatial size of the learned kernel (odd for ``padding="same"``).
        dim: spatial dimensions (1 for waveforms, 2 for images); inferred when the group acts
            on one dimension only.
        stride, padding: as in torch; ``"same"`` pads ``dilation·(k−1)/2`` on each side.
        padding_mode: what the padding holds, as in torch: ``"zeros"``, or ``"replicate"``,
            ``"reflect"``, ``"circular"``. With ``"replicate"`` a constant background stays
            constant through the layer, so the image border leaves no trace in the features
            (the border of a zero-padded layer after a batch norm is an edge).
        bias: one learned value per output channel, shared over the group axis.
        antialias: (dilation groups) blur the input with the cubic B-spline of each scale's
            width before its dilated convolution (``wavenets.nn._blur``): less aliasing at
            coarse scales, at the price of exactness under decimation.
        multirate: (dilation groups, implies ``antialias``; 0 = off) evaluate scale ``d`` at
            ``multirate`` points per ``d`` samples of its blurred input (every ``d / multirate``-th
            sample) and interpolate linearly in between: the cost of a scale falls as
            ``(multirate / d)^dim``. Exact at the grid points, approximate between them;
            needs ``stride=1``, ``padding="same"``. See :meth:`forward_pooled` for the fused
            convolution + max-pool of a multirate Wavelet Network front.
    """

    def __init__(
        self,
        group: Group,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dim: int | None = None,
        stride: int = 1,
        padding: str | int = "same",
        padding_mode: str = "zeros",
        bias: bool = True,
        antialias: bool = False,
        multirate: int = 0,
    ):
        dim = group.check_dim(dim, "LiftingConv")
        super().__init__(
            group,
            group.lifting_plan(kernel_size, dim),
            in_channels,
            out_channels,
            kernel_size,
            dim=dim,
            in_order=None,
            stride=stride,
            padding=padding,
            padding_mode=padding_mode,
            bias=bias,
            antialias=antialias,
            multirate=multirate,
        )
        self.out_group = group
