"""Median wall-clock timing that is correct on CPU and CUDA."""
from __future__ import annotations

import os
import statistics
import sys
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


#: glibc's thresholds for ``--warm-heap``: no allocation is served by mmap and no free memory is
#: trimmed, so a model's large activations reuse warm pages instead of fresh ones on every call
WARM_HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 * 2**30), "MALLOC_TRIM_THRESHOLD_": str(4 * 2**30)}

#: the help of every ``--warm-heap`` flag
WARM_HEAP_HELP = ("run with glibc's malloc thresholds at 4 GiB (the process restarts itself), so that large "
                  "activations reuse warm pages: with the defaults a model with large tensors pays page faults on "
                  "every call and a ratio between two models depends on the allocator as much as on the code "
                  "(docs/benchmarks.md)")


def warm_heap_env(environ) -> dict | None:
    """The environment to re-run a benchmark in for ``--warm-heap`` (None: it runs in one already)."""
    if all(environ.get(k) == v for k, v in WARM_HEAP_ENV.items()):
        return None
    return {**environ, **WARM_HEAP_ENV}


def heap_state() -> str:
    """``"warm"`` when this process runs with :data:`WARM_HEAP_ENV`, else ``"default"``."""
    return "warm" if warm_heap_env(os.environ) is None else "default"


def restart_with_warm_heap(module: str, argv: list[str] | None) -> None:
    """Re-run ``python -m module argv`` in this process with :data:`WARM_HEAP_ENV` (glibc reads
    the thresholds at start-up); returns at once when they are set already."""
    env = warm_heap_env(os.environ)
    if env is not None:
        os.execve(sys.executable, [sys.executable, "-m", module, *(sys.argv[1:] if argv is None else argv)], env)
