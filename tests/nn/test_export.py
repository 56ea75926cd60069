"""Export to plain convolutions gives the same outputs."""
import pytest
import torch

from wavenets.groups import Dihedral, Dilation, Rotation, Trivial
from wavenets.models import MNet, SE2Net
from wavenets.nn import FrozenGroupConv, GroupConv, LiftingConv, export


@pytest.mark.parametrize("group", [Rotation(8), Dihedral(4), Trivial(), Rotation(8, mask=True)], ids=repr)
def test_exported_se2net_matches(group):
    torch.manual_seed(0)
    model = SE2Net(group, preset="tissue")
    model.train()(torch.randn(4, 3, 44, 44))  # move BN statistics off their defaults
    frozen = export(model)
    x = torch.randn(3, 3, 44, 44)
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), model.eval()(x), rtol=1e-5, atol=1e-6)
    assert not any(isinstance(m, (LiftingConv, GroupConv)) for m in frozen.modules())
    frozen_layers = [m for m in frozen.modules() if isinstance(m, FrozenGroupConv)]
    assert len(frozen_layers) == 5  # lifting + 3 group convs + the 1x1 group conv
    assert all(len(f.convs) == 1 and isinstance(f.convs[0], torch.nn.Conv2d) for f in frozen_layers)


def test_exported_wnet_matches():
    torch.manual_seed(1)
    model = MNet(Dilation(9), "m5", 4, width=6, lift_kernel=15).eval()
    frozen = export(model)
    x = torch.randn(2, 1, 4096)
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), model(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="antialias"):
        export(MNet(Dilation(9), "m5", 4, width=6, antialias=True))


def test_export_keeps_float64_weights():
    """The frozen convs take the bank's dtype before the bank is copied in (a float32 copy would
    round a float64 layer's weights: 2e-7 on an interpolated sub-octave bank)."""
    layer = GroupConv(Dilation(3, 2**0.5), 2, 3, 5, dim=1).double().eval()
    x = torch.randn(2, 2, 3, 50, dtype=torch.float64)
    assert torch.allclose(export(layer)(x), layer(x), rtol=0, atol=1e-13)


def test_a_pyramid_wnet_runs_eagerly_after_inference_mode_and_torch_export(monkeypatch):
    """The pyramid's converted REDUCE filter is kept for later calls. Made first inside inference
    mode, or first under ``torch.export`` (as in a new process whose first call is ``wavenets
    export``), the kept copy must still serve a training step (autograd saves it) and an eager
    call after the export (not the trace's fake tensor)."""
    import wavenets.nn._blur as blur

    torch.manual_seed(2)
    model = MNet(Dilation(5), "m5", 3, width=4, layout="pyramid").eval()
    x = torch.randn(2, 1, 4096)
    monkeypatch.setattr(blur, "_CONVERTED", {})  # as in a new process
    with torch.inference_mode():
        model(x)
    model.train()
    x.requires_grad_(True)
    model(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()

    monkeypatch.setattr(blur, "_CONVERTED", {})
    frozen = export(model.eval())
    program = torch.export.export(frozen, (x.detach(),), strict=False)
    with torch.no_grad():
        eager = model(x.detach())
    assert type(eager) is torch.Tensor  # (a fake tensor before the fix: the trace's copy was kept)
    torch.testing.assert_close(program.module()(x.detach()), eager, rtol=1e-5, atol=1e-6)
