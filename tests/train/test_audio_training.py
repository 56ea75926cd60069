"""Training on waveforms: the embedded sounds, stretch augmentation, time-scale evaluation,
k-fold cross validation on an UrbanSound8K fixture, and the CLI."""
import json
import subprocess
import sys

import pytest

from wavenets.cli import main
from wavenets.train import DEFAULTS, Trainer, cross_validate
from wavenets.train._config import _merge

from ..data.test_audio_files import make_us8k

SMALL = {"name": "mnet", "arch": "m5", "width": 4, "lift_kernel": 9}


def _cfg(group, **extra):
    return _merge(DEFAULTS, {"name": "snd", "data": {"name": "sounds", "fraction": 0.2},
                             "model": {**SMALL, "group": group, **({"order": 5} if group == "dilation" else {})},
                             "train": {"epochs": 1, "batch_size": 32}, "eval": {"scales": [0.5, 1.0, 2.0]}, **extra})


@pytest.mark.parametrize("group", ["dilation", "trivial"])
def test_sounds_run_reports_time_scales(group, tmp_path):
    results = Trainer(_cfg(group, augment={"stretch": [0.5, 2.0]}), tmp_path, quiet=True).fit()
    assert set(results["test"]) == {"0.5", "1.0", "2.0"} and results["eval_transform"] == "time scale"
    assert "| 2× |" in (tmp_path / "summary.md").read_text()


def test_image_augmentations_are_refused_for_audio(tmp_path):
    with pytest.raises(ValueError, match="augment.stretch"):
        Trainer(_cfg("trivial", augment={"rot90": True}), tmp_path, quiet=True)


def test_wavelet_loss_runs(tmp_path):
    cfg = _cfg("dilation", train={"epochs": 1, "batch_size": 32, "wavelet_loss": 0.1})
    assert Trainer(cfg, tmp_path, quiet=True).fit()["params"] > 0


def test_cross_validation_on_a_us8k_fixture(tmp_path, capsys):
    make_us8k(tmp_path / "data")
    cfg = _merge(DEFAULTS, {"name": "cvtest", "data": {"name": "us8k", "sample_rate": 4000, "length": 8000},
                            "model": {**SMALL, "group": "trivial", "order": 1},
                            "train": {"epochs": 1, "batch_size": 8}, "eval": {"scales": [1.0]}})
    summary = cross_validate(cfg, [2, 5], tmp_path / "runs", data_root=tmp_path / "data", quiet=True)
    assert summary["folds"] == [2, 5] and set(summary["acc"]) == {"2", "5"}
    fold2 = json.loads((tmp_path / "runs" / "cvtest_fold2" / "config.json").read_text())
    assert fold2["data"]["test_fold"] == 2
    assert "mean ± sd" in (tmp_path / "runs" / "cvtest_cv" / "summary.md").read_text()
    again = cross_validate(cfg, [2, 5], tmp_path / "runs", data_root=tmp_path / "data")  # resumable: skips
    assert again["acc"] == summary["acc"] and "done earlier, skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_cross_validation_under_torchrun_reports_once(tmp_path):
    """`torchrun -m wavenets.cli cv`: both ranks train every fold together; rank 0 alone prints
    the summary and writes it (both did), and a second launch skips the finished folds once."""
    make_us8k(tmp_path / "data")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "wavenets.cli", "cv", "us8k_mnet_m11", "--folds", "2,5", "--data-root", str(tmp_path / "data"),
           "--runs-dir", str(tmp_path / "runs"), "--set", "data.sample_rate=4000", "--set", "data.length=8000",
           "--set", "train.epochs=1", "--set", "train.batch_size=4", "--set", "model.arch=m5", "--set", "model.width=4",
           "--set", "model.lift_kernel=9"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("accuracy") == 1 and "2 processes" in proc.stdout + proc.stderr
    assert json.loads((tmp_path / "runs" / "us8k_mnet_m11_cv" / "cv.json").read_text())["folds"] == [2, 5]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("done earlier, skipped") == 2, again.stdout


def test_rank_0_runs_a_main_first_block_before_the_others(monkeypatch):
    """main_first: the other ranks wait at a barrier until rank 0 has run the block (and cached
    what it reads); rank 0 reaches that barrier even when the block fails."""
    from wavenets.train import _dist

    events = []
    monkeypatch.setattr(_dist.dist, "barrier", lambda: events.append("barrier"))
    with _dist.main_first(_dist.DistInfo(rank=1, world_size=2)):
        events.append("block")
    assert events == ["barrier", "block"]
    events.clear()
    with pytest.raises(OSError), _dist.main_first(_dist.DistInfo(rank=0, world_size=2)):
        events.append("block")
        raise OSError("no data")
    assert events == ["block", "barrier"]
    events.clear()
    with _dist.main_first(_dist.DistInfo()):  # one process: no barrier
        events.append("block")
    assert events == ["block"]


def test_cli_eval_scale(tmp_path, capsys):
    runs = str(tmp_path)
    args = ["--set", "train.epochs=1", "--set", "data.fraction=0.2", "--set", "model.width=4",
            "--set", "model.lift_kernel=9", "--quiet"]
    assert main(["train", "sounds_mnet", "--runs-dir", runs, *args]) == 0
    assert main(["eval", str(tmp_path / "sounds_mnet"), "--scale", "0.5,1,2"]) == 0
    assert "2×" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "sounds_mnet"), "--rotate", "90"]) == 2
    assert "use --scale" in capsys.readouterr().err


def test_multilabel_tagging_on_an_mtt_fixture(tmp_path):
    import numpy as np
    import soundfile as sf

    base = tmp_path / "data" / "MagnaTagATune"
    tags = [f"tag{i}" for i in range(55)]
    lines = ["\t".join(["clip_id", *tags, "mp3_path"])]
    rng = np.random.default_rng(0)
    for k in range(16):
        folder = "0123456789abcdef"[k]
        (base / "mp3" / folder).mkdir(parents=True, exist_ok=True)
        rel = f"{folder}/clip-{k}.mp3"
        t = np.arange(16000 * 2) / 16000
        sf.write(base / "mp3" / rel, 0.3 * np.sin(2 * np.pi * (200 + 50 * k) * t), 16000, format="MP3")
        on = (rng.random(55) < 0.5).astype(int)
        lines.append("\t".join([str(k), *map(str, on), rel]))
    (base / "annotations_final.csv").write_text("\n".join(lines) + "\n")
    cfg = _merge(DEFAULTS, {"name": "tags", "data": {"name": "mtt", "sample_rate": 8000},
                            "model": {"name": "samplecnn", "group": "trivial", "width": 4},
                            "train": {"epochs": 1, "batch_size": 4}, "eval": {"scales": [1.0]}})
    results = Trainer(cfg, tmp_path / "run", data_root=tmp_path / "data", quiet=True).fit()
    test = results["test"]["1.0"]
    assert {"auc", "pr_auc", "acc", "loss"} <= set(test) and results["select"] == "auc"
    assert "PR-AUC" in (tmp_path / "run" / "summary.md").read_text()


def test_pyramid_wnet_trains_and_reports_time_scales(tmp_path):
    cfg = _cfg("dilation", model={**SMALL, "group": "dilation", "order": 5, "layout": "pyramid",
                                  "scale_taps": [1, 1, 1], "head_taps": 1, "readout": "feature_max",
                                  "global_pool": "max"})
    results = Trainer(cfg, tmp_path, quiet=True).fit()
    assert set(results["test"]) == {"0.5", "1.0", "2.0"}
    assert all(0.0 <= r["acc"] <= 1.0 for r in results["test"].values())


def test_pyramid_recipe_builds_the_pyramid_wnet():
    from wavenets.models import model_from_config
    from wavenets.train import load_recipe

    model = model_from_config(load_recipe("sounds_wnet_pyramid_max")["model"], in_channels=1, num_classes=6)
    assert model.layout == "pyramid" and model.group.order >= 5


@pytest.mark.parametrize("dropout", [
    {"start": 1, "readout": "feature_max_normalized", "global_pool": "excess", "level_dropout": 2},
    {"readout": "window_vote", "global_pool": "active", "anchor_levels": 3, "input_voices": 2, "voice_dropout": True},
], ids=["level_dropout", "voice_dropout"])
def test_pyramid_level_dropout_run_resumes_to_identical_weights(tmp_path, dropout):
    """Level dropout and voice dropout draw from torch's RNG in training; the checkpointed RNG state
    makes a run resumed after an interruption end with the uninterrupted run's weights."""
    import torch

    from wavenets.train import Interrupted

    cfg = _cfg("dilation", model={**SMALL, "group": "dilation", "order": 5, "layout": "pyramid",
                                  "scale_taps": [1, 1, 1], "head_taps": 1, **dropout},
               train={"epochs": 2, "batch_size": 16, "seed": 4})
    full = Trainer(cfg, tmp_path / "full", quiet=True)
    full.fit()

    def interrupt(epoch, step):
        if (epoch, step) == (0, 3):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        Trainer(cfg, tmp_path / "part", on_step=interrupt, quiet=True).fit()
    resumed = Trainer(cfg, tmp_path / "part", quiet=True)
    resumed.fit(resume=True)
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_window_vote_run_fits_every_level_alone(tmp_path):
    """readout='window_vote' leaves its per-level logits after a training forward; the trainer adds
    their cross-entropy against each clip's label (deep supervision) and clears them."""
    import torch
    import torch.nn.functional as F

    cfg = _cfg("dilation", model={**SMALL, "group": "dilation", "order": 5, "layout": "pyramid",
                                  "scale_taps": [1, 1, 1], "head_taps": 1, "readout": "window_vote",
                                  "global_pool": "active", "anchor_levels": 3})
    trainer = Trainer(cfg, tmp_path, quiet=True)
    model = trainer.model.train()
    x = torch.as_tensor(trainer.train_set.waves[:8])
    labels = torch.as_tensor(trainer.train_set.labels[:8])
    model(x)
    logits, exists = model.level_outputs
    assert logits.shape[:2] == exists.shape and len(exists) == 8 and exists.any(1).all()
    rows = [b for b in range(8) for _ in range(int(exists[b].sum()))]
    torch.testing.assert_close(trainer._level_loss(labels), F.cross_entropy(logits[exists], labels[rows]))
    assert model.level_outputs is None and trainer._level_loss(labels) == 0.0
    results = trainer.fit()
    assert set(results["test"]) == {"0.5", "1.0", "2.0"}



@pytest.mark.slow
def test_spectrogram_cnn_reads_cached_features_and_stretches_waveforms(tmp_path):
    """Untransformed clips come from the feature cache; stretched ones (augmentation, the
    evaluation's scales) through the model's own front end. Two runs give identical weights."""
    pytest.importorskip("librosa")
    import torch

    cfg = _merge(DEFAULTS, {"name": "spec", "data": {"name": "sounds", "fraction": 0.1},
                            "model": {"name": "spec_cnn", "frontend": "cqt", "arch": "m5", "width": 4},
                            "train": {"epochs": 1, "batch_size": 32}, "eval": {"scales": [0.5, 1.0]}})
    trainer = Trainer(cfg, tmp_path / "a", quiet=True)
    assert set(trainer.fit()["test"]) == {"0.5", "1.0"}
    assert {id(trainer.train_set), id(trainer.val_set), id(trainer.test_set)} == set(trainer._feature_views)
    again = Trainer(cfg, tmp_path / "b", quiet=True)
    again.fit()
    for p, q in zip(trainer.model.parameters(), again.model.parameters()):
        assert torch.equal(p, q)
    stretched = Trainer(_merge(cfg, {"augment": {"stretch": [0.5, 2.0]}, "eval": {"scales": [1.0]}}), tmp_path / "c",
                        quiet=True)
    stretched.fit()
    assert id(stretched.train_set) not in stretched._feature_views  # augmented clips: the front end, every batch


def test_runs_on_other_data_are_neither_reused_nor_resumed(tmp_path, capsys):
    """A run remembers the data it read (wavenets.data.fingerprint of its splits). An experiment
    that finds the run done under another tree of the same layout (another download, another
    stand-in) refuses to report it, and so does a resume; the same tree moved elsewhere is the
    same data."""
    import shutil

    import numpy as np
    import soundfile as sf

    from wavenets.data import fingerprint, get_dataset
    from wavenets.train import ConfigError, load_experiment, run_experiment

    make_us8k(tmp_path / "a")
    (tmp_path / "recipe.toml").write_text(
        '[data]\nname = "us8k"\nsample_rate = 4000\nlength = 8000\n[model]\nname = "mnet"\narch = "m5"\n'
        'group = "trivial"\nwidth = 4\nlift_kernel = 9\n[train]\nepochs = 1\nbatch_size = 8\n[eval]\nscales = [1.0]\n')
    (tmp_path / "exp.toml").write_text(f'title = "t"\nseeds = [0]\nfractions = [1.0]\n[[variant]]\nlabel = "M"\n'
                                       f'recipe = "{(tmp_path / "recipe.toml").as_posix()}"\n')
    exp = load_experiment(tmp_path / "exp.toml")
    runs = tmp_path / "runs"
    run_experiment(exp, runs, data_root=tmp_path / "a", quiet=True, log=lambda m: None)
    (run_dir,) = (runs / "sweeps").iterdir()
    key = json.loads((run_dir / "results.json").read_text())["data"]
    splits = [get_dataset("us8k", s, tmp_path / "a", sample_rate=4000, length=8000) for s in ("train", "val", "test")]
    assert key == fingerprint(*splits)

    shutil.copytree(tmp_path / "a", tmp_path / "moved")  # the same files elsewhere: reused
    log = []
    run_experiment(exp, runs, data_root=tmp_path / "moved", quiet=True, log=log.append)
    assert any("done earlier" in m for m in log)

    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same layout, one clip of the test fold changed
    clip = sorted((tmp_path / "b" / "UrbanSound8K" / "audio" / "fold10").iterdir())[0]
    wave, rate = sf.read(clip)
    sf.write(clip, np.flip(wave, 0), rate)
    with pytest.raises(ConfigError, match="trained on other data"):
        run_experiment(exp, runs, data_root=tmp_path / "b", quiet=True, log=lambda m: None)

    cfg = json.loads((run_dir / "config.json").read_text())
    with pytest.raises(ConfigError, match="--resume: .* other data"):
        Trainer(cfg, run_dir, data_root=tmp_path / "b", quiet=True).fit(resume=True)


def test_the_main_pyramid_recipe_resumes_to_identical_weights(tmp_path):
    """``sounds_wnet_pyramid`` as shipped (window crops drawn per clip, two input voices, band
    tests, the vote), narrowed: interrupted in its first epoch and resumed, it ends with the
    uninterrupted run's weights (the crop generator's state travels in the checkpoint)."""
    import torch

    from wavenets.train import Interrupted, load_recipe

    cfg = load_recipe("sounds_wnet_pyramid", ["train.epochs=2", "data.fraction=0.15", "model.width=4"])
    full = Trainer(cfg, tmp_path / "full", quiet=True)
    full.fit()

    def interrupt(epoch, step):
        if (epoch, step) == (0, 0):  # after the first of the epoch's 3 steps
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        Trainer(cfg, tmp_path / "part", on_step=interrupt, quiet=True).fit()
    resumed = Trainer(cfg, tmp_path / "part", quiet=True)
    assert len(resumed._epoch_batches(0)) == 3
    resumed.fit(resume=True)
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
