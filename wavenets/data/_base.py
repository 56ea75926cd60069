"""What every image dataset in wavenets provides, and where data lives."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["ImageDataset", "data_root", "check_split", "fingerprint", "SPLITS"]

SPLITS = ("train", "val", "test")


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root``, else ``$WAVENETS_DATA``, else ``./datasets``."""
    return Path(root or os.environ.get("WAVENETS_DATA") or "datasets")


def fingerprint(*datasets, files_per_split: int = 16) -> str:
    """A short content hash of datasets (a run's splits), to tell whether two runs read the same
    data: per dataset its class, size and labels and, for one read from files (``.files``), the
    bytes of ``files_per_split`` files spread over it, each named by its folder and file name. It
    does not change when the data root moves, and changes when another tree of the same layout
    (another download, another stand-in) sits there. Data made in memory (the embedded sets) are
    known by class, size and labels."""
    h = hashlib.blake2b(digest_size=8)
    for ds in datasets:
        labels = np.ascontiguousarray(np.asarray(ds.labels))
        h.update(f"{type(ds).__name__}\0{len(ds)}\0{labels.dtype}\0".encode())
        h.update(labels.tobytes())
        files = getattr(ds, "files", None) or []
        for i in np.linspace(0, len(files) - 1, min(files_per_split, len(files))).round().astype(int):
            path = Path(files[i])
            h.update(f"{path.parent.name}/{path.name}\0".encode())
            h.update(path.read_bytes() if path.is_file() else b"missing")
    return h.hexdigest()


class ImageDataset(Dataset):
    """In-memory uint8 images ``[N, H, W, C]`` with integer labels.

    Items are ``(image: uint8 tensor [C, H, W], label: int)``; conversion to float, normalisation
    and augmentation happen batch-wise on the device (:mod:`wavenets.data.transforms`).
    """

    kind = "image"
    name = "images"
    num_classes = 2
    #: per-channel mean and std of images scaled to [0, 1]
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)
    #: how rotations fill what comes in from outside the patch: "zeros" or "reflection"
    rotation_padding = "zeros"
    #: every image in memory: batches are sliced in the training process (no DataLoader workers)
    in_memory = True

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"{type(self).__name__} expected uint8 images [N, H, W, C], got {images.dtype} {images.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.images[i], int(self.labels[i])

    @property
    def in_channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def describe(self) -> str:
        """``"N images, CxHxW"``."""
        return f"{len(self)} images, {self.in_channels}x{self.size}x{self.size}"

    def class_balance(self) -> list[float]:
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return (counts / max(1, counts.sum())).tolist()
