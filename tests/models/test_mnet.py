"""M-Nets and W-Nets: parameter counts against the published ones, shapes, scale equivariance."""
import pytest
import torch

from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet, count_parameters, wavelet_loss
from wavenets.testing import assert_equivariant, equivariance_error, smooth_signal

# ANCHORS §3 (Dai et al. 2017; Romero et al. 2024)
MNETS = {"m3": 220_672, "m5": 558_080, "m11": 1_784_192, "m18": 3_679_872, "m34res": 3_978_432}
WNETS = {"m3": 219_450, "m5": 558_034, "m11": 1_806_369, "m18": 3_758_865, "m34res": 4_020_525}


@pytest.mark.parametrize("arch", list(MNETS))
def test_parameter_counts_within_two_percent(arch):
    m = count_parameters(MNet(Trivial(), arch))
    w = count_parameters(MNet(Dilation(9), arch))
    assert abs(m - MNETS[arch]) / MNETS[arch] <= 0.02, (m, MNETS[arch])
    assert abs(w - WNETS[arch]) / WNETS[arch] <= 0.02, (w, WNETS[arch])
    if arch != "m34res":  # same layers as published: exact
        assert m == MNETS[arch]
    if arch in ("m3", "m5"):
        assert w == WNETS[arch]


@pytest.mark.parametrize("arch", list(MNETS))
def test_shapes(arch):
    x = torch.randn(2, 1, 4096)
    assert MNet(Trivial(), arch, 7)(x).shape == (2, 7)
    assert MNet(Dilation(9), arch, 7, width=8)(x).shape == (2, 7)


def test_published_scale_cropping():
    w = MNet(Dilation(9), "m5")
    assert w.features_group.order == 3 and w.head.out_group.order == 1  # 9 -> 7 -> 5 -> 3 -> 1


def _small(time_pool):
    """The W-M5 layout (9 scales, every layer cropped 'valid' along scale), narrow and short."""
    return MNet(Dilation(9), "m5", 4, width=6, lift_kernel=15, time_pool=time_pool)


@pytest.mark.parametrize("length", [4096, 4000])
def test_wnet_features_exactly_equivariant_with_subsampling(length, dtype):
    torch.manual_seed(0)
    net = _small("subsample").to(dtype).eval()
    x = torch.randn(2, 1, length, dtype=dtype)
    assert_equivariant(net.features, Dilation(9), x, [-1, -2], out_group=net.features_group)


def test_where_wnet_exactness_breaks():
    """Pins the documented limits: max-pooling in time is not exact under decimation, and the
    invariant head (mean over time, single output scale after 'valid' cropping) is not
    invariant for an untrained network; only the subsampling feature extractor is exact."""
    torch.manual_seed(1)
    x = smooth_signal(2, 1, 4096, max_cycles=40)
    pooled = _small("max").double().eval()
    assert equivariance_error(pooled.features, Dilation(9), x, [-1], out_group=pooled.features_group).item() > 1e-3
    exact = _small("subsample").double().eval()
    assert equivariance_error(exact.features, Dilation(9), x, [-1], out_group=exact.features_group).item() < 1e-10
    assert equivariance_error(exact, Dilation(9), x, [-1], out_type="invariant").item() > 1e-3


def test_mnet_is_not_scale_equivariant():
    torch.manual_seed(2)
    net = MNet(Trivial(), "m5", 4, width=6).double().eval()
    x = torch.randn(2, 1, 4096, dtype=torch.float64)
    y, y2 = net(x), net(x[..., ::2])
    assert (y - y2).norm() / y.norm() > 0.05


def test_wavelet_loss_is_zero_for_zero_mean_kernels():
    net = _small("max")
    assert wavelet_loss(net) > 0
    with torch.no_grad():
        for w in net.group_parameters():
            w.sub_(w.mean(-1, keepdim=True))
    assert wavelet_loss(net) < 1e-10


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown arch"):
        MNet(Trivial(), "m7")
    with pytest.raises(ValueError, match="Trivial\\(\\) or a Dilation"):
        from wavenets.groups import Rotation
        MNet(Rotation(4), "m5")
    with pytest.raises(ValueError, match="3 stages"):
        MNet(Dilation(9), "m5", scale_taps=[3, 3])
    with pytest.raises(ValueError, match="waveforms"):
        MNet(Trivial(), "m5")(torch.randn(1, 100))


def test_samplecnn_parameter_counts_match_the_published_ones():
    from wavenets.models import SampleCNN

    assert count_parameters(SampleCNN(Trivial())) == 2_394_162
    assert count_parameters(SampleCNN(Dilation(9))) == 2_403_860


def test_samplecnn_shapes_and_scale_cropping():
    from wavenets.models import SampleCNN

    x = torch.randn(2, 1, 59049)
    assert SampleCNN(Trivial(), 7, width=8)(x).shape == (2, 7)
    w = SampleCNN(Dilation(9), 7, width=8)
    assert w(x).shape == (2, 7)
    convs = [m for m in w.features if hasattr(m, "out_group")]
    assert [c.out_group.order for c in convs][-1] == 1  # 9 -> 7 -> 5 -> 3 -> 1
