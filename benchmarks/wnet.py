"""Training steps of the Wavelet Networks against their M-Nets (and SampleCNN pairs).

Per pair: one step (forward + backward + SGD step) of the M-Net, the reference W-Net (the
published layout: every scale at full rate), and the multirate W-Net (``multirate=2``).
Medians in ms, the ratios taken within one run; memory is the activation memory autograd saves
(``saved_mib``, any device) and, on CUDA, the peak allocated memory.
"""
from __future__ import annotations

import torch

from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet, SampleCNN

from ._timing import median_ms, peak_mib, saved_mib


def forward_gflop(model: torch.nn.Module, length: int, device: torch.device) -> float:
    """GFLOP of one forward pass on one clip (torch's FLOP counter: convolutions and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.randn(1, 1, length, device=device))
    model.train()
    return counter.get_total_flops() / 1e9

ARCHS = ("m3", "m5", "m11", "m18", "m34res")


def _models(arch: str, multirate: int):
    if arch == "samplecnn":
        return {"mnet": lambda: SampleCNN(Trivial(), 50), "wnet": lambda: SampleCNN(Dilation(9), 50)}
    return {"mnet": lambda: MNet(Trivial(), arch, 10), "wnet": lambda: MNet(Dilation(9), arch, 10),
            "wnet_mr": lambda: MNet(Dilation(9), arch, 10, multirate=multirate)}


def bench(arch: str, batch: int, length: int, device: torch.device, reps: int, multirate: int = 2) -> dict:
    x = torch.randn(batch, 1, length, device=device)
    classes = 50 if arch == "samplecnn" else 10
    y = torch.randint(0, classes, (batch,), device=device)
    row = {"arch": arch, "batch": batch, "length": length, "device": str(device), "multirate": multirate}
    for tag, make in _models(arch, multirate).items():
        torch.manual_seed(0)
        model = make().to(device)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        loss = (torch.nn.functional.binary_cross_entropy_with_logits if arch == "samplecnn"
                else torch.nn.functional.cross_entropy)
        target = torch.nn.functional.one_hot(y, classes).float() if arch == "samplecnn" else y

        def step():
            opt.zero_grad(set_to_none=True)
            loss(model(x), target).backward()
            opt.step()

        row[f"{tag}_params"] = sum(p.numel() for p in model.parameters())
        row[f"{tag}_gflop"] = forward_gflop(model, length, device)
        row[f"{tag}_ms"] = median_ms(step, device, warmup=1 if device.type == "cpu" else 3, reps=reps)
        row[f"{tag}_saved_mib"] = saved_mib(step)
        row[f"{tag}_peak_mib"] = peak_mib(step, device)
        del model, opt
    row["ratio"] = row["wnet_ms"] / row["mnet_ms"]
    row["mem_ratio"] = row["wnet_saved_mib"] / row["mnet_saved_mib"]
    if "wnet_mr_ms" in row:
        row["mr_ratio"] = row["wnet_mr_ms"] / row["mnet_ms"]
        row["mr_mem_ratio"] = row["wnet_mr_saved_mib"] / row["mnet_saved_mib"]
    return row


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    if quick:
        plan = [("m5", 2, 4096)]  # the SampleCNN pair needs 59,049 samples: too slow for a smoke run
    elif device.type == "cpu":  # 2 CPU cores: small batches keep the reference W-Nets under a minute a step
        plan = [(a, 4, 88200) for a in ("m5", "m11", "m34res")] + [("samplecnn", 2, 59049)]
    else:
        plan = [(a, 16, 88200) for a in ARCHS] + [("samplecnn", 23, 59049)]
    rows = []
    for arch, batch, length in plan:
        r = bench(arch, batch, length, device, reps or (1 if quick else 2 if device.type == "cpu" else 5))
        rows.append(r)
        mr = f"   multirate {r['wnet_mr_ms']:9.1f} ms = {r['mr_ratio']:5.2f}×" if "mr_ratio" in r else ""
        print(f"{arch:>9} GFLOP/clip M {r['mnet_gflop']:.2f} W {r['wnet_gflop']:.2f}"
              + (f" multirate {r['wnet_mr_gflop']:.2f}" if "wnet_mr_gflop" in r else ""))
        print(f"{arch:>9} {batch}×{length}: M {r['mnet_ms']:9.1f} ms   W {r['wnet_ms']:9.1f} ms = "
              f"{r['ratio']:5.2f}×{mr}   memory W/M {r['mem_ratio']:.1f}×", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| pair | batch × samples | M-Net ms | W-Net ms | W/M | W-Net multirate ms | multirate/M "
            "| saved MiB M / W / multirate | memory W/M | multirate/M | GFLOP/clip M / W / multirate |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        mr = "wnet_mr_ms" in r
        lines.append(
            f"| {r['arch']} | {r['batch']} × {r['length']} | {r['mnet_ms']:.1f} | {r['wnet_ms']:.1f} | "
            f"{r['ratio']:.2f} | {r['wnet_mr_ms']:.1f} | {r['mr_ratio']:.2f} | " if mr else
            f"| {r['arch']} | {r['batch']} × {r['length']} | {r['mnet_ms']:.1f} | {r['wnet_ms']:.1f} | "
            f"{r['ratio']:.2f} | – | – | ")
        lines[-1] += (f"{r['mnet_saved_mib']:.0f} / {r['wnet_saved_mib']:.0f} / "
                      f"{r['wnet_mr_saved_mib']:.0f} | " if mr else
                      f"{r['mnet_saved_mib']:.0f} / {r['wnet_saved_mib']:.0f} / – | ")
        lines[-1] += f"{r['mem_ratio']:.1f} | " + (f"{r['mr_mem_ratio']:.1f} | " if mr else "– | ")
        lines[-1] += (f"{r['mnet_gflop']:.2f} / {r['wnet_gflop']:.2f} / "
                      + (f"{r['wnet_mr_gflop']:.2f} |" if mr else "– |"))
    return "\n".join(lines)
