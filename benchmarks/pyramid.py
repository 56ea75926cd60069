"""Pyramid-layout Wavelet Networks against their M-Nets: training step, inference, memory.

Per pair (M5, M11, M34-res, SampleCNN): the M-Net and the parameter-matched W-Net in the
scale-space pyramid layout (``layout="pyramid"``, 9 octave levels, published scale taps and
widths), from the input rate (``pyramid``, the layout of both sounds recipes) and from one octave below it
(``pyramid_s1``, ``Dilation(9, start=1)``: half the compute), timed in alternating
rounds (:func:`interleaved_ms`) so that the ratios are fair on a shared machine. ``train``: forward + backward + SGD step; ``infer``: eval mode, ``no_grad``.
Memory: activation memory autograd saves in a step (``saved_mib``) and, on CUDA, peak memory.
"""
from __future__ import annotations

import torch

from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet, SampleCNN

from ._timing import interleaved_ms, peak_mib, saved_mib
from .wnet import forward_gflop


def _models(arch: str):
    if arch == "samplecnn":
        return {"mnet": SampleCNN(Trivial(), 50), "pyramid": SampleCNN(Dilation(9), 50, layout="pyramid"),
                "pyramid_s1": SampleCNN(Dilation(9, start=1), 50, layout="pyramid")}
    return {"mnet": MNet(Trivial(), arch, 10), "pyramid": MNet(Dilation(9), arch, 10, layout="pyramid"),
            "pyramid_s1": MNet(Dilation(9, start=1), arch, 10, layout="pyramid")}


def step_and_predict(model, x, target, loss=torch.nn.functional.cross_entropy):
    """``(step, predict)``: one training step of ``model`` on ``x`` (forward, backward, SGD) and one
    inference call (eval, ``no_grad``), as the functions the timers call."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss(model(x), target).backward()
        opt.step()

    def predict():
        model.eval()
        with torch.no_grad():
            model(x)

    return step, predict


def bench(arch: str, batch: int, length: int, device: torch.device, reps: int) -> dict:
    torch.manual_seed(0)
    x = torch.randn(batch, 1, length, device=device)
    classes = 50 if arch == "samplecnn" else 10
    y = torch.randint(0, classes, (batch,), device=device)
    target = torch.nn.functional.one_hot(y, classes).float() if arch == "samplecnn" else y
    loss = (torch.nn.functional.binary_cross_entropy_with_logits if arch == "samplecnn"
            else torch.nn.functional.cross_entropy)
    row = {"arch": arch, "batch": batch, "length": length, "device": str(device)}
    train, infer = {}, {}
    for tag, model in _models(arch).items():
        model = model.to(device)
        step, predict = step_and_predict(model, x, target, loss)
        row[f"{tag}_params"] = sum(p.numel() for p in model.parameters())
        row[f"{tag}_gflop"] = forward_gflop(model, length, device)
        row[f"{tag}_saved_mib"] = saved_mib(step)
        row[f"{tag}_peak_mib"] = peak_mib(step, device)
        train[tag], infer[tag] = step, predict
    warm = 1 if device.type == "cpu" else 3
    for kind, fns in (("train", train), ("infer", infer)):
        ms = interleaved_ms(fns, device, warmup=warm, reps=reps)
        for tag, v in ms.items():
            row[f"{tag}_{kind}_ms"] = v
        row[f"{kind}_ratio"] = ms["pyramid"] / ms["mnet"]
        row[f"s1_{kind}_ratio"] = ms["pyramid_s1"] / ms["mnet"]
    for pre, tag in (("", "pyramid"), ("s1_", "pyramid_s1")):
        row[f"{pre}mem_ratio"] = row[f"{tag}_saved_mib"] / row["mnet_saved_mib"]
        row[f"{pre}gflop_ratio"] = row[f"{tag}_gflop"] / row["mnet_gflop"]
    return row


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    if quick:
        plan = [("m5", 2, 4096)]
    elif device.type == "cpu":
        plan = [(a, 4, 88200) for a in ("m5", "m11", "m34res")] + [("samplecnn", 2, 59049)]
    else:
        plan = [(a, 16, 88200) for a in ("m3", "m5", "m11", "m18", "m34res")] + [("samplecnn", 23, 59049)]
    rows = []
    for arch, batch, length in plan:
        r = bench(arch, batch, length, device, reps or (1 if quick else 5 if device.type == "cpu" else 20))
        rows.append(r)
        for pre, tag in (("", "pyramid"), ("s1_", "pyramid_s1")):
            print(f"{arch:>9} {batch}×{length} {tag:>10}: train {r[pre + 'train_ratio']:.2f}×   infer "
                  f"{r[pre + 'infer_ratio']:.2f}×   saved memory {r[pre + 'mem_ratio']:.2f}×   GFLOP "
                  f"{r[pre + 'gflop_ratio']:.2f}× the M-Net", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| pair | batch × samples | W-Net layout | train ms (M-Net) | train ratio | infer ms (M-Net) | infer ratio "
             "| saved MiB (M-Net) | memory ratio | peak MiB (M-Net) | GFLOP/clip (M-Net) |",
             "|" + "---|" * 11]
    for r in rows:
        for pre, tag, name in (("", "pyramid", "pyramid"), ("s1_", "pyramid_s1", "pyramid, start=1")):
            peak = (f"{r[tag + '_peak_mib']:.0f} ({r['mnet_peak_mib']:.0f})" if r["mnet_peak_mib"] is not None
                    else "–")
            lines.append(
                f"| {r['arch']} | {r['batch']} × {r['length']} | {name} | {r[tag + '_train_ms']:.1f} "
                f"({r['mnet_train_ms']:.1f}) | {r[pre + 'train_ratio']:.2f} | {r[tag + '_infer_ms']:.1f} "
                f"({r['mnet_infer_ms']:.1f}) | {r[pre + 'infer_ratio']:.2f} | {r[tag + '_saved_mib']:.0f} "
                f"({r['mnet_saved_mib']:.0f}) | {r[pre + 'mem_ratio']:.2f} | {peak} | {r[tag + '_gflop']:.2f} "
                f"({r['mnet_gflop']:.2f}) |")
    return "\n".join(lines)
