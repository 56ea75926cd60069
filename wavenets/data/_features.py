"""Cached front-end features of an audio dataset (the spectrogram baselines' inputs).

A front end that is not learned (``wavenets.nn.Spectrogram``) gives the same features for a clip
in every epoch, so they are computed once per split. A dataset whose waveforms sit in a
memory-mapped cache (UrbanSound8K, ESC-50, MagnaTagATune) keeps its features beside it,
``<cache>.feat-<key>.npy``, where ``<key>`` covers the waveform cache's own key and the front
end's options (with librosa's version), so a rebuilt waveform cache or a changed option makes a
new one. It is written to a temporary file and renamed when complete. In-memory datasets (the
embedded sounds) keep theirs in memory.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from .._extras import need

__all__ = ["FeatureView", "feature_cache"]


def _disk_path(dataset, frontend) -> Path | None:
    """Where the features of a memory-mapped dataset are kept (None: in memory)."""
    filename = getattr(getattr(dataset, "waves", None), "filename", None)
    if not filename:
        return None
    cache = Path(filename)
    try:
        wave_key = json.loads(cache.with_suffix(".json").read_text()).get("key", "")
    except (OSError, ValueError, AttributeError):
        wave_key = ""
    if not wave_key:  # a memmap without the cache's manifest: no identity to name features by
        return None
    key = hashlib.sha1(f"{wave_key}\0{frontend.key()}".encode()).hexdigest()[:16]
    return cache.with_name(f"{cache.stem}.feat-{key}.npy")


def feature_cache(dataset, frontend, *, batch: int = 64, quiet: bool = False) -> np.ndarray:
    """``[N, C, F, N_frames]`` float32: ``frontend.numpy`` of every clip of ``dataset``, in order.

    Computed in batches of ``batch`` clips behind a progress bar; reused from disk when the
    dataset is a memory-mapped cache (see the module's docstring), in memory otherwise."""
    path = _disk_path(dataset, frontend)
    waves = dataset.waves
    n = len(waves)
    if path is not None and path.exists():
        try:
            feats = np.load(path, mmap_mode="r")
            if feats.shape[:2] == (n, waves.shape[1]) and feats.dtype == np.float32:
                return feats
        except (OSError, ValueError):
            pass  # a truncated or foreign file: rebuilt below
    tqdm = need("tqdm.auto", "train", "caching spectrogram features").tqdm
    first = frontend.numpy(np.asarray(waves[:batch], dtype=np.float32))  # the first batch also gives the shape
    shape = (n, *first.shape[1:])
    tmp = None
    if path is None:
        out = np.empty(shape, dtype=np.float32)
    else:
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    try:
        out[: len(first)] = first
        name = getattr(dataset, "name", "audio")
        for i in tqdm(range(batch, n, batch), desc=f"{frontend.kind} features of {name}", unit="batch",
                      disable=quiet or None):
            out[i : i + batch] = frontend.numpy(np.asarray(waves[i : i + batch], dtype=np.float32))
        if tmp is None:
            return out
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return np.load(path, mmap_mode="r")


class FeatureView(torch.utils.data.Dataset):
    """``dataset`` with its waveforms replaced by cached features: ``batch(idx)`` gives
    ``(features [b, C, F, N], labels)``. Labels, length, kind and ``in_memory`` are the dataset's."""

    def __init__(self, dataset, features: np.ndarray):
        if len(features) != len(dataset):
            raise ValueError(f"{len(features)} feature rows for a dataset of {len(dataset)} clips")
        self.dataset, self.features = dataset, features
        self.labels = dataset.labels
        self.in_memory = getattr(dataset, "in_memory", True) and not isinstance(features, np.memmap)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name):  # the dataset's own attributes (name, kind, num_classes, ...)
        if name in ("dataset", "features"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, i: int):
        return torch.from_numpy(np.array(self.features[i], dtype=np.float32)), self.labels[i]

    def batch(self, idx: torch.Tensor):
        x = torch.from_numpy(np.asarray(self.features[idx.numpy()], dtype=np.float32))
        return x, torch.from_numpy(np.asarray(self.labels[idx.numpy()]))
