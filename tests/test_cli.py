"""The command line: help, train, eval, data info, recipes, and its error messages."""
import argparse
import json
import subprocess
import sys

import pytest

from wavenets.cli import main

QUICK = ["--set", "train.epochs=1", "--set", "data.fraction=0.3", "--set", "model.width=4", "--quiet"]


def test_help_and_version():
    out = subprocess.run([sys.executable, "-m", "wavenets.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout and "eval" in out.stdout
    for cmd in ("train", "eval", "data", "demo"):
        sub = subprocess.run([sys.executable, "-m", "wavenets.cli", cmd, "--help"], capture_output=True, text=True)
        assert sub.returncode == 0 and "usage: wavenets" in sub.stdout


def test_every_command_and_option_says_what_it_does(capsys):
    """`wavenets COMMAND --help` explains every argument, and the help's list of the data sets
    `data fetch` downloads is the fetchers' list."""
    from wavenets.cli import _parser
    from wavenets.data import FETCHERS

    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    silent = {name: [a.dest for a in sub._actions if not a.help]
              for name, sub in commands.choices.items() if name != "bench"}  # bench hands its --help to the suite
    assert not any(silent.values()), {k: v for k, v in silent.items() if v}
    assert all(c.help for c in commands._choices_actions)
    data_help = next(a.help for a in commands.choices["data"]._actions if a.dest == "name")
    assert all(name in data_help for name in FETCHERS)
    with pytest.raises(SystemExit):
        main(["--help"])
    epilog = capsys.readouterr().out.split("commands at a glance:")[1]
    assert {line.split()[1] for line in epilog.splitlines() if line.startswith("  wavenets ")} >= set(commands.choices) - {"sweep"}


def test_train_then_eval_rotated(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    assert main(["train", "digits_se2_n8", "--runs-dir", runs, *QUICK]) == 0
    run = tmp_path / "runs" / "digits_se2_n8"
    assert (run / "best.pt").exists() and (run / "summary.md").exists()
    capsys.readouterr()
    assert main(["eval", str(run), "--rotate", "0,90,45"]) == 0
    out = capsys.readouterr().out
    assert "90°" in out and "45°" in out
    res = json.loads((run / "eval_test.json").read_text())
    assert res["0.0"]["acc"] == res["90.0"]["acc"]  # C8 is exact at 90°


def test_existing_run_needs_resume_or_force(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    assert main(["train", "digits_cnn", "--runs-dir", runs, *QUICK]) == 0
    assert main(["train", "digits_cnn", "--runs-dir", runs, *QUICK]) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err
    assert main(["train", "digits_cnn", "--runs-dir", runs, "--resume", *QUICK]) == 0  # already finished: reports
    assert main(["train", "digits_cnn", "--runs-dir", runs, "--force", *QUICK]) == 0


def test_errors_are_one_line_messages(tmp_path, capsys):
    assert main(["train", "digits_cnn", "--set", "train.epoch=2", "--runs-dir", str(tmp_path)]) == 2
    assert "unknown key 'train.epoch'" in capsys.readouterr().err
    assert main(["train", "nope", "--runs-dir", str(tmp_path)]) == 2
    assert "recipe 'nope' not found" in capsys.readouterr().err
    assert main(["train", "sounds_wnet_pyrmid", "--runs-dir", str(tmp_path)]) == 2  # a typo: the nearest names
    assert "did you mean sounds_wnet_pyramid or" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 2
    assert "config.json not found" in capsys.readouterr().err
    with pytest.raises(ValueError, match="config.json not found"):  # --traceback: the exception itself
        main(["--traceback", "eval", str(tmp_path)])
    assert main(["data", "info", "pcam", "--data-root", str(tmp_path)]) == 0
    assert "not available" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["eval", str(tmp_path), "--rotate", "a,b"])


def test_every_data_set_introduces_itself_in_one_plain_sentence():
    """`wavenets data info NAME` opens with the first sentence of the data set's docstring, whole
    (it printed the first wrapped line, cut mid-sentence) and without reST markup."""
    from wavenets.cli import _headline
    from wavenets.data import DATASETS

    shipped = {name: cls for name, cls in DATASETS.items() if cls.__module__.startswith("wavenets.")}
    assert len(shipped) >= 14  # (other tests may have registered data sets of their own)
    for name, cls in shipped.items():
        line = _headline(cls)
        assert line.endswith(".") and 20 < len(line) < 420 and "`" not in line and "\n" not in line, (name, line)
    assert _headline(DATASETS["mtt"]).endswith("the 50 most frequent of 188 tags.")

    class Mine:  # a data set a user registered without a docstring
        pass

    assert _headline(Mine) == "Mine (undocumented)"


def test_data_info_and_recipes(capsys):
    assert main(["data", "info", "digits"]) == 0
    assert main(["data", "fetch", "tissue"]) == 0
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "train: 1074 images, 1x12x12" in out and "tissue needs no download" in out
    assert "tissue_se2_n8" in out


@pytest.mark.slow
def test_demo_tissue_trains_three_models_and_compares(tmp_path, capsys):
    assert main(["demo", "tissue", "--epochs", "1", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SE(2) G-CNN C8" in out and "CNN + rotation aug" in out and "one seed" in out
    report = json.loads((tmp_path / "demo_tissue.json").read_text())
    se2 = report["models"]["SE(2) G-CNN C8, no rot. aug"]["acc"]
    assert se2["0.0"] == se2["90.0"] == se2["180.0"]  # rot90 after a square crop is exact
    assert (tmp_path / "demo_tissue.png").stat().st_size > 1000


def test_demo_digits_over_seeds_states_the_verdict_its_numbers_support(tmp_path, capsys):
    assert main(["demo", "digits", "--epochs", "2", "--seeds", "0,1", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "demo_digits.json").read_text())
    assert report["seeds"] == [0, 1] and report["angles"] == [0.0, 90.0, 180.0, 270.0]
    gcnn = report["models"]["G-CNN C8, no aug."]["acc"]
    for seed in range(2):  # exact invariance under 90° turns of a 12 px digit, seed by seed
        assert gcnn["0.0"][seed] == gcnn["90.0"][seed] == gcnn["180.0"][seed] == gcnn["270.0"][seed]
    assert len(report["verdict"]) == 2 and all(line in out for line in report["verdict"])
    assert all(line.split(": ")[-1].startswith(("holds", "fails", "not shown")) for line in report["verdict"])
    assert "0°" in out and "±" in out  # the table gives mean ± sd over seeds
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(
        f"demo_digits_{k}_s{s}" for k in ("gcnn", "cnn", "cnn_aug") for s in range(2))


def test_demo_rejects_bad_seeds(capsys):
    assert main(["demo", "digits", "--seeds", "0,x"]) == 2
    assert "--seeds takes whole numbers" in capsys.readouterr().err


def test_demo_equivariance_prints_every_group(capsys):
    assert main(["demo", "equivariance", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "Rotation(4)" in out and "Dilation(6)" in out and "exact" in out and "interp" in out


def test_viz_equivariance_writes_figures(tmp_path, capsys):
    from PIL import Image

    assert main(["viz", "equivariance", "--out", str(tmp_path), "--no-gif"]) == 0
    for name in ("rotation.png", "scale.png"):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG" and im.size[0] > 800
    assert not (tmp_path / "rotation.gif").exists()
    assert "wrote" in capsys.readouterr().out
    assert main(["viz", "equivariance", "--out", str(tmp_path)]) == 0  # with the animation
    with Image.open(tmp_path / "rotation.gif") as im:
        assert im.format == "GIF" and im.n_frames == 24  # a turn in 15° steps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rotation.gif", "rotation.png", "scale.png"]  # no temporary


def test_closed_pipe_exits_quietly():
    """`wavenets recipes | head -1`: the reader has left; no traceback, the shell's SIGPIPE status."""
    import os

    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, deterministically
    try:
        proc = subprocess.run([sys.executable, "-m", "wavenets.cli", "recipes"], stdout=write,
                              stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)
    err = proc.stderr.decode()
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_eval_reads_damaged_and_older_run_folders_clearly(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), *QUICK]) == 0
    run = runs / "digits_cnn"
    cfg = json.loads((run / "config.json").read_text())
    del cfg["model"]["hidden"], cfg["train"]["deterministic"]  # a run written by an older version
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["eval", str(run)]) == 0
    # written before the model registry: every model's keys stored, at the old defaults where unset
    legacy = {"group": "trivial", "order": 1, "mask": False, "preset": None, "width": 4, "arch": "m5", "base": 2.0,
              "start": 0, "scale_taps": None, "layout": "dense", "readout": "max", "scales": 1, "voices": 1,
              "spatial_readout": "centre", "frontend": "logmel", "top_db": 80.0}
    (run / "config.json").write_text(json.dumps({**cfg, "model": legacy}))
    assert main(["eval", str(run)]) == 0
    (run / "config.json").write_text('{"name": "digits_cnn", "da')
    assert main(["eval", str(run)]) == 2
    assert "config.json is not valid JSON" in capsys.readouterr().err
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "best.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read checkpoint") and err.count("\n") == 1


def test_models_lists_a_models_keys_with_required_and_unset_ones_named(capsys):
    from wavenets.cli import main as cli

    assert cli(["models", "mnet"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["group"] == "required" and lines["arch"] == "'m11'" and lines["vote"] == "'mean'"
    assert lines["order"] == lines["base"] == lines["start"] == "unset (the model's own default)"
