"""Experiments (sweeps): exact resume of a killed grid, sharing of runs, aggregation and reports."""
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import pytest
import torch

from wavenets.cli import main
from wavenets.train import ConfigError, Interrupted, load_experiment, load_recipe, run_experiment
from wavenets.train import _sweep
from wavenets.train._sweep import run_name

RECIPE = """
[data]
name = "digits"
[model]
name = "se2net"
group = "{group}"
order = {order}
width = 4
[train]
epochs = 2
batch_size = 64
eval_batch_size = 512
[augment]
flip = true
"""

EXPERIMENT = """
title = "tiny"
seeds = [0, 1]
fractions = [0.25, 0.5]
robustness = [0, 45, 90]
[[variant]]
label = "G-CNN C4"
recipe = "{dir}/gcnn.toml"
[[variant]]
label = "CNN"
recipe = "{dir}/cnn.toml"
set = ["augment.rotate=true"]
"""


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "gcnn.toml").write_text(RECIPE.format(group="rotation", order=4))
    (tmp_path / "cnn.toml").write_text(RECIPE.format(group="trivial", order=1))
    path = tmp_path / "tiny.toml"
    path.write_text(EXPERIMENT.format(dir=tmp_path.as_posix()))
    return path


def _best(run_dir: Path) -> dict:
    return torch.load(run_dir / "best.pt", weights_only=False)["model"]


def test_killed_sweep_resumes_to_the_uninterrupted_result(tiny, tmp_path):
    exp = load_experiment(tiny)
    assert len(exp.configs()) == 8
    exp.fractions = [0.25]
    full = run_experiment(exp, tmp_path / "full", quiet=True, log=lambda m: None)

    starts = {"n": 0}

    def kill(epoch, step):  # die at the third step of the third run (the CNN's first seed)
        starts["n"] += (epoch, step) == (0, 0)
        if starts["n"] == 3 and (epoch, step) == (0, 2):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="run 3 of 4"):
        run_experiment(exp, tmp_path / "part", quiet=True, on_step=kill, log=lambda m: None)
    sweeps = tmp_path / "part" / "sweeps"
    finished = {p.parent.name: p.stat().st_mtime_ns for p in sweeps.glob("*/results.json")}
    assert len(finished) == 2 and len(list(sweeps.glob("*/last.pt"))) == 3

    log = []
    resumed = run_experiment(exp, tmp_path / "part", quiet=True, log=log.append)
    assert sum("done earlier" in m for m in log) == 2 and sum("resuming" in m for m in log) == 1
    assert not any("trained with" in m for m in log)  # the same code trained them
    assert sum(": training" in m for m in log) == 1
    for name, mtime in finished.items():  # not retrained
        assert (sweeps / name / "results.json").stat().st_mtime_ns == mtime
    for run in (tmp_path / "full" / "sweeps").iterdir():
        a, b = _best(run), _best(sweeps / run.name)
        assert all(torch.equal(a[k], b[k]) for k in a), run.name
    def strip(agg):  # everything but wall-clock times
        return {label: {f: {k: v for k, v in e.items() if k != "wall_s"} for f, e in per.items()}
                for label, per in agg["variants"].items()}

    assert strip(full) == strip(resumed)


def test_a_run_records_what_trained_it_and_a_reused_run_says_so(tiny, tmp_path):
    """results.json keeps the wavenets, torch and Python versions; runs.csv the torch version of
    each run; an experiment that reuses a run trained by another torch (or wavenets) says so."""
    import platform

    import wavenets

    exp = load_experiment(tiny)
    exp.fractions, exp.seeds = [0.25], [0]
    run_experiment(exp, tmp_path, out=tmp_path / "report", quiet=True, log=lambda m: None)
    rows = list(csv.DictReader(open(tmp_path / "report" / "runs.csv")))
    assert [r["torch"] for r in rows] == [torch.__version__] * 2
    path = tmp_path / "sweeps" / rows[0]["run"] / "results.json"
    results = json.loads(path.read_text())
    assert results["versions"] == {"wavenets": wavenets.__version__, "torch": torch.__version__,
                                   "python": platform.python_version()}
    results["versions"]["torch"] = "2.0.0"
    path.write_text(json.dumps(results))
    log = []
    run_experiment(exp, tmp_path, out=tmp_path / "report", quiet=True, log=log.append)
    reused = [m for m in log if "done earlier" in m]
    assert len(reused) == 2 and f"trained with torch 2.0.0, now {torch.__version__}" in reused[0]
    assert "trained with" not in reused[1]
    assert [r["torch"] for r in csv.DictReader(open(tmp_path / "report" / "runs.csv"))] == ["2.0.0", torch.__version__]


def test_aggregation_and_report(tiny, tmp_path):
    tiny.write_text(tiny.read_text().replace("robustness = [0, 45, 90]", "robustness = [0, 45, 90]\nfocus_range = [40, 90]"))
    exp = load_experiment(tiny)
    agg = run_experiment(exp, tmp_path, out=tmp_path / "report", quiet=True, log=lambda m: None)
    rows = list(csv.DictReader(open(tmp_path / "report" / "runs.csv")))
    assert len(rows) == 8
    # focus_range: the mean over the robustness points inside it (45 and 90), per run and over seeds
    for label in ("G-CNN C4", "CNN"):
        runs = [r for r in rows if r["label"] == label and r["fraction"] == "0.5"]
        per_run = []
        for r in runs:
            rob = json.loads((tmp_path / "sweeps" / r["run"] / "robustness.json").read_text())
            per_run.append((rob["45.0"]["acc"] + rob["90.0"]["acc"]) / 2)
            assert float(r["focus_mean"]) == pytest.approx(per_run[-1])
        e = agg["variants"][label]["0.5"]
        assert (e["focus_mean"], e["focus_mean_sd"]) == pytest.approx((statistics.mean(per_run), statistics.stdev(per_run)))
    for label in ("G-CNN C4", "CNN"):
        for frac in ("0.25", "0.5"):
            accs = [float(r["acc"]) for r in rows if r["label"] == label and r["fraction"] == frac]
            e = agg["variants"][label][frac]
            assert len(accs) == 2 and e["seeds"] == [0, 1]
            assert e["acc"] == pytest.approx(statistics.mean(accs))
            assert e["acc_sd"] == pytest.approx(statistics.stdev(accs))
            assert set(e["robustness"]) == {"0.0", "45.0", "90.0"}
    # C4 G-CNN: exactly invariant to 90° rotations, in every seed's cached robustness metrics
    for r in rows:
        if r["label"] == "G-CNN C4":
            rob = json.loads((tmp_path / "sweeps" / r["run"] / "robustness.json").read_text())
            assert rob["0.0"]["acc"] == rob["90.0"]["acc"]
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert f"Reproduce: `wavenets experiment {tiny}`" in summary
    assert "![robustness](robustness.png)" in summary and "![sample efficiency](efficiency.png)" in summary
    g = agg["variants"]["G-CNN C4"]["0.5"]
    assert f"| G-CNN C4 | {g['params']:,} | 0.5 | {g['acc']:.3f} ± {g['acc_sd']:.3f} |" in summary
    assert "| mean acc over 40–90" in summary and f"| {g['focus_mean']:.3f} ± {g['focus_mean_sd']:.3f} |" in summary
    for png in ("robustness.png", "efficiency.png"):
        assert (tmp_path / "report" / png).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "report" / "results.json").read_text())["variants"].keys() == {"G-CNN C4", "CNN"}


def test_experiments_share_runs_and_cache_robustness(tiny, tmp_path):
    exp = load_experiment(tiny, seeds=[0])
    exp.fractions, exp.robustness = [0.25], [0]
    run_experiment(exp, tmp_path, out=tmp_path / "report", quiet=True, log=lambda m: None)
    assert f"`wavenets experiment {tiny} --seeds 0`" in (tmp_path / "report" / "summary.md").read_text()
    exp.robustness = [0, 30]  # another experiment on the same runs: only the new angle is evaluated
    log = []
    agg = run_experiment(exp, tmp_path, quiet=True, log=log.append)
    assert sum("done earlier" in m for m in log) == 2
    assert set(agg["variants"]["CNN"]["0.25"]["robustness"]) == {"0.0", "30.0"}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX advisory locks")
def test_a_run_another_sweep_holds_is_waited_for_then_reused(tiny, tmp_path):
    import fcntl
    import shutil
    import threading

    exp = load_experiment(tiny, seeds=[0])
    exp.fractions, exp.robustness, exp.variants = [0.25], [], exp.variants[:1]
    run_experiment(exp, tmp_path / "elsewhere", quiet=True, log=lambda m: None)
    name = exp.configs()[0][3]["name"]
    run_dir = tmp_path / "shared" / "sweeps" / name
    run_dir.mkdir(parents=True)
    log: list[str] = []
    with open(run_dir / ".lock", "a") as other:  # another sweep is training this run
        fcntl.flock(other, fcntl.LOCK_EX)
        waiter = threading.Thread(target=run_experiment, args=(exp, tmp_path / "shared"),
                                  kwargs={"quiet": True, "log": log.append})
        waiter.start()
        for _ in range(600):
            if any("waiting" in m for m in log):
                break
            time.sleep(0.05)
        assert any(f"another process is training {name}" in m for m in log) and waiter.is_alive()
        shutil.copytree(tmp_path / "elsewhere" / "sweeps" / name, run_dir, dirs_exist_ok=True)  # ... finishes it
        fcntl.flock(other, fcntl.LOCK_UN)
    waiter.join(120)
    assert not waiter.is_alive()
    assert any("done earlier" in m for m in log) and not any("training" in m and "waiting" not in m for m in log)


def test_experiment_refuses_torchrun(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="one process.*wavenets train"):
        run_experiment(load_experiment(tiny), tmp_path, quiet=True, log=lambda m: None)


def test_run_key_ignores_evaluation_settings_only(tiny, monkeypatch):
    cfg = load_recipe(str(tiny.parent / "gcnn.toml"))
    same = load_recipe(str(tiny.parent / "gcnn.toml"), ["eval.rotations=[0, 45]", "name='other'"])
    other_seed = load_recipe(str(tiny.parent / "gcnn.toml"), ["train.seed=5"])
    assert run_name(cfg, "g") == run_name(same, "g")
    assert run_name(cfg, "g") != run_name(other_seed, "g")
    assert run_name(other_seed, "g").startswith("g_f1_s5_")
    # a new option with its default value (added to DEFAULTS later) keeps old runs' names
    before = run_name(cfg, "g")
    monkeypatch.setitem(_sweep.DEFAULTS["model"], "some_future_option", None)
    newer = json.loads(json.dumps(cfg))
    newer["model"]["some_future_option"] = None
    assert run_name(newer, "g") == before


@pytest.mark.parametrize("text, message", [
    ('title = "x"\n', "at least one \\[\\[variant\\]\\]"),
    ('colour = 1\n[[variant]]\nrecipe = "tissue_cnn"\n', "unknown key.*colour"),
    ('fractions = [0, 0.5]\n[[variant]]\nrecipe = "tissue_cnn"\n', "fractions must lie in"),
    ('[[variant]]\nrecipe = "no_such_recipe"\n', "recipe 'no_such_recipe' not found"),
    ('[[variant]]\nrecipe = "tissue_cnn"\nset = ["train.epochz=2"]\n', "unknown key 'train.epochz'"),
    ('robustness = "fine"\n[[variant]]\nrecipe = "tissue_cnn"\n', "robustness.*list of numbers"),
    ('budget = "time"\n[[variant]]\nrecipe = "tissue_cnn"\n', 'budget must be "epochs".*"steps".*got \'time\''),
    ('robustness = [0, 45]\nfocus_range = [90, 0]\n[[variant]]\nrecipe = "tissue_cnn"\n', "focus_range must be \\[lo, hi\\]"),
    ('robustness = [0, 45, 90]\nfocus_range = [40, 80]\n[[variant]]\nrecipe = "tissue_cnn"\n',
     "focus_range \\[40, 80\\] holds 1 of the robustness points"),
])
def test_bad_experiment_files_are_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_experiment(path)


def test_a_steps_budget_gives_every_fraction_the_full_runs_optimiser_steps(tiny):
    tiny.write_text(tiny.read_text().replace("fractions = [0.25, 0.5]", 'fractions = [0.1, 0.25, 1.0]\nbudget = "steps"'))
    exp = load_experiment(tiny)
    epochs = {(v.label, frac): cfg["train"]["epochs"] for v, frac, _, cfg in exp.configs()}
    assert epochs[("CNN", 0.1)] == 20 and epochs[("CNN", 0.25)] == 8 and epochs[("CNN", 1.0)] == 2
    assert len({cfg["name"] for *_, cfg in exp.configs()}) == len(exp.configs())  # the longer runs are new runs
    tiny.write_text(tiny.read_text().replace('budget = "steps"', ""))
    assert {cfg["train"]["epochs"] for *_, cfg in load_experiment(tiny).configs()} == {2}  # the default: epochs


def test_shipped_experiments_load():
    for name in sorted(p.stem for p in Path("recipes/experiments").glob("*.toml")):
        exp = load_experiment(name)
        assert len(exp.configs()) == len(exp.variants) * len(exp.fractions) * len(exp.seeds)
    assert load_experiment("tissue_robustness").robustness[:3] == [0.0, 7.5, 15.0]
    assert load_experiment("sounds_robustness").robustness[0] == 0.25
    sc09 = load_experiment("sc09_scale")  # the 5 tape speeds x0.5-x2 of the log-spaced 17, ends included
    assert sc09.focus_range == (0.5, 2.0) and len(_sweep.in_range(sc09.robustness, sc09.focus_range)) == 9
    steps = load_experiment("sounds_pyramid_steps")
    assert steps.budget == "steps" and {c["train"]["epochs"] for v, f, _, c in steps.configs() if f == 0.1} == {120}


def test_cli_dry_run_and_unknown_experiment(tiny, tmp_path, capsys):
    assert main(["experiment", str(tiny), "--seeds", "0-1", "--runs-dir", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "8 runs" in out and out.count("to train") == 8
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert len({line.index(" fraction ") for line in rows}) == 1  # one column, however long a label
    names = [Path(line.split()[-1]).name for line in rows]
    (tmp_path / "sweeps" / names[0]).mkdir(parents=True)
    (tmp_path / "sweeps" / names[0] / "results.json").write_text(json.dumps({"test": {}}))
    (tmp_path / "sweeps" / names[1]).mkdir()
    (tmp_path / "sweeps" / names[1] / "results.json").write_text('{"test": {"ro')  # cut off: not done
    assert main(["experiment", str(tiny), "--seeds", "0-1", "--runs-dir", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count(" done ") == 1 and out.count("to train") == 7
    assert main(["sweep", str(tmp_path / "missing.toml"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "known experiments: digits_scale," in err and "sounds_augmentation" in err  # sorted, all listed
    assert main(["experiment", str(tiny), "--seeds", "a-b", "--dry-run"]) == 2
    assert "--seeds expects" in capsys.readouterr().err
