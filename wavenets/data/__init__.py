"""Datasets, batch transforms and downloads. Data flows data -> model -> loss -> trainer."""
import inspect

from ._audio import AudioAugment, AudioDataset, SyntheticSounds, fast_length, fit_length, time_stretch
from ._audio_files import (ESC50, SC09, AudioDecodeError, MagnaTagATune, SpeechCommands, UrbanSound8K, build_cache,
                           load_audio)
from ._base import ImageDataset, data_root, fingerprint
from ._download import DownloadError, download, gunzip, md5sum
from ._embedded import Digits, DigitsScale, DigitsZoom, DigitsZoomWide, TissuePatches, TissueZoom, TissueZoomWide
from ._features import FeatureView, feature_cache
from ._fetch_audio import fetch_esc50, fetch_mtt, fetch_speech_commands, fetch_us8k
from ._pcam import PCam, fetch_pcam
from ._transforms import Augment, normalize, random_zoom, rotate, stratified_subset, zoom

DATASETS = {"tissue": TissuePatches, "tissue_zoom": TissueZoom, "tissue_zoom_wide": TissueZoomWide, "digits": Digits,
            "digits_scale": DigitsScale, "digits_zoom": DigitsZoom, "digits_zoom_wide": DigitsZoomWide, "pcam": PCam, "sounds": SyntheticSounds,
            "us8k": UrbanSound8K, "esc50": ESC50, "mtt": MagnaTagATune, "speech_commands": SpeechCommands, "sc09": SC09}
FETCHERS = {"pcam": fetch_pcam, "us8k": fetch_us8k, "esc50": fetch_esc50, "mtt": fetch_mtt,
            "speech_commands": fetch_speech_commands,
            "sc09": fetch_speech_commands}  # SC09 is read from the Speech Commands corpus
#: datasets read from audio files take these options (``[data]`` keys of a recipe)
FILE_OPTIONS = ("test_fold", "val_fold", "sample_rate", "length", "skip_corrupt")


def get_dataset(name: str, split: str, root=None, **options):
    """A dataset by name and split (``train``, ``val``, ``test``); ``options`` (fold, sample
    rate, length, skip_corrupt) go to the audio-file datasets."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    options = {k: v for k, v in options.items() if v not in (None, False)}
    if options and "sample_rate" not in inspect.signature(DATASETS[name]).parameters:  # the audio-file datasets
        raise ValueError(f"dataset {name!r} takes no options; got {', '.join(options)}")
    try:
        return DATASETS[name](split, root=root, **options)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise
        raise ValueError(f"dataset {name!r} does not take option(s) {', '.join(options)} ({err})") from None


__all__ = [
    "ImageDataset", "TissuePatches", "TissueZoom", "TissueZoomWide", "Digits", "DigitsScale", "DigitsZoom", "DigitsZoomWide", "PCam", "fetch_pcam",
    "AudioDataset", "SyntheticSounds", "UrbanSound8K", "ESC50", "MagnaTagATune", "SpeechCommands", "SC09", "fetch_us8k",
    "fetch_esc50", "fetch_speech_commands", "fetch_mtt",
    "AudioDecodeError", "load_audio", "build_cache", "AudioAugment", "time_stretch", "fast_length", "fit_length",
    "Augment", "normalize", "rotate", "zoom", "random_zoom", "stratified_subset",
    "FeatureView", "feature_cache", "get_dataset", "DATASETS", "FETCHERS", "FILE_OPTIONS",
    "data_root", "fingerprint", "download", "gunzip", "md5sum", "DownloadError",
]
