"""One training step (forward + backward + SGD step) of W-Nets vs their M-Nets.

``python -m benchmarks.mnet_step [--device cpu|cuda] [--archs m11] [--batch 16] [--length 88200]``
prints medians in ms and peak CUDA memory, the W/M ratio taken within one run.
"""
from __future__ import annotations

import argparse

import torch

from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet

from ._timing import median_ms, peak_mib


def bench(arch: str, batch: int, length: int, device: torch.device, reps: int, antialias: bool = False) -> dict:
    x = torch.randn(batch, 1, length, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    row = {"arch": arch, "batch": batch, "length": length, "device": str(device)}
    for tag, group in (("mnet", Trivial()), ("wnet", Dilation(9))):
        model = MNet(group, arch, 10, antialias=antialias and tag == "wnet").to(device)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        row[f"{tag}_ms"] = median_ms(step, device, warmup=1 if device.type == "cpu" else 3, reps=reps)
        row[f"{tag}_peak_mib"] = peak_mib(step, device)
        del model, opt
    row["ratio"] = row["wnet_ms"] / row["mnet_ms"]
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mnet_step", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--archs", default="m11")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=88200)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print("| pair | device | batch × length | M-Net step ms | W-Net step ms | W/M | M peak MiB | W peak MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for arch in args.archs.split(","):
        r = bench(arch, args.batch, args.length, device, args.reps)
        mem = (f"{r['mnet_peak_mib']:.0f} | {r['wnet_peak_mib']:.0f}" if r["mnet_peak_mib"] is not None else "– | –")
        print(f"| {arch} | {device} | {args.batch} × {args.length} | {r['mnet_ms']:.1f} | {r['wnet_ms']:.1f} | "
              f"{r['ratio']:.1f} | {mem} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
