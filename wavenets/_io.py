"""Every file wavenets writes goes through here: written to a hidden temporary beside the
target, flushed and fsynced, then renamed over it, so a crash or a full disk never leaves a
half-written file under the final name. A full disk is reported as such."""
from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["DiskFullError", "atomic_open", "atomic_path", "write_atomic", "write_json"]


class DiskFullError(OSError):
    """No space left while writing a file; the file under its final name is untouched."""

    def __str__(self) -> str:
        return self.strerror


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary beside ``path`` for writing (``mode`` "w" or "wb"); on success it replaces
    ``path``. On any error the temporary is removed and ``path`` keeps its old content."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (hidden, same suffix) for a writer that takes a file name,
    such as matplotlib's GIF writer; when the block ends without error it replaces ``path``. On
    any error the temporary is removed and ``path`` keeps its old content."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(err.errno, f"disk full while writing {path} (free space on {path.parent.resolve()} "
                                           f"and run again; the previous {path.name}, if any, is intact)") from err
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def write_json(path: str | Path, obj, indent: int = 2) -> Path:
    """``obj`` as JSON, atomically."""
    return write_atomic(path, json.dumps(obj, indent=indent))
