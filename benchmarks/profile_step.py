"""Where one training step of a pyramid W-Net goes, against its M-Net: ``python -m
benchmarks.profile_step [--arch m5] [--batch 16] [--device cuda] [--pack-below 0]``. Prints the operators with the
most self time (CUDA kernels on a GPU, CPU time otherwise) and the number of kernel launches or
operator calls per step, for the M-Net, the pyramid W-Net and the pyramid from one octave below
the input rate. Diagnostic, not a timing table (the profiler adds overhead)."""
from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from wavenets.nn import _pack

from .pyramid import _models


def profile_step(model, x, y, device: torch.device, top: int) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    if device.type == "cuda":
        torch.cuda.synchronize()
    with profile(activities=acts) as prof:
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    events = prof.key_averages()
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    kernels = sum(e.count for e in events if device.type == "cuda" and getattr(e, "device_type", None)
                  == torch.autograd.DeviceType.CUDA)
    total = sum(getattr(e, key) for e in events) / 1e3
    print(f"  self {'GPU' if device.type == 'cuda' else 'CPU'} time {total:.1f} ms, "
          f"{kernels or sum(e.count for e in events)} {'kernel launches' if kernels else 'operator calls'}")
    print(events.table(sort_by=key, row_limit=top, max_name_column_width=60))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="m5")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=88200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--pack-below", type=int, default=None,
                        help="levels of at most this many samples run as one call (wavenets.nn._pack.PACK_BELOW; "
                             "0: one call per level, the layout before packing)")
    args = parser.parse_args(argv)
    default = _pack.PACK_BELOW
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 1, args.length, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    try:
        _pack.PACK_BELOW = default if args.pack_below is None else args.pack_below
        for tag, model in _models(args.arch).items():
            print(f"== {args.arch} {tag} ({args.batch} × {args.length}, {device}) ==")
            profile_step(model.to(device).train(), x, y, device, args.top)
    finally:
        _pack.PACK_BELOW = default
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
