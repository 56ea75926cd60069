"""W-Net/M-Net training steps for chosen pairs and sizes (the ``wnet`` section with its knobs).

``python -m benchmarks.mnet_step [--device cpu|cuda] [--archs m11] [--batch 16] [--length 88200]``
times :func:`benchmarks.wnet.bench` (M-Net, reference W-Net, multirate W-Net) and prints its
markdown table; ``python -m benchmarks --only wnet`` runs the fixed plan and writes JSON.
"""
from __future__ import annotations

import argparse

import torch

from . import wnet


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mnet_step", description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--archs", default="m11", help=f"comma-separated, from {', '.join(wnet.ARCHS)}, samplecnn")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=88200)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--multirate", type=int, default=2, help="points per scale period of the multirate W-Net")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    rows = [wnet.bench(a, args.batch, args.length, device, args.reps, args.multirate) for a in args.archs.split(",")]
    print(f"device: {device}\n" + wnet.table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
