"""M-Nets and W-Nets: parameter counts against the published ones, shapes, scale equivariance."""
import pytest
import torch

from wavenets.groups import Dilation, Trivial
from wavenets.models import READOUTS, MNet, count_parameters, model_from_config, wavelet_loss
from wavenets.testing import (assert_equivariant, assert_pyramid_equivariant, equivariance_error,
                              pyramid_equivariance_error, smooth_signal)

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


# -- the scale-space pyramid layout -----------------------------------------------------------

@pytest.mark.parametrize("arch", list(MNETS))
def test_pyramid_layout_keeps_the_dense_parameter_count(arch):
    dense, pyramid = MNet(Dilation(9), arch), MNet(Dilation(9), arch, layout="pyramid")
    assert count_parameters(pyramid) == count_parameters(dense)
    assert [p.shape for p in pyramid.parameters()] == [p.shape for p in dense.parameters()]


def _pyramid_features(arch, n, dtype, **kw):
    torch.manual_seed(0)
    net = MNet(Dilation(n), arch, 4, width=6, lift_kernel=15, layout="pyramid", **kw).to(dtype)
    for m in net.modules():  # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


@pytest.mark.parametrize("length", [8192, 6001])
def test_pyramid_wnet_features_exact_under_the_pyramid_contraction(length, dtype):
    """The whole W-M5 feature extractor (3-tap scale kernels cropped 'valid': 9 -> 3 levels,
    4x max-pools, stride-4 lifting), eval mode: every level the two sides share agrees."""
    net = _pyramid_features("m5", 9, dtype)
    assert net.features_group.order == 3
    x = torch.randn(2, 1, length, dtype=dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    errs = assert_pyramid_equivariant(net.features, x, 1, atol=tol)
    assert len(errs) == 2  # level 0 leaves the range; the contracted input's top level is new


def test_pyramid_residual_wnet_exact_and_where_zero_padding_breaks_it():
    """Residual blocks (M34-res) are exact level by level; with the default scale taps the
    scale reach (14 octaves: six 3-scale convs and the head each read 2 coarser levels,
    zero-padded) exceeds the 8 levels, so the coarsest levels are not, which the docs state."""
    x = torch.randn(1, 1, 4096, dtype=torch.float64)
    per_level = _pyramid_features("m34res", 8, torch.float64, scale_taps=[1, 1, 1, 1], head_taps=1)
    assert pyramid_equivariance_error(per_level.features, x, 1).max() < 1e-12
    published = _pyramid_features("m34res", 8, torch.float64)
    assert pyramid_equivariance_error(published.features, x, 1)[-1] > 1e-6


def test_residual_blocks_take_a_pair_of_scale_taps():
    """M34-res: a block's entry may be a pair (its two convs); the default spans 3 scales in the
    first three convs of stages 1 and 3 (blocks 0, 1 and 7, 8). A pair anywhere else is an error
    that says what is accepted, and a recipe's nested lists build the same model."""
    net = MNet(Dilation(9), "m34res", 4, width=4)
    blocks = [m for m in net.features if hasattr(m, "conv2")]
    taps = [(b.conv1.group_kernel_size, b.conv2.group_kernel_size) for b in blocks]
    assert taps == [{0: (3, 3), 1: (3, 1), 7: (3, 3), 8: (3, 1)}.get(i, (1, 1)) for i in range(16)]
    custom = [[[1, 3], 1, 1], 1, 1, 1]
    net = model_from_config({"name": "mnet", "group": "dilation", "order": 9, "arch": "m34res", "width": 4,
                             "scale_taps": custom}, in_channels=1, num_classes=4)
    first = next(m for m in net.features if hasattr(m, "conv2"))
    assert (first.conv1.group_kernel_size, first.conv2.group_kernel_size) == (1, 3)
    with pytest.raises(ValueError, match="pair for the two convs of a residual block"):
        MNet(Dilation(9), "m34res", 4, width=4, scale_taps=[[(3, 1, 1), 1, 1], 1, 1, 1])
    with pytest.raises(ValueError, match="scale taps are a whole number; got"):
        MNet(Dilation(9), "m11", 4, width=4, scale_taps=[[(3, 1), 1], 1, 3, 1])


def test_pyramid_readouts_and_errors():
    x = torch.randn(2, 1, 4096)
    for readout in READOUTS:
        taps = {} if readout in ("max", "mean") else {"scale_taps": [1, 1, 1], "head_taps": 1}
        if readout in ("feature_window", "window_vote"):
            taps["anchor_levels"] = 2
        assert MNet(Dilation(5), "m5", 3, width=4, layout="pyramid", readout=readout, **taps)(x).shape == (2, 3)
    assert MNet(Dilation(5), "m5", 3, width=4, readout="feature_mean", scale_taps=[1] * 3, head_taps=1)(x).shape == (2, 3)
    with pytest.raises(ValueError, match="head_taps=1"):
        MNet(Dilation(5), "m5", layout="pyramid", readout="feature_max")
    with pytest.raises(ValueError, match="M-Net"):
        MNet(Trivial(), "m5", layout="pyramid")
    with pytest.raises(ValueError, match="multirate"):
        MNet(Dilation(5), "m5", layout="pyramid", multirate=2)
    with pytest.raises(ValueError, match="layout"):
        MNet(Dilation(5), "m5", layout="sparse")


def test_pyramid_stretch_error_is_small_on_band_limited_input():
    """An FFT x2 contraction of a band-limited clip is close to the pyramid's own operator, so
    the pyramid W-Net's features shift by one level up to a small, bounded error."""
    from wavenets.data import time_stretch

    net = _pyramid_features("m5", 9, torch.float64, scale_taps=[1, 1, 1], head_taps=1)
    x = smooth_signal(2, 1, 8192, max_cycles=200)
    own = pyramid_equivariance_error(net.features, x, 1)
    y, y_c = net.features(x), net.features(time_stretch(x, 0.5)[..., 2048:6144])
    assert own.max() < 1e-12
    # the FFT-contracted clip is centred: compare the middle of each level
    errs = []
    for j, (a, b) in enumerate(zip(y_c, y[1:])):
        n = a.shape[-1]
        b = b[..., (b.shape[-1] - n) // 2:][..., :n]
        mid = slice(n // 4, n - n // 4)
        errs.append(((a - b)[..., mid].norm() / b[..., mid].norm()).item())
    assert max(errs[:4]) < 0.5, errs


def test_excess_readout_ignores_the_silence_around_a_contracted_clip():
    """A clip with silent margins, contracted by the pyramid's operator and zero-padded back into
    the same window: with global_pool="excess" the time-pooled features of level j equal the
    original's level j+1 exactly (padding a multiple of every level's total stride); a mean over
    time is diluted by the window's larger share of silence."""
    from wavenets.nn import pyramid_reduce

    torch.manual_seed(0)
    x = torch.zeros(2, 1, 4096, dtype=torch.float64)
    x[..., 1536:2560] = torch.randn(2, 1, 1024, dtype=torch.float64)
    padded = torch.nn.functional.pad(pyramid_reduce(x, 1), (1024, 1024))
    pooled = {}
    for pool in ("excess", "active", "mean"):
        torch.manual_seed(0)
        net = MNet(Dilation(4), "m3", 3, width=6, lift_kernel=15, layout="pyramid", scale_taps=[1], head_taps=1,
                   readout="feature_max", global_pool=pool).double()
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)  # a non-zero response to silence
        net.eval()
        with torch.no_grad():
            a, b = net._pooled_features(x), net._pooled_features(padded)
        pooled[pool] = ((b[:, :, :-1] - a[:, :, 1:]).norm() / a[:, :, 1:].norm()).item()
    assert pooled["excess"] < 1e-12
    assert pooled["active"] < 1e-12
    assert pooled["mean"] > 0.1


def test_active_pool_is_a_mean_over_the_active_steps_only():
    """global_pool="active" weights each time step by its mean |excess over silence|: silent
    steps weigh nothing, so a clip whose content fills the window (a stretch cropped by the
    window) and the same content with silence around it pool to the same features, where the
    excess *sum* grows with the content's length."""
    from wavenets.models._mnet import _active_mean

    torch.manual_seed(0)
    content = torch.rand(2, 5, 3, 40, dtype=torch.float64) + 0.1
    padded = torch.nn.functional.pad(content, (60, 60))
    assert torch.allclose(_active_mean(content), _active_mean(padded), atol=1e-12)
    tiled = torch.cat([content, content], -1)  # twice as much of the same content
    assert torch.allclose(_active_mean(tiled), _active_mean(content), atol=1e-12)
    assert torch.equal(_active_mean(torch.zeros(1, 2, 1, 8)), torch.zeros(1, 2, 1, 1))  # silence: 0, not NaN


def test_empty_band_readout_skips_the_band_empty_levels_of_a_slowed_clip():
    """A clip slowed down by 2 (band-limited, as a tape or a resampler does it) has an empty top
    octave at level 0; with empty_band the readout skips that level, clip by clip, and leaves
    every clip at its own rate alone (its logits equal those without the option)."""
    from wavenets.data import time_stretch

    torch.manual_seed(0)
    x = torch.randn(3, 1, 4096) * 0.1
    slow = time_stretch(x, 2.0)
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, readout="feature_max",
              global_pool="active")
    torch.manual_seed(0)
    plain = MNet(Dilation(6), "m5", 3, **kw).eval()
    torch.manual_seed(0)
    banded = MNet(Dilation(6), "m5", 3, empty_band=1e-6, **kw).eval()
    with torch.no_grad():
        assert torch.equal(banded(x), plain(x))
        both = torch.cat([x[:1], slow[1:]])  # one clip at its rate, two slowed: decided per clip
        h = plain._pooled_features(both)
        masked = banded._skip_empty_levels(both, h)
        assert torch.isinf(masked[1:, :, 0]).all() and torch.isfinite(masked[1:, :, 1:]).all()
        assert torch.isfinite(masked[:1]).all()
        assert torch.equal(banded(both)[1:], plain.head(plain.pool(h[1:, :, 1:]).unsqueeze(2)).flatten(1))
    with pytest.raises(ValueError, match="empty_band"):
        MNet(Dilation(6), "m5", 3, width=4, empty_band=1e-6)  # dense layout
    with pytest.raises(ValueError, match="empty_band"):
        MNet(Dilation(6), "m5", 3, width=4, layout="pyramid", empty_band=2.0)


def test_level_dropout_skips_fine_levels_in_training_only():
    torch.manual_seed(0)
    net = MNet(Dilation(6, 2**0.5), "m5", 3, width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1,
               readout="feature_max", level_dropout=2)
    h = torch.randn(64, 4, 6, 1)
    masked = net._skip_fine_levels(h)
    skipped = torch.isinf(masked[:, 0, :, 0])  # [B, S]
    assert set(skipped.sum(1).tolist()) == {0, 2, 4}  # k in 0..2 octaves of 2 voices each
    assert not skipped[:, -2:].any()  # the top level is never skipped
    x = torch.randn(4, 1, 4096)
    assert torch.isfinite(net.train()(x)).all()
    net.eval()
    assert torch.equal(net(x), net(x))  # deterministic in eval mode
    with pytest.raises(ValueError, match="level_dropout"):
        MNet(Dilation(6), "m5", 3, width=4, level_dropout=2)
    with pytest.raises(ValueError, match="global_pool"):
        MNet(Dilation(6), "m5", 3, width=4, global_pool="median")


@pytest.mark.parametrize("group, kw", [(Trivial(), {}), (Dilation(5), {}), (Dilation(5), {"multirate": 2})])
def test_too_short_clips_are_refused_at_the_input_with_the_exact_minimum(group, kw):
    """Issue 13: a clip shorter than the pools' reduction failed deep inside max_pool1d."""
    net = MNet(group, "m5", 10, width=4, **kw).eval()
    with torch.no_grad():
        net(torch.randn(1, 1, net.min_length))  # the minimum runs
        with pytest.raises(ValueError, match=f"at least {net.min_length} samples"):
            net(torch.randn(1, 1, net.min_length - 1))
        net.min_length = 1  # without the check, one sample less fails inside a pool: the minimum is exact
        with pytest.raises(RuntimeError, match="output size"):
            net(torch.randn(1, 1, 1021 if isinstance(group, Trivial) else 1023))


def test_multirate_must_be_a_number_not_a_flag():
    with pytest.raises(ValueError, match=r"multirate is the number of samples per scale period .*got True"):
        model_from_config({"name": "mnet", "group": "dilation", "order": 5, "multirate": True},
                          in_channels=1, num_classes=10)


def test_anchored_window_readout_is_invariant_to_the_pyramid_contraction():
    """readout='feature_window' reads the levels counted from each clip's content octave, so a
    clip contracted by the pyramid's own operator (content one octave faster, the finest level
    gone) gives the same logits as the clip itself, while the max over all levels does not."""
    from wavenets.nn import content_octave, pyramid_reduce

    n, t = 4096, torch.arange(4096, dtype=torch.float64)
    k = torch.arange(1, 6, dtype=torch.float64)[:, None]
    noise = torch.randn(2, 1, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.stack([(torch.sin(2 * torch.pi * f0 * k * t) / k * (k * f0 < 0.45)).sum(0) for f0 in (0.02, 0.035)])
    x = x[:, None] + 0.01 * noise
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6)
    torch.manual_seed(0)
    window = MNet(Dilation(7), "m5", 3, readout="feature_window", anchor_levels=2, **kw).double().eval()
    torch.manual_seed(0)
    plain = MNet(Dilation(7), "m5", 3, readout="feature_max", **kw).double().eval()
    assert content_octave(x, 7, 1).tolist() == [4, 3]  # f0·2^j in the top octave [1/4, 1/2) of level j
    fast = pyramid_reduce(x, 1)
    with torch.no_grad():
        a, b = window(x), window(fast)
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)
        assert not torch.allclose(plain(fast), plain(x), rtol=1e-3, atol=1e-3)
        assert window.head.weight.shape[1] == 2 * plain.head.weight.shape[1]  # channels × window levels
        # a clip whose window reaches below level 0 reads zeros there, and still runs
        assert torch.isfinite(window(pyramid_reduce(fast, 1))).all()
    with pytest.raises(ValueError, match="anchor_levels"):
        MNet(Dilation(7), "m5", 3, readout="feature_window", **kw)
    with pytest.raises(ValueError, match="anchor_levels"):
        MNet(Dilation(7), "m5", 3, width=4, anchor_levels=2)  # dense layout
    with pytest.raises(ValueError, match="level_dropout=0"):  # it would skip nothing the window reads
        MNet(Dilation(7), "m5", 3, readout="feature_window", anchor_levels=2, level_dropout=1, **kw)


def test_window_vote_keeps_each_levels_logits_under_the_pyramid_contraction():
    """readout='window_vote': each window level has its own head and the logits are averaged over
    the levels that exist. Under the pyramid contraction the per-level logits of every level the
    clip keeps are unchanged (float64, 1e-12); the finest window level may leave the pyramid, and
    the vote is then the mean over the rest. In training the per-level logits of the existing
    levels are left for the trainer's per-level loss."""
    from wavenets.nn import pyramid_reduce

    n, t = 4096, torch.arange(4096, dtype=torch.float64)
    k = torch.arange(1, 6, dtype=torch.float64)[:, None]
    noise = torch.randn(2, 1, n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.stack([(torch.sin(2 * torch.pi * f0 * k * t) / k * (k * f0 < 0.45)).sum(0) for f0 in (0.02, 0.035)])
    x = x[:, None] + 0.01 * noise  # content octaves 4 and 3
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6)
    torch.manual_seed(0)
    vote = MNet(Dilation(7), "m5", 3, readout="window_vote", anchor_levels=5, **kw).double().eval()
    fast = pyramid_reduce(x, 1)
    with torch.no_grad():
        z, exists = vote.level_logits(x)
        zf, exists_f = vote.level_logits(fast)
        assert exists.tolist() == [[True] * 5, [True] * 4 + [False]]
        assert exists_f.tolist() == [[True] * 4 + [False], [True] * 3 + [False] * 2]  # the finest level left
        torch.testing.assert_close(zf[exists_f], z[exists_f], rtol=1e-12, atol=1e-12)
        assert (z[0, 0] - z[0, 1]).abs().max() > 1e-3  # the levels' heads differ: the test can fail
        torch.testing.assert_close(vote(x), torch.stack([z[0].mean(0), z[1, :4].mean(0)]), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(vote(fast), torch.stack([z[b, :m].mean(0) for b, m in ((0, 4), (1, 3))]),
                                   rtol=1e-12, atol=1e-12)
        assert torch.isfinite(vote(pyramid_reduce(pyramid_reduce(fast, 1), 1))).all()  # 3 of 5 levels gone
        confident = MNet(Dilation(7), "m5", 3, readout="window_vote", anchor_levels=5, vote="confidence", **kw)
        confident.load_state_dict(vote.state_dict())
        confident.double().eval()
        from wavenets.models._mnet import _vote
        torch.testing.assert_close(confident(fast), _vote(z, exists_f, "confidence"), rtol=1e-12, atol=1e-12)
    vote.train()
    out = vote(x)
    logits, exists = vote.level_outputs
    assert out.shape == (2, 3) and logits.shape == (2, 5, 3) and exists.sum(1).tolist() == [5, 4]
    with pytest.raises(ValueError, match="anchor_levels"):
        MNet(Dilation(7), "m5", 3, readout="window_vote", **kw)
    with pytest.raises(ValueError, match="window_vote"):
        MNet(Dilation(7), "m5", 3, readout="feature_max", **kw).level_logits(x)


def test_window_vote_from_the_power_centroid_keeps_each_levels_logits_under_the_contraction():
    """anchor='centroid': the window of anchor_levels levels starts anchor_offset levels coarser
    than each clip's power centroid. The clips hold no power in their finest band, so the
    contraction moves the centroid by exactly one level and every level the clip keeps gives the
    same logits (float64, 1e-12); a window that reaches past the coarsest level reads nothing
    there."""
    from wavenets.nn import centroid_octave, content_octave, pyramid_reduce

    n, t = 4096, torch.arange(4096, dtype=torch.float64)
    k = torch.arange(1, 6, dtype=torch.float64)[:, None]
    x = torch.stack([(torch.sin(2 * torch.pi * f0 * k * t) / k**0.5 * (k * f0 < 0.2)).sum(0) for f0 in (0.02, 0.035)])
    x, fast = x[:, None], pyramid_reduce(x[:, None], 1)
    centre = centroid_octave(x, 7, 1)
    assert centre.tolist() == [3, 2] and centroid_octave(fast, 7, 1).tolist() == [2, 1]
    assert content_octave(x, 7, 1).tolist() == [4, 3]  # the fundamentals' octaves: another anchor
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6)
    torch.manual_seed(0)
    vote = MNet(Dilation(7), "m5", 3, readout="window_vote", anchor_levels=5, anchor="centroid", anchor_offset=4,
                **kw).double().eval()
    with torch.no_grad():
        z, exists = vote.level_logits(x)
        zf, exists_f = vote.level_logits(fast)
    # clip 0 reads levels 7 … 3, and 7 is past the coarsest (6); clip 1 reads 6 … 2. The contracted
    # clips read the same levels one lower, so every slot of theirs exists: the level past the
    # pyramid is now its coarsest
    assert exists.tolist() == [[False] + [True] * 4, [True] * 5] and exists_f.all()
    torch.testing.assert_close(zf[exists], z[exists], rtol=1e-12, atol=1e-12)  # slot for slot
    assert (z[1, 0] - z[1, 1]).abs().max() > 1e-3  # the slots' heads differ: the test can fail
    for bad, message in ((dict(anchor="f0"), "anchor must be one of"), (dict(anchor_offset=-1), "anchor_offset"),
                         (dict(anchor_offset=2, anchor_levels=0), "set anchor_levels too")):
        with pytest.raises(ValueError, match=message):
            MNet(Dilation(7), "m5", 3, readout="window_vote", **{**kw, "anchor_levels": 5, **bad})


def test_anchor_floor_reads_the_content_octave_above_the_stationary_floor():
    """model.anchor_floor = q: the window is counted from content_octave(..., floor=q) of each
    copy's input pyramid, so a steady hum 10 dB below the clips moves fewer windows than with the
    plain rule, and the logits of a hummed clip are those the window of its anchor gives. It needs
    the content anchor, and a quantile in [0, 1)."""
    from wavenets.nn import content_octave, scale_pyramid

    from ..nn.test_pyramid import _vowels, _with_hum

    x, _ = _vowels(16)
    hummed = _with_hum(x, 10.0).float()
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="max", empty_band=1e-6,
              readout="window_vote", anchor_levels=6)
    torch.manual_seed(0)
    floor = MNet(Dilation(9), "m5", 3, anchor_floor=0.25, **kw).eval()
    torch.manual_seed(0)
    plain = MNet(Dilation(9), "m5", 3, **kw).eval()
    pyr, clean = scale_pyramid(hummed, 9, 1), scale_pyramid(x, 9, 1)
    assert torch.equal(floor._window_anchor(pyr), content_octave(pyr, 9, 1, floor=0.25))
    assert torch.equal(plain._window_anchor(pyr), content_octave(pyr, 9, 1))
    kept_floor = (floor._window_anchor(pyr) == floor._window_anchor(clean)).float().mean()
    kept_plain = (plain._window_anchor(pyr) == plain._window_anchor(clean)).float().mean()
    assert kept_floor >= kept_plain + 0.3, (kept_floor, kept_plain)
    with torch.no_grad():
        moved = floor._window_anchor(pyr) != plain._window_anchor(pyr)
        assert moved.any() and not torch.allclose(floor(hummed)[moved], plain(hummed)[moved])
        assert torch.equal(floor(hummed)[~moved], plain(hummed)[~moved])  # same weights, same window
    for bad, message in ((dict(anchor_floor=1.0), "anchor_floor is a quantile"),
                         (dict(anchor_floor=0.25, anchor="centroid"), "anchor_floor is a quantile")):
        with pytest.raises(ValueError, match=message):
            MNet(Dilation(9), "m5", 3, **{**kw, **bad})
    model = model_from_config({"name": "mnet", "group": "dilation", "order": 9, "arch": "m5", "layout": "pyramid",
                               "readout": "window_vote", "head_taps": 1, "anchor_levels": 6, "anchor_floor": 0.25},
                              in_channels=1, num_classes=3)
    assert model.anchor_floor == 0.25


def test_confidence_vote_weights_each_level_by_its_certainty_without_gradient():
    """vote='confidence': each existing level's logits weighted by exp(-entropy) of its softmax
    (1 for a certain level, 1/K for a uniform one), held fixed in the gradient; the model's
    output is that vote of its level_logits."""
    from wavenets.models._mnet import _vote

    sure, unsure = torch.tensor([8.0, 0.0, 0.0]), torch.tensor([0.0, 0.5, 0.0])
    z = torch.stack([sure, unsure, torch.tensor([0.0, 0.0, 9.0])])[None].requires_grad_()  # [1, 3 levels, 3]
    exists = torch.tensor([[True, True, False]])
    assert _vote(z, exists).argmax().item() == 0
    weights = [torch.exp((p * p.log()).sum()) for p in (sure.softmax(0), unsure.softmax(0))]
    expected = (weights[0] * sure + weights[1] * unsure) / (weights[0] + weights[1])
    torch.testing.assert_close(_vote(z, exists, "confidence")[0], expected)
    assert weights[0] > 0.99 and weights[1] < 0.4  # the uncertain level barely counts
    _vote(z, exists, "confidence").sum().backward()
    torch.testing.assert_close(z.grad[0, :2].sum(0), torch.ones(3))  # d/dz of a weighted mean: the weights only
    torch.testing.assert_close(z.grad[0, 0], torch.full((3,), float(weights[0] / (weights[0] + weights[1]))))
    assert z.grad[0, 2].abs().max() == 0  # a level that does not exist has no say

    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", anchor_levels=4)
    torch.manual_seed(0)
    model = MNet(Dilation(7), "m5", 3, readout="window_vote", vote="confidence", **kw).eval()
    x = torch.randn(2, 1, 4096, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), _vote(*model.level_logits(x), "confidence"))
    with pytest.raises(ValueError, match="vote must be one of"):
        MNet(Dilation(7), "m5", 3, readout="window_vote", vote="max", **kw)
    with pytest.raises(ValueError, match="combines the levels of readout='window_vote'"):
        MNet(Dilation(7), "m5", 3, readout="feature_max", vote="confidence", **{**kw, "anchor_levels": 0})


def _centred_tones(dtype=torch.float64):
    """Three Hann-windowed harmonic tones in the middle half of 4096 samples, band-limited well
    inside every level's pass band: a √2 tape-speed change keeps them inside the clip."""
    t = torch.arange(2048, dtype=torch.float64)
    k = torch.arange(1, 6, dtype=torch.float64)[:, None]
    tones = [(torch.sin(2 * torch.pi * f0 * k * t) / k * (k * f0 < 0.1)).sum(0) for f0 in (0.02, 0.035, 0.011)]
    x = torch.stack(tones) * torch.hann_window(2048, dtype=torch.float64)
    return torch.nn.functional.pad(x, (1024, 1024))[:, None].to(dtype)


def test_input_voices_are_the_octave_network_on_the_faster_copies(dtype):
    """input_voices=V: slot l·V + v of level_logits is window level l of the same octave network
    run on the clip played 2^(v/V) times faster; the vote runs over every copy's levels, and in
    training every existing (copy, level) head is left for the per-level loss."""
    from wavenets.data import time_stretch
    from wavenets.models._mnet import _vote

    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6,
              readout="window_vote", anchor_levels=4)
    torch.manual_seed(0)
    net = MNet(Dilation(7), "m5", 3, input_voices=3, **kw).to(dtype)
    x = _centred_tones(dtype)
    net.train()
    net(x)
    logits, exists_train = net.level_outputs
    net.eval()
    with torch.no_grad():
        z, exists = net.level_logits(x)
        assert z.shape == (3, 12, 3) and exists.shape == (3, 12)
        torch.testing.assert_close(net(x), _vote(z, exists))
        net.input_voices = 1
        for v in range(3):
            zv, ev = net.level_logits(time_stretch(x, 2 ** (-v / 3), fast=True))
            tol = 100 * torch.finfo(dtype).eps * zv.abs().max().item()
            torch.testing.assert_close(z[:, v::3], zv, rtol=0, atol=tol)
            assert torch.equal(exists[:, v::3], ev)
    assert logits.shape == (3, 12, 3) and torch.equal(exists_train, exists)
    for bad, match in ((0, "input_voices is a number"), (True, "input_voices is a number")):
        with pytest.raises(ValueError, match=match):
            MNet(Dilation(7), "m5", 3, input_voices=bad, **kw)
    with pytest.raises(ValueError, match="octave group"):
        MNet(Dilation(7, 2 ** 0.5), "m5", 3, input_voices=2, **kw)
    with pytest.raises(ValueError, match="readout='window_vote'"):
        MNet(Dilation(7), "m5", 3, input_voices=2, **{**kw, "readout": "max", "anchor_levels": 0})


def test_input_voices_at_their_own_length(dtype):
    """voice_length='own': copy v is the whole clip played 2^(v/V) times faster at its own length
    fast_length(round(T·2^(-v/V))), no padding; slot l·V + v of level_logits is the octave network on it (the
    padded copy of voice_length='clip' gives other logits). In training the copies run one after
    the other with batch statistics shared over both: on copies of one length that is what one
    batch of them gives, through every block (residual ones too)."""
    from wavenets.data import fast_length, time_stretch

    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6,
              readout="window_vote", anchor_levels=4)
    x = _centred_tones(dtype)
    torch.manual_seed(0)
    net = MNet(Dilation(7), "m5", 3, input_voices=2, voice_length="own", **kw).to(dtype)
    net.train()
    net(x).sum().backward()
    logits, exists_train = net.level_outputs
    assert logits.shape == (3, 8, 3) and all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    net.eval()
    with torch.no_grad():
        z, exists = net.level_logits(x)
        assert torch.equal(exists_train, exists)
        net.input_voices = 1
        faster = time_stretch(x, 2 ** -0.5, keep_length=False, fast=True)
        assert faster.shape[-1] == fast_length(round(4096 / 2 ** 0.5)) == 2898  # (round: 2,896 = 2⁴·181)
        for v, copy in enumerate((x, faster)):
            zv, ev = net.level_logits(copy)
            torch.testing.assert_close(z[:, v::2], zv, rtol=0, atol=100 * torch.finfo(dtype).eps * zv.abs().max().item())
            assert torch.equal(exists[:, v::2], ev)
        padded, _ = net.level_logits(time_stretch(x, 2 ** -0.5, fast=True))
        both = exists[:, 1::2]
        assert (padded - z[:, 1::2])[both].abs().max() > 1e-3 * z.abs().max()  # the length matters: the test can fail

    for arch, taps in (("m5", [1, 1, 1]), ("m34res", [1, 1, 1, 1])):  # shared statistics through plain and residual blocks
        torch.manual_seed(1)
        m = MNet(Dilation(5), arch, 3, **{**kw, "scale_taps": taps}).to(dtype).train()
        a, b = torch.randn(2, 2, 1, 2048, dtype=dtype)
        pair = m.features.forward_many([a, b])
        batched = m.features(torch.cat([a, b]))
        for u, w, ref in zip(pair[0], pair[1], batched):
            tol = 1000 * torch.finfo(dtype).eps * ref.abs().max().item()
            torch.testing.assert_close(torch.cat([u, w]), ref, rtol=0, atol=tol)
    with pytest.raises(ValueError, match="voice_length must be one of"):
        MNet(Dilation(7), "m5", 3, input_voices=2, voice_length="half", **kw)
    with pytest.raises(ValueError, match="global_pool='excess'"):
        MNet(Dilation(7), "m5", 3, input_voices=2, voice_length="own", **{**kw, "global_pool": "excess"})


def test_voice_dropout_runs_one_copy_per_clip_in_training(dtype):
    """voice_dropout: in training each clip runs one of its V copies, chosen at random, as one batch;
    that copy's slots of level_logits are the full network's (batch norm on running statistics
    here, so the two can be compared), the other copies' slots read 0 and do not exist. Both copies
    are picked over a batch; at test time every copy runs, as without the option."""
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6,
              readout="window_vote", anchor_levels=4, input_voices=2)
    x = _centred_tones(dtype).repeat(8, 1, 1)  # 24 clips
    torch.manual_seed(0)
    net = MNet(Dilation(7), "m5", 3, voice_dropout=True, **kw).to(dtype)
    net.train()
    net(x).sum().backward()  # the trainer's path: the vote, and every existing level left for the per-level loss
    logits, exists_train = net.level_outputs
    assert logits.shape == (24, 8, 3) and all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    for m in net.modules():  # running statistics: the picked copy's logits are then the full network's
        if isinstance(m, torch.nn.BatchNorm1d):
            m.eval()
    with torch.no_grad():
        z, exists = net.level_logits(x)
        net.eval()
        full, full_exists = net.level_logits(x)
        reference = MNet(Dilation(7), "m5", 3, **kw).to(dtype)
        reference.load_state_dict(net.state_dict())
        torch.testing.assert_close(net(x), reference.eval()(x), rtol=0, atol=0)  # test time: every copy votes
    per_voice = exists.view(24, 4, 2).any(1)  # [B, V]: which copy each clip ran
    assert torch.equal(per_voice.sum(1), torch.ones(24, dtype=torch.long))
    assert per_voice[:, 0].any() and per_voice[:, 1].any()
    picked = per_voice.repeat(1, 4)  # [B, 4·2]: slot l·2 + v
    assert torch.equal(exists, full_exists & picked)
    tol = 100 * torch.finfo(dtype).eps * full.abs().max().item()
    torch.testing.assert_close(z[picked], full[picked], rtol=0, atol=tol)
    assert torch.equal(z[~picked], torch.zeros_like(z[~picked]))
    assert torch.equal(exists_train.view(24, 4, 2).any(1).sum(1), torch.ones(24, dtype=torch.long))
    with pytest.raises(ValueError, match="needs input_voices >= 2"):
        MNet(Dilation(7), "m5", 3, voice_dropout=True, **{**kw, "input_voices": 1})
    with pytest.raises(ValueError, match="voice_length='clip'"):
        MNet(Dilation(7), "m5", 3, voice_dropout=True, voice_length="own", **kw)
    with pytest.raises(ValueError, match="true or false"):
        MNet(Dilation(7), "m5", 3, voice_dropout=1, **kw)


def test_input_voices_follow_a_sub_octave_tape_speed_change():
    """Played 2^(1/2) times slower, a clip's copy 1 is its old copy 0 (a stretch and a contraction
    by the same factor, up to the rounding of both lengths to whole samples: 5793/4096 · 2896/4096
    ≠ 1, and the centring of each), so those slots keep their logits within 6% of the largest
    (measured 1.7–3.0% over 4 random networks); without the shift they differ by ~100%. Copy 0 of
    the slow clip is copy 1 one octave lower, which the content octave absorbs up to the
    FFT-vs-pyramid octave (``test_pyramid_stretch_error_is_small_on_band_limited_input``)."""
    from wavenets.data import time_stretch
    from wavenets.nn import content_octave

    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", empty_band=1e-6,
              readout="window_vote", anchor_levels=4)
    torch.manual_seed(0)
    net = MNet(Dilation(7), "m5", 3, input_voices=2, **kw).double().eval()
    x = _centred_tones()
    slow = time_stretch(x, 2 ** 0.5)
    with torch.no_grad():
        z, exists = net.level_logits(x)
        zs, exists_s = net.level_logits(slow)
    scale = z.abs().max()
    assert torch.equal(exists_s[:, 1::2], exists[:, 0::2])
    assert (zs[:, 1::2] - z[:, 0::2]).abs().max() / scale < 0.06
    both = exists[:, 1::2] & exists_s[:, 1::2]
    assert (zs[:, 1::2] - z[:, 1::2])[both].abs().max() / scale > 0.3  # the test can fail
    # copy 0 of the slow clip and copy 1 of the clip: one octave apart, the same window
    faster = time_stretch(x, 2 ** -0.5)
    assert torch.equal(content_octave(slow, 7, 1), content_octave(faster, 7, 1) + 1)


def test_onset_alignment_makes_the_clip_s_place_in_its_silence_irrelevant():
    """align='onset': a clip placed anywhere in a window of digital silence gives the same logits
    (it is moved to start at sample 0 first), in train and eval mode; without it the place
    matters. to_onset moves leading exact zeros to the end and leaves other clips alone."""
    from wavenets.nn import to_onset

    x = torch.tensor([[[0.0, 0, 1, 2, 0], [0, 5, 0, 0, 0]], [[3.0, 0, 0, 0, 1], [0] * 5], [[0.0] * 5, [0] * 5]])
    assert to_onset(x).tolist() == [[[0, 1, 2, 0, 0], [5, 0, 0, 0, 0]], [[3, 0, 0, 0, 1], [0] * 5],
                                    [[0] * 5, [0] * 5]]  # any channel's first sound counts
    clip = torch.randn(2, 1, 3000, dtype=torch.float64)
    early, late = (torch.nn.functional.pad(clip, (k, 8192 - 3000 - k)) for k in (0, 1700))
    kw = dict(width=4, layout="pyramid", scale_taps=[1, 1, 1], head_taps=1, global_pool="active", anchor_levels=4,
              readout="window_vote", input_voices=2)
    torch.manual_seed(0)
    aligned = MNet(Dilation(7), "m5", 3, align="onset", **kw).double()
    torch.manual_seed(0)
    centred = MNet(Dilation(7), "m5", 3, **kw).double()
    for mode in ("train", "eval"):
        getattr(aligned, mode)(), getattr(centred, mode)()
        torch.testing.assert_close(aligned(late), aligned(early), rtol=0, atol=0)
    assert (centred(late) - centred(early)).abs().max() > 1e-3  # the test can fail
    with pytest.raises(ValueError, match="align must be one of"):
        MNet(Dilation(7), "m5", 3, align="centre", **kw)
