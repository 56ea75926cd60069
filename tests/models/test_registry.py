"""One model registry (issue 14, item 2): register_model / get_model, every default declared once
(in the builder or the class it forwards to), unknown and missing keys named."""
import inspect

import pytest
import torch

from wavenets.cli import main
from wavenets.groups import Dilation, Trivial
from wavenets.models import (REQUIRED, MNet, SampleCNN, count_parameters, get_model, list_models, model_from_config,
                             model_keys, register_model, resolve_model_config)
from wavenets.models import _registry
from wavenets.train import DEFAULTS
from wavenets.train._config import upgrade_config
from wavenets.train._schema import SCHEMA, UNSET

#: the fewest keys each model needs, and the data it is built for
MINIMAL = {
    "se2net": ({"group": "rotation", "order": 4, "preset": "digits", "width": 2}, {"in_channels": 1}),
    "pyramid_patchnet": ({"group": "trivial", "scales": 2, "width": 2}, {"in_channels": 3}),
    "mnet": ({"group": "dilation", "order": 3, "arch": "m5", "width": 2, "lift_kernel": 9}, {"in_channels": 1}),
    "samplecnn": ({"group": "trivial", "width": 2}, {}),
    "spec_cnn": ({"frontend": "logmel", "width": 2}, {"sample_rate": 8000, "in_channels": 1}),
}


def test_every_registered_model_builds_from_its_required_keys():
    assert set(list_models()) == set(MINIMAL)
    for name, (keys, data) in MINIMAL.items():
        required = {k for k, d in model_keys(name).items() if d is REQUIRED}
        assert required <= set(keys), name
        assert count_parameters(get_model(name, **keys, **data, num_classes=3)) > 0


def test_defaults_live_in_the_builder_or_its_class_only():
    # the schema declares no model default, so the defaults hold none: a recipe's table is what it sets
    assert DEFAULTS["model"] == {"name": None}
    assert all(spec.default is UNSET for key, spec in SCHEMA["model"].items() if key != "name")
    # a forwarded key's default is the class's own
    mnet = inspect.signature(MNet).parameters
    own = inspect.signature(_registry._MODELS["mnet"].builder).parameters  # the group keys
    for key, default in model_keys("mnet").items():
        if key in mnet and key not in own:
            assert default == mnet[key].default, key
    assert model_keys("mnet")["arch"] == "m11" and model_keys("samplecnn")["dropout"] == 0.5


def test_unknown_and_missing_keys_are_named():
    with pytest.raises(ValueError, match=r"model 'mnet' has no key preset; its keys are group, order"):
        get_model("mnet", group="dilation", order=3, preset="pcam", num_classes=2)
    with pytest.raises(ValueError, match=r"model 'samplecnn' needs group \(no default\); set model.group"):
        get_model("samplecnn", num_classes=2)  # it used to become a W-Net silently
    with pytest.raises(ValueError, match="unknown model 'resnet'; registered models: mnet"):
        get_model("resnet")
    with pytest.raises(ValueError, match="group 'dilation' needs model.order"):
        get_model("mnet", group="dilation", num_classes=2)
    with pytest.raises(ValueError, match=r"group 'trivial' has one element and no scales; drop model.order = 6"):
        get_model("mnet", group="trivial", order=6, num_classes=2)


def test_the_group_keys_build_the_papers_groups():
    assert get_model("mnet", group="trivial", arch="m5", num_classes=2).group == Trivial()
    w = get_model("samplecnn", group="dilation", order=9, base=2.0, start=1, width=2, num_classes=2)
    assert isinstance(w, SampleCNN) and w.group == Dilation(9, 2.0, start=1)


def test_a_resolved_table_builds_the_same_model_and_is_plain_data():
    table = {"name": "pyramid_patchnet", "group": "trivial", "scales": 2, "width": 2}
    resolved = resolve_model_config(table)
    assert resolved["layers"] == [[5, 1], [3, 2], [3, 2], [3, 1]] and resolved["hidden"] == 64
    a = model_from_config(table, in_channels=3, num_classes=2)
    b = model_from_config(resolved, in_channels=3, num_classes=2)
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    # the dataset's preset fills an unset one, as the model is built
    assert resolve_model_config({"name": "se2net", "group": "trivial"}, default_preset="tissue")["preset"] == "tissue"


def test_a_config_written_before_the_registry_reads_back():
    legacy = {"name": "samplecnn", "group": "rotation", "order": 9, "mask": False, "preset": None, "arch": "m5",
              "scales": 1, "frontend": "logmel", "width": 4, "layout": "dense"}
    up = upgrade_config({"data": {"name": "mtt"}, "model": legacy})["model"]
    assert up == {"name": "samplecnn", "group": "dilation", "order": 9, "width": 4, "layout": "dense"}
    mnet = dict(legacy, name="mnet", group="trivial", order=6, base=2.0, start=0)
    assert "order" not in upgrade_config({"model": mnet})["model"]
    assert upgrade_config({"model": {"name": "mnet", "group": "trivial"}})["model"] == {"name": "mnet",
                                                                                         "group": "trivial"}


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(_registry, "_MODELS", dict(_registry._MODELS))


def test_a_user_model_joins_the_registry_and_recipes(scratch_registry):
    @register_model("tiny_linear")
    def tiny_linear(*, hidden: int = 8, num_classes: int = 2, in_channels: int = 1):
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(hidden), torch.nn.Linear(hidden, num_classes))

    assert "tiny_linear" in list_models() and model_keys("tiny_linear") == {"hidden": 8}
    net = model_from_config({"name": "tiny_linear", "hidden": 4}, in_channels=1, num_classes=5)
    assert net(torch.zeros(2, 1, 3, 3)).shape == (2, 5)
    with pytest.raises(ValueError, match="'tiny_linear' is registered already"):
        register_model("tiny_linear")(tiny_linear)


def test_cli_lists_models_and_their_keys(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_models())
    assert main(["models", "mnet"]) == 0
    out = capsys.readouterr().out
    assert "group              required" in out and "arch               'm11'" in out
    assert main(["models", "resnet"]) == 2
    assert "unknown model 'resnet'" in capsys.readouterr().err
