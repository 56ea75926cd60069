"""Downloads of the public audio datasets (archives unpacked in place)."""
from __future__ import annotations

from pathlib import Path

from ._base import data_root
from ._download import download, extract

__all__ = ["fetch_us8k", "fetch_esc50", "fetch_speech_commands", "US8K_URL", "ESC50_URL", "SPEECH_COMMANDS_URL"]

US8K_URL = "https://zenodo.org/records/1203745/files/UrbanSound8K.tar.gz?download=1"
ESC50_URL = "https://github.com/karolpiczak/ESC-50/archive/refs/heads/master.zip"
SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"


def _fetch_archive(url: str, root, archive_name: str, folder: str, quiet: bool, flat: bool = False) -> Path:
    base = data_root(root)
    if (base / folder).is_dir():
        return base / folder
    archive = download(url, base / archive_name, quiet=quiet)
    out = extract(archive, base, expect=folder, quiet=quiet, flat=flat)
    archive.unlink()
    return out


def fetch_us8k(root=None, *, url: str = US8K_URL, verify: bool = True, quiet: bool = False) -> Path:
    """UrbanSound8K (6 GB tar.gz from Zenodo) into ``<root>/UrbanSound8K``; resumable."""
    return _fetch_archive(url, root, "UrbanSound8K.tar.gz", "UrbanSound8K", quiet)


def fetch_esc50(root=None, *, url: str = ESC50_URL, verify: bool = True, quiet: bool = False) -> Path:
    """ESC-50 (600 MB zip of the GitHub repository) into ``<root>/ESC-50-master``; resumable."""
    return _fetch_archive(url, root, "ESC-50-master.zip", "ESC-50-master", quiet)


def fetch_speech_commands(root=None, *, url: str = SPEECH_COMMANDS_URL, verify: bool = True,
                          quiet: bool = False) -> Path:
    """Speech Commands v0.02 (2.3 GB tar.gz from TensorFlow's server, no top folder) into
    ``<root>/SpeechCommands``; resumable."""
    return _fetch_archive(url, root, "speech_commands_v0.02.tar.gz", "SpeechCommands", quiet, flat=True)
