"""Waveform datasets and time-scale transforms.

Waveforms are float32 ``[N, 1, T]`` (mono, fixed length). ``time_stretch`` is the action of the
scale group on a clip: ``x(t) -> x(t / s)`` (slower and lower for ``s > 1``), computed by
band-limited (FFT) resampling, so contractions do not alias; the result is centre-cropped or
zero-padded back to ``T`` samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..nn._resample import fast_length, fit_length, time_stretch
from ._base import check_split

__all__ = ["AudioDataset", "SyntheticSounds", "time_stretch", "fast_length", "fit_length", "AudioAugment"]


@dataclass
class AudioAugment:
    """Random time stretch of each clip by a log-uniform factor in ``stretch = (lo, hi)`` (to the
    nearest length with a fast FFT: :func:`fast_length`); then a
    random window of each clip: ``crop = (lo, hi)``, ``1 <= lo <= hi``, keeps ``round(T/f)``
    consecutive samples at a uniform position and zeroes the rest, one log-uniform ``f`` per clip
    (the part of a clip a 1 s window keeps when the clip is played ``f`` times slower, at the clip's
    own time scale); then silence around the batch: ``pad = (lo, hi)``, ``1 <= lo <= hi``, centres
    every clip of the batch in zeros to ``round(T·f)`` samples, one log-uniform ``f`` per batch.
    None turns each off."""

    stretch: tuple[float, float] | None = None
    pad: tuple[float, float] | None = None
    crop: tuple[float, float] | None = None

    def __post_init__(self):
        for name, what in (("pad", "pads clips to lo..hi times their length"),
                           ("crop", "keeps 1/hi..1/lo of each clip")):
            value = getattr(self, name)
            if value is not None and not 1 <= value[0] <= value[1]:
                raise ValueError(f"augment.{name} = [lo, hi] {what}, 1 <= lo <= hi; got {list(value)}")

    @property
    def active(self) -> bool:
        return self.stretch is not None or self.pad is not None or self.crop is not None

    def __call__(self, x: Tensor, gen: torch.Generator) -> Tensor:
        if self.stretch is not None:
            lo, hi = math.log(self.stretch[0]), math.log(self.stretch[1])
            factors = torch.exp(lo + (hi - lo) * torch.rand(x.shape[0], generator=gen)).tolist()
            x = torch.stack([time_stretch(clip, f, fast=True) for clip, f in zip(x, factors)])
        if self.crop is not None:
            lo, hi = math.log(self.crop[0]), math.log(self.crop[1])
            length = x.shape[-1]
            keep = torch.round(length / torch.exp(lo + (hi - lo) * torch.rand(x.shape[0], generator=gen))).clamp(min=1)
            start = torch.floor(torch.rand(x.shape[0], generator=gen) * (length - keep + 1))
            start, keep = start.to(x.device), keep.to(x.device)  # drawn on the generator's CPU, used beside x
            t = torch.arange(length, device=x.device)
            x = x * ((t >= start[:, None]) & (t < (start + keep)[:, None])).to(x.dtype)[:, None]
        if self.pad is not None:
            lo, hi = math.log(self.pad[0]), math.log(self.pad[1])
            f = math.exp(lo + (hi - lo) * float(torch.rand((), generator=gen)))
            x = fit_length(x, round(x.shape[-1] * f))
        return x


class AudioDataset(Dataset):
    """In-memory (or memory-mapped) waveforms ``[N, 1, T]`` with labels."""

    kind = "audio"
    name = "audio"
    num_classes = 2
    sample_rate = 22050
    LENGTH = 22050
    multilabel = False

    def __init__(self, waves, labels):
        waves = np.asarray(waves) if not isinstance(waves, np.memmap) else waves
        if waves.ndim != 3 or waves.shape[1] != 1:
            raise ValueError(f"{type(self).__name__} expected waveforms [N, 1, T], got {waves.shape}")
        if len(waves) != len(labels):
            raise ValueError(f"{len(waves)} waveforms but {len(labels)} labels")
        self.waves = waves
        self.labels = np.asarray(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return torch.from_numpy(np.array(self.waves[i], dtype=np.float32)), self.labels[i]

    @property
    def class_names(self) -> list[str]:
        """The name of each output, in order: the data set's ``CLASSES``, the names its metadata
        gives (ESC-50's categories, MagnaTagATune's tags), else ``class_<i>``. A run records them,
        so that ``predict`` and ``export`` name the outputs without the data."""
        return list(getattr(self, "CLASSES", ())) or [f"class_{i}" for i in range(self.num_classes)]

    @classmethod
    def clip_format(cls, sample_rate: int | None = None, length: int | None = None) -> tuple[int, int]:
        """``(sample rate, samples per clip)`` the dataset feeds a network, given a recipe's
        ``data.sample_rate`` / ``data.length`` (None: the dataset's own)."""
        return sample_rate or cls.sample_rate, length or cls.LENGTH

    @property
    def in_memory(self) -> bool:
        """False for a memory-mapped cache: its batches come from disk, where DataLoader workers
        (``data.num_workers``) overlap the reads with compute."""
        return not isinstance(self.waves, np.memmap)

    def batch(self, idx: Tensor):
        x = torch.from_numpy(np.asarray(self.waves[idx.numpy()], dtype=np.float32))
        return x, torch.from_numpy(self.labels[idx.numpy()])

    @property
    def in_channels(self) -> int:
        return 1

    @property
    def length(self) -> int:
        return self.waves.shape[-1]

    def describe(self) -> str:
        """``"N clips, T samples at R Hz"``."""
        return f"{len(self)} clips, {self.length} samples at {self.sample_rate} Hz"

    def class_balance(self) -> list[float]:
        if self.multilabel:
            return self.labels.mean(0).tolist()
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return (counts / max(1, counts.sum())).tolist()


class SyntheticSounds(AudioDataset):
    """Procedural sounds whose class does not depend on time scale (embedded, seeded).

    Six classes, all defined by *shape*, not by duration or pitch: ``sine``, ``square`` (odd
    harmonics 1/k), ``sawtooth`` (all harmonics 1/k), ``pulse`` (all harmonics, equal
    amplitude), ``chirp_up`` and ``chirp_down`` (exponential sweeps over two octaves). Every clip
    has a fundamental ``f0`` log-uniform in 50–200 Hz divided by a time scale ``s``, a smooth
    envelope of 0.25–0.5 s × ``s`` at a random position, random phase, harmonics band-limited
    below 0.45·sr (no aliasing) and white noise at 20 dB SNR; RMS normalised to 0.1.
    Stretching a clip by ``c`` (``time_stretch``) gives a clip of the same class at scale
    ``s·c``. The training and validation splits draw ``s`` log-uniformly from
    ``[2^-0.5, 2^0.5]``; the test split too, and ``eval.scales`` then stretches it far beyond
    (×1/4 … ×4) to measure scale generalisation. With f0 ≤ 200·√2 Hz, even a ×1/4 contraction
    keeps at least three harmonics below Nyquist, so the class stays recognisable at every
    tested scale.

    8 kHz, 8,192 samples (≈1 s); 100 / 40 / 60 clips per class for train / val / test.
    """

    name = "sounds"
    CLASSES = ("sine", "square", "sawtooth", "pulse", "chirp_up", "chirp_down")
    num_classes = len(CLASSES)
    sample_rate = 8000
    LENGTH = 8192
    PER_CLASS = {"train": 100, "val": 40, "test": 60}
    SCALE_RANGE = (2**-0.5, 2**0.5)

    def __init__(self, split: str = "train", root=None):
        check_split(split)
        rng = np.random.default_rng({"train": 11, "val": 12, "test": 13}[split])
        waves, labels = [], []
        for c in range(self.num_classes):
            for _ in range(self.PER_CLASS[split]):
                waves.append(self.synthesize(c, rng))
                labels.append(c)
        order = rng.permutation(len(labels))
        super().__init__(np.stack(waves)[order, None].astype(np.float32), np.array(labels, dtype=np.int64)[order])

    @classmethod
    def synthesize(cls, label: int, rng: np.random.Generator, scale: float | None = None) -> np.ndarray:
        sr, n = cls.sample_rate, cls.LENGTH
        lo, hi = cls.SCALE_RANGE
        s = scale if scale is not None else math.exp(rng.uniform(math.log(lo), math.log(hi)))
        f0 = math.exp(rng.uniform(math.log(50), math.log(200))) / s
        dur = rng.uniform(0.25, 0.5) * s
        t = np.arange(n) / sr
        centre = rng.uniform(0.3, 0.7) * n / sr
        env = np.clip(1 - ((t - centre) / (dur / 2)) ** 2, 0, None) ** 2  # smooth bump, width dur
        phase = rng.uniform(0, 2 * math.pi)
        nyq = 0.45 * sr
        kind = cls.CLASSES[label]
        if kind in ("chirp_up", "chirp_down"):
            # exponential sweep f(t) = f_start * 4^((t - t0)/dur) (or down), phase by integration
            rate = math.log(4) / dur * (1 if kind == "chirp_up" else -1)
            f_start = f0 if kind == "chirp_up" else 4 * f0
            tau = t - (centre - dur / 2)
            sig = np.sin(2 * math.pi * f_start * np.expm1(rate * tau) / rate + phase)
            sig = np.where(f_start * np.exp(rate * tau) < nyq, sig, 0.0)
        else:
            ks = np.arange(1, int(nyq // f0) + 1)
            if kind == "sine":
                amps = (ks == 1).astype(float)
            elif kind == "square":
                amps = np.where(ks % 2 == 1, 1.0 / ks, 0.0)
            elif kind == "sawtooth":
                amps = 1.0 / ks
            else:  # pulse
                amps = np.ones_like(ks, dtype=float) / math.sqrt(len(ks))
            sig = (amps[:, None] * np.sin(2 * math.pi * f0 * ks[:, None] * t[None] + ks[:, None] * phase)).sum(0)
        sig = sig * env
        sig = sig / (np.sqrt(np.mean(sig**2)) + 1e-12)
        noise = rng.standard_normal(n) * 10 ** (-20 / 20) * math.sqrt(np.mean(sig**2))
        out = sig + noise
        return (0.1 * out / np.sqrt(np.mean(out**2))).astype(np.float32)
