"""The pyramid patch classifier: one network for scale, roto-scale, SE(2) and the plain CNN."""
import pytest
import torch

from wavenets.groups import Dilation, Rotation, Trivial
from wavenets.models import PyramidPatchNet, centre_readout, count_parameters, model_from_config
from wavenets.nn import pyramid_reduce


def _stats(model):
    for m in model.modules():  # move batch-norm statistics off their defaults
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) or hasattr(m, "running_mean"):
            if getattr(m, "running_mean", None) is not None:
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize("train", [False, True])
def test_roto_scale_net_is_exactly_rot90_invariant(train):
    torch.manual_seed(0)
    net = _stats(PyramidPatchNet(Rotation(4) * Dilation(3), 3, 2, width=4)).double().train(train)
    x = torch.randn(4, 3, 33, 33, dtype=torch.float64)
    y = net(x)
    for k in (1, 2, 3):
        torch.testing.assert_close(net(torch.rot90(x, k, dims=(-2, -1))), y, rtol=0, atol=1e-10)


def test_scale_net_shifts_levels_under_the_pyramid_contraction(dtype):
    """Contracting the input by the pyramid's operator shifts the centre features by one scale."""
    torch.manual_seed(0)
    net = _stats(PyramidPatchNet(Dilation(4), 3, 2, width=4)).to(dtype).eval()
    x = torch.randn(2, 3, 65, 65, dtype=dtype)
    with torch.no_grad():
        full, contracted = net.level_logits(x), net.level_logits(pyramid_reduce(x, 2))
    torch.testing.assert_close(contracted[:, :, :3], full[:, :, 1:], rtol=0,
                               atol=50 * torch.finfo(dtype).eps * full.abs().max().item())


def test_one_level_is_a_plain_cnn_with_the_scale_nets_parameters():
    cnn, scale = PyramidPatchNet(Dilation(1), 3, 2), PyramidPatchNet(Dilation(4), 3, 2)
    assert count_parameters(cnn) == count_parameters(scale)  # scales share the kernels
    assert len(cnn.features[0].conv.plan.blocks) == 1 and cnn.features[0].levels == 1
    roto = PyramidPatchNet(Rotation(4) * Dilation(4), 3, 2)
    assert roto.width == 20 and 0.5 < count_parameters(roto) / count_parameters(cnn) < 1.5  # budget-matched


def test_centre_readout_reads_the_centre_sample():
    levels = [torch.arange(25.0).view(1, 1, 1, 5, 5), torch.arange(9.0).view(1, 1, 1, 3, 3)]
    assert centre_readout(levels).flatten().tolist() == [12.0, 4.0]


def test_built_from_a_recipe_and_clear_errors():
    m = model_from_config({"name": "pyramid_patchnet", "group": "rotation", "order": 4, "scales": 3, "voices": 1},
                          in_channels=3, num_classes=2)
    assert m.group == Rotation(4) * Dilation(3)
    m = model_from_config({"name": "pyramid_patchnet", "group": "trivial", "scales": 4, "voices": 2},
                          in_channels=3, num_classes=2)
    assert m.group == Dilation(4, 2**0.5)
    with pytest.raises(ValueError, match="scale axis"):
        PyramidPatchNet(Rotation(4))
    with pytest.raises(ValueError, match=r"images \[B, C, H, W\]"):
        PyramidPatchNet(Dilation(2))(torch.zeros(3, 33, 33))
    assert Trivial().scale_axis() is None


def test_level_dropout_skips_the_finest_levels_in_training_only():
    torch.manual_seed(0)
    net = PyramidPatchNet(Rotation(4) * Dilation(3), 3, 2, width=4, level_dropout=2)
    h = torch.randn(64, 5, 12)
    out = net._skip_fine_levels(h)
    dropped = out[:, 0].isinf().reshape(64, 3, 4)  # [patch, level, rotation]
    k = dropped[:, :, 0].sum(1)
    assert set(k.tolist()) == {0, 1, 2}  # k finest levels, never the coarsest
    assert torch.equal(dropped, (torch.arange(3)[None, :, None] < k[:, None, None]).expand(-1, -1, 4))
    x = torch.randn(2, 3, 33, 33)
    net.eval()
    torch.testing.assert_close(net(x), net.head(net.level_logits(x).amax(2)))
    with pytest.raises(ValueError, match="level_dropout"):
        PyramidPatchNet(Dilation(2), level_dropout=-1)
