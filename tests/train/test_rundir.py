"""Run folders you can trust (issue 13): checked names, one trainer per run, honest resume,
--force that deletes only what wavenets wrote, atomic writes and a full disk said as such."""
import errno
import json
import math
import os

import pytest
import torch

import wavenets._io as io
from wavenets.cli import main
from wavenets.train import DEFAULTS, RunDir, Trainer
from wavenets.train._config import ConfigError, _merge
from wavenets.train._rundir import resume_changes

from ._kill import killed_and_resumed

QUICK = ["--set", "train.epochs=1", "--set", "data.fraction=0.3", "--set", "model.width=4", "--quiet"]
TINY = _merge(DEFAULTS, {"name": "tiny", "data": {"name": "digits", "fraction": 0.3}, "model": {"name": "se2net",
              "group": "trivial", "order": 1, "width": 4}, "train": {"epochs": 1, "batch_size": 64, "seed": 1}})


@pytest.mark.parametrize("name", ["..", ".", "", "  ", "a/b", "/tmp/x", "..\\x", ".hidden", 3])
def test_run_names_are_one_folder_name(tmp_path, name, capsys):
    with pytest.raises(ConfigError, match="run name"):
        RunDir(tmp_path, name)
    if isinstance(name, str) and name.strip():
        keep = tmp_path / "keep.txt"
        keep.write_text("user data")
        assert main(["train", "digits_cnn", "--runs-dir", str(tmp_path / "runs"), "--set", f"name='{name}'",
                     "--force", *QUICK]) == 2
        assert "run name" in capsys.readouterr().err and keep.read_text() == "user data"


def test_force_deletes_only_what_wavenets_wrote(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), *QUICK]) == 0
    mine = runs / "digits_cnn" / "notes.txt"
    mine.write_text("mine")
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), "--force", *QUICK]) == 0
    assert mine.read_text() == "mine" and (runs / "digits_cnn" / "best.pt").exists()


def test_a_second_trainer_of_the_same_run_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    with RunDir(runs, "dup").lock():  # another process training "dup" (flock is per open file)
        assert main(["train", "digits_cnn", "--runs-dir", str(runs), "--set", "name=dup", *QUICK]) == 2
        assert "another process is training" in capsys.readouterr().err
    assert not (runs / "dup" / "config.json").exists()
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), "--set", "name=dup", *QUICK]) == 0


def test_under_torchrun_rank_0_holds_the_lock_for_the_job(tmp_path, monkeypatch):
    """The ranks of one torchrun job train one run: rank 0 locks it, the other ranks take no lock
    (they would find rank 0's); another job's rank 0 is still refused."""
    run = RunDir(tmp_path, "job")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with run.lock():
        monkeypatch.setenv("RANK", "1")
        with run.lock():
            pass
        monkeypatch.setenv("RANK", "0")
        with pytest.raises(ConfigError, match="another process is training"):
            with run.lock():
                pass


def test_resume_of_nothing_is_refused(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    assert main(["train", "digits_cnn", "--runs-dir", runs, "--resume", *QUICK]) == 2
    assert "holds no run" in capsys.readouterr().err
    assert main(["train", "digits_cnn", "--runs-dir", runs, *QUICK]) == 0
    best = (tmp_path / "runs" / "digits_cnn" / "best.pt").read_bytes()
    (tmp_path / "runs" / "digits_cnn" / "last.pt").unlink()
    assert main(["train", "digits_cnn", "--runs-dir", runs, "--resume", *QUICK]) == 2
    assert "last.pt not found" in capsys.readouterr().err
    assert (tmp_path / "runs" / "digits_cnn" / "best.pt").read_bytes() == best  # not retrained over


def test_resume_refuses_a_changed_config_and_names_the_keys(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    assert main(["train", "digits_se2_n8", "--runs-dir", runs, "--set", "name=dE", *QUICK]) == 0
    bad = ["--set", "optim.lr=0.5", "--set", "train.seed=7", "--set", "augment.rot90=true"]
    assert main(["train", "digits_se2_n8", "--runs-dir", runs, "--set", "name=dE", "--resume", *QUICK, *bad]) == 2
    err = capsys.readouterr().err
    for key in ("optim.lr: 0.003 -> 0.5", "train.seed: 0 -> 7", "augment.rot90: False -> True"):
        assert key in err, err
    assert err.count("\n") == 1 and "start a new run" in err
    cfg = json.loads((tmp_path / "runs" / "dE" / "config.json").read_text())
    assert cfg["optim"]["lr"] == 0.003 and cfg["train"]["epochs"] == 1  # untouched


def test_allowed_epoch_change_continues_the_schedule_and_reports_honestly(tmp_path, capsys):
    runs = tmp_path / "runs"
    base = ["train", "digits_cnn", "--runs-dir", str(runs), "--set", "data.fraction=0.3", "--set", "model.width=4",
            "-q", "--set", "train.epochs=2", "--set", "eval.rotations=[0]"]
    assert main(base) == 0
    more = [*base[:-4], "--set", "train.epochs=4", "--set", "eval.rotations=[0,90]", "--resume"]
    assert main(more) == 2
    assert "--allow-change train.epochs" in capsys.readouterr().err
    assert main([*more, "--allow-change", "train.epochs"]) == 0
    run = runs / "digits_cnn"
    cfg, metrics = json.loads((run / "config.json").read_text()), json.loads((run / "metrics.json").read_text())
    assert cfg["train"]["epochs"] == 4 and cfg["eval"]["rotations"] == [0, 90]
    assert [row["epoch"] for row in metrics] == [1, 2, 3, 4]
    lrs = [row["lr"] for row in metrics]  # cosine over 2 epochs, then stretched to 4 from where it stood:
    cosine4 = [3e-3 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]  # epochs 3-4 as a 4-epoch run's
    assert lrs == pytest.approx([3e-3, 1.5e-3, *cosine4[2:]])
    assert "lr 0.003, 4 epochs" in (run / "summary.md").read_text()
    with pytest.raises(ConfigError, match="--allow-change accepts train.epochs"):
        resume_changes(TINY, TINY, ["optim.lr"])


def test_keys_added_to_the_defaults_later_are_not_changes():
    old = json.loads(json.dumps(TINY))
    del old["train"]["wavelet_loss"]
    assert resume_changes(old, TINY) == []
    # a model key left out and the same key at its model's default are one configuration
    assert resume_changes(TINY, _merge(TINY, {"model": {"hidden": 64, "mask": False}})) == []
    with pytest.raises(ConfigError, match="model.hidden: 64 -> 32"):
        resume_changes(TINY, _merge(TINY, {"model": {"hidden": 32}}))
    new = _merge(TINY, {"eval": {"rotations": [0, 90]}, "train": {"eval_batch_size": 7}})
    assert resume_changes(TINY, new) == []


@pytest.mark.parametrize("value", [0, -1, 1.7, True, "abc"])
def test_epochs_must_be_a_positive_whole_number(tmp_path, value):
    cfg = _merge(TINY, {"train": {"epochs": value}})
    with pytest.raises(ConfigError, match="train.epochs must be a whole number >= 1"):
        Trainer(cfg, tmp_path / "r", quiet=True)
    assert not (tmp_path / "r" / "results.json").exists()


def test_done_means_finished_and_complete(tmp_path):
    run = RunDir(tmp_path, "r")
    run.path.mkdir()
    assert not run.done
    (run / "results.json").write_text('{"name": "r", "te')  # a truncated file from an older version
    assert not run.done
    (run / "results.json").write_text(json.dumps({"test": {}}))
    assert run.done


def test_atomic_writes_keep_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    io.write_json(path, {"epoch": 1})

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(io.os, "fsync", full)
    with pytest.raises(io.DiskFullError, match="disk full while writing .*metrics.json"):
        io.write_json(path, {"epoch": 2})
    assert json.loads(path.read_text()) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_a_writer_that_takes_a_file_name_replaces_the_file_only_when_it_succeeds(tmp_path):
    """atomic_path (matplotlib's GIF writer): a writer failing halfway leaves the old file and no
    temporary; one that succeeds replaces it."""
    path = tmp_path / "rotation.gif"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with io.atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]
    with io.atomic_path(path) as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".gif" and tmp.name.startswith(".")  # the writer picks
        tmp.write_bytes(b"new")  # its format by the suffix
    assert path.read_bytes() == b"new" and list(tmp_path.iterdir()) == [path]


def test_a_full_disk_during_training_is_one_error_line(tmp_path, monkeypatch, capsys):
    runs = tmp_path / "runs"
    real = io.os.fsync
    calls = []

    def fill_up(fd):  # the disk fills up after the first few files
        calls.append(fd)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(io.os, "fsync", fill_up)
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: disk full while writing") and err.count("\n") == 1
    assert not list((runs / "digits_cnn").glob(".*.tmp*"))
    for f in (runs / "digits_cnn").glob("*.json"):
        json.loads(f.read_text())  # whatever was written is whole


def test_checkpoints_go_through_the_atomic_writer(tmp_path, monkeypatch):
    from wavenets.train import save_atomic

    save_atomic({"a": torch.ones(2)}, tmp_path / "last.pt")
    monkeypatch.setattr(io.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(io.DiskFullError):
        save_atomic({"a": torch.zeros(2)}, tmp_path / "last.pt")
    assert torch.equal(torch.load(tmp_path / "last.pt")["a"], torch.ones(2))


C8 = _merge(DEFAULTS, {"name": "c8", "data": {"name": "digits", "fraction": 0.5}, "model": {"name": "se2net",
            "group": "rotation", "order": 8, "width": 4}, "train": {"epochs": 2, "batch_size": 64, "seed": 2},
            "augment": {"rotate": True}})


def _state(path):
    return torch.load(path, weights_only=False)["model"]


def test_two_identical_runs_of_an_interpolated_group_end_with_identical_weights(tmp_path):
    """C8 builds its filter bank by interpolation (a gather and an einsum): its backward must not
    depend on thread timing (it did, by up to 3e-3 after one epoch, when the gather was
    advanced indexing)."""
    for name in ("a", "b"):
        Trainer(C8, tmp_path / name, quiet=True).fit()
    a, b = _state(tmp_path / "a" / "last.pt"), _state(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path):
    """SIGKILL leaves no chance to save: the run resumes from the last epoch's checkpoint (written
    atomically) and ends bit for bit where an uninterrupted run ends (on the CPU)."""
    a, b = killed_and_resumed(_merge(C8, {"train": {"epochs": 3}}), tmp_path, "cpu")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_deterministic_mode_trains_every_model_family(tmp_path):
    """Under torch.use_deterministic_algorithms(True) no op of the training path raises (on CPU;
    CUDA has its own kernels, unmeasured here)."""
    try:
        for name, model in (("c8", {"name": "se2net", "group": "rotation", "order": 8, "width": 4}),
                            ("pyr", {"name": "pyramid_patchnet", "group": "rotation", "order": 4, "scales": 2,
                                     "width": 4, "input_voices": 2, "level_dropout": 1})):
            data = "digits" if name == "c8" else "digits_zoom"
            cfg = _merge(DEFAULTS, {"name": name, "data": {"name": data, "fraction": 0.2}, "model": model,
                                    "train": {"epochs": 1, "batch_size": 64, "deterministic": True}})
            Trainer(cfg, tmp_path / name, quiet=True).fit()
            assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 160 KiB tmpfs (needs root and mount rights; skipped elsewhere: the fault-injection
    tests above cover the same path)."""
    import subprocess

    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no mount rights)")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def test_a_real_full_disk_is_reported_and_leaves_whole_files(tiny_disk, capsys):
    assert main(["train", "digits_cnn", "--runs-dir", str(tiny_disk), *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: disk full while writing") and err.count("\n") == 1, err
    run = tiny_disk / "digits_cnn"
    assert not list(run.glob(".*.tmp*"))
    for f in run.glob("*.json"):
        json.loads(f.read_text())
    for f in run.glob("*.pt"):
        torch.load(f, weights_only=False)  # whatever checkpoint exists is whole


def test_eval_uses_the_run_folder_rules(tmp_path, capsys):
    """``wavenets eval`` reads the run through RunDir: a missing folder is named and not created,
    and a run another process is training is refused instead of read half-written."""
    missing = tmp_path / "runs" / "nothing_here"
    assert main(["eval", str(missing), "--device", "cpu"]) == 2
    assert "config.json not found" in capsys.readouterr().err and not missing.exists()
    runs = tmp_path / "runs"
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), *QUICK]) == 0
    run = RunDir(runs, "digits_cnn")
    with run.lock():
        import subprocess
        import sys

        proc = subprocess.run([sys.executable, "-m", "wavenets.cli", "eval", str(run.path), "--device", "cpu"],
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "another process is training" in proc.stderr, proc.stderr
    assert not (run / "eval_test.json").exists()
    assert main(["eval", str(run.path), "--device", "cpu"]) == 0 and (run / "eval_test.json").exists()
