"""Group convolution: features on the group to features on the group."""
from __future__ import annotations

from ..groups import Group
from ._core import _PlannedConv


class GroupConv(_PlannedConv):
    """``(F ⋆ K)(x, h) = Σ_g ∫ F(y, g) K(h⁻¹(y − x), h⁻¹g) dy``.

    ``x: [B, C_in, |G|, *S] -> [B, C_out, |G_out|, *S']``.

    The learned kernel is ``[C_out, C_in, N_h, *k]``; its group axis is indexed by the relative
    element ``h⁻¹g``. For finite groups ``N_h = |G|`` by default (element order of
    ``group.elements()``; :class:`~wavenets.groups.Rotation` also takes an odd ``N_h < n``,
    centred on the identity). For :class:`~wavenets.groups.Dilation` the kernel spans ``N_h``
    neighbouring scales (default 1) on the side given by ``group.direction``; scales beyond the
    sampled range are zero (``group_padding="zero"``, output keeps ``|G|`` scales) or cropped
    (``group_padding="valid"``, ``|G| − N_h + 1`` scales; see :attr:`out_group`).

    Args:
        group: the group of the input features.
        in_channels, out_channels, kernel_size, dim, stride, padding, padding_mode, bias: as
            :class:`LiftingConv`.
        group_kernel_size: ``N_h`` above.
        group_padding: ``"zero"`` or ``"valid"``, boundary handling along a non-compact group
            axis (no effect on finite groups, which are cyclic).
        antialias, multirate: as :class:`LiftingConv`.
    """

    def __init__(
        self,
        group: Group,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dim: int | None = None,
        group_kernel_size: int | None = None,
        group_padding: str = "zero",
        stride: int = 1,
        padding: str | int = "same",
        padding_mode: str = "zeros",
        bias: bool = True,
        antialias: bool = False,
        multirate: int = 0,
    ):
        dim = group.check_dim(dim, "GroupConv")
        if group_kernel_size is None:
            group_kernel_size = group.default_group_kernel_size()
        plan = group.group_plan(kernel_size, dim, group_kernel_size, group_padding)
        out_group = group.out_group(group_kernel_size, group_padding)
        super().__init__(
            group,
            plan,
            in_channels,
            out_channels,
            kernel_size,
            dim=dim,
            in_order=group.order,
            stride=stride,
            padding=padding,
            padding_mode=padding_mode,
            bias=bias,
            antialias=antialias,
            multirate=multirate,
        )
        self.out_group = out_group
        self.group_padding = group_padding

    @property
    def group_kernel_size(self) -> int:
        return self.plan.slots
