"""Datasets, batch transforms and downloads. Data flows data -> model -> loss -> trainer."""
from ._audio import AudioAugment, AudioDataset, SyntheticSounds, fit_length, time_stretch
from ._base import ImageDataset, data_root
from ._download import DownloadError, download, gunzip, md5sum
from ._embedded import Digits, TissuePatches
from ._pcam import PCam, fetch_pcam
from ._transforms import Augment, normalize, rotate, stratified_subset

DATASETS = {"tissue": TissuePatches, "digits": Digits, "pcam": PCam, "sounds": SyntheticSounds}
FETCHERS = {"pcam": fetch_pcam}


def get_dataset(name: str, split: str, root=None):
    """A dataset by name (``tissue``, ``digits``, ``pcam``) and split (``train``, ``val``, ``test``)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[name](split, root=root)


__all__ = ["AudioDataset", "SyntheticSounds", "AudioAugment", "time_stretch", "fit_length", "ImageDataset", "TissuePatches", "Digits", "PCam", "fetch_pcam", "get_dataset", "DATASETS", "FETCHERS",
           "Augment", "normalize", "rotate", "stratified_subset", "data_root", "download", "gunzip", "md5sum",
           "DownloadError"]
