"""Downloads of the public audio datasets (archives unpacked in place)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from ._base import data_root
from ._download import DownloadError, check_free_space, download, extract

__all__ = ["fetch_us8k", "fetch_esc50", "fetch_speech_commands", "fetch_mtt", "US8K_URL", "ESC50_URL",
           "SPEECH_COMMANDS_URL", "MTT_URL"]

US8K_URL = "https://zenodo.org/records/1203745/files/UrbanSound8K.tar.gz?download=1"
ESC50_URL = "https://github.com/karolpiczak/ESC-50/archive/refs/heads/master.zip"
SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
#: MagnaTagATune's files at City, University of London's music informatics group (``{name}``: a file name)
MTT_URL = "http://mi.soi.city.ac.uk/datasets/magnatagatune/{name}"
#: the mp3 archive comes in three parts, to be joined end to end
MTT_PARTS = ("mp3.zip.001", "mp3.zip.002", "mp3.zip.003")
#: the mp3 folders 0-f and the unpacked parts: about 3 GB each (the parts are deleted once unpacked)
_MTT_BYTES = 7 * 2**30


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


def fetch_mtt(root=None, *, url: str = MTT_URL, verify: bool = True, quiet: bool = False) -> Path:
    """MagnaTagATune into ``<root>/MagnaTagATune``: ``annotations_final.csv`` and ``mp3/0`` …
    ``mp3/f`` (about 3 GB). The three parts of ``mp3.zip`` are downloaded (each resumable),
    joined and unpacked; ``mp3/`` appears only once complete. The release publishes no
    checksums, so ``verify`` checks nothing here beyond the archive's own CRCs. An archive that
    Python's zipfile cannot read (a multi-disk zip) stops with the command that unpacks it, and
    the downloaded parts are kept."""
    base = data_root(root) / "MagnaTagATune"
    csv, mp3 = base / "annotations_final.csv", base / "mp3"
    if mp3.is_dir() and csv.exists():
        return base
    if not mp3.is_dir():
        check_free_space(base, _MTT_BYTES)
        parts = [download(url.format(name=name), base / name, quiet=quiet) for name in MTT_PARTS]
        joined, joining = base / "mp3.zip", base / "mp3.zip.joining"
        with open(joining, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        joining.replace(joined)
        try:
            zipfile.ZipFile(joined).close()
        except (zipfile.BadZipFile, OSError) as err:
            raise DownloadError(f"{joined} (the three parts joined) is not a zip Python can read ({err}). Unpack it "
                                f"with `zip -FF {joined} --out {base / 'mp3_fixed.zip'} && unzip -q "
                                f"{base / 'mp3_fixed.zip'} -d {mp3}`, then run this again for the annotations "
                                "(the parts are kept)") from err
        extract(joined, base, expect="mp3", quiet=quiet, flat=True)
        for path in (joined, *parts):
            path.unlink()
    download(url.format(name=csv.name), csv, quiet=quiet)
    return base
