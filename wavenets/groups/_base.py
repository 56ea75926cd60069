"""The group interface shared by every group in wavenets.

A group here is a *sampled* group: a finite list of elements (indexed 0 … order-1 in the order of
:meth:`Group.elements`) together with its action on coordinates, on signals and on lifted
features, and a :class:`KernelPlan` that tells the convolution core how to turn one learned
kernel into the filter bank of all transformed kernels.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["Group", "KernelPlan", "Block"]


@dataclass
class Block:
    """One convolution call of a layer: a run of output elements that share a dilation.

    The filter bank of the block is ``bank[o, e, c, i, p] = sum_q M[e, p, q] * W[o, c, table[e, i], q]``
    where ``e`` runs over ``out_index``, ``i`` over ``in_index`` (input group elements; a lifting
    layer has a single pseudo element), ``p``/``q`` over flattened output/learned kernel taps.
    ``table == -1`` means "this input element does not contribute" (zero).

    Exactly one of ``perm`` / ``matrix`` describes the spatial transform ``M``:
    ``perm[e, p]`` is the source tap of output tap ``p`` (-1: zero), used when every transform is an
    index operation; ``matrix[e, p, q]`` is a dense interpolation operator otherwise.
    """

    out_index: slice
    in_index: slice
    table: Tensor  # [E, I] long, slot of the learned kernel's group axis, -1 for none
    kernel_size: int  # spatial size K' of the transformed kernels (odd or as learned)
    dilation: int = 1
    perm: Tensor | None = None  # [E, P] long
    matrix: Tensor | None = None  # [E, P, Q] float64


@dataclass
class KernelPlan:
    """How a layer builds its filter banks; computed once when the layer is constructed."""

    blocks: list[Block]
    out_order: int  # number of output group elements
    slots: int  # size of the learned kernel's group axis (1 for lifting)
    exact: bool = field(default=True)  # every transform is an index operation


class Group(abc.ABC):
    """A sampled group acting on R^d: elements, algebra, and actions.

    Subclasses implement the algebra on element indices and the three actions. The element
    index ``g`` passed to the actions is an index into :meth:`elements` for finite groups; for
    the (non-compact) :class:`~wavenets.groups.Dilation` group it is an integer exponent and may
    be negative (a contraction).
    """

    #: spatial dimensions the group acts on
    dims: tuple[int, ...] = (1, 2)
    #: whether elements dilate kernels à trous (plan blocks with ``dilation > 1``): the layers'
    #: ``antialias`` pre-blur and ``multirate`` evaluation act on those dilations
    dilates_kernels: bool = False

    # -- algebra -------------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def order(self) -> int:
        """Number of sampled elements |G| (the size of the group axis of features)."""

    @abc.abstractmethod
    def elements(self) -> Tensor:
        """Parameters of the sampled elements, in group-axis order (angles, scales, …)."""

    @abc.abstractmethod
    def identity(self) -> int:
        """Index of the identity element."""

    @abc.abstractmethod
    def product(self, a: int, b: int) -> int | None:
        """Index of ``a·b``, or ``None`` where the product leaves the sampled elements."""

    @abc.abstractmethod
    def inverse(self, a: int) -> int | None:
        """Index of ``a⁻¹``, or ``None`` where it is not among the sampled elements."""

    def cayley_table(self) -> Tensor:
        """``[|G|, |G|]`` long tensor of ``product(a, b)``; -1 where the product does not close."""
        n = self.order
        table = torch.full((n, n), -1, dtype=torch.long)
        for a in range(n):
            for b in range(n):
                p = self.product(a, b)
                if p is not None:
                    table[a, b] = p
        return table

    @abc.abstractmethod
    def matrix(self, g: int, dim: int) -> Tensor:
        """The ``[dim, dim]`` float64 matrix by which element ``g`` acts on coordinates."""

    def act_on_coords(self, g: int, coords: Tensor) -> Tensor:
        """Apply ``g`` to points ``coords[..., dim]``: ``x -> g x``."""
        m = self.matrix(g, coords.shape[-1]).to(coords)
        return coords @ m.T

    # -- actions on data -----------------------------------------------------------------
    @abc.abstractmethod
    def act_on_signal(self, x: Tensor, g: int) -> Tensor:
        """``(L_g f)(x) = f(g⁻¹ x)`` on ``x: [B, C, *S]`` (spatial axes last)."""

    @abc.abstractmethod
    def act_on_features(self, x: Tensor, g: int) -> Tensor:
        """``(L_g F)(x, h) = F(g⁻¹ x, g⁻¹ h)`` on ``x: [B, C, |G|, *S]``.

        Group slots whose source ``g⁻¹ h`` falls outside the sampled elements are filled with
        NaN, so that comparisons can skip them (see :mod:`wavenets.testing`).
        """

    @abc.abstractmethod
    def is_exact(self, g: int, dim: int) -> bool:
        """Whether ``g`` acts on the pixel grid (and on kernels) as an exact index operation."""

    def test_elements(self) -> list[int]:
        """Default elements for equivariance checks."""
        return list(range(self.order))

    # -- convolution plans ---------------------------------------------------------------
    @abc.abstractmethod
    def lifting_plan(self, kernel_size: int, dim: int) -> KernelPlan:
        """Plan of a lifting convolution ``[B, C, *S] -> [B, C', |G|, *S]``."""

    @abc.abstractmethod
    def group_plan(
        self, kernel_size: int, dim: int, group_kernel_size: int, group_padding: str
    ) -> KernelPlan:
        """Plan of a group convolution ``[B, C, |G|, *S] -> [B, C', |G_out|, *S]``."""

    def default_group_kernel_size(self) -> int:
        return self.order

    def kernel_fan_in_taps(self, kernel_size: int, dim: int) -> int:
        """Learned spatial taps of one kernel that reach the filter bank (for He init)."""
        return kernel_size**dim

    def octave_voices(self) -> int | None:
        """Elements per octave when the group can be stored as a scale-space pyramid (one
        level per factor 2, see :mod:`wavenets.nn` ``Pyramid*`` layers), else ``None``."""
        return None

    def scale_axis(self) -> "Group | None":
        """The dilation factor that a scale-space pyramid stores as octave levels (the group
        itself for a dilation group, the scale factor of a product), else ``None``."""
        return None

    def with_scales(self, n: int) -> "Group":
        """The same group with its scale factor replaced by the ``n`` finest scales of an octave
        level (``Dilation(n, base)``): the group one pyramid level's layer works on."""
        raise ValueError(f"{self!r} has no scale axis to store as pyramid levels")

    def __mul__(self, other: "Group") -> "Group":
        """``Rotation(4) * Dilation(4)``: the direct product (:class:`~wavenets.groups.Product`)."""
        from ._product import Product

        if not isinstance(other, Group):
            return NotImplemented
        return Product(self, other)

    def out_group(self, group_kernel_size: int, group_padding: str) -> "Group":
        """The group whose elements index the output of a group convolution."""
        return self

    def check_dim(self, dim: int | None, who: str) -> int:
        """Resolve the spatial dimension a layer acts on, with a helpful error."""
        if dim is None:
            if len(self.dims) == 1:
                return self.dims[0]
            raise ValueError(
                f"{who}: {self!r} acts on R^{' and R^'.join(map(str, self.dims))}; "
                f"pass dim={self.dims[0]} or dim={self.dims[-1]}"
            )
        if dim not in self.dims:
            raise ValueError(f"{who}: {self!r} acts on R^d for d in {self.dims}, got dim={dim}")
        return dim

    # -- dunder ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.order

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))
