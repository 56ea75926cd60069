"""Tasks: what each kind of dataset poses (evaluation transform, augmentation, metrics), asked
by the trainer, sweeps, cross validation, reports and the CLI instead of string branches."""
import pytest
import torch

from wavenets.data import SyntheticSounds, get_dataset, time_stretch
from wavenets.train import (DEFAULTS, ROTATION, TIME_SCALE, ZOOM, AudioTask, ConfigError, ImageTask, make_task,
                            transform_named)
from wavenets.train._config import _merge


def _cfg(data, **extra):
    return _merge(DEFAULTS, {"data": {"name": data}, **extra})


@pytest.mark.parametrize("data,cls,transform", [("digits", ImageTask, ROTATION), ("digits_zoom", ImageTask, ZOOM),
                                                 ("sounds", AudioTask, TIME_SCALE)])
def test_each_dataset_kind_gets_its_task(data, cls, transform):
    task = make_task(get_dataset(data, "val"), _cfg(data))
    assert type(task) is cls and task.transform is transform and task.select == "acc"
    assert task.params == [float(v) for v in DEFAULTS["eval"][transform.key]]


def test_transforms_are_named_in_results_files():
    for t in (ROTATION, ZOOM, TIME_SCALE):
        assert transform_named(t.name) is t
    assert transform_named(None) is ROTATION  # results.json written before eval_transform existed
    assert (ROTATION.format(90), TIME_SCALE.format(0.5), ZOOM.identity_key()) == ("90°", "0.5×", "1.0")
    with pytest.raises(ValueError, match="unknown evaluation transform 'pitch'"):
        transform_named("pitch")


def test_audio_task_prepares_waveforms_and_leaves_features_alone():
    ds = SyntheticSounds("val")
    task = make_task(ds, _cfg("sounds", augment={"stretch": [0.5, 2.0]}))
    raw = torch.from_numpy(ds.waves[:4])
    assert task.augmenting and torch.equal(task.prepare(raw, None), raw)
    assert torch.equal(task.prepare(raw, None, 2.0), time_stretch(raw, 2.0))
    assert not torch.equal(task.prepare(raw, torch.Generator().manual_seed(0)), raw)  # augmented in training
    features = torch.randn(4, 1, 8, 5)
    assert torch.equal(task.prepare(features, torch.Generator().manual_seed(0), 2.0), features)


@pytest.mark.parametrize("data,extra,message", [
    ("sounds", {"augment": {"rot90": True}}, "augment images; for audio use augment.stretch"),
    ("digits", {"augment": {"stretch": [0.5, 2.0]}}, "augment.stretch is for audio"),
    ("digits", {"augment": {"pad": [1.0, 2.0]}}, "as are augment.pad and augment.crop"),
    ("digits", {"augment": {"crop": [1.0, 2.0]}}, "as are augment.pad and augment.crop"),
    ("sounds", {"eval": {"rotation": 90}}, "'sounds' is not one"),
    ("digits", {"augment": {"zoom": [0.5, 2.0]}}, "augment.zoom needs a dataset of context patches"),
])
def test_a_task_refuses_what_does_not_apply_to_its_data(data, extra, message):
    with pytest.raises((ValueError, ConfigError), match=message):
        make_task(get_dataset(data, "val"), _cfg(data, **extra))


def test_a_trained_runs_input_comes_from_its_task():
    """predict and export ask the task class of the run's dataset class for the input's shape,
    rate and normalisation, instead of comparing dataset kinds."""
    from wavenets.data import DATASETS
    from wavenets.models import get_model
    from wavenets.train._task import task_class

    sounds, digits = DATASETS["sounds"], DATASETS["digits"]
    assert task_class(sounds) is AudioTask and task_class(digits) is ImageTask
    cfg = _cfg("sounds")
    rate, length = sounds.clip_format()
    gen = torch.Generator().manual_seed(0)
    assert AudioTask.sample_rate(sounds, cfg) == rate and ImageTask.sample_rate(digits, cfg) is None
    assert AudioTask.example_input(sounds, cfg, None, 3, gen).shape == (3, 1, length)
    assert AudioTask.input_spec(sounds, cfg)["sample_rate"] == rate
    net = get_model("se2net", group="trivial", preset="digits", in_channels=1, num_classes=10, width=2)
    x = ImageTask.example_input(digits, _cfg("digits"), net, 2, gen)
    assert x.shape == (2, 1, net.input_size, net.input_size)
    spec = ImageTask.input_spec(digits, _cfg("digits"))
    assert len(spec["mean"]) == len(spec["std"]) == 1 and "height, width" in spec["layout"]
    with pytest.raises(ValueError, match="no task for datasets of kind 'video'"):
        task_class(type("Clips", (), {"kind": "video"}))
