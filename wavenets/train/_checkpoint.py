"""Checkpoints written atomically: a crash mid-write never leaves a truncated file under the
final name."""
from __future__ import annotations

import os
from pathlib import Path

import torch

__all__ = ["save_atomic", "load_checkpoint"]


def save_atomic(obj, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise RuntimeError(f"cannot read checkpoint {path} ({type(err).__name__}: {err}); "
                           "it may be corrupt: remove it to start over, or use the other checkpoint") from err
