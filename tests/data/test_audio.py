"""Waveform datasets and the time-stretch action."""
import math

import numpy as np
import pytest
import torch

from wavenets.data import AudioAugment, SyntheticSounds, fast_length, fit_length, time_stretch


def _tone(freq, n=4096, sr=8000):
    t = torch.arange(n, dtype=torch.float64) / sr
    return torch.sin(2 * math.pi * freq * t) * torch.hann_window(n, periodic=False, dtype=torch.float64)


def _peak_hz(x, sr=8000):
    spec = torch.fft.rfft(x).abs()
    return spec.argmax().item() * sr / x.shape[-1]


@pytest.mark.parametrize("factor", [0.5, 2.0, 1.5])
def test_time_stretch_moves_frequency_by_the_factor(factor):
    x = _tone(400.0)
    y = time_stretch(x, factor)
    assert y.shape == x.shape
    assert abs(_peak_hz(y) - 400 / factor) <= 8000 / 4096 * 1.5


def test_contraction_does_not_alias():
    x = _tone(3000.0)  # above the new Nyquist (2 kHz) after contracting by 2
    y = time_stretch(x, 0.5)
    assert y.abs().max() < 1e-6 * x.abs().max() + 1e-9


def test_contract_then_stretch_recovers_band_limited_signals():
    x = _tone(300.0, n=4000)  # (stretching first would crop half of the clip away)
    mid = time_stretch(time_stretch(x, 0.5), 2.0)
    assert (mid - x).norm() / x.norm() < 1e-3
    with pytest.raises(ValueError, match="positive factor"):
        time_stretch(x, 0)


def test_time_stretch_can_keep_the_whole_clip_at_its_new_length():
    """keep_length=False: nothing cropped or padded; the kept-length clip is its centre (stretch)
    or it padded (contraction)."""
    x = _tone(300.0, n=4000)
    for factor in (2.0, 0.5, 1.414):
        whole = time_stretch(x, factor, keep_length=False)
        assert whole.shape == (round(4000 * factor),)
        torch.testing.assert_close(fit_length(whole, 4000), time_stretch(x, factor))
    assert abs(_peak_hz(time_stretch(x, 2.0, keep_length=False)) - 150) <= 8000 / 8000 * 1.5
    torch.testing.assert_close(time_stretch(time_stretch(x, 0.5, keep_length=False), 2.0, keep_length=False), x,
                               rtol=0, atol=1e-3)  # the whole contracted clip holds all of it


_LPF = np.arange(10_001)  # the largest prime factor of every n <= 10,000, by a sieve
for _p in range(2, 10_001):
    if _LPF[_p] == _p:  # a prime: the largest so far of its multiples
        _LPF[_p::_p] = _p


def _largest_prime(n):
    return int(_LPF[n])


def test_fast_length_is_the_closest_length_with_small_prime_factors():
    """fast_length: the closest length whose prime factors are all <= 31 (the shorter of a tie),
    n itself up to 1,024; within 0.5% of n above that."""
    assert [fast_length(n) for n in (5793, 11585, 62367, 2896)] == [5796, 11583, 62370, 2898]
    assert [fast_length(n) for n in (2, 37, 1021, 1024, 4096)] == [2, 37, 1021, 1024, 4096]  # short, or fast already
    for n in range(1025, 9900, 7):
        m = fast_length(n)
        assert _largest_prime(m) <= 31 and abs(m - n) <= 0.005 * n, (n, m)
        d = abs(m - n)
        assert all(_largest_prime(k) > 31 for k in range(n - d + 1, n + d)), (n, m)  # none closer
        assert m < n or d == 0 or _largest_prime(n - d) > 31, (n, m)  # the shorter of a tie


def test_a_fast_stretch_takes_the_fast_length():
    """time_stretch(fast=True) is the stretch to fast_length(round(T·factor)) samples, played
    that length / T times slower; a fast length already is left as it is."""
    x = _tone(300.0, n=4096)
    whole = time_stretch(x, 2 ** -0.5, keep_length=False, fast=True)
    assert whole.shape == (2898,)  # round(4096 / √2) = 2,896 = 2⁴·181
    torch.testing.assert_close(whole, time_stretch(x, 2898 / 4096, keep_length=False))
    torch.testing.assert_close(time_stretch(x, 2 ** -0.5, fast=True), fit_length(whole, 4096))
    torch.testing.assert_close(time_stretch(x, 0.5, fast=True), time_stretch(x, 0.5), rtol=0, atol=0)


def test_fit_length():
    x = torch.arange(10.0)
    assert torch.equal(fit_length(x, 4), torch.tensor([3.0, 4, 5, 6]))
    assert torch.equal(fit_length(torch.ones(3), 6), torch.tensor([0.0, 1, 1, 1, 0, 0]))


def test_audio_augment_is_seeded():
    x = torch.randn(3, 1, 1000)
    aug = AudioAugment(stretch=(0.5, 2.0))
    a = aug(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, aug(x, torch.Generator().manual_seed(0))) and a.shape == x.shape
    assert not AudioAugment().active


def test_synthetic_sounds_are_deterministic_balanced_and_normalised():
    ds = SyntheticSounds("val")
    again = SyntheticSounds("val")
    assert np.array_equal(ds.waves, again.waves) and np.array_equal(ds.labels, again.labels)
    assert ds.waves.shape == (240, 1, 8192) and ds.waves.dtype == np.float32
    assert np.allclose(ds.class_balance(), 1 / 6)
    rms = np.sqrt((ds.waves**2).mean(-1))
    assert np.allclose(rms, 0.1, rtol=1e-3)
    assert not np.array_equal(SyntheticSounds("test").waves[:10], ds.waves[:10])


@pytest.mark.parametrize("label", range(6))
def test_synthetic_class_is_a_shape_not_a_scale(label):
    """A clip synthesised at scale 2 has the harmonic structure of the class at scale 1, with
    every frequency halved: the class is defined up to time scale."""
    a = SyntheticSounds.synthesize(label, np.random.default_rng(5), scale=1.0)
    b = SyntheticSounds.synthesize(label, np.random.default_rng(5), scale=2.0)
    fa, fb = _peak_hz(torch.from_numpy(a).double()), _peak_hz(torch.from_numpy(b).double())
    if SyntheticSounds.CLASSES[label] in ("sine", "square", "sawtooth"):
        assert abs(fb - fa / 2) < 5


def test_audio_augment_pads_each_batch_with_silence_around_the_clips():
    """augment.pad: every clip of a batch centred in zeros, one log-uniform length factor in
    [lo, hi] per batch, seeded; after the stretch when both are on; lo < 1 is refused."""
    x = torch.randn(3, 1, 1000)
    aug = AudioAugment(pad=(1.0, 2.0))
    gen = torch.Generator().manual_seed(0)
    lengths = set()
    for _ in range(20):
        y = aug(x, gen)
        n = y.shape[-1]
        lengths.add(n)
        assert 1000 <= n <= 2000 and torch.equal(fit_length(y, 1000), x)
        assert torch.count_nonzero(y) == torch.count_nonzero(x)  # nothing but zeros added
    assert len(lengths) > 10 and aug.active
    assert torch.equal(aug(x, torch.Generator().manual_seed(1)), aug(x, torch.Generator().manual_seed(1)))
    both = AudioAugment(stretch=(0.5, 2.0), pad=(2.0, 2.0))(x, torch.Generator().manual_seed(0))
    assert both.shape[-1] == 2000 and not torch.equal(fit_length(both, 1000), x)  # stretched, then padded
    with pytest.raises(ValueError, match="1 <= lo <= hi"):
        AudioAugment(pad=(0.5, 2.0))


def test_audio_augment_crop_keeps_one_random_window_of_each_clip():
    """augment.crop: each clip keeps round(T/f) consecutive samples (f log-uniform in [lo, hi], one
    per clip) at a uniform position, the rest zeroed; the length is kept; seeded; lo < 1 refused."""
    x = torch.randn(64, 1, 1000) + 5.0  # never zero, so the kept window is the non-zero run
    aug = AudioAugment(crop=(1.0, 2.0))
    y = aug(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and aug.active
    kept, starts = [], []
    for clip, orig in zip(y[:, 0], x[:, 0]):
        nz = torch.nonzero(clip).flatten()
        first, last = int(nz[0]), int(nz[-1])
        assert last - first + 1 == len(nz)  # one window, no holes
        assert torch.equal(clip[first:last + 1], orig[first:last + 1])  # what is kept is untouched
        kept.append(len(nz))
        starts.append(first)
    assert 500 <= min(kept) < 700 and 900 < max(kept) <= 1000  # T/2 .. T
    assert min(starts) == 0 or min(starts) < 50 and max(starts) > 200  # positions spread over the clip
    assert torch.equal(aug(x, torch.Generator().manual_seed(1)), aug(x, torch.Generator().manual_seed(1)))
    assert torch.equal(AudioAugment(crop=(1.0, 1.0))(x, torch.Generator().manual_seed(0)), x)  # f = 1: all kept
    half = AudioAugment(crop=(2.0, 2.0))(x, torch.Generator().manual_seed(0))
    assert (torch.count_nonzero(half, dim=-1) == 500).all()
    # batches sit on the training device, the generator on the CPU: the mask follows the batch
    # (a device with no data, "meta", stands in for CUDA here)
    on_meta = AudioAugment(crop=(1.0, 2.0))(torch.zeros(4, 1, 1000, device="meta"), torch.Generator().manual_seed(0))
    assert on_meta.device.type == "meta" and on_meta.shape == (4, 1, 1000)
    with pytest.raises(ValueError, match=r"augment.crop = \[lo, hi\] keeps 1/hi..1/lo of each clip, 1 <= lo <= hi"):
        AudioAugment(crop=(0.5, 2.0))
