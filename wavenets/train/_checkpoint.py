"""Checkpoints written atomically: a crash mid-write never leaves a truncated file under the
final name."""
from __future__ import annotations

import io
from pathlib import Path

import torch

from .._io import atomic_open

__all__ = ["save_atomic", "load_checkpoint", "CheckpointError"]


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read (truncated, corrupt, not a checkpoint)."""


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` through :func:`wavenets._io.atomic_open` (a full disk is a DiskFullError).

    Serialised in memory first: torch's zip writer turns a failed write into an opaque
    ``inline_container.cc`` error, while a plain write of the bytes says "no space left"."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with atomic_open(path, "wb") as f:
        f.write(buf.getbuffer())


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """A checkpoint written by the trainer (``last.pt``, ``best.pt``): the dict of model and
    optimiser state, epoch and RNG states. An unreadable or corrupt file raises
    :class:`CheckpointError`, which says so and what to do. The file is trusted (it is unpickled:
    load only checkpoints you made)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise CheckpointError(f"cannot read checkpoint {path} ({type(err).__name__}: {err}); "
                           "it may be corrupt: remove it to start over, or use the other checkpoint") from err
