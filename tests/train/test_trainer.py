"""The training engine: exact resume, atomic checkpoints, NaN handling, reports."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from wavenets.train import DEFAULTS, Interrupted, Trainer, TrainingError, apply_overrides, load_recipe, save_atomic
from wavenets.train._config import ConfigError, _merge

TINY = _merge(DEFAULTS, {
    "name": "tiny",
    "data": {"name": "digits", "fraction": 0.5},
    "model": {"name": "se2net", "group": "rotation", "order": 4, "width": 4},
    "train": {"epochs": 2, "batch_size": 64, "seed": 3},
    "augment": {"rotate": True, "flip": True},
    "eval": {"rotations": [0, 90]},
})


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def test_resumed_run_equals_uninterrupted(tmp_path):
    full = Trainer(TINY, tmp_path / "full", quiet=True)
    full.fit()

    def interrupt(epoch, step):
        if (epoch, step) == (0, 2):
            raise KeyboardInterrupt

    part = Trainer(TINY, tmp_path / "part", on_step=interrupt, quiet=True)
    with pytest.raises(Interrupted, match="epoch 1, step 3"):
        part.fit()
    resumed = Trainer(TINY, tmp_path / "part", quiet=True)
    resumed.fit(resume=True)
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    def metrics(run):  # everything but the wall-clock column
        return [{k: v for k, v in row.items() if k != "wall_s"}
                for row in json.loads((tmp_path / run / "metrics.json").read_text())]

    assert metrics("full") == metrics("part")


def test_run_folder_contents(tmp_path):
    Trainer(TINY, tmp_path / "r", quiet=True).fit()
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"config.json", "metrics.csv", "metrics.json", "curves.png", "summary.md", "results.json", "last.pt",
            "best.pt"} <= names
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    # C4 model: exactly invariant to 90° rotations of the test inputs
    assert results["test"]["0.0"]["acc"] == results["test"]["90.0"]["acc"]
    assert "| 90° |" in (tmp_path / "r" / "summary.md").read_text()
    assert (tmp_path / "r" / "metrics.csv").read_text().startswith("epoch,train_loss,train_acc,val_loss")


def test_a_last_batch_of_one_sample_is_dropped(tmp_path):
    """Batch norm cannot train on one sample (a 10% fraction of a small set hit this)."""
    probe = Trainer(TINY, tmp_path / "probe", quiet=True)
    n = len(probe.train_index)
    cfg = json.loads(json.dumps(TINY))
    cfg["train"].update(batch_size=next(b for b in range(8, n) if (n - 1) % b == 0), epochs=1)
    assert n % cfg["train"]["batch_size"] == 1
    trainer = Trainer(cfg, tmp_path / "r", quiet=True)
    batches = trainer._epoch_batches(0)
    assert [len(b) for b in batches] == [cfg["train"]["batch_size"]] * (n // cfg["train"]["batch_size"])
    assert len({int(i) for b in batches for i in b}) == n - 1
    trainer.fit()  # trains with batch norm, no "Expected more than 1 value per channel"


def test_nan_loss_stops_with_the_step(tmp_path):
    trainer = Trainer(TINY, tmp_path / "nan", quiet=True)
    trainer.train_set.std = (0.0,)  # inputs become inf: the loss is not finite at the first step
    with pytest.raises(TrainingError, match=r"loss is nan at epoch 1, step 1 of"):
        trainer.fit()
    assert not (tmp_path / "nan" / "last.pt").exists()


def test_checkpoints_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_atomic({"v": 1}, path)

    def broken(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"v": 2}, path)
    monkeypatch.undo()
    assert torch.load(path)["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_config_overrides_and_errors():
    cfg = apply_overrides(TINY, ["train.epochs=7", "augment.rot90=true", "optim.name=sgd", "eval.rotations=[0,45]"])
    assert cfg["train"]["epochs"] == 7 and cfg["augment"]["rot90"] is True
    assert cfg["optim"]["name"] == "sgd" and cfg["eval"]["rotations"] == [0, 45]
    with pytest.raises(ConfigError, match="unknown key 'train.epoch'"):
        apply_overrides(TINY, ["train.epoch=3"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(TINY, ["train.epochs"])
    with pytest.raises(ConfigError, match="not found"):
        load_recipe("no_such_recipe")


@pytest.mark.parametrize("recipe", sorted(p.stem for p in Path("recipes").glob("*.toml")))
def test_every_recipe_loads(recipe):
    cfg = load_recipe(recipe)
    assert cfg["name"] == recipe


@pytest.mark.slow
def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path):
    cfg = _merge(TINY, {"train": {"epochs": 1}})
    worker = Path(__file__).with_name("_ddp_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(worker),
           json.dumps(cfg), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    single = Trainer(cfg, tmp_path / "single", device=torch.device("cpu"), quiet=True)  # the workers' device
    single.fit()
    # each rank saw half of every epoch's batches: the weights differ from the 1-process run
    assert any(not torch.equal(a[k], v) for k, v in single.model.state_dict().items())
    assert (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_torchrun_of_the_cli_trains_one_run(tmp_path):
    """The README's DDP command, ``torchrun -m wavenets.cli train RECIPE``: every rank runs the
    CLI, and rank 0 alone checks and locks the run for the job (when every rank took the lock,
    rank 1 found it held by rank 0 and the launch failed). A second launch of the name is
    refused by rank 0, and the run is left as it was."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "wavenets.cli", "train", "digits_cnn", "--set", "train.epochs=1", "--runs-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 processes" in proc.stdout + proc.stderr
    results = tmp_path / "digits_cnn" / "results.json"
    first = results.read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "already holds a run" in again.stderr
    assert results.read_bytes() == first


def test_zoom_runs_train_with_random_magnifications_and_evaluate_per_zoom(tmp_path):
    cfg = _merge(DEFAULTS, {"name": "zoom", "data": {"name": "tissue_zoom", "fraction": 0.05},
                            "model": {"name": "pyramid_patchnet", "group": "trivial", "order": 1, "scales": 2,
                                      "width": 4},
                            "train": {"epochs": 1, "batch_size": 32, "seed": 1}, "augment": {"zoom": [0.5, 2.0]},
                            "eval": {"zooms": [0.5, 1.0, 2.0]}})
    results = Trainer(cfg, tmp_path / "a", quiet=True).fit()
    assert results["eval_transform"] == "zoom" and list(results["test"]) == ["0.5", "1.0", "2.0"]
    again = Trainer(cfg, tmp_path / "b", quiet=True).fit()
    assert again["test"] == results["test"]  # the random zooms are seeded
    assert "| 2× |" in (tmp_path / "a" / "summary.md").read_text()
    with pytest.raises(ValueError, match="augment.zoom needs a dataset of context patches"):
        Trainer({**_merge(cfg, {"data": {"name": "tissue"}}), "model": {"name": "se2net", "group": "trivial"}},
                tmp_path / "c", quiet=True)
    with pytest.raises(ValueError, match="zooms >= 0.5"):
        Trainer(_merge(cfg, {"augment": {"zoom": [0.25, 2.0]}}), tmp_path / "d", quiet=True)
