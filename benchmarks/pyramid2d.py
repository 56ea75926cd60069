"""2D scale-space pyramid layers against one plain ``conv2d`` on the finest level (issue 12's
cost target: a training step ≤ 1.5× that plain convolution with the same channels).

Per case, one layer in the pyramid layout (``PyramidGroupConv``, 'same', ``group_kernel_size=1``)
on ``levels`` octave levels ``[B, C, |H|, S/2^j, S/2^j]`` against ``nn.Conv2d(C·|H|, C·|H|, k)``
on the finest level alone: the same channels per level. ``Dilation`` groups have ``|H| = 1``; the
roto-scale product ``Rotation(4) * Dilation(n)`` carries 4 rotation slots per scale, and its
plain reference is the conv2d with the 4× expanded channels (the SE(2) layer's own limit).
With ``V`` voices per octave (``base = 2^(1/V)``) a level holds ``V`` scales that do not mix, and
the reference is the grouped conv2d (``groups=V``) over the ``V``-fold channels.
Timed in alternating rounds (:func:`interleaved_ms`). ``train``: forward + backward.
"""
from __future__ import annotations

import torch

from wavenets.groups import Dilation, Rotation
from wavenets.nn import PyramidGroupConv

from ._report import markdown_table
from ._timing import interleaved_ms


def _case(group, channels: int, kernel: int, batch: int, size: int, device):
    conv = PyramidGroupConv(group, channels, channels, kernel, dim=2).to(device)
    v, fiber = conv.voices, conv.fiber
    levels = [torch.randn(batch, channels, v * fiber, -(-size // 2**j), -(-size // 2**j), device=device,
                          requires_grad=True) for j in range(conv.in_levels)]
    c = channels * v * fiber  # voices do not mix (group_kernel_size=1): V independent groups
    plain = torch.nn.Conv2d(c, c, kernel, padding=kernel // 2, groups=v).to(device)
    flat = torch.randn(batch, c, size, size, device=device, requires_grad=True)

    def pyr():
        sum(y.sum() for y in conv(levels)).backward()

    def ref():
        plain(flat).sum().backward()

    return {"pyramid": pyr, "conv2d": ref}, v * fiber


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    size, batch = (33, 2) if quick else (129, 8) if device.type == "cpu" else (257, 32)
    cases = [("Dilation(4)", Dilation(4), 32), ("Dilation(8, base=2^1/2)", Dilation(8, 2**0.5), 32),
             ("Rotation(4) × Dilation(4)", Rotation(4) * Dilation(4), 16)]
    rows = []
    for name, group, channels in cases:
        fns, slots = _case(group, channels, 3, batch, size, device)
        ms = interleaved_ms(fns, device, warmup=1 if device.type == "cpu" else 3,
                            reps=reps or (1 if quick else 7 if device.type == "cpu" else 30))
        row = {"group": name, "channels": channels, "slots": slots, "batch": batch, "size": size, "device": str(device),
               "pyramid_ms": ms["pyramid"], "conv2d_ms": ms["conv2d"], "ratio": ms["pyramid"] / ms["conv2d"]}
        rows.append(row)
        print(f"{name:>26} {batch}×{channels}×{size}²: pyramid {row['pyramid_ms']:.1f} ms, conv2d "
              f"{row['conv2d_ms']:.1f} ms, ratio {row['ratio']:.2f}×", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    return markdown_table([
        ("group", lambda r: r["group"]),
        ("channels × slots per level", lambda r: f"{r['channels']} × {r['slots']}"),
        ("batch × size²", lambda r: f"{r['batch']} × {r['size']}²"),
        ("pyramid train ms", lambda r: f"{r['pyramid_ms']:.1f}"),
        ("conv2d (finest level) ms", lambda r: f"{r['conv2d_ms']:.1f}"),
        ("ratio", lambda r: f"{r['ratio']:.2f}"),
    ], rows)
