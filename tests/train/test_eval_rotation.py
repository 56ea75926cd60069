"""``eval.rotation``: a zoom sweep of turned test images (tissue_rotscale), in the trainer, the
experiments (cached apart from the upright sweep) and ``wavenets eval``."""
import json

import pytest
import torch

from wavenets.cli import main
from wavenets.train import DEFAULTS, Trainer, load_experiment, run_experiment
from wavenets.train._config import ConfigError, _merge
from wavenets.train._trainer import rotation_angles

ZOOM = _merge(DEFAULTS, {"name": "z", "data": {"name": "digits_zoom", "fraction": 0.3},
                         "model": {"name": "pyramid_patchnet", "group": "rotation", "order": 4, "scales": 1, "width": 4},
                         "train": {"epochs": 1, "batch_size": 64, "seed": 0}, "eval": {"zooms": [0.7, 1.0]}})


def test_random_angles_are_one_per_image_and_the_same_every_time():
    a, b = rotation_angles("random", 50), rotation_angles("random", 50)
    assert torch.equal(a, b) and a.shape == (50,) and 0 <= a.min() and a.max() < 360 and len(set(a.tolist())) == 50
    assert torch.equal(rotation_angles("random", 80)[:50], a)  # an image's angle does not depend on the set size
    assert rotation_angles(0, 5) is None and torch.equal(rotation_angles(90, 3), torch.full((3,), 90.0,
                                                                                          dtype=torch.float64))


def test_a_c4_net_scores_the_same_turned_by_90_degrees_and_a_cnn_does_not(tmp_path):
    """Turning by 90° after the square crop is exact (torch.rot90), so a C4-invariant network's
    logits, and so its metrics, do not move; the CNN's do."""
    trainer = Trainer(ZOOM, tmp_path / "c4", device=torch.device("cpu"), quiet=True)
    trainer.fit()
    upright = trainer.evaluate(trainer.test_set, [0.7, 1.0])
    trainer.eval_rotation = 90
    turned = trainer.evaluate(trainer.test_set, [0.7, 1.0])
    for z in (0.7, 1.0):
        assert turned[z]["acc"] == upright[z]["acc"] and turned[z]["nll"] == pytest.approx(upright[z]["nll"], abs=1e-5)
    cnn = Trainer(_merge(ZOOM, {"model": {"group": "trivial", "order": 1}}), tmp_path / "cnn",
                  device=torch.device("cpu"), quiet=True)
    cnn.fit()
    a = cnn.evaluate(cnn.test_set, [1.0])[1.0]
    cnn.eval_rotation = 90
    assert cnn.evaluate(cnn.test_set, [1.0])[1.0]["nll"] != pytest.approx(a["nll"], abs=1e-5)


@pytest.mark.parametrize("data, value, message", [
    ("digits", 90, "eval.rotation turns every test image of a zoom sweep.*'digits' is not one"),
    ("digits_zoom", "sometimes", "eval.rotation must be an angle in degrees or \"random\", got 'sometimes'"),
    ("digits_zoom", float("nan"), "eval.rotation must be an angle"),
])
def test_bad_eval_rotation_is_named(tmp_path, data, value, message):
    cfg = _merge(ZOOM, {"data": {"name": data}, "eval": {"rotation": value}})
    if data == "digits":
        cfg["model"] = {"name": "se2net", "group": "trivial", "width": 4}
    with pytest.raises(ConfigError, match=message):
        Trainer(cfg, tmp_path / "bad", device=torch.device("cpu"), quiet=True)


def test_an_experiment_with_turned_images_shares_the_runs_but_not_their_numbers(tmp_path):
    recipe = tmp_path / "cnn.toml"
    recipe.write_text('[data]\nname = "digits_zoom"\nfraction = 0.3\n[model]\nname = "pyramid_patchnet"\n'
                      'group = "trivial"\norder = 1\nscales = 1\nwidth = 4\n[train]\nepochs = 1\nbatch_size = 64\n')
    text = (f'seeds = [0]\nrobustness = [0.7, 1.0]\n[[variant]]\nlabel = "CNN"\nrecipe = "{recipe.as_posix()}"\n')
    (tmp_path / "upright.toml").write_text(text)
    (tmp_path / "turned.toml").write_text("set = ['eval.rotation=\"random\"']\n" + text)
    runs = tmp_path / "runs"
    up = run_experiment(load_experiment(tmp_path / "upright.toml"), runs, out=tmp_path / "a", device="cpu",
                        quiet=True, log=lambda m: None)
    logs = []
    turned = run_experiment(load_experiment(tmp_path / "turned.toml"), runs, out=tmp_path / "b", device="cpu",
                            quiet=True, log=logs.append)
    assert any("done earlier" in m for m in logs)  # the same run, not trained again
    u, t = up["variants"]["CNN"]["1.0"], turned["variants"]["CNN"]["1.0"]
    assert t["acc"] != u["acc"] and t["robustness"] != u["robustness"]  # turned digits are harder
    (run,) = (runs / "sweeps").iterdir()
    cache = json.loads((run / "robustness.json").read_text())
    assert {"0.7", "1.0", "0.7 rotation=random", "1.0 rotation=random"} <= set(cache)
    assert t["robustness"]["1.0"] == cache["1.0 rotation=random"]["acc"]


def test_cli_eval_turns_a_zoom_run_by_one_angle(tmp_path, capsys):
    (tmp_path / "r.toml").write_text('[data]\nname = "digits_zoom"\nfraction = 0.3\n[model]\nname = "pyramid_patchnet"\n'
                                     'group = "trivial"\norder = 1\nwidth = 4\n[train]\nepochs = 1\nbatch_size = 64\n')
    assert main(["train", str(tmp_path / "r.toml"), "--runs-dir", str(tmp_path), "-q"]) == 0
    assert main(["eval", str(tmp_path / "r"), "--scale", "1", "--rotate", "30", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "every image turned by 30" in out
    assert set(json.loads((tmp_path / "r" / "eval_test.json").read_text())) == {"1.0 rotation=30.0"}
    assert main(["eval", str(tmp_path / "r"), "--rotate", "30,60", "--device", "cpu"]) == 2
    assert "one angle" in capsys.readouterr().err
