"""The benchmark suite's quick mode runs every section and writes its reports (no timing asserts)."""
import json
from pathlib import Path

import pytest
import torch

from benchmarks import peers
from benchmarks.__main__ import main


def test_quick_benchmark_writes_json_and_markdown(tmp_path):
    assert main(["--quick", "--device", "cpu", "--out", str(tmp_path)]) == 0
    md = (tmp_path / "benchmarks.md").read_text()
    layers = json.loads((tmp_path / "layers.json").read_text())
    assert layers["meta"]["quick"] is True and "--quick" in layers["meta"]["command"]
    assert {"train_ratio", "eval_ratio", "train_plain_ms", "train_group_ms"} <= set(layers["rows"][0])
    assert "| C8 |" in md
    wnet = json.loads((tmp_path / "wnet.json").read_text())["rows"]
    assert [r["arch"] for r in wnet] == ["m5"]
    m5 = next(r for r in wnet if r["arch"] == "m5")
    assert m5["wnet_mr_params"] == m5["wnet_params"]  # the multirate mode has the reference's parameters
    assert m5["wnet_saved_mib"] > m5["wnet_mr_saved_mib"] > 0  # and saves less for backward
    pyr = json.loads((tmp_path / "pyramid.json").read_text())["rows"][0]
    assert pyr["arch"] == "m5" and pyr["pyramid_params"] == m5["wnet_params"]  # the published W-Net's parameters
    assert pyr["train_ratio"] > 0 and pyr["infer_ratio"] > 0 and pyr["mem_ratio"] > 0
    pyr2 = json.loads((tmp_path / "pyramid2d.json").read_text())["rows"]
    assert [r["slots"] for r in pyr2] == [1, 2, 4] and all(r["ratio"] > 0 for r in pyr2)
    nets = json.loads((tmp_path / "patchnets.json").read_text())["rows"]
    assert nets[0]["ratio"] == 1.0 and len({r["params"] for r in nets}) == 1  # one parameter budget for all
    fast = json.loads((tmp_path / "fastpaths.json").read_text())["rows"]
    assert [r["setting"] for r in fast] == ["float32", "channels_last", "bf16 autocast", "eval cache off"]
    rec = json.loads((tmp_path / "recipes.json").read_text())["rows"]
    assert rec[0]["recipe"] == "digits_se2_n8" and rec[0]["train_items_s"] > 0
    det = json.loads((tmp_path / "determinism.json").read_text())["rows"]
    assert det[0]["recipe"] == "digits_se2_n8" and det[0]["ratio"] > 0
    from benchmarks import export
    if export.available():
        rows = json.loads((tmp_path / "export.json").read_text())["rows"]
        assert [r["model"] for r in rows] == ["SE(2) C8 tissue", "W-Net pyramid vote"]
        assert all(r["max_abs_error"] <= 1e-4 and r["onnx_ratio"] > 0 for r in rows)
    import torch
    assert not torch.are_deterministic_algorithms_enabled()  # the section leaves the global flag as it found it
    for title in ("Wavelet Networks vs M-Nets", "Pyramid-layout W-Nets", "2D pyramid layers", "Whole-recipe throughput", "Fast paths",
                  "Scale G-CNNs for images", "What train.deterministic costs",
                  "Peer: e2cnn"):
        assert title in md


@pytest.mark.skipif(not peers.available(), reason="e2cnn not installed (optional peer)")
def test_e2cnn_peer_rows(tmp_path):
    assert main(["--quick", "--only", "peers", "--device", "cpu", "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "peers.json").read_text())["rows"][0]
    assert row["train_e2cnn_ms"] > 0 and row["eval_wavenets_ratio"] > 0


def test_unknown_section_is_named(tmp_path):
    with pytest.raises(SystemExit, match="unknown section.*bogus"):
        main(["--quick", "--only", "layers,bogus", "--out", str(tmp_path)])


def test_warm_heap_reruns_the_suite_with_the_malloc_thresholds(tmp_path):
    """--warm-heap restarts the suite with glibc's thresholds set, and the report says which heap
    it ran with; a run already in that environment goes on as it is."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from benchmarks._timing import WARM_HEAP_ENV, warm_heap_env

    env = warm_heap_env({"PATH": "/bin"})
    assert env == {"PATH": "/bin", **WARM_HEAP_ENV} and warm_heap_env(env) is None
    root = Path(__file__).resolve().parents[1]
    clean = {k: v for k, v in os.environ.items() if k not in WARM_HEAP_ENV}
    subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "determinism", "--warm-heap", "--out",
                    str(tmp_path)], cwd=root, env=clean, check=True, capture_output=True)
    meta = json.loads((tmp_path / "determinism.json").read_text())["meta"]
    assert meta["heap"] == "warm" and "--warm-heap" in meta["command"]
    assert "warm heap" in (tmp_path / "benchmarks.md").read_text()
    assert main(["--quick", "--only", "determinism", "--out", str(tmp_path / "default")]) == 0
    assert json.loads((tmp_path / "default" / "determinism.json").read_text())["meta"]["heap"] == (
        "warm" if warm_heap_env(os.environ) is None else "default")
    # the per-module packing benchmark restarts the same way and says which heap it timed
    done = subprocess.run([sys.executable, "-m", "benchmarks.pack_levels", "--archs", "m5", "--reps", "1", "--length",
                           "4096", "--warm-heap"], cwd=root, env=clean, check=True, capture_output=True, text=True)
    assert "warm heap" in done.stdout.splitlines()[0] and "| m5 | mnet |" in done.stdout


def test_wavenets_bench_passes_its_arguments_on(tmp_path):
    from wavenets.cli import main as cli

    assert cli(["bench", "--quick", "--only", "recipes", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "recipes.json").read_text())["meta"]["quick"] is True


def test_mnet_step_prints_the_wnet_table(capsys):
    from benchmarks import mnet_step

    assert mnet_step.main(["--device", "cpu", "--archs", "m3", "--batch", "1", "--length", "4096", "--reps", "1"]) == 0
    out = capsys.readouterr().out
    assert "device: cpu" in out and "| m3 | 1 × 4096 |" in out


def test_profile_step_names_the_ops_and_counts_the_calls(capsys):
    from benchmarks.profile_step import main as profile

    # top 40: which ops lead by self time depends on the machine's load (a CI run beside other work put
    # three non-convolution ops first); the convolutions are always among the first 40
    assert profile(["--arch", "m5", "--batch", "1", "--length", "4096", "--top", "40", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.count("operator calls") == 3 and "pyramid_s1" in out and "convolution" in out


def test_profile_step_without_packing_makes_more_calls(capsys):
    from benchmarks.profile_step import main as profile

    calls = []
    for below in ("1024", "0"):
        assert profile(["--arch", "m5", "--batch", "1", "--length", "8192", "--top", "1", "--device", "cpu",
                        "--pack-below", below]) == 0
        out = capsys.readouterr().out
        calls.append([int(line.split(",")[1].split()[0]) for line in out.splitlines() if "operator calls" in line])
    assert calls[0][0] == calls[1][0]  # the M-Net has no levels
    assert calls[0][1] < calls[1][1] and calls[0][2] < calls[1][2]  # pyramids: fewer calls when packed


def test_profile_step_counts_compute_operators(capsys):
    """--ops: compute operators per training step, forward and backward, views left out; the M-Net
    issues one batch norm, one ReLU and one convolution per layer, forward and backward, the
    pyramid more, and counts that do not depend on the batch."""
    from benchmarks.profile_step import main as profile

    totals = []
    for batch in ("1", "2"):
        assert profile(["--arch", "m5", "--batch", batch, "--length", "4096", "--top", "3", "--device", "cpu", "--ops"]) == 0
        out = capsys.readouterr().out
        totals.append([int(line.split("= ")[1].split()[0]) for line in out.splitlines() if "compute operators" in line])
    assert totals[0] == totals[1] and len(totals[0]) == 3
    mnet, pyramid, _ = totals[0]
    assert 0 < mnet < pyramid
    assert "convolution" in out and "view" not in out


def test_pack_levels_times_packed_kept_and_per_level(capsys):
    import wavenets.nn._pack as pack
    from benchmarks import pack_levels

    rows = pack_levels.bench("m5", torch.device("cpu"), reps=1, length=4096)
    assert [r["model"] for r in rows] == ["mnet", "pyramid, packed", "pyramid, kept packed", "pyramid, per level",
                                          "pyramid_s1, packed", "pyramid_s1, kept packed", "pyramid_s1, per level"]
    assert rows[0]["train_ratio"] == 1.0 and all(r["infer_ms"] > 0 for r in rows)
    assert [r["model"] for r in rows if r["train_ms"] is None] == ["pyramid, kept packed", "pyramid_s1, kept packed"]
    assert pack.PACK_BELOW == 1024 and pack.KEEP_PACKED  # restored


def test_cpu_paths_times_both_paths_and_restores_them(capsys):
    from wavenets.nn import _blur, _maxpool
    from benchmarks import cpu_paths

    assert cpu_paths.main(["--reps", "1", "--recipes", "sounds_mnet,digits_cnn"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "ms" not in line]
    assert len(rows) == 2 * len(cpu_paths.SHAPES) + len(cpu_paths.POOLS) + len(cpu_paths.IMAGE_POOLS) + 3
    assert rows[-3].startswith("| sounds_mnet training step") and rows[-2].startswith("| sounds_mnet inference")
    assert rows[-1].startswith("| digits_cnn inference")
    assert all(float(r.split("|")[-2]) > 0 for r in rows)
    assert _blur.POLYPHASE_FROM == 64 and _maxpool.FAST_POOLS  # restored


def test_data_pipeline_reads_a_pcam_format_fixture(capsys):
    from benchmarks import data_pipeline

    assert data_pipeline.main(["--patches", "96", "--steps", "2", "--workers", "0,1", "--recipe", "pcam_cnn_aug"]) == 0
    out = capsys.readouterr().out
    assert "PCam-format fixture: 96 training patches" in out
    assert "| 0 |" in out and "| 1 |" in out and "fed / compute" in out


def test_noise_floor_check_trains_then_tables_speeds_and_floors(tmp_path, capsys):
    from benchmarks import noise_floor

    args = ["--recipes", "sounds_wnet_pyramid_vote", "--seeds", "0", "--snr", "40", "--epochs", "1",
            "--runs-dir", str(tmp_path), "--set", "model.vote=confidence"]
    assert noise_floor.main(args) == 0
    out = capsys.readouterr().out
    assert "| sounds_wnet_pyramid_vote | none |" in out and "| sounds_wnet_pyramid_vote | 40 dB |" in out
    run = tmp_path / noise_floor.run_name("sounds_wnet_pyramid_vote", 0, 1, ["model.vote=confidence"])
    assert "int16 -50 dBFS" in out and (run / "best.pt").exists()
    # a clean x2 slow-down leaves the top octave empty on every clip; a 40 dB floor fills it
    assert any(line.startswith("| sounds_wnet_pyramid_vote | 1.00 | 0.00 |") for line in out.splitlines())
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["vote"] == "confidence"  # --set reached the run
    # runs with other overrides or epochs are never taken for this one
    names = {noise_floor.run_name("r", 0), noise_floor.run_name("r", 0, 1), noise_floor.run_name("r", 1),
             noise_floor.run_name("r", 0, None, ["a=1"]), noise_floor.run_name("r", 0, None, ["a=2"]),
             noise_floor.run_name("r", 0, None, ["a=1", "b=1"])}
    assert len(names) == 6 and noise_floor.run_name("r", 0) == "r_s0"
    assert noise_floor.run_name("r", 0, None, ["a=1", "b=1"]) == noise_floor.run_name("r", 0, None, ["b=1", "a=1"])


def test_real_speech_check_reads_speaker_folders_and_tables_tape_speeds(tmp_path, capsys):
    """ktuberling-data's layout: one folder per voice of 44.1 kHz Ogg Vorbis clips (stereo and mono)."""
    import numpy as np
    import soundfile as sf

    from benchmarks import noise_floor, real_speech

    rng = np.random.default_rng(0)
    root = tmp_path / "sounds"
    for k, (voice, pitch) in enumerate((("ca", 120.0), ("da", 210.0), ("en", 330.0))):
        (root / voice).mkdir(parents=True)
        for i in range(5):
            t = np.arange(int(44100 * (0.6 + 0.3 * i))) / 44100  # shorter and longer than the 1 s clip
            wave = 0.3 * np.sin(2 * np.pi * pitch * (1 + 0.02 * i) * t) + 0.01 * rng.standard_normal(len(t))
            sf.write(root / voice / f"word{i}.ogg", np.stack([wave, wave], 1) if k == 0 else wave, 44100,
                     format="OGG", subtype="VORBIS")
    (root / "el").mkdir()  # too few clips: left out
    sf.write(root / "el" / "word0.ogg", np.zeros(4410), 44100, format="OGG", subtype="VORBIS")
    runs = tmp_path / "runs"
    args = ["--root", str(root), "--min-clips", "5", "--recipes", "sounds_mnet", "--seeds", "0",
            "--runs-dir", str(runs), "--set", "train.epochs=1", "--set", "eval.scales=[0.5, 1.0, 2.0]", "--whole"]
    assert real_speech.main(args) == 0
    out = capsys.readouterr().out
    assert "speakers: ca, da, en" in out and "3 speakers, 1 seeds" in out
    assert out.count("| recipe | ×0.5 | ×1 | ×2 | mean | s / run |") == 2 and "at its new length" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| sounds_mnet | ")]
    assert len(rows) == 3  # the progress line, the table, the whole-clip table
    assert rows[2][2] == rows[1][2]  # at x1 the whole clip is the clip
    data = np.load(runs / "speech.npz")
    assert data["train_waves"].shape == (9, 1, 8192) and data["test_waves"].shape == (3, 1, 8192)
    assert sorted(data["train_labels"].tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert np.abs(data["test_waves"]).max() == np.float32(0.5)  # peak-normalised
    # a speaker's training clips come in the order its seeded shuffle drew them (as caches built
    # before the word task was added have them)
    from wavenets.data import fit_length, load_audio

    drawn = np.random.default_rng(0).permutation(5)[:3]  # "ca", the first speaker, draws first
    clips = [fit_length(torch.from_numpy(load_audio(root / "ca" / f"word{i}.ogg", 8000)), 8192).numpy() for i in drawn]
    assert np.array_equal(data["train_waves"][:3, 0], [c / np.abs(c).max() * np.float32(0.5) for c in clips])
    extra = ["data.name=speech_folder", "train.epochs=1", "eval.scales=[0.5, 1.0, 2.0]"]
    assert (runs / noise_floor.run_name("sounds_mnet", 0, None, extra) / "results.json").exists()

    with pytest.raises(SystemExit, match="at least 2 speaker folders with >= 6"):
        real_speech.main(["--root", str(root), "--min-clips", "6", "--runs-dir", str(tmp_path / "other")])


def _speech_commands(root, words=("no", "yes", "up"), speakers=("0a7c2a8d", "0b09edd3", "0c40e715", "0d2bcf9d",
                                                                "0f7dc557")):
    """Speech Commands' layout: ``<word>/<speaker>_nohash_<n>.wav``, 16 kHz mono PCM, and a
    ``_background_noise_`` folder that is not a word."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    for w, word in enumerate(words):
        (root / word).mkdir(parents=True)
        for s, speaker in enumerate(speakers):
            t = np.arange(16000) / 16000
            wave = 0.3 * np.sin(2 * np.pi * 200 * (w + 1) * (1 + 0.05 * s) * t) + 0.01 * rng.standard_normal(len(t))
            sf.write(root / word / f"{speaker}_nohash_0.wav", wave, 16000, subtype="PCM_16")
    (root / "_background_noise_").mkdir()
    sf.write(root / "_background_noise_" / "white_noise.wav", rng.standard_normal(16000) * 0.1, 16000)


def test_real_speech_words_task_keeps_every_speaker_in_one_split(tmp_path, capsys):
    import numpy as np

    from benchmarks import real_speech

    root = tmp_path / "speech_commands"
    _speech_commands(root)
    runs = tmp_path / "runs"
    args = ["--task", "words", "--root", str(root), "--min-clips", "5", "--recipes", "sounds_mnet", "--seeds", "0",
            "--runs-dir", str(runs), "--set", "train.epochs=1", "--set", "eval.scales=[1.0, 2.0]"]
    assert real_speech.main(args) == 0
    out = capsys.readouterr().out
    assert "words: no, up, yes" in out and "3 words, 1 seeds" in out  # _background_noise_ is no word
    data = np.load(runs / "words.npz")
    sizes = {split: len(data[f"{split}_labels"]) for split in ("train", "val", "test")}
    assert sizes == {"train": 9, "val": 3, "test": 3}  # 5 speakers cut 3 / 1 / 1, each saying 3 words
    for split in ("train", "val", "test"):  # each split has every word once per speaker
        assert sorted(data[f"{split}_labels"].tolist()) == sorted([0, 1, 2] * (sizes[split] // 3))
    assert not (runs / "speech.npz").exists()  # the speaker task's cache is another file
    # a finished run is reused only while the recipe still gives its configuration
    run = next(runs.glob("sounds_mnet_*_s0"))
    stored = json.loads((run / "config.json").read_text())
    stored["model"]["width"] += 1  # as if the recipe file had changed since
    (run / "config.json").write_text(json.dumps(stored))
    with pytest.raises(SystemExit, match=r"other values of model.width than sounds_mnet now gives"):
        real_speech.main(args)

    # Speech Commands' own lists, when present, decide the split (paths relative to the root)
    (root / "validation_list.txt").write_text("no/0a7c2a8d_nohash_0.wav\nyes/0a7c2a8d_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("up/0b09edd3_nohash_0.wav\n")
    real_speech.build(root, tmp_path / "listed.npz", 5, task="words")
    listed = np.load(tmp_path / "listed.npz")
    assert [len(listed[f"{s}_labels"]) for s in ("train", "val", "test")] == [12, 2, 1]
    assert listed["test_labels"].tolist() == [1]  # "up", the second word in sorted order

    with pytest.raises(SystemExit, match="at least 2 word folders"):
        real_speech.build(root, tmp_path / "x.npz", 6, task="words")
    few = tmp_path / "two_speakers"
    _speech_commands(few, speakers=("a", "b"))
    with pytest.raises(SystemExit, match="2 speaker\\(s\\) \\(a, b\\); a speaker-independent split needs 3"):
        real_speech.build(few, tmp_path / "y.npz", 2, task="words")


def test_synth_words_writes_speech_commands_layout_with_any_espeak(tmp_path, monkeypatch):
    """benchmarks.synth_words drives the eSpeak NG command line (here a stand-in that writes a
    22.05 kHz wav where ``-w`` says) and lays the clips out as Speech Commands does, which
    real_speech --task words reads back."""
    import sys

    import numpy as np

    from benchmarks import real_speech, synth_words

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "espeak-ng"
    fake.write_text(f"""#!{sys.executable}
import sys, numpy as np, soundfile as sf
args = sys.argv[1:]
assert "-v" in args and "-s" in args and "-p" in args
rate, word = 22050, args[-1]
t = np.arange(int(0.4 * rate)) / rate
sf.write(args[args.index("-w") + 1], 0.3 * np.sin(2 * np.pi * 100 * len(word) * t), rate)
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert [s[0] for s in synth_words.speakers()[:2]] == ["es-en-us-m1", "es-en-us-m2"]
    assert all("_" not in s[0] for s in synth_words.speakers())  # the speaker is the name before the first _
    out = tmp_path / "data" / "SpeechCommands"
    assert synth_words.main(["--out", str(out), "--speakers", "3", "--renditions", "1"]) == 0
    lists = ["testing_list.txt", "validation_list.txt"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*synth_words.WORDS, *lists])
    assert sorted(p.name for p in (out / "seven").iterdir()) == [
        "es-en-us-m1_nohash_0.wav", "es-en-us-m2_nohash_0.wav", "es-en-us-m3_nohash_0.wav"]
    assert not list(out.rglob("*.tmp.wav"))  # written to a temporary name, then moved
    real_speech.build(out, tmp_path / "w.npz", 3, task="words")
    data = np.load(tmp_path / "w.npz")
    assert [len(data[f"{s}_labels"]) for s in ("train", "val", "test")] == [10, 10, 10]  # one speaker each
    # the lists hold the split real_speech cuts without them: the same cache either way
    test_speakers = {real_speech.speaker_of(Path(line)) for line in (out / lists[0]).read_text().split()}
    assert len(test_speakers) == 1 and len((out / lists[0]).read_text().split()) == 10
    for name in lists:
        (out / name).unlink()
    real_speech.build(out, tmp_path / "unlisted.npz", 3, task="words")
    assert (tmp_path / "unlisted.npz").read_bytes() == (tmp_path / "w.npz").read_bytes()
    # with its lists the folder is a Speech Commands tree that the dataset sc09 reads, split as above
    synth_words.write_split_lists(out)
    from wavenets.data import SC09

    test = SC09("test", tmp_path / "data", quiet=True)
    assert {real_speech.speaker_of(f) for f in test.files} == test_speakers
    assert sorted(test.labels.tolist()) == list(range(10)) and test.waves.shape == (10, 1, 16000)

    # --recorded --reuse: the same words, as Speech Commands clips (1 s, 16 kHz, 16-bit, over a noise floor)
    rec = tmp_path / "rec" / "SpeechCommands"
    assert synth_words.main(["--out", str(rec), "--speakers", "3", "--renditions", "1", "--recorded",
                             "--snr", "20,20", "--reuse", str(out)]) == 0
    import soundfile as sf

    info = sf.info(rec / "seven" / "es-en-us-m2_nohash_0.wav")
    assert (info.samplerate, info.frames, info.subtype) == (16000, 16000, "PCM_16")
    assert (rec / lists[0]).read_text() == (out / lists[0]).read_text()
    for name in ("one", "seven"):
        clip = sf.read(rec / name / "es-en-us-m1_nohash_0.wav")[0]
        word = sf.read(out / name / "es-en-us-m1_nohash_0.wav")[0]  # a 0.4 s tone of 100·len(name) Hz
        spectrum = np.abs(np.fft.rfft(clip))
        assert abs(np.argmax(spectrum) - 100 * len(name)) <= 2  # the word, resampled (1 Hz bins)
        loud = np.abs(clip) > 0.5 * np.abs(clip).max()
        span = np.flatnonzero(loud)
        assert 0.35 < (span[-1] - span[0]) / 16000 <= 0.4  # placed whole inside the second
        quiet = np.concatenate([clip[:max(span[0] - 400, 0)], clip[span[-1] + 400:]])
        assert len(quiet) > 1000 and (quiet != 0).mean() > 0.9  # no digital silence: a floor around the word
        snr = 10 * np.log10(np.mean(clip[span[0]:span[-1]] ** 2) / np.mean(quiet ** 2))
        assert 17 < snr < 23, snr
        assert len(word) == int(0.4 * 22050)
    with pytest.raises(SystemExit):
        synth_words.main(["--out", str(tmp_path / "x"), "--reuse", str(out)])  # --reuse needs --recorded

    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(SystemExit, match="neither espeak-ng nor festival"):
        synth_words.main(["--out", str(tmp_path / "none")])


def test_every_benchmarked_recipe_has_its_input_shape():
    from benchmarks.recipes import RECIPES, SHAPES
    from wavenets.train import load_recipe

    for recipe, overrides in RECIPES:
        cfg = load_recipe(recipe, overrides)
        assert cfg["data"]["name"] in SHAPES, f"{recipe}: no input shape for dataset {cfg['data']['name']!r}"
    assert ("sc09_wnet_pyramid", []) in RECIPES and ("sc09_mnet", []) in RECIPES  # the held-out check's pair


def test_compiled_times_eager_and_compiled_pairs(capsys):
    """benchmarks.compiled: every model of a pair eager and compiled (here the code-free aot_eager
    backend), a row per model with the speed-up and the W-Net / M-Net ratios."""
    from benchmarks.compiled import main as compiled

    assert compiled(["--arch", "m3", "--batch", "1", "--length", "4096", "--reps", "1", "--device", "cpu",
                     "--backend", "aot_eager"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith("| m3 (1 × 4096, aot_eager)")]
    assert len(rows) == 6 and [r.split(" | ")[1] for r in rows[3:]] == ["mnet", "pyramid", "pyramid_s1"]
    assert all(r.count("×") == 3 for r in rows)  # the shape, and two speed-ups


@pytest.mark.slow
def test_background_noise_check_groups_seeds_and_names_what_differs(tmp_path, capsys):
    """Two seeds of one setting are one row (mean ± sd), a run of the same name with another
    anchor_floor is another row named by that key; the clean row at ×1 is the accuracy the
    training's own test gave."""
    from benchmarks import background_noise
    from wavenets.train import Trainer, load_recipe

    runs = []
    for i, (seed, extra) in enumerate(((0, []), (1, []), (0, ["model.anchor_floor=0.25"]))):
        cfg = load_recipe("sounds_wnet_pyramid_vote", ["train.epochs=1", "data.fraction=0.05", "model.width=4",
                                                       "eval.scales=[1.0]",
                                                       f"train.seed={seed}", *extra])
        cfg["name"] = f"tiny_s{i}"  # one name (less the seed) for all three
        results = Trainer(cfg, tmp_path / cfg["name"], quiet=True).fit()
        runs.append((tmp_path / cfg["name"], results))
    args = [str(r) for r, _ in runs] + ["--noise", "hum,brown", "--snr", "10", "--scales", "0.5,1,2"]
    assert background_noise.main(args) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| tiny")]
    assert [r[1] for r in rows] == ["none", "hum 10 dB", "brown 10 dB"] * 2
    assert rows[0][0] == "| tiny" and rows[3][0] == "| tiny (anchor_floor=0.25)"
    assert all("±" in cell for cell in rows[0][2:]) and "±" not in rows[3][2]  # 2 seeds, then 1
    assert "| run (2, 1 seeds) |" in out
    x1 = {str(r): res["test"]["1.0"]["acc"] for r, res in runs}
    assert float(rows[3][3]) == pytest.approx(x1[str(runs[2][0])], abs=5e-4)
    white = background_noise.background("white", (2, 1, 8000), 8000.0, torch.Generator().manual_seed(0))
    assert torch.allclose(white.pow(2).mean(-1), torch.ones(2, 1, dtype=white.dtype))
    with pytest.raises(SystemExit, match="unknown background"):
        background_noise.background("violet", (1, 1, 100), 8000.0, torch.Generator())
