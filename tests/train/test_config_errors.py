"""Issue 13: every bad value is refused before any work, in one line that names the key."""
import pytest
import torch

from wavenets.cli import main

BASE = ["train", "digits_cnn", "--set", "data.fraction=0.2", "-q"]


@pytest.mark.parametrize("sets, expected", [
    (["train=1"], "'train' is a table"),
    (["train.epochs=abc"], "train.epochs must be a whole number >= 1, got 'abc'"),
    (["train.epochs=1.7"], "train.epochs must be a whole number >= 1, got 1.7"),
    (["train.epochs=0"], "train.epochs must be a whole number >= 1, got 0"),
    (["train.batch_size=0"], "train.batch_size must be a whole number >= 1"),
    (["train.eval_batch_size=0"], "train.eval_batch_size must be a whole number >= 1"),
    (["eval.rotations=[]"], "eval.rotations must be a non-empty list of angles"),
    (["eval.rotations=['a']"], "eval.rotations must be a non-empty list of angles"),
    (["model.width=0"], "model.width is channels per group element"),
    (["train.amp=maybe"], "train.amp must be"),
])
def test_bad_values_are_one_error_line_naming_the_key(tmp_path, capsys, sets, expected):
    args = [*BASE, "--runs-dir", str(tmp_path)]
    for item in sets:
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1, err
    assert not list(tmp_path.rglob("results.json"))


def test_a_gpu_index_torch_does_not_see_is_refused(monkeypatch):
    """cuda:N beyond the GPUs there is one clear error up front, not a failure deep in training."""
    from wavenets.train import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"'cuda:2' requested but torch sees 2 GPU\(s\) \(cuda:0 … cuda:1\)"):
        resolve_device("cuda:2")


def test_bad_device_and_audio_factors(tmp_path, capsys):
    assert main([*BASE, "--runs-dir", str(tmp_path), "--device", "nosuch"]) == 2
    assert "unknown device 'nosuch'" in capsys.readouterr().err
    audio = ["train", "sounds_mnet", "--runs-dir", str(tmp_path), "-q", "--set", "data.fraction=0.2"]
    assert main([*audio, "--set", "augment.stretch=[0, 2]"]) == 2
    assert "augment.stretch must be positive factors" in capsys.readouterr().err
    assert main([*audio, "--set", "eval.scales=[0]"]) == 2
    assert "eval.scales must be positive factors" in capsys.readouterr().err
    assert main([*audio, "--set", "augment.stretch=[2, 1]"]) == 2
    assert "0 < lo <= hi" in capsys.readouterr().err
    assert main([*audio, "--set", "augment.pad=[0.5, 2]"]) == 2  # padding cannot shorten a clip
    assert "augment.pad must be length factors [lo, hi] with 1 <= lo <= hi" in capsys.readouterr().err
    assert main([*audio, "--set", "augment.crop=[0.5, 2]"]) == 2  # a window cannot hold more than the clip
    assert "augment.crop must be slow-down factors [lo, hi] with 1 <= lo <= hi" in capsys.readouterr().err
