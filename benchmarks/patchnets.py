"""Whole scale G-CNNs for images (``PyramidPatchNet``) against their one-level CNN: one training
step (forward + backward of the cross-entropy) per variant of the magnification experiments,
with the same parameters. The ratio is what a user pays for each way of sampling scale:
octave levels, kernel-resampled voices, input voices (``V`` full-size copies), and the
foveated pyramid on a view twice as wide. Timed in alternating rounds (:func:`interleaved_ms`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from wavenets.groups import Dilation
from wavenets.models import PyramidPatchNet, count_parameters

from ._timing import interleaved_ms

#: (label, group, input px, PyramidPatchNet options): the digits_scale_single variants
CASES = [
    ("CNN (one level)", Dilation(1), 33, {}),
    ("octave G-CNN, 4 levels", Dilation(4), 33, {}),
    ("2 kernel voices (Dilation(8, 2^1/2))", Dilation(8, 2 ** 0.5), 33, {}),
    ("2 input voices", Dilation(4), 33, {"input_voices": 2}),
    ("foveated 65 px view + 2 input voices", Dilation(4), 65, {"input_voices": 2, "fovea": 33}),
]


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    batch = 2 if quick else 32
    gen = torch.Generator().manual_seed(0)
    fns, info = {}, {}
    for label, group, size, opts in CASES:
        net = PyramidPatchNet(group, 1, 10, readout="global", **opts).to(device)
        x = torch.randn(batch, 1, size, size, generator=gen).to(device)
        y = torch.randint(0, 10, (batch,), generator=gen).to(device)

        def step(net=net, x=x, y=y):
            net.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()

        fns[label], info[label] = step, (size, count_parameters(net))
    ms = interleaved_ms(fns, device, warmup=1, reps=reps or (1 if quick else 7 if device.type == "cpu" else 30))
    base = ms[CASES[0][0]]
    rows = []
    for label, _, _, _ in CASES:
        size, params = info[label]
        rows.append({"model": label, "input": size, "batch": batch, "params": params, "device": str(device),
                     "train_ms": ms[label], "ratio": ms[label] / base})
        print(f"{label:>40} {batch}×{size}²: {ms[label]:.1f} ms, {ms[label] / base:.2f}× the CNN", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | input px | batch | params | train step ms | × CNN |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['input']} | {r['batch']} | {r['params']:,} | {r['train_ms']:.1f} | "
                     f"{r['ratio']:.2f} |")
    return "\n".join(lines)
