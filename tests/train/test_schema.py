"""The one config schema (issue 13): every key declared once with its type, range and default;
bad values refused before any work, from a recipe file, --set, or a run's config.json."""
import json
from pathlib import Path

import pytest

from wavenets.cli import main
from wavenets.train import DEFAULTS
from wavenets.train._config import ConfigError, load_recipe
from wavenets.models import list_models, model_keys
from wavenets.train._config import _merge
from wavenets.train._schema import SCHEMA, UNSET, Key, check, describe, reference


def _leaves(schema, path=""):
    for key, spec in schema.items():
        if isinstance(spec, dict):
            yield from _leaves(spec, f"{path}{key}.")
        else:
            yield path + key, spec


def test_the_defaults_are_the_schemas_and_pass_it():
    assert [k for k, _ in _leaves(SCHEMA)] == [k for k, *_ in describe()]
    check(_merge(DEFAULTS, {"model": {"name": "se2net", "group": "rotation"}}))  # a recipe names its model
    for key, spec in _leaves(SCHEMA):
        *tables, leaf = key.split(".")
        node = DEFAULTS
        for part in tables:
            node = node[part]
        if spec.default is UNSET:  # a model key: its model's builder declares the default, the defaults hold none
            assert leaf not in node and tables == ["model"], key
            continue
        assert node[leaf] == spec.default and spec.ok(spec.default), key


def _model_of(key: str) -> dict:
    """The model table a test of ``model.KEY`` sets it in: a model that takes that key."""
    leaf = key.split(".")[1]
    if leaf == "name":
        return {}
    name = next(n for n in list_models() if leaf in model_keys(n))
    return {"name": name}


@pytest.mark.parametrize("key", [k for k, _ in _leaves(SCHEMA)])
def test_every_key_refuses_a_wrong_value_and_names_itself(key):
    spec: Key = dict(_leaves(SCHEMA))[key]
    bad = 123 if spec.ok("?!") else "?!"  # the free-text keys take any string, so a number
    cfg = {}
    node = cfg
    *tables, leaf = key.split(".")
    for t in tables:
        node = node.setdefault(t, {})
    node[leaf] = bad
    if tables == ["model"]:
        node.update(_model_of(key))
    with pytest.raises(ConfigError, match=key.replace(".", r"\.") + r"( must be | is )"):
        check(cfg)


@pytest.mark.parametrize("key, value", [
    ("data.fraction", 0), ("data.fraction", 1.5), ("optim.lr", 0.0), ("optim.momentum", 1.0),
    ("schedule.factor", 1), ("model.base", 1.0), ("train.seed", -1), ("model.multirate", True),
    ("augment.zoom", [2.0, 1.0]), ("augment.stretch", [0.5]), ("eval.zooms", [1, float("inf")]),
    ("model.scale_taps", [3, [1, 0]]), ("train.amp", "fp16"), ("model.readout", "MAX"),
])
def test_values_out_of_range_are_refused(key, value):
    section, leaf = key.split(".")
    table = {leaf: value, **(_model_of(key) if section == "model" else {})}
    with pytest.raises(ConfigError, match=f"{key} (must be|is)"):
        check({section: table})


@pytest.mark.parametrize("key, value", [
    ("model.scale_taps", [3, [3, 1], 1]), ("model.scale_taps", 2), ("optim.name", "AdamW"),
    ("augment.zoom", [0.5, 2]), ("augment.stretch", False), ("eval.rotation", "random"), ("eval.rotation", -30.5),
    ("train.amp", "bf16"), ("model.group", "Rotation"),
])
def test_values_in_range_pass(key, value):
    section, leaf = key.split(".")
    table = {leaf: value, **(_model_of(key) if section == "model" else {})}
    if section == "model":
        table.setdefault("group", "dilation" if table["name"] == "mnet" else "rotation")
    check({section: table})


def test_a_recipe_file_with_a_bad_value_is_named_with_its_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[data]\nname = "digits"\n[model]\nname = "se2net"\ngroup = "trivial"\n[train]\nepochs = -1\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: train\.epochs must be a whole number >= 1, got -1"):
        load_recipe(path)


def test_a_runs_config_json_is_checked_before_eval_or_resume(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "digits_cnn", "--runs-dir", str(runs), "--set", "data.fraction=0.2",
                 "--set", "train.epochs=1", "--set", "model.width=4", "-q"]) == 0
    cfg_path = runs / "digits_cnn" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["optim"]["lr"] = -1
    cfg_path.write_text(json.dumps(cfg))
    assert main(["eval", str(runs / "digits_cnn"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "optim.lr must be a number > 0, got -1" in err and err.count("\n") == 1


def test_the_docs_table_is_the_schema():
    """docs/config.md is generated (wavenets recipes --keys): it must not drift from the schema."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "config.md"
    assert doc.read_text() == reference(), "regenerate: wavenets recipes --keys > docs/config.md"
