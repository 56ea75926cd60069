"""Where one training step of a pyramid W-Net goes, against its M-Net: ``python -m
benchmarks.profile_step [--arch m5] [--batch 16] [--device cuda] [--pack-below 0] [--ops]``. Prints the operators with the
most self time (CUDA kernels on a GPU, CPU time otherwise) and the number of kernel launches or
operator calls per step, for the M-Net, the pyramid W-Net and the pyramid from one octave below
the input rate. Diagnostic, not a timing table (the profiler adds overhead). ``--ops`` counts
instead, without the profiler, the compute operators a step issues, forward and backward (views
and bare allocations left out): on a GPU each is at least one kernel launch, and the count does
not depend on the batch or the device."""
from __future__ import annotations

import argparse
from collections import Counter

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

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


#: operators that launch no kernel: views are listed by ``OpOverload.is_view``; these allocate only
_NO_KERNEL = {"_unsafe_view", "empty", "empty_strided", "new_empty", "new_empty_strided", "empty_like"}


class _CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.counts: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if not func.is_view and name not in _NO_KERNEL:
            self.counts[name] += 1
        return func(*args, **(kwargs or {}))


def count_ops(model, x, y) -> tuple[Counter, Counter]:
    """Compute operators of one training step, ``(forward, backward)`` (after a warm-up step, so
    that caches are built)."""
    for _ in range(2):
        model.zero_grad(set_to_none=True)
        fwd, bwd = _CountOps(), _CountOps()
        with fwd:
            loss = torch.nn.functional.cross_entropy(model(x), y)
        with bwd:
            loss.backward()
    return fwd.counts, bwd.counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="m5")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=88200)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--ops", action="store_true", help="count compute operators per step instead of profiling")
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
            if args.ops:
                fwd, bwd = count_ops(model.to(device).train(), x, y)
                top = ", ".join(f"{k} {v}" for k, v in (fwd + bwd).most_common(args.top))
                print(f"  compute operators per step: {sum(fwd.values())} forward + {sum(bwd.values())} backward = "
                      f"{sum(fwd.values()) + sum(bwd.values())} ({top})")
                continue
            profile_step(model.to(device).train(), x, y, device, args.top)
    finally:
        _pack.PACK_BELOW = default
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
