"""The equivariance demo (``wavenets demo equivariance [--quick]``): small G-CNNs for every
group, and per group element how far each is from equivariance (relative error) and whether
that element maps the grid onto itself. ``python -m wavenets.demo ARGS`` is ``wavenets demo ARGS``.
"""
from __future__ import annotations

import math
import sys
import time

import torch
from torch import nn

from .groups import Dihedral, Dilation, Rotation, Trivial
from .nn import GroupBatchNorm, GroupConv, GroupPool, LiftingConv
from .testing import equivariance_error, smooth_image


def _chirp(length: int) -> torch.Tensor:
    t = torch.linspace(0, 1, length, dtype=torch.float64)
    return (torch.sin(2 * math.pi * (3 * t + 8 * t**2)) * torch.exp(-(((t - 0.5) / 0.2) ** 2))).view(1, 1, -1)


def _image_net(group, c=8):
    return nn.Sequential(
        LiftingConv(group, 3, c, 5, dim=2), GroupBatchNorm(c), nn.ReLU(),
        GroupConv(group, c, c, 5, dim=2), GroupBatchNorm(c), nn.ReLU(),
        GroupConv(group, c, c, 5, dim=2), GroupPool("max"),
    ).double().eval()


def _audio_net(group, c=8):
    g1 = GroupConv(group, c, c, 3, dim=1, group_kernel_size=2, group_padding="valid")
    g2 = GroupConv(g1.out_group, c, c, 3, dim=1, group_kernel_size=2, group_padding="valid")
    net = nn.Sequential(LiftingConv(group, 1, c, 9, dim=1), GroupBatchNorm(c), nn.ReLU(), g1, GroupBatchNorm(c),
                        nn.ReLU(), g2)
    return net.double().eval(), g2.out_group


def equivariance_demo(quick: bool = False) -> int:
    """Print the equivariance table; ``quick``: smaller inputs."""
    torch.manual_seed(0)
    size, length = (33, 256) if quick else (65, 1024)
    start = time.perf_counter()
    print(f"wavenets equivariance demo  (image {size}x{size}, waveform {length} samples, float64)\n")
    print(f"{'group':<27}{'element':<26}{'grid':<8}{'rel. error':>12}")
    image = smooth_image(1, 3, size)
    for group in (Trivial(), Rotation(4), Rotation(8, mask=True), Dihedral(4)):
        net = _image_net(group)
        elements = group.test_elements()
        errs = equivariance_error(net, group, image, elements, out_type="signal")
        for g, e in zip(elements, errs):
            if isinstance(group, Dihedral):
                what = f"{'flip + ' if g >= group.n else ''}rot {360 * (g % group.n) / group.n:g}°"
            else:
                what = f"rot {360 * g / group.order:g}°"
            print(f"{group!r:<27}{what:<26}{'exact' if group.is_exact(g) else 'interp':<8}{e.item():>12.2e}")
    for group in (Dilation(6), Dilation(8, 2**0.5)):
        net, out_group = _audio_net(group)
        for g in (-2, -1, 1):
            e = equivariance_error(net, group, _chirp(length), [g], out_group=out_group).item()
            what = f"{'contract' if g < 0 else 'stretch'} x{group.base ** abs(g):.3g}"
            print(f"{group!r:<27}{what:<26}{'exact' if group.is_exact(g) else 'interp':<8}{e:>12.2e}")
    print(
        "\n'exact' elements map the sampling grid onto itself: errors are float rounding. 'interp' elements"
        "\nresample the input and the kernels; their error depends on how smooth both are"
        " (docs/equivariance.md)."
        f"\ndone in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    from .cli import main

    sys.exit(main(["demo", *sys.argv[1:]]))
