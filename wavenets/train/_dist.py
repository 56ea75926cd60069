"""Distributed data parallel when launched with torchrun (NCCL on GPUs, gloo on CPU)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "init_distributed", "launch_rank", "main_first", "shutdown_distributed"]


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_rank() -> int:
    """This process's rank in a torchrun job, from the launcher's environment (0 outside one),
    before any process group exists: the ranks of one job share a run, which rank 0 checks and
    locks for them."""
    return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else 0


def init_distributed(device: torch.device) -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend)
    return info


@contextlib.contextmanager
def main_first(info: DistInfo) -> Iterator[None]:
    """Rank 0 runs the block first, the other ranks after it (all of them at once): what rank 0
    writes there, such as a data set's decoded-clip cache, the others then read instead of
    building it again side by side. Every rank must enter the block (it holds two barriers)."""
    if info.enabled and not info.is_main:
        dist.barrier()
    try:
        yield
    finally:  # (also when rank 0 fails: the others then run the block and fail with the same error, not hang)
        if info.enabled and info.is_main:
            dist.barrier()


def shutdown_distributed(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
