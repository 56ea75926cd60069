"""The one convolution core behind LiftingConv and GroupConv.

A layer owns one learned kernel ``W: [C_out, C_in, N_h, *k]`` (``N_h = 1`` for lifting) and a
:class:`~wavenets.groups.KernelPlan` from its group. For each block of the plan it builds the
filter bank of transformed kernels and runs *one* ``conv1d``/``conv2d`` on the folded input
``[B, C_in·|G_in|, *S]``; a finite group has a single block, so a layer is one convolution with
the expanded channels. Index-only transforms (rot90, flips, à-trous dilation) build the bank with
a single gather; interpolated ones with one gather and one einsum.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..groups import Group, KernelPlan
from ._blur import bspline_blurs, bspline_pyramid
from ._pack import can_pack, packed_call
from ._spatial import spatial

#: how 'same' / int padding fills the border (``torch.nn.functional.pad`` modes; "zeros" is plain)
PADDING_MODES = ("zeros", "replicate", "reflect", "circular")


def block_padding(padding: str | int, block) -> int:
    """Padding of one block's convolution: 'same' scales with the block's dilation."""
    if padding == "same":
        return block.dilation * (block.kernel_size - 1) // 2
    return 0 if padding == "valid" else padding


def _is_identity(block, slots: int, kernel_size: int, dim: int) -> bool:
    """Whether ``block``'s filter bank is the learned weight as it is: one output element that
    reads all ``slots`` in order with its taps untransformed (``bank[o, c·I + i] = W[o, c, i]``)."""
    if block.perm is None or block.out_index.stop - block.out_index.start != 1 or block.kernel_size != kernel_size:
        return False
    taps = kernel_size**dim
    return (tuple(block.table.shape) == (1, slots) and torch.equal(block.table[0], torch.arange(slots))
            and tuple(block.perm.shape) == (1, taps) and torch.equal(block.perm[0], torch.arange(taps)))


def block_input(x: Tensor, block, in_order: int | None) -> Tensor:
    """The folded input ``[B, C·I, *S]`` one block reads (a lifting layer reads ``x`` itself)."""
    if in_order is None:
        return x
    if block.in_index.start == 0 and block.in_index.stop == in_order:
        return x.flatten(1, 2)
    return x[:, :, block.in_index].flatten(1, 2)


def decimated_conv(conv, xs: Tensor, bank: Tensor, bias: Tensor | None, block, step: int, dim: int,
                   extra: int = 0) -> Tensor:
    """A 'same' block convolution evaluated only at multiples of ``step`` (a divisor of its
    dilation), from ``xs``, the block's input at those samples (``x[..., ::step]``): dilation
    ``d / step`` on the subsampled input.

    At those positions the values equal the full-rate convolution's exactly; ``extra`` more
    output samples are computed past the end (zero input there, as in the full-rate padding).
    """
    d = block.dilation // step
    pad = d * (block.kernel_size - 1) // 2
    if extra:
        xs = F.pad(xs, (0, extra) * dim)
    return conv(xs, bank, bias, padding=pad, dilation=d)


def multirate_step(dilation: int, rate: int, window: int = 0) -> int:
    """Sampling step for a scale of dilation ``d`` evaluated at ``rate`` points per ``d``
    samples, ``max(1, d / rate)``, a divisor of ``d``. When the result is max-pooled by
    ``window``, at least ``rate`` points per window: ``max(1, min(d, window) / rate)``, a divisor
    of both."""
    span = min(dilation, window) if window else dilation
    step = math.gcd(max(1, span // rate), dilation)
    return math.gcd(step, window) if window else step


def multirate_conv(conv, xs: Tensor, bank: Tensor, bias: Tensor | None, block, dim: int, step: int,
                   size: list[int]) -> Tensor:
    """The block's convolution on the grid of multiples of ``step`` (a divisor of its dilation;
    ``xs`` is its input there), linearly interpolated back to every one of ``size`` samples:
    ``1/step^dim`` of the multiply-adds. Exact on the grid; between grid points it assumes the
    (B-spline pre-blurred) response is smooth.
    """
    coarse = decimated_conv(conv, xs, bank, bias, block, step, dim, extra=1)  # one grid point past the end
    fine = [(n - 1) * step + 1 for n in coarse.shape[-dim:]]
    y = F.interpolate(coarse, size=fine, mode=spatial(dim).interpolate, align_corners=True)  # sample t reads t / step
    return y[(Ellipsis,) + tuple(slice(0, n) for n in size)]


def run_packed(run, xs: list[Tensor], blocks, padding: str | int, stride: int) -> list[Tensor]:
    """``[run(x) for x in xs]``, where ``run`` is a 1D convolution layer with zero padding
    (``blocks``, ``padding``, ``stride`` its plan), the short inputs run as *one* convolution
    (:func:`~wavenets.nn._pack.packed_call`): each starts at a multiple of the stride after at
    least the padding's width of zeros, so every output sample reads exactly what it reads when
    its input is run alone."""
    b = blocks[0]  # every block has the same output length (they stack on the group axis)
    span = b.dilation * (b.kernel_size - 1) - 2 * block_padding(padding, b)
    return packed_call(run, xs, gap=max(block_padding(padding, blk) for blk in blocks), align=stride,
                       out_span=lambda i, start: (start // stride, (xs[i].shape[-1] - span - 1) // stride + 1))


class _PlannedConv(nn.Module):
    """Shared machinery; see :class:`LiftingConv` and :class:`GroupConv`."""

    def __init__(
        self,
        group: Group,
        plan: KernelPlan,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dim: int,
        in_order: int | None,
        stride: int,
        padding: str | int,
        bias: bool,
        antialias: bool = False,
        multirate: int = 0,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
        if padding_mode != "zeros" and (antialias or multirate):
            raise ValueError(f"padding_mode={padding_mode!r} is for plain 'same' layers; antialias and multirate "
                             f"pad their blurs with zeros (use padding_mode='zeros' with them)")
        if multirate is True or not isinstance(multirate, int) or multirate < 0:  # True would read as 1
            raise ValueError(f"multirate is the number of samples per scale period (0: off, 1, 2, 4, …), got "
                             f"{multirate!r}")
        if (antialias or multirate) and not group.dilates_kernels:
            what = "antialias=True blurs the input of" if antialias else f"multirate={multirate} subsamples for"
            raise ValueError(f"{what} dilated kernels; {group!r} has none")
        if multirate and (stride != 1 or padding != "same"):
            raise ValueError(f"multirate={multirate} needs stride=1 and padding='same', got stride={stride}, "
                             f"padding={padding!r}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"channels must be positive, got in={in_channels}, out={out_channels}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid' or an int, got {padding!r}")
        if padding == "same" and any(b.kernel_size % 2 == 0 for b in plan.blocks):
            raise ValueError(
                f"padding='same' needs an odd kernel_size (symmetric padding), got {kernel_size}; "
                "use padding='valid' for even kernels"
            )
        if padding != "same" and len(plan.blocks) > 1:
            raise ValueError(f"{group!r} runs one convolution per dilation and needs padding='same', got {padding!r}")
        self.group, self.dim = group, dim
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.padding_mode = stride, padding, padding_mode
        self.antialias, self.multirate = antialias or multirate, multirate  # multirate needs the blur
        self.in_order = in_order  # None: input is a signal (lifting)
        self.plan = plan
        slots = plan.slots
        shape = (out_channels, in_channels) + ((slots,) if in_order is not None else ()) + (kernel_size,) * dim
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self._fan_in = in_channels * slots * group.kernel_fan_in_taps(kernel_size, dim)
        q = kernel_size**dim
        # blocks whose bank is the weight itself (one output element reading every slot in order,
        # taps untouched: the trivial group, a pyramid layer's local stack): a view, no gather
        self._weight_is_bank = [_is_identity(block, slots, kernel_size, dim) for block in plan.blocks]
        for b, block in enumerate(plan.blocks):
            slot = torch.where(block.table < 0, slots, block.table)  # zero slot appended at index `slots`
            if block.perm is not None:
                tap = torch.where(block.perm < 0, q, block.perm)  # zero tap appended at index q
                c = torch.arange(in_channels)
                idx = (c[None, :, None, None] * (slots + 1) + slot[:, None, :, None]) * (q + 1) + tap[:, None, None, :]
                self.register_buffer(f"_index{b}", idx.reshape(-1), persistent=False)
            else:
                self.register_buffer(f"_slot{b}", slot, persistent=False)
                self.register_buffer(f"_matrix{b}", block.matrix.to(torch.get_default_dtype()), persistent=False)
            self.register_buffer(f"_bank{b}", None, persistent=False)
            self.register_buffer(f"_bias{b}", None, persistent=False)
        self._cache_key: tuple | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal init, ``std = sqrt(2 / fan_in)`` with ``fan_in = C_in · N_h · taps``.

        ``taps`` counts the learned spatial taps that reach the bank (the disk when masked), so
        a ReLU network keeps its activation second moment through depth; biases start at zero.
        """
        nn.init.normal_(self.weight, 0.0, math.sqrt(2.0 / self._fan_in))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    # -- filter bank -------------------------------------------------------------------
    def _build_bank(self, b: int) -> Tensor:
        block = self.plan.blocks[b]
        w = self.weight
        o, c = self.out_channels, self.in_channels
        e = block.out_index.stop - block.out_index.start
        i = block.in_index.stop - block.in_index.start
        ksize = (block.kernel_size,) * self.dim
        if self._weight_is_bank[b]:
            return w.reshape(o, c * i, *ksize)
        w = w.reshape(o, c, self.plan.slots, -1)
        if block.perm is not None:
            wz = F.pad(w, (0, 1, 0, 1))  # zero tap and zero slot
            bank = wz.reshape(o, -1).index_select(1, getattr(self, f"_index{b}"))
            return bank.view(o * e, c * i, *ksize)
        wz = F.pad(w, (0, 0, 0, 1))
        slot = getattr(self, f"_slot{b}")  # [E, I]
        # index_select, not wz[:, :, slot]: its backward (index_add) is deterministic on CPU, while
        # advanced indexing accumulates its gradient in parallel in a varying order
        gathered = wz.index_select(2, slot.flatten()).unflatten(2, slot.shape)  # [O, C, E, I, Q]
        m = getattr(self, f"_matrix{b}").to(w.dtype)
        bank = torch.einsum("oceiq,epq->oecip", gathered, m)
        return bank.reshape(o * e, c * i, *ksize)

    def _build_bias(self, b: int) -> Tensor | None:
        block = self.plan.blocks[b]
        e = block.out_index.stop - block.out_index.start
        return None if self.bias is None else self.bias.repeat_interleave(e)

    def filter_banks(self) -> list[tuple[Tensor, Tensor | None]]:
        """``(bank, bias)`` per block: ``bank: [C_out·E, C_in·I, *k']``, ``bias: [C_out·E]``.

        Cached in eval mode whenever no weight gradient is needed (``torch.no_grad``,
        ``inference_mode`` or frozen weights); rebuilt when a weight changes in place (optimiser
        step, ``load_state_dict``), on a dtype/device change, and on every mode flip. Weights that
        are themselves inference tensors (a model created inside ``inference_mode``) have no
        version counter to watch, so their banks are rebuilt on every call instead. A bank first
        built inside ``inference_mode`` is kept as an ordinary tensor, so a later call that needs
        gradients with respect to the input (the weights frozen) can use it.
        """
        blocks = range(len(self.plan.blocks))
        use_cache = (
            not self.training
            and not torch.compiler.is_compiling()
            and not (torch.is_grad_enabled() and self.weight.requires_grad)
            and not self.weight.is_inference()
        )
        if not use_cache:
            return [(self._build_bank(b), self._build_bias(b)) for b in blocks]
        w, bias = self.weight, self.bias
        key = (w._version, w.data_ptr(), w.dtype, w.device, None if bias is None else (bias._version, bias.data_ptr()))
        if key != self._cache_key:
            # ordinary tensors even inside inference mode: a later call with input gradients (a
            # saliency map of a frozen model) saves the bank for backward
            with torch.inference_mode(False), torch.no_grad():
                for b in blocks:
                    setattr(self, f"_bank{b}", self._build_bank(b))
                    setattr(self, f"_bias{b}", self._build_bias(b))
            self._cache_key = key
        return [(getattr(self, f"_bank{b}"), getattr(self, f"_bias{b}")) for b in blocks]

    def train(self, mode: bool = True):
        self._cache_key = None  # a mode flip always rebuilds
        for b in range(len(self.plan.blocks)):
            setattr(self, f"_bank{b}", None)
            setattr(self, f"_bias{b}", None)
        return super().train(mode)

    # -- forward ---------------------------------------------------------------------------
    def _check(self, x: Tensor) -> None:
        name = type(self).__name__
        lift = self.in_order is None
        axes = spatial(self.dim).axes
        expected = f"[B, {self.in_channels}, " + ("" if lift else f"{self.in_order}, ") + f"{axes}]"
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expected a torch.Tensor {expected}, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} expected a floating-point input {expected}, got dtype {x.dtype}; use x.float()")
        rank = self.dim + (2 if lift else 3)
        hint = ""
        if lift and x.dim() == rank + 1:
            hint = "; this looks like lifted features: use GroupConv"
        elif not lift and x.dim() == rank - 1:
            hint = "; this looks like a signal without group axis: lift it with LiftingConv first"
        if x.dim() != rank:
            raise ValueError(f"{name} expected input {expected} ({rank}-d), got {list(x.shape)}{hint}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{name} expected input {expected}, got {list(x.shape)} ({x.shape[1]} channels)")
        if not lift and x.shape[2] != self.in_order:
            raise ValueError(
                f"{name} expected input {expected}, got {list(x.shape)} "
                f"(group {self.group!r} has {self.in_order} elements)"
            )
        if x.dtype != self.weight.dtype and not torch.is_autocast_enabled(x.device.type):
            raise TypeError(
                f"{name} expected dtype {self.weight.dtype} (the layer's), got {x.dtype}; "
                f"cast the input or the model with .to({x.dtype})"
            )

    def _block_inputs(self, x: Tensor, steps: dict[int, int] | None = None, banks=None):
        """``(block, bank, bias, folded input)`` per block, the input pre-blurred if antialiased
        and, with ``steps`` (``{dilation: step}``), only at multiples of the block's step;
        ``banks``: :meth:`filter_banks` built already."""
        lift = self.in_order is None
        blurred = None
        if self.antialias:  # B-spline pre-blur at each block's dilation (cascade: cost flat in scale)
            flat = x if lift else x.flatten(1, 2)
            dilations = [blk.dilation for blk in self.plan.blocks]
            blurs = (bspline_pyramid(flat, steps, self.dim) if steps else bspline_blurs(flat, dilations, self.dim))
            blurred = {d: (b if lift else b.unflatten(1, x.shape[1:3])) for d, b in blurs.items()}
        elif steps:
            blurred = {d: x[(Ellipsis,) + (slice(None, None, s),) * self.dim] for d, s in steps.items()}
        for block, (bank, bias) in zip(self.plan.blocks, self.filter_banks() if banks is None else banks):
            yield block, bank, bias, block_input(x if blurred is None else blurred[block.dilation], block,
                                                 self.in_order)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward(x, None)

    def packable(self) -> bool:
        """Whether :meth:`forward_packed` runs inputs of different lengths as one convolution:
        one spatial axis (:class:`~wavenets.nn._spatial.Spatial`), zero padding, no multirate grid."""
        return can_pack(self.dim, self.padding_mode) and not self.multirate

    def forward_packed(self, xs: list[Tensor]) -> list[Tensor]:
        """``[forward(x) for x in xs]`` for inputs that differ only in length (the octave levels
        of a pyramid), the filter banks built once and, where :meth:`packable`, every block run
        as *one* convolution over the inputs laid end to end (:func:`run_packed`)."""
        banks = self.filter_banks()
        if len(xs) > 1 and self.packable():
            return run_packed(lambda x: self._forward(x, banks), xs, self.plan.blocks, self.padding, self.stride)
        return [self._forward(x, banks) for x in xs]

    def _forward(self, x: Tensor, banks) -> Tensor:
        self._check(x)
        conv = spatial(self.dim).conv
        size = list(x.shape[-self.dim:])
        steps = {blk.dilation: multirate_step(blk.dilation, self.multirate) for blk in self.plan.blocks} \
            if self.multirate else None
        outs = []
        for block, bank, bias, xb in self._block_inputs(x, steps, banks):
            e = block.out_index.stop - block.out_index.start
            step = steps[block.dilation] if steps else 1
            if step > 1:
                y = multirate_conv(conv, xb, bank, bias, block, self.dim, step, size)
            else:
                pad = block_padding(self.padding, block)
                if self.padding_mode != "zeros" and pad:
                    xb, pad = F.pad(xb, (pad, pad) * self.dim, mode=self.padding_mode), 0
                y = conv(xb, bank, bias, stride=self.stride, padding=pad, dilation=block.dilation)
            outs.append(y.unflatten(1, (self.out_channels, e)))
        return outs[0] if len(outs) == 1 else torch.cat(outs, 2)

    def forward_pooled(self, x: Tensor, window: int) -> Tensor:
        """``max_pool(forward(x), window)`` over space, computed multirate: block ``d`` is
        evaluated only at multiples of its step ``m`` (``d / multirate``, a divisor of ``window``)
        and max-pooled by ``window / m``.

        With the B-spline pre-blur this is the front of a multirate Wavelet Network: coarse
        scales cost ``1/window`` of the full-rate convolution and no full-rate feature map of a
        coarse scale is ever stored. The max runs over the grid points only (an approximation of
        the max over every sample for ``d > 1``); the output has ``⌊S / window⌋`` samples per axis.
        """
        self._check(x)
        if self.stride != 1 or self.padding != "same" or self.padding_mode != "zeros":
            raise ValueError("forward_pooled needs stride=1, padding='same' and padding_mode='zeros'")
        conv, pool = spatial(self.dim).conv, spatial(self.dim).max_pool
        size = [n // window for n in x.shape[-self.dim:]]
        steps = {blk.dilation: multirate_step(blk.dilation, max(1, self.multirate), window) for blk in self.plan.blocks}
        outs = []
        for block, bank, bias, xb in self._block_inputs(x, steps):
            e = block.out_index.stop - block.out_index.start
            m = steps[block.dilation]
            y = pool(decimated_conv(conv, xb, bank, bias, block, m, self.dim), window // m, ceil_mode=True)
            y = y[(Ellipsis,) + tuple(slice(0, n) for n in size)]
            outs.append(y.unflatten(1, (self.out_channels, e)))
        return outs[0] if len(outs) == 1 else torch.cat(outs, 2)

    def extra_repr(self) -> str:
        s = f"{self.group!r}, {self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, dim={self.dim}"
        if self.in_order is not None and self.plan.slots != self.in_order:
            s += f", group_kernel_size={self.plan.slots}"
        if self.stride != 1:
            s += f", stride={self.stride}"
        if self.padding != "same":
            s += f", padding={self.padding!r}"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        if self.bias is None:
            s += ", bias=False"
        if self.multirate:
            s += f", multirate={self.multirate}"
        elif self.antialias:
            s += ", antialias=True"
        return s
