"""The CLI keeps glibc's heap warm in the processes that train (wavenets/_heap.py)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wavenets import _heap

glibc = pytest.mark.skipif(_heap._glibc() is None, reason="needs Linux with glibc")

#: mallocs and frees 64 MiB at the heap's top and prints how many free bytes the heap kept (glibc
#: trims a free top larger than its trim threshold); then allocates 64 MiB through torch and prints
#: how many of those bytes glibc mmap'd
_PROBE = """
import ctypes, sys
import torch
from wavenets._heap import keep_heap_warm

class Info(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
warm = keep_heap_warm() if sys.argv[1] == "warm" else False
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(64 * 2**20))
kept = libc.mallinfo2().fordblks
before = libc.mallinfo2()
x = torch.ones(16 * 2**20)  # 64 MiB, above any mmap threshold glibc sets for itself
held = libc.mallinfo2()
print(warm, held.hblkhd - before.hblkhd, kept)
"""


def _probe(mode: str, **env) -> tuple[bool, int, int]:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout.split()
    return out[0] == "True", int(out[1]), int(out[2])


@glibc
def test_keep_heap_warm_serves_large_tensors_from_the_heap_and_keeps_them_after_free():
    warm, mapped, kept = _probe("warm")
    assert warm and mapped == 0 and kept >= 64 * 2**20, (warm, mapped, kept)
    warm, mapped, kept = _probe("default")  # glibc's default: a fresh mapping, returned on free
    assert not warm and mapped >= 64 * 2**20 and kept < 64 * 2**20, (warm, mapped, kept)
    warm, mapped, kept = _probe("warm", WAVENETS_WARM_HEAP="0")  # turned off: the default again
    assert not warm and mapped >= 64 * 2**20, (warm, mapped, kept)


def test_the_cli_keeps_the_heap_warm_for_compute_commands_only(monkeypatch, capsys, tmp_path):
    from wavenets import cli

    calls = []
    monkeypatch.setattr(cli, "keep_heap_warm", lambda: calls.append(1))
    assert cli.main(["recipes"]) == 0
    assert calls == []
    assert cli.main(["train", "no_such_recipe", "--runs-dir", str(tmp_path)]) != 0  # fails after the call
    assert calls == [1]
    assert "no_such_recipe" in capsys.readouterr().err
