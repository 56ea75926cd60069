"""The spectrogram CNN baselines: parameter matching with the M-Nets, both inputs (waveforms,
cached features), the registry, and errors."""
import pytest
import torch

from wavenets.groups import Trivial
from wavenets.models import MNet, SpecCNN, count_parameters, matched_width, model_from_config
from wavenets.models._spec_cnn import _parameters
from wavenets.nn import Spectrogram
from wavenets.train import load_recipe

pytest.importorskip("librosa")


@pytest.mark.parametrize("arch,classes", [("m5", 10), ("m11", 10), ("m11", 50), ("m18", 10)])
def test_default_width_matches_the_published_mnet(arch, classes):
    net = SpecCNN(Spectrogram("cqt", 22050), arch, classes)
    mnet = count_parameters(MNet(Trivial(), arch, classes))
    assert count_parameters(net) == _parameters(arch, net.width, classes, 1)  # the count the width was solved on
    assert abs(count_parameters(net) - mnet) / mnet < 0.02


def test_sounds_recipes_match_the_sounds_mnet():
    mnet = count_parameters(model_from_config(load_recipe("sounds_mnet")["model"], in_channels=1, num_classes=6))
    for frontend in ("logmel", "cqt"):
        cfg = load_recipe(f"sounds_spec_{frontend}")["model"]
        net = model_from_config(cfg, in_channels=1, num_classes=6, sample_rate=8000)
        assert isinstance(net, SpecCNN) and net.frontend.kind == frontend
        assert abs(count_parameters(net) - mnet) / mnet < 0.10  # 29,452 against 27,888
        assert cfg["width"] == matched_width("m5", 6, params=mnet)


def test_waveforms_and_cached_features_give_the_same_logits():
    torch.manual_seed(0)
    net = SpecCNN(Spectrogram("logmel", 8000), "m5", 6, width=4).eval()
    x = 0.1 * torch.randn(3, 1, 8192)
    with torch.no_grad():
        assert torch.equal(net(x), net(net.frontend(x)))
        assert net(x[:, :, :3000]).shape == (3, 6)  # any clip length: the pools keep partial windows


def test_spec_cnn_trains():
    torch.manual_seed(0)
    net = SpecCNN(Spectrogram("cqt", 8000), "m5", 3, width=4)
    feats = net.frontend(0.1 * torch.randn(8, 1, 4096))
    loss = torch.nn.functional.cross_entropy(net(feats), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_errors_name_the_expected_shapes():
    net = SpecCNN(Spectrogram("logmel", 8000), "m5", 6, width=4)
    with pytest.raises(ValueError, match=r"\[B, 1, T\] or spectrograms \[B, 1, F, N\]"):
        net(torch.zeros(2, 8192))
    with pytest.raises(ValueError, match=r"expected waveforms \[B, 1, T\]"):
        net(torch.zeros(2, 2, 8192))
    with pytest.raises(ValueError, match="arch must be one of m5, m11, m18"):
        SpecCNN(Spectrogram("logmel", 8000), "m34res")
    with pytest.raises(ValueError, match="sample rate"):
        model_from_config({"name": "spec_cnn", "frontend": "cqt"}, in_channels=1, num_classes=6)


def test_active_pooling_reads_nothing_from_silence():
    """With global_pool='active' a spectrogram at the floor everywhere (digital silence) has no
    excess over the silence reference: the logits are the head's bias, whatever the weights."""
    torch.manual_seed(0)
    net = SpecCNN(Spectrogram("cqt", 8000), "m5", 6, width=4, global_pool="active")
    for p in net.parameters():
        torch.nn.init.normal_(p)
    net.eval()
    floor = torch.full((2, 1, 72, 33), -80.0)
    x = 0.1 * torch.randn(2, 1, 4096)
    with torch.no_grad():
        assert torch.allclose(net(floor), net.fc.bias.expand(2, 6), atol=1e-6)
        assert not torch.allclose(net(x), net.fc.bias.expand(2, 6), atol=1e-3)
    with pytest.raises(ValueError, match="top_db"):
        SpecCNN(Spectrogram("cqt", 8000, top_db=None), "m5", 6, global_pool="active")
    with pytest.raises(ValueError, match="global_pool must be one of mean, active"):
        SpecCNN(Spectrogram("cqt", 8000), "m5", 6, global_pool="max")


@pytest.mark.parametrize("data", ["us8k", "esc50"])
def test_file_dataset_recipes_match_m11_at_the_datasets_rate(data):
    from wavenets.data import DATASETS

    cls = DATASETS[data]
    rate, length = cls.clip_format()
    m11 = count_parameters(MNet(Trivial(), "m11", cls.num_classes))
    for frontend in ("logmel", "cqt"):
        cfg = load_recipe(f"{data}_spec_{frontend}_m11")
        net = model_from_config(cfg["model"], in_channels=1, num_classes=cls.num_classes, sample_rate=rate)
        assert net.frontend.kind == frontend and net.frontend.sample_rate == rate == 22050
        assert abs(count_parameters(net) - m11) / m11 < 0.02
        assert net.frontend.frames(length) == length // 256 + 1  # 23 ms hops at 22,050 Hz
