"""Audio datasets read from files: UrbanSound8K, ESC-50 and MagnaTagATune.

Decoding and resampling happen once: the first use of a split builds a memory-mapped cache
``<root>/<dataset>/cache/<key>.npy`` (float32 ``[N, 1, T]``) behind a progress bar, written to a
temporary file and renamed when complete; epochs then read the cache and never decode audio.
A file that cannot be decoded raises :class:`AudioDecodeError` naming it, or, with
``skip_corrupt=True``, is left out and counted (the count is logged and kept in the cache's
manifest).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from .._extras import need
from .._io import write_json
from ._audio import AudioDataset, fit_length
from ._base import check_split, data_root

__all__ = ["load_audio", "AudioDecodeError", "UrbanSound8K", "ESC50", "MagnaTagATune", "build_cache"]


class AudioDecodeError(RuntimeError):
    """An audio file is missing, unreadable or corrupt; the message names it."""


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Decode ``path`` (any format libsndfile reads: WAV, FLAC, OGG, MP3, AIFF …), downmix to
    mono and resample to ``sample_rate`` (soxr, high quality). Returns float32 ``[T]``."""
    sf = need("soundfile", "audio", "reading audio files")
    soxr = need("soxr", "audio", "resampling audio")

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001 - libsndfile raises several types
        raise AudioDecodeError(f"cannot decode {path}: {err}") from err
    if data.size == 0:
        raise AudioDecodeError(f"{path} holds no samples")
    mono = data.mean(1)
    if not np.all(np.isfinite(mono)):
        raise AudioDecodeError(f"{path} contains NaN or infinite samples")
    if sr != sample_rate:
        mono = soxr.resample(mono, sr, sample_rate, quality="HQ")
    return mono.astype(np.float32)


def build_cache(files: list[Path], cache: Path, *, sample_rate: int, length: int, skip_corrupt: bool = False,
                quiet: bool = False) -> tuple[np.ndarray, list[int]]:
    """Memory-mapped ``[N_ok, 1, length]`` array of the decoded files and the indices kept.

    Reuses ``cache`` only when its manifest's key matches: the key covers every file's path,
    size and modification time, the rate, the length, ``skip_corrupt`` and the preprocessing
    version, so repairing, replacing or adding a file, or changing an option, rebuilds it. A
    truncated cache or manifest is rebuilt too. A cache that left files out says so every time
    it is used.
    """
    tqdm = need("tqdm.auto", "train", "building the audio cache").tqdm

    key = _cache_key(files, sample_rate=sample_rate, length=length, skip_corrupt=skip_corrupt)
    manifest = cache.with_suffix(".json")
    if cache.exists() and manifest.exists():
        try:
            meta = json.loads(manifest.read_text())
            if meta.get("key") == key:
                data = np.load(cache, mmap_mode="r")
                if data.shape == (len(meta["kept"]), 1, length):
                    _say_skipped(meta.get("skipped", []), len(files), manifest, quiet)
                    return data, meta["kept"]
        except (ValueError, OSError, KeyError, TypeError, AttributeError):
            pass  # a truncated or foreign cache: rebuilt below
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + f".tmp{os.getpid()}.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(files), 1, length))
    kept, skipped = [], []
    try:
        for i, path in enumerate(tqdm(files, desc=f"caching {cache.stem}", unit="file", disable=quiet or None)):
            try:
                wave = load_audio(path, sample_rate)
            except AudioDecodeError as err:
                if not skip_corrupt:
                    raise AudioDecodeError(f"{err}; fix or remove the file, or pass data.skip_corrupt=true to "
                                           "leave it out") from err
                skipped.append(str(path))
                continue
            out[len(kept), 0] = fit_length(torch.from_numpy(wave), length).numpy()
            kept.append(i)
        out.flush()
        del out
        if len(kept) < len(files):  # shrink to the kept rows, again through a temporary file
            small = cache.with_name(cache.stem + f".small{os.getpid()}.npy")
            np.save(small, np.ascontiguousarray(np.load(tmp, mmap_mode="r")[: len(kept)]))
            os.replace(small, cache)
        else:
            os.replace(tmp, cache)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(manifest, {"key": key, "sample_rate": sample_rate, "length": length, "skip_corrupt": skip_corrupt,
                          "kept": kept, "skipped": skipped}, indent=1)
    _say_skipped(skipped, len(files), manifest, quiet)
    return np.load(cache, mmap_mode="r"), kept


CACHE_VERSION = 2  # bump when decoding or preprocessing changes (mono mix, soxr HQ, fit_length)


def _cache_key(files: list[Path], **options) -> str:
    h = hashlib.sha1(json.dumps({"version": CACHE_VERSION, **options}, sort_keys=True).encode())
    for path in files:
        try:
            st = os.stat(path)
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{path}\0missing\n".encode())
    return h.hexdigest()[:16]


def _say_skipped(skipped: list[str], total: int, manifest: Path, quiet: bool) -> None:
    """Said even when quiet: a run on fewer files than the data set holds must not look complete."""
    if skipped:
        print(f"note: this data set leaves out {len(skipped)} unreadable file(s) of {total} (data.skip_corrupt = "
              f"true; listed in {manifest})", file=sys.stderr)


def _read_csv(path: Path, delimiter: str = ",") -> list[dict]:
    if not path.exists():
        raise FileNotFoundError(path)
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _fold_split(split: str, fold: int, test_fold: int, val_fold: int) -> bool:
    if split == "test":
        return fold == test_fold
    if split == "val":
        return fold == val_fold
    return fold not in (test_fold, val_fold)


class _FoldDataset(AudioDataset):
    """Shared by the datasets with predefined folds: test fold, validation fold (never the
    test fold), the other folds train."""

    folder = ""
    csv_path = ""
    num_folds = 10
    file_column, fold_column, label_column = "", "", ""
    #: the metadata column that names a class (the outputs' names, when the class has no CLASSES)
    name_column = ""
    default_rate, default_seconds = 22050, 4.0

    @classmethod
    def clip_format(cls, sample_rate: int | None = None, length: int | None = None) -> tuple[int, int]:
        rate = sample_rate or cls.default_rate
        return rate, length or int(round(cls.default_seconds * rate))

    def __init__(self, split: str = "train", root=None, *, test_fold: int | None = None, val_fold: int | None = None,
                 sample_rate: int | None = None, length: int | None = None, skip_corrupt: bool = False,
                 quiet: bool = False):
        check_split(split)
        test_fold = test_fold or self.num_folds
        val_fold = val_fold or (test_fold % self.num_folds) + 1
        if val_fold == test_fold or not (1 <= test_fold <= self.num_folds and 1 <= val_fold <= self.num_folds):
            raise ValueError(f"need distinct folds in 1..{self.num_folds}; got test {test_fold}, val {val_fold}")
        self.sample_rate, length = self.clip_format(sample_rate, length)
        base = data_root(root) / self.folder
        meta = base / self.csv_path
        if not meta.exists():
            raise FileNotFoundError(f"{meta} not found; run `wavenets data fetch {self.name}`, or point --data-root "
                                    f"(or $WAVENETS_DATA) at the folder that holds {self.folder}/")
        rows = self._rows(meta, split, test_fold, val_fold)
        files = [self._path(base, r) for r in rows]
        cache = base / "cache" / f"{split}_t{test_fold}_v{val_fold}_{self.sample_rate}_{length}.npy"
        waves, kept = build_cache(files, cache, sample_rate=self.sample_rate, length=length,
                                  skip_corrupt=skip_corrupt, quiet=quiet)
        labels = np.array([int(rows[i][self.label_column]) for i in kept], dtype=np.int64)
        self.files = [files[i] for i in kept]
        self.test_fold, self.val_fold = test_fold, val_fold
        super().__init__(waves, labels)

    @property
    def class_names(self) -> list[str]:
        if getattr(self, "CLASSES", None) or not self._names:
            return super().class_names
        return [self._names.get(i, f"class_{i}") for i in range(self.num_classes)]

    def _rows(self, meta: Path, split: str, test_fold: int, val_fold: int) -> list[dict]:
        """The metadata rows of ``split``, checked before any audio is read: the columns exist,
        folds and class ids are integers, class ids in ``0 … num_classes − 1``, the split not empty."""
        all_rows = _read_csv(meta)
        self._names: dict[int, str] = {}
        need = [self.file_column, self.fold_column, self.label_column]
        if all_rows and any(c not in all_rows[0] for c in need):
            raise ValueError(f"{meta}: expected columns {', '.join(need)}; found {', '.join(all_rows[0])}")
        rows = []
        for line, r in enumerate(all_rows, 2):
            try:
                fold, label = int(r[self.fold_column]), int(r[self.label_column])
            except (TypeError, ValueError):
                raise ValueError(f"{meta} line {line}: {self.fold_column} and {self.label_column} must be integers, "
                                 f"got {r[self.fold_column]!r} and {r[self.label_column]!r}") from None
            if not 0 <= label < self.num_classes:
                raise ValueError(f"{meta} line {line}: {self.label_column} {label} is outside 0..{self.num_classes - 1} "
                                 f"({r[self.file_column]}); the file is not the {self.name} metadata, or is damaged")
            if r.get(self.name_column):
                self._names.setdefault(label, r[self.name_column])
            if _fold_split(split, fold, test_fold, val_fold):
                rows.append(r)
        if not rows:
            raise ValueError(f"{meta}: the {split} split (test fold {test_fold}, validation fold {val_fold}) has no "
                             f"clips; check the fold column, or pick other folds with data.test_fold / data.val_fold")
        return rows

    def _path(self, base: Path, row: dict) -> Path:
        raise NotImplementedError


class UrbanSound8K(_FoldDataset):
    """UrbanSound8K (Salamon et al. 2014): 8,732 urban sound clips ≤ 4 s, 10 classes, 10 folds.

    Layout ``<root>/UrbanSound8K/metadata/UrbanSound8K.csv`` (slice_file_name, fsID, start, end,
    salience, fold, classID, class) and ``audio/fold<k>/<slice_file_name>``. Clips are downmixed,
    resampled to 22,050 Hz and centre-padded/cropped to 88,200 samples (4 s). Use the predefined
    folds: ``test_fold`` k (default 10), ``val_fold`` (default k+1, never the test fold).
    Download: ``wavenets data fetch us8k`` (Zenodo record 1203745, 6 GB).
    """

    name = "us8k"
    folder, csv_path = "UrbanSound8K", "metadata/UrbanSound8K.csv"
    num_folds, num_classes = 10, 10
    file_column, fold_column, label_column = "slice_file_name", "fold", "classID"
    CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling", "gun_shot",
               "jackhammer", "siren", "street_music")

    def _path(self, base, row):
        return base / "audio" / f"fold{row['fold']}" / row["slice_file_name"]


class ESC50(_FoldDataset):
    """ESC-50 (Piczak 2015): 2,000 environmental sound clips of 5 s, 50 classes, 5 folds.

    Layout ``<root>/ESC-50-master/meta/esc50.csv`` (filename, fold, target, category, esc10,
    src_file, take) and ``audio/<filename>`` (44.1 kHz mono WAV). Resampled to 22,050 Hz,
    110,250 samples. ``test_fold`` default 5. Download: ``wavenets data fetch esc50`` (GitHub
    archive, 600 MB).
    """

    name = "esc50"
    folder, csv_path = "ESC-50-master", "meta/esc50.csv"
    num_folds, num_classes = 5, 50
    file_column, fold_column, label_column = "filename", "fold", "target"
    default_seconds = 5.0
    name_column = "category"

    def _path(self, base, row):
        return base / "audio" / row["filename"]


class MagnaTagATune(AudioDataset):
    """MagnaTagATune (Law et al. 2009): 25,863 clips of ~29 s, multi-label, the 50 most frequent
    of 188 tags. Layout ``<root>/MagnaTagATune/annotations_final.csv`` (tab-separated: clip_id,
    188 tag columns, mp3_path) and ``mp3/<0-f>/<file>.mp3``. Standard split by folder: 0–b train,
    c validation, d–f test. Each clip is resampled to 22,050 Hz and its central 59,049 samples
    (SampleCNN's input) are cached. Download: ``wavenets data fetch mtt`` (about 3 GB).
    """

    name = "mtt"
    multilabel = True
    num_classes = 50
    SPLIT_FOLDERS = {"train": "0123456789ab", "val": "c", "test": "def"}
    sample_rate, LENGTH = 22050, 59049

    def __init__(self, split: str = "train", root=None, *, sample_rate: int | None = None, length: int | None = None,
                 skip_corrupt: bool = False, quiet: bool = False):
        check_split(split)
        self.sample_rate, length = self.clip_format(sample_rate, length)
        base = data_root(root) / "MagnaTagATune"
        rows = _read_csv(base / "annotations_final.csv", delimiter="\t") if (base / "annotations_final.csv").exists() \
            else None
        if rows is None:
            raise FileNotFoundError(f"{base / 'annotations_final.csv'} not found; run `wavenets data fetch mtt`, or "
                                    "point --data-root (or $WAVENETS_DATA) at the folder that holds MagnaTagATune/")
        tags = [c for c in rows[0] if c not in ("clip_id", "mp3_path")]
        counts = {t: sum(int(r[t]) for r in rows) for t in tags}
        self.tags = sorted(tags, key=lambda t: (-counts[t], tags.index(t)))[: self.num_classes]
        mine = [r for r in rows if r["mp3_path"] and r["mp3_path"][0] in self.SPLIT_FOLDERS[split]]
        files = [base / "mp3" / r["mp3_path"] for r in mine]
        cache = base / "cache" / f"{split}_{self.sample_rate}_{length}.npy"
        waves, kept = build_cache(files, cache, sample_rate=self.sample_rate, length=length,
                                  skip_corrupt=skip_corrupt, quiet=quiet)
        labels = np.array([[int(mine[i][t]) for t in self.tags] for i in kept], dtype=np.float32)
        self.files = [files[i] for i in kept]
        super().__init__(waves, labels.reshape(len(kept), self.num_classes))

    @property
    def class_names(self) -> list[str]:
        """The 50 tags, most frequent first (the outputs' order)."""
        return list(self.tags)


class SpeechCommands(AudioDataset):
    """Speech Commands v0.02 (Warden 2018): 105,829 one-second spoken words, 35 words, 2,618 speakers.

    Layout ``<root>/SpeechCommands/<word>/<speaker>_nohash_<n>.wav`` (16 kHz mono PCM), with
    ``validation_list.txt`` and ``testing_list.txt`` (paths relative to that folder) naming the
    val and test files; every other file of a word folder trains. The lists keep each speaker in
    one split. ``_background_noise_`` is not a word. Clips are 16,000 samples at 16 kHz (1 s),
    centre-padded when shorter. Classes: the 35 words in sorted order (``CLASSES``). Download:
    ``wavenets data fetch speech_commands`` (TensorFlow's server, 2.3 GB).
    """

    name = "speech_commands"
    folder = "SpeechCommands"
    CLASSES = ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
               "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
               "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero")
    num_classes = len(CLASSES)
    sample_rate, LENGTH = 16000, 16000
    LISTS = {"val": "validation_list.txt", "test": "testing_list.txt"}
    cache_prefix = ""  # cache files: <folder>/cache/<prefix><split>_<rate>_<length>.npy

    @classmethod
    def listed_splits(cls, base: Path) -> dict[str, str]:
        """``{"<word>/<file>.wav": "val" | "test"}`` from whichever of the split lists ``base``
        holds; a file they do not name trains."""
        return {line.strip(): split for split, name in cls.LISTS.items() if (base / name).exists()
                for line in (base / name).read_text().splitlines() if line.strip()}

    def __init__(self, split: str = "train", root=None, *, sample_rate: int | None = None, length: int | None = None,
                 skip_corrupt: bool = False, quiet: bool = False):
        check_split(split)
        self.sample_rate, length = self.clip_format(sample_rate, length)
        base = data_root(root) / self.folder
        missing = [name for name in self.LISTS.values() if not (base / name).exists()]
        if not base.is_dir() or missing:
            raise FileNotFoundError(f"{base / (missing[0] if missing else '')} not found; run `wavenets data fetch "
                                    f"{self.name}`, or point --data-root (or $WAVENETS_DATA) at the folder that holds "
                                    f"{self.folder}/")
        words = sorted(d.name for d in base.iterdir()  # cache/ is this loader's own
                       if d.is_dir() and not d.name.startswith(("_", ".")) and d.name != "cache")
        self._check_words(base, words)
        listed = self.listed_splits(base)
        files, labels = [], []
        for label, word in enumerate(self.CLASSES):
            for path in sorted((base / word).glob("*.wav")):
                if listed.get(f"{word}/{path.name}", "train") == split:
                    files.append(path)
                    labels.append(label)
        if not files:
            raise ValueError(f"{base}: the {split} split has no clips; check {', '.join(self.LISTS.values())}")
        cache = base / "cache" / f"{self.cache_prefix}{split}_{self.sample_rate}_{length}.npy"
        waves, kept = build_cache(files, cache, sample_rate=self.sample_rate, length=length,
                                  skip_corrupt=skip_corrupt, quiet=quiet)
        self.files = [files[i] for i in kept]
        super().__init__(waves, np.array([labels[i] for i in kept], dtype=np.int64))

    def _check_words(self, base: Path, words: list[str]) -> None:
        """Refuse a folder whose word folders are not exactly the 35 of v0.02."""
        if tuple(words) != self.CLASSES:
            extra, absent = sorted(set(words) - set(self.CLASSES)), sorted(set(self.CLASSES) - set(words))
            raise ValueError(f"{base} should hold the 35 word folders of Speech Commands v0.02; extra: "
                             f"{', '.join(extra) or 'none'}; missing: {', '.join(absent) or 'none'}. Fetch it again "
                             f"(`wavenets data fetch {self.name}`) or point data_root elsewhere")


class SC09(SpeechCommands):
    """SC09: the ten spoken digits of Speech Commands v0.02 ("zero" … "nine"; Donahue et al. 2019), ~38,900 clips.

    The same folder, split lists and clip format as ``speech_commands`` (16 kHz, 1 s), reading only
    the ten digit folders; the label is the digit (``CLASSES[d]`` says ``d``). A tree holding more
    word folders (the full corpus) or only the digits reads the same. Download: ``wavenets data
    fetch sc09`` (the whole corpus, 2.3 GB, into ``<root>/SpeechCommands``).
    """

    name = "sc09"
    CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    num_classes = len(CLASSES)
    cache_prefix = "sc09_"

    def _check_words(self, base: Path, words: list[str]) -> None:
        """Refuse a folder that lacks one of the ten digit folders; other words are ignored."""
        absent = [w for w in self.CLASSES if w not in words]
        if absent:
            raise ValueError(f"{base} should hold the ten digit folders of Speech Commands (zero … nine); missing: "
                             f"{', '.join(absent)}. Fetch it again (`wavenets data fetch {self.name}`) or point "
                             "data_root elsewhere")
