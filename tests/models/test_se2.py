"""SE2Net: parameter budgets, whole-model invariance, size checks."""
import pytest
import torch

from wavenets.groups import Dihedral, Rotation, Trivial
from wavenets.models import SE2Net, budget_width, count_parameters, make_group


def _expected_params(n: int, c: int, k: int = 5, hidden: int = 64, head: int = 16, classes: int = 2, cin: int = 3):
    convs = cin * c * k * k + 3 * c * c * n * k * k + c * hidden * n  # bias-free, BN follows
    bns = 4 * 2 * c + 2 * hidden + 2 * head
    return convs + bns + hidden * head + head * classes + classes


@pytest.mark.parametrize("n,width,params", [(1, 40, 127_098), (4, 20, 127_998), (8, 14, 127_148),
                                            (12, 11, 119_479), (16, 10, 132_288)])
def test_pcam_budget_matched_widths_and_parameter_counts(n, width, params):
    model = SE2Net(make_group("rotation", n, mask=False))
    assert budget_width(n) == width == model.width
    assert count_parameters(model) == params == _expected_params(n, width)


@pytest.mark.parametrize("group", [Rotation(4), Rotation(8), Dihedral(4), Rotation(16, mask=True)], ids=repr)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_pcam_model_is_exactly_invariant_to_rot90(group, train):
    torch.manual_seed(0)
    model = SE2Net(group).double().train(train)
    x = torch.randn(3, 3, 96, 96, dtype=torch.float64)
    y = model(x)
    for k in (1, 2, 3):
        torch.testing.assert_close(model(torch.rot90(x, k, dims=(-2, -1))), y, rtol=1e-10, atol=1e-10)
    if isinstance(group, Dihedral):
        torch.testing.assert_close(model(x.flip(-1)), y, rtol=1e-10, atol=1e-10)


def test_cnn_baseline_is_not_invariant():
    torch.manual_seed(1)
    model = SE2Net(Trivial()).double().eval()
    x = torch.randn(3, 3, 96, 96, dtype=torch.float64)
    assert (model(torch.rot90(x, 1, dims=(-2, -1))) - model(x)).abs().max() > 1e-3


@pytest.mark.parametrize("preset,size,cin,classes", [("tissue", 44, 3, 2), ("digits", 12, 1, 10)])
def test_small_presets(preset, size, cin, classes):
    model = SE2Net(Rotation(4), cin, classes, preset=preset)
    x = torch.randn(2, cin, size, size)
    assert model(x).shape == (2, classes)
    torch.testing.assert_close(model.eval()(torch.rot90(x, 1, dims=(-2, -1))), model(x), rtol=1e-4, atol=1e-5)


def test_size_errors_are_explained():
    with pytest.raises(ValueError, match="not a positive multiple of pool 2"):
        SE2Net(Rotation(4), preset=None, layers=[(5, 2), (5, 1)], input_size=31)
    with pytest.raises(ValueError, match="not 1x1"):
        SE2Net(Rotation(4), preset=None, layers=[(3, 1)], input_size=9)
    with pytest.raises(ValueError, match="expected 96x96"):
        SE2Net(Rotation(4))(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match="unknown group"):
        make_group("scale", 4, mask=False)


def test_se2net_points_scale_groups_to_the_pyramid_patch_net():
    from wavenets.groups import Dilation, Rotation

    for group in (Dilation(3), Rotation(4) * Dilation(3)):
        with pytest.raises(ValueError, match="has a scale axis: use PyramidPatchNet"):
            SE2Net(group, 3, 2)


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown SE2Net preset 'tiny'; choose one of"):
        SE2Net(Rotation(4), 3, 2, preset="tiny")
