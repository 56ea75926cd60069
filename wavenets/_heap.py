"""Keep glibc's heap warm in processes that train: large activations reuse pages instead of
faulting in fresh ones on every step.

glibc serves an allocation above its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and
gives it back on ``free``. A training step that allocates and frees tensors of tens of MiB, as a
pyramid W-Net's levels copied into one tensor for batch norm do, then pays page faults and the
kernel's zeroing on every step. :func:`keep_heap_warm` turns that off for the process: every
allocation comes from the heap and freed memory is kept for the next step (the process holds its
peak memory until it exits). The CLI's compute commands call it; a script that trains may call
``wavenets.train.keep_heap_warm()``; ``WAVENETS_WARM_HEAP=0`` turns it off. docs/benchmarks.md
("The heap in training processes") times it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

#: ``mallopt`` parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4

#: the environment variable that turns :func:`keep_heap_warm` off (``0``)
ENV = "WAVENETS_WARM_HEAP"


def _glibc():
    """glibc, or None on other C libraries (macOS, Windows, musl)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def keep_heap_warm() -> bool:
    """Serve every allocation from glibc's heap (no ``mmap``'d chunks) and never trim it, for the
    rest of this process. Returns whether it took effect: False where the C library is not glibc
    or ``WAVENETS_WARM_HEAP=0`` is set. Allocations made before the call keep their kind."""
    if os.environ.get(ENV, "1").strip() == "0":
        return False
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
