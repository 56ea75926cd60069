"""Median wall-clock timing that is correct on CPU and CUDA."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def median_ms(fn: Callable[[], object], device: torch.device, *, warmup: int = 3, reps: int = 10) -> float:
    """Median milliseconds of ``fn()`` over ``reps`` runs after ``warmup`` runs."""
    return interleaved_ms({"fn": fn}, device, warmup=warmup, reps=reps)["fn"]


def interleaved_ms(fns: dict[str, Callable[[], object]], device: torch.device, *, warmup: int = 3,
                   reps: int = 10) -> dict[str, float]:
    """Median milliseconds of each ``fns[k]()``, timed in rounds that run every function once
    (the order reversed every other round): a slow change of the machine (another process, the
    clock) then hits all of them alike, and the ratios between them stay fair."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync()
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    for r in range(reps):
        for k in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fns[k]()
            sync()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def pair_line(row: dict) -> str:
    """The progress line of a group-vs-plain row: ``train G / P ms = ratio   eval G / P ms = ratio``."""
    return (f"train {row['train_group_ms']:8.2f} / {row['train_plain_ms']:8.2f} ms = {row['train_ratio']:.3f}   "
            f"eval {row['eval_group_ms']:8.2f} / {row['eval_plain_ms']:8.2f} ms = {row['eval_ratio']:.3f}")


def peak_mib(fn: Callable[[], object], device: torch.device) -> float | None:
    """Peak CUDA memory of one ``fn()`` in MiB (None on CPU)."""
    if device.type != "cuda":
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**20


def saved_mib(fn: Callable[[], object]) -> float:
    """MiB of tensors autograd saves for backward during ``fn()`` (distinct storages): the
    activation memory of a training step, measurable on CPU and CUDA alike."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        try:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without storage
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values()) / 2**20
