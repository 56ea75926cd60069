"""UrbanSound8K, ESC-50 and MagnaTagATune loaders on files the test writes in the real layouts,
with varied sample rates, channel counts and formats; the cache; corrupt files; fetchers."""
import csv
import io
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest
import soundfile as sf

from wavenets.cli import main
from wavenets.data import (ESC50, AudioDecodeError, DownloadError, MagnaTagATune, UrbanSound8K, fetch_esc50, fetch_mtt,
                           fetch_us8k)
from wavenets.data import _audio_files, _fetch_audio

FORMATS = [  # (extension, soundfile format, subtype, rate, channels)
    ("wav", "WAV", "PCM_16", 44100, 2),
    ("wav", "WAV", "PCM_24", 48000, 1),
    ("flac", "FLAC", "PCM_16", 22050, 2),
    ("ogg", "OGG", "VORBIS", 16000, 1),
    ("aiff", "AIFF", "PCM_16", 11025, 1),
    ("wav", "WAV", "FLOAT", 96000, 2),
    ("wav", "WAV", "PCM_U8", 8000, 1),
]


def _tone(rate, channels, seconds, freq):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x] * channels, 1) if channels > 1 else x


def make_us8k(root, per_fold=2, seconds=(1.0, 4.5)):
    base = root / "UrbanSound8K"
    (base / "metadata").mkdir(parents=True)
    rows, k = [], 0
    for fold in range(1, 11):
        (base / "audio" / f"fold{fold}").mkdir(parents=True)
        for i in range(per_fold):
            ext, fmt, sub, rate, ch = FORMATS[k % len(FORMATS)]
            name = f"{100 + k}-{fold}-0-{i}.{ext}"
            sf.write(base / "audio" / f"fold{fold}" / name, _tone(rate, ch, seconds[k % 2], 200 + 10 * k), rate,
                     format=fmt, subtype=sub)
            cls = k % 10
            rows.append([name, 100 + k, 0.0, seconds[k % 2], 1, fold, cls, UrbanSound8K.CLASSES[cls]])
            k += 1
    with open(base / "metadata" / "UrbanSound8K.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"])
        w.writerows(rows)
    return base, rows


def make_esc50(root):
    base = root / "ESC-50-master"
    (base / "meta").mkdir(parents=True)
    (base / "audio").mkdir()
    rows = []
    for k in range(10):
        fold, target = k % 5 + 1, k % 3
        name = f"{fold}-{1000 + k}-A-{target}.wav"
        sf.write(base / "audio" / name, _tone(44100, 1, 5.0, 300 + k), 44100, subtype="PCM_16")
        rows.append([name, fold, target, f"cat{target}", False, 1000 + k, "A"])
    with open(base / "meta" / "esc50.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        w.writerows(rows)
    return base, rows


def test_us8k_folds_resampling_and_lengths(tmp_path):
    base, rows = make_us8k(tmp_path)
    test = UrbanSound8K("test", tmp_path, quiet=True)
    val = UrbanSound8K("val", tmp_path, quiet=True)
    train = UrbanSound8K("train", tmp_path, quiet=True)
    assert (len(train), len(val), len(test)) == (16, 2, 2)
    assert test.test_fold == 10 and val.val_fold == 1  # validation never looks at the test fold
    assert all("fold10" in str(f) for f in test.files) and all("fold1/" in str(f) for f in val.files)
    assert train.waves.shape == (16, 1, 88200) and train.waves.dtype == np.float32
    for i, path in enumerate(train.files):  # every format decoded, downmixed, resampled, centred
        row = next(r for r in rows if r[0] == path.name)
        assert train.labels[i] == row[6]
        wave = np.asarray(train.waves[i, 0])
        active = np.flatnonzero(np.abs(wave) > 1e-3)
        dur = (active[-1] - active[0]) / 22050
        assert abs(dur - min(row[3], 4.0)) < 0.01
        assert abs(active[0] + active[-1] - 88200) < 0.02 * 22050  # centred
        assert 0.25 < np.abs(wave).max() < 0.35
    cv = UrbanSound8K("test", tmp_path, test_fold=3, quiet=True)
    assert all("fold3" in str(f) for f in cv.files)
    with pytest.raises(ValueError, match="distinct folds"):
        UrbanSound8K("test", tmp_path, test_fold=3, val_fold=3)


def test_cache_is_built_once(tmp_path, monkeypatch):
    make_us8k(tmp_path)
    UrbanSound8K("val", tmp_path, quiet=True)

    def boom(*a, **k):
        raise AssertionError("decoded audio although the cache exists")

    monkeypatch.setattr(_audio_files, "load_audio", boom)
    again = UrbanSound8K("val", tmp_path, quiet=True)
    assert len(again) == 2
    caches = list((tmp_path / "UrbanSound8K" / "cache").iterdir())
    assert not [p for p in caches if "tmp" in p.name]


def test_corrupt_file_is_named_or_skipped(tmp_path, capsys):
    base, rows = make_us8k(tmp_path)
    bad = base / "audio" / "fold2" / rows[2][0]
    bad.write_bytes(b"RIFF....garbage")
    with pytest.raises(AudioDecodeError, match=rf"cannot decode .*{bad.name}.*skip_corrupt"):
        UrbanSound8K("train", tmp_path, quiet=True)
    assert not list((base / "cache").glob("train*.npy"))  # nothing half-written kept
    ds = UrbanSound8K("train", tmp_path, skip_corrupt=True)
    assert len(ds) == 15 and bad not in ds.files
    assert "leaves out 1 unreadable file(s) of 16" in capsys.readouterr().err


def test_the_cache_key_covers_options_and_file_contents(tmp_path, capsys):
    """Issue 13: a cache built with skip_corrupt was reused without it, and repairing a file did
    not rebuild it (the key hashed only the file list)."""
    base, rows = make_us8k(tmp_path)
    bad = base / "audio" / "fold2" / rows[2][0]
    good = bad.read_bytes()
    bad.write_bytes(b"RIFF....garbage")
    assert len(UrbanSound8K("train", tmp_path, skip_corrupt=True, quiet=True)) == 15
    assert "leaves out 1" in capsys.readouterr().err
    assert len(UrbanSound8K("train", tmp_path, skip_corrupt=True, quiet=True)) == 15  # reused: says so again
    assert "leaves out 1" in capsys.readouterr().err
    with pytest.raises(AudioDecodeError, match=bad.name):  # without the flag: not the skipping cache
        UrbanSound8K("train", tmp_path, quiet=True)
    bad.write_bytes(good)  # repaired: rebuilt with every file
    os.utime(bad, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    ds = UrbanSound8K("train", tmp_path, skip_corrupt=True, quiet=True)
    assert len(ds) == 16 and "leaves out" not in capsys.readouterr().err


def test_a_truncated_cache_or_manifest_is_rebuilt(tmp_path):
    make_us8k(tmp_path)
    ref = UrbanSound8K("val", tmp_path, quiet=True).waves.copy()
    cache_dir = tmp_path / "UrbanSound8K" / "cache"
    npy = next(cache_dir.glob("val*.npy"))
    npy.write_bytes(npy.read_bytes()[:200])
    np.testing.assert_array_equal(UrbanSound8K("val", tmp_path, quiet=True).waves, ref)
    manifest = npy.with_suffix(".json")
    manifest.write_text(manifest.read_text()[:10])
    np.testing.assert_array_equal(UrbanSound8K("val", tmp_path, quiet=True).waves, ref)


def test_esc50(tmp_path):
    make_esc50(tmp_path)
    test, val, train = (ESC50(s, tmp_path, quiet=True) for s in ("test", "val", "train"))
    assert (len(train), len(val), len(test)) == (6, 2, 2)
    assert test.test_fold == 5 and val.val_fold == 1
    assert train.waves.shape[-1] == 110250 and ESC50.num_classes == 50


def make_mtt(base):
    """MagnaTagATune's layout: mp3/<0-f>/<artist-track>.mp3 and the tab-separated
    annotations_final.csv (clip_id, 188 tag columns in the release, mp3_path); 4 clips, 60 tags."""
    tags = [f"tag{i}" for i in range(60)]
    lines = ["\t".join(["clip_id", *tags, "mp3_path"])]
    for k, folder in enumerate("0c1d"):
        (base / "mp3" / folder).mkdir(parents=True, exist_ok=True)
        rel = f"{folder}/artist-track-{k}.mp3"
        sf.write(base / "mp3" / rel, _tone(16000, 2, 3.0, 440), 16000, format="MP3")
        on = np.zeros(60, dtype=int)
        on[:50] = 1  # tags 0-49 on every clip, 50-59 on one clip each at most: top-50 is tag0..tag49
        on[50 + k] = 1
        lines.append("\t".join([str(k), *map(str, on), rel]))
    (base / "annotations_final.csv").write_text("\n".join(lines) + "\n")


def test_mtt_top_tags_and_folder_split(tmp_path):
    make_mtt(tmp_path / "MagnaTagATune")
    train, val, test = (MagnaTagATune(s, tmp_path, quiet=True) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (2, 1, 1)
    assert train.labels.shape == (2, 50) and train.multilabel and train.waves.shape[-1] == 59049
    assert train.tags == [f"tag{i}" for i in range(50)]
    assert train.labels.min() == 1
    assert test.class_names == train.tags  # the outputs' names: the tags, most frequent first


def test_outputs_are_named_as_the_metadata_names_them(tmp_path):
    """ESC-50 names its 50 targets in the category column (any split's rows name them all);
    UrbanSound8K's names are fixed (CLASSES)."""
    make_esc50(tmp_path)
    names = ESC50("test", tmp_path, quiet=True).class_names
    assert len(names) == 50 and names[:3] == ["cat0", "cat1", "cat2"] and names[3] == "class_3"  # (3 in the fixture)
    make_us8k(tmp_path)
    assert UrbanSound8K("test", tmp_path, quiet=True).class_names[:2] == ["air_conditioner", "car_horn"]


def _serve_archive(served, kind, builder):
    src = served / "src"
    base, _ = builder(src)
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as z:
            for p in sorted(base.rglob("*")):
                z.write(p, p.relative_to(src))
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            t.add(base, arcname=base.name)
    return buf.getvalue()


def test_fetch_esc50_and_us8k_from_local_server(http_folder, tmp_path):
    served, url, _ = http_folder
    (served / "ESC-50-master.zip").write_bytes(_serve_archive(served, "zip", make_esc50))
    (served / "UrbanSound8K.tar.gz").write_bytes(_serve_archive(served, "tar", make_us8k))
    root = tmp_path / "data"
    fetch_esc50(root, url=url + "/ESC-50-master.zip", quiet=True)
    fetch_us8k(root, url=url + "/UrbanSound8K.tar.gz", quiet=True)
    assert len(ESC50("train", root, quiet=True)) == 6
    assert len(UrbanSound8K("test", root, quiet=True)) == 2
    assert not list(root.glob("*.zip")) and not list(root.glob("*.tar.gz")) and not list(root.glob(".*unpacking"))
    assert main(["data", "info", "esc50", "--data-root", str(root)]) == 0


def test_fetch_mtt_joins_the_three_parts_and_unpacks_them(http_folder, tmp_path, monkeypatch):
    """The release: mp3.zip cut into mp3.zip.001-003 (folders 0-f at the top) and
    annotations_final.csv beside them."""
    monkeypatch.setattr(_fetch_audio, "_MTT_BYTES", 1 << 20)  # (the real 7 GiB need not be free here)
    served, url, log = http_folder
    src = served / "src"
    make_mtt(src)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted((src / "mp3").rglob("*.mp3")):
            z.write(p, p.relative_to(src / "mp3"))
    data = buf.getvalue()
    cut = [0, len(data) // 3, 2 * len(data) // 3, len(data)]
    for i in range(3):
        (served / f"mp3.zip.00{i + 1}").write_bytes(data[cut[i]:cut[i + 1]])
    (served / "annotations_final.csv").write_bytes((src / "annotations_final.csv").read_bytes())
    root = tmp_path / "data"
    assert main(["data", "fetch", "mtt", "--data-root", str(root), "--url", url + "/{name}"]) == 0
    train, test = MagnaTagATune("train", root, quiet=True), MagnaTagATune("test", root, quiet=True)
    assert (len(train), len(test)) == (2, 1) and train.tags == [f"tag{i}" for i in range(50)]
    assert sorted(p.name for p in (root / "MagnaTagATune").iterdir()) == ["annotations_final.csv", "cache", "mp3"]
    requests = len(log)
    fetch_mtt(root, url=url + "/{name}", quiet=True)  # all there: nothing is fetched again
    assert len(log) == requests


def test_fetch_mtt_keeps_the_parts_when_the_joined_archive_is_unreadable(http_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(_fetch_audio, "_MTT_BYTES", 1 << 20)
    served, url, _ = http_folder
    for i in range(3):
        (served / f"mp3.zip.00{i + 1}").write_bytes(b"not a zip " * 50)
    base = tmp_path / "data" / "MagnaTagATune"
    with pytest.raises(DownloadError, match=r"zip -FF .*mp3\.zip .*unzip -q"):
        fetch_mtt(tmp_path / "data", url=url + "/{name}", quiet=True)
    assert not (base / "mp3").exists() and all((base / f"mp3.zip.00{i}").exists() for i in (1, 2, 3))


def test_archive_escaping_its_folder_is_refused(http_folder, tmp_path):
    served, url, _ = http_folder
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ESC-50-master/meta/esc50.csv", "filename,fold\n")
        z.writestr("../evil.txt", "x")
    (served / "evil.zip").write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="outside"):
        fetch_esc50(tmp_path / "data", url=url + "/evil.zip", quiet=True)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "data" / "ESC-50-master").exists()


def test_missing_dataset_points_to_fetch(tmp_path):
    with pytest.raises(FileNotFoundError, match="wavenets data fetch us8k"):
        UrbanSound8K("train", tmp_path)


def test_options_a_dataset_does_not_take_are_refused(tmp_path):
    from wavenets.data import get_dataset

    with pytest.raises(ValueError, match="does not take option"):
        get_dataset("mtt", "train", tmp_path, test_fold=3)
    with pytest.raises(ValueError, match="takes no options"):
        get_dataset("digits", "train", tmp_path, sample_rate=8000)


def _rewrite_meta(base, original: str, edit):
    """The fixture's metadata (``original``) edited row-wise and written back."""
    rows = edit(list(csv.reader(io.StringIO(original, newline=""))))
    meta = base / "metadata" / "UrbanSound8K.csv"
    with open(meta, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def test_metadata_is_checked_before_any_audio_is_read(tmp_path, monkeypatch):
    """Issue 13: a class id out of range failed with an IndexError during training; an empty
    split with a misleading NaN message after an epoch."""
    base, _ = make_us8k(tmp_path)
    original = (base / "metadata" / "UrbanSound8K.csv").read_text()
    monkeypatch.setattr(_audio_files, "load_audio", lambda *a, **k: pytest.fail("decoded audio before the check"))
    _rewrite_meta(base, original, lambda rows: rows[:3] + [rows[3][:6] + ["10"] + rows[3][7:]] + rows[4:])
    with pytest.raises(ValueError, match=r"line 4: classID 10 is outside 0..9"):
        UrbanSound8K("train", tmp_path, quiet=True)
    _rewrite_meta(base, original, lambda rows: rows[:3] + [rows[3][:6] + ["dog"] + rows[3][7:]] + rows[4:])
    with pytest.raises(ValueError, match=r"line 4: fold and classID must be integers"):
        UrbanSound8K("train", tmp_path, quiet=True)
    _rewrite_meta(base, original, lambda rows: [rows[0]] + [r for r in rows[1:] if r[5] != "10"])
    with pytest.raises(ValueError, match=r"the test split \(test fold 10, validation fold 1\) has no clips"):
        UrbanSound8K("test", tmp_path, quiet=True)
    _rewrite_meta(base, original, lambda rows: [["name", "fold", "label"]] + [r[:3] for r in rows[1:]])
    with pytest.raises(ValueError, match="expected columns slice_file_name, fold, classID"):
        UrbanSound8K("test", tmp_path, quiet=True)


def _speech_commands_tar(speakers=("0a7c2a8d", "0b09edd3", "0c40e715")) -> bytes:
    """Speech Commands v0.02's tar.gz as TensorFlow serves it: no top folder; the 35 word folders
    of ``<speaker>_nohash_<n>.wav`` (16 kHz mono PCM_16, 1 s or shorter), ``_background_noise_``,
    the two split lists, LICENSE and README.md."""
    from wavenets.data import SpeechCommands

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for w, word in enumerate(SpeechCommands.CLASSES):
            for s, speaker in enumerate(speakers):
                wav = io.BytesIO()
                sf.write(wav, _tone(16000, 1, 0.25 + 0.25 * s, 100 + 20 * w), 16000, format="WAV",
                         subtype="PCM_16")
                add(f"./{word}/{speaker}_nohash_0.wav", wav.getvalue())
        noise = io.BytesIO()
        sf.write(noise, np.zeros(16000), 16000, format="WAV", subtype="PCM_16")
        add("./_background_noise_/white_noise.wav", noise.getvalue())
        words = SpeechCommands.CLASSES
        add("./validation_list.txt", "".join(f"{w}/{speakers[1]}_nohash_0.wav\n" for w in words).encode())
        add("./testing_list.txt", "".join(f"{w}/{speakers[2]}_nohash_0.wav\n" for w in words).encode())
        add("./LICENSE", b"CC-BY-4.0\n")
        add("./README.md", b"Speech Commands\n")
    return buf.getvalue()


def test_fetch_speech_commands_then_read_the_official_splits(http_folder, tmp_path, capsys):
    """The archive has no top folder: it is unpacked into <root>/SpeechCommands; the lists decide
    val and test, every other file trains; 16 kHz, 1 s; data.sample_rate / data.length apply."""
    from wavenets.data import SpeechCommands, fetch_speech_commands, get_dataset

    served, url, _ = http_folder
    (served / "speech_commands_v0.02.tar.gz").write_bytes(_speech_commands_tar())
    root = tmp_path / "data"
    folder = fetch_speech_commands(root, url=url + "/speech_commands_v0.02.tar.gz", quiet=True)
    assert folder == root / "SpeechCommands" and (folder / "yes" / "0a7c2a8d_nohash_0.wav").exists()
    assert not list(root.glob("*.tar.gz")) and not list(root.glob(".*unpacking"))
    assert fetch_speech_commands(root, url=url + "/gone.tar.gz", quiet=True) == folder  # there: nothing fetched
    splits = {s: SpeechCommands(s, root, quiet=True) for s in ("train", "val", "test")}
    assert [len(d) for d in splits.values()] == [35, 35, 35]  # one speaker per split
    for d in splits.values():
        assert d.labels.tolist() == list(range(35)) and d.waves.shape[1:] == (1, 16000)
    assert all(p.name.startswith("0c40e715") for p in splits["test"].files)
    assert splits["train"].num_classes == 35 and splits["train"].CLASSES[33] == "yes"
    short = get_dataset("speech_commands", "train", root, sample_rate=8000, length=8192, quiet=True)
    assert short.waves.shape == (35, 1, 8192) and short.sample_rate == 8000
    assert main(["data", "info", "speech_commands", "--data-root", str(root)]) == 0
    assert "35 classes" in capsys.readouterr().out
    # a sounds recipe trains on it at the embedded clips' format and is tested at tape speeds
    runs = tmp_path / "runs"
    assert main(["train", "sounds_mnet", "--data-root", str(root), "--runs-dir", str(runs), "-q",
                 "--set", "data.name=speech_commands", "--set", "data.sample_rate=8000", "--set", "data.length=8192",
                 "--set", "train.epochs=1", "--set", "eval.scales=[0.5, 1.0, 2.0]"]) == 0
    import json
    results = json.loads((runs / "sounds_mnet" / "results.json").read_text())
    assert set(results["test"]) == {"0.5", "1.0", "2.0"}

    (folder / "extra_word").mkdir()
    with pytest.raises(ValueError, match="extra: extra_word; missing: none"):
        SpeechCommands("train", root, quiet=True)
    with pytest.raises(FileNotFoundError, match="wavenets data fetch speech_commands"):
        SpeechCommands("train", tmp_path / "empty", quiet=True)


def test_sc09_reads_the_digits_of_speech_commands_and_trains_the_pyramid_recipe(http_folder, tmp_path, capsys):
    """``sc09`` is fetched as the whole corpus, reads only the ten digit folders with the label the
    digit, keeps caches apart from ``speech_commands``', and its recipes train and test at tape
    speeds."""
    import json

    from wavenets.data import SC09, SpeechCommands

    served, url, _ = http_folder
    (served / "speech_commands_v0.02.tar.gz").write_bytes(_speech_commands_tar())
    root = tmp_path / "data"
    assert main(["data", "fetch", "sc09", "--data-root", str(root), "--url", url + "/speech_commands_v0.02.tar.gz"]) == 0
    assert "sc09 ready in" in capsys.readouterr().out
    splits = {s: SC09(s, root, quiet=True) for s in ("train", "val", "test")}
    assert [len(d) for d in splits.values()] == [10, 10, 10] and SC09.num_classes == 10
    for d in splits.values():
        assert [f.parent.name for f in d.files] == list(SC09.CLASSES)  # label d is the digit d
        assert d.labels.tolist() == list(range(10))
    every = SpeechCommands("test", root, quiet=True)
    seven = every.files.index(root / "SpeechCommands" / "seven" / "0c40e715_nohash_0.wav")
    assert np.array_equal(splits["test"].waves[7], every.waves[seven])  # the same clip, the same decoding
    caches = sorted(p.name for p in (root / "SpeechCommands" / "cache").glob("*.npy"))
    assert "sc09_test_16000_16000.npy" in caches and "test_16000_16000.npy" in caches
    assert main(["data", "info", "sc09", "--data-root", str(root)]) == 0
    assert "10 classes" in capsys.readouterr().out

    runs = tmp_path / "runs"
    assert main(["train", "sc09_wnet_pyramid", "--data-root", str(root), "--runs-dir", str(runs), "-q",
                 "--set", "train.epochs=1", "--set", "eval.scales=[0.5, 1.0, 2.0]"]) == 0
    run = runs / "sc09_wnet_pyramid"
    assert set(json.loads((run / "results.json").read_text())["test"]) == {"0.5", "1.0", "2.0"}
    assert {"sample_rate": 16000, "length": 16384}.items() <= json.loads((run / "config.json").read_text())["data"].items()

    # a tree of the digits alone reads the same; one without a digit folder is refused, naming it
    for word in set(SpeechCommands.CLASSES) - set(SC09.CLASSES):
        shutil.rmtree(root / "SpeechCommands" / word)
    assert SC09("test", root, quiet=True).labels.tolist() == list(range(10))
    shutil.rmtree(root / "SpeechCommands" / "four")
    with pytest.raises(ValueError, match="ten digit folders .*; missing: four"):
        SC09("test", root, quiet=True)
