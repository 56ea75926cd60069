"""The spectrogram front ends against librosa called directly, their defaults, the CQT's
shift under a tape-speed change, and their errors."""
import math

import numpy as np
import pytest
import torch

from wavenets.nn import Spectrogram

librosa = pytest.importorskip("librosa")


def _clips(n=3, sr=8000, t=8192, seed=0):
    """Harmonic tones with noise, one per row, the shape of the embedded sounds."""
    rng = np.random.default_rng(seed)
    time = np.arange(t) / sr
    rows = []
    for _ in range(n):
        f0 = rng.uniform(60, 300)
        tone = sum(np.sin(2 * math.pi * f0 * k * time) / k for k in range(1, 6))
        rows.append(0.1 * tone + 0.01 * rng.standard_normal(t))
    return np.stack(rows).astype(np.float32)


@pytest.mark.parametrize("top_db", [80.0, None])
def test_logmel_is_librosas_for_each_clip(top_db):
    y = _clips()
    spec = Spectrogram("logmel", 8000, top_db=top_db)
    out = spec(torch.from_numpy(y)[:, None])
    assert out.shape == (3, 1, 64, 8192 // 128 + 1) and out.dtype == torch.float32
    for i, clip in enumerate(y):  # each clip as librosa computes it alone, dB below its own maximum
        s = librosa.feature.melspectrogram(y=clip, sr=8000, n_fft=512, hop_length=128, n_mels=64, fmin=0.0)
        ref = librosa.power_to_db(s, ref=np.max, amin=1e-10, top_db=top_db)
        np.testing.assert_allclose(out[i, 0].numpy(), ref, atol=1e-3)


@pytest.mark.parametrize("top_db", [80.0, None])
def test_cqt_is_librosas_for_each_clip(top_db):
    y = _clips()
    spec = Spectrogram("cqt", 8000, top_db=top_db)
    assert spec.n_bins == 72 and spec.fmin == pytest.approx(librosa.note_to_hz("C1"))  # 6 octaves under 3.6 kHz
    out = spec(torch.from_numpy(y)[:, None])
    for i, clip in enumerate(y):
        c = librosa.cqt(clip, sr=8000, hop_length=128, fmin=librosa.note_to_hz("C1"), n_bins=72, bins_per_octave=12,
                        tuning=0.0)
        ref = librosa.amplitude_to_db(np.abs(c), ref=np.max, amin=1e-5, top_db=top_db)
        np.testing.assert_allclose(out[i, 0].numpy(), ref, atol=1e-3)


def test_defaults_follow_the_sample_rate():
    mel = Spectrogram("logmel", 22050)
    assert (mel.n_fft, mel.hop_length, mel.n_bins) == (1024, 256, 64)  # ~64 ms window, 75% overlap
    cqt = Spectrogram("cqt", 22050)
    assert cqt.n_bins == 96 and cqt.hop_length == 256  # 8 whole octaves from C1 below 0.45 x 22,050 Hz
    assert cqt.frames(88200) == 88200 // 256 + 1
    assert mel.key() != cqt.key() and Spectrogram("logmel", 22050).key() == mel.key()


def test_a_tape_speed_octave_shifts_the_cqt_by_bins_per_octave():
    """x(2t) has every partial an octave up: the CQT's peak bin moves 12 bins, the pattern of partials too."""
    sr, t = 8000, 8192
    time = np.arange(t) / sr
    tone = lambda f0: sum(np.sin(2 * math.pi * f0 * k * time) / k for k in (1, 2, 3)).astype(np.float32)
    spec = Spectrogram("cqt", sr)
    low, high = spec(torch.from_numpy(np.stack([tone(110.0), tone(220.0)]))[:, None])[:, 0].mean(-1)
    assert int(high.argmax()) - int(low.argmax()) == 12
    # the partials' profile, an octave up, agrees within 2 dB where both are within 40 dB of the top (the lower
    # octave's filters are twice as long, so the clip's edges weigh differently: 1.1 dB measured)
    a, b = low[: -12], high[12:]
    strong = (a > -40) & (b > -40)
    assert strong.sum() >= 8 and float((a[strong] - b[strong]).abs().max()) < 2.0


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="unknown spectrogram front end 'stft'"):
        Spectrogram("stft", 8000)
    with pytest.raises(ValueError, match="room for at most 81 bins"):
        Spectrogram("cqt", 8000, n_bins=96)
    with pytest.raises(ValueError, match=r"expected waveforms \[B, C, T\]"):
        Spectrogram("logmel", 8000)(torch.zeros(2, 8192))
    bad = torch.zeros(1, 1, 8192)
    bad[0, 0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        Spectrogram("logmel", 8000)(bad)
    with pytest.raises(ValueError, match="top_db"):
        Spectrogram("logmel", 8000, top_db=0)
