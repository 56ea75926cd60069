"""Time-frequency front ends computed by librosa: log-mel and constant-Q spectrograms.

``x: [B, C, T] -> [B, C, F, N]`` (F mel bands or CQT bins, N frames, in dB). These are the
inputs most audio practitioners start from, here as baselines for the wavelet networks. On a
constant-Q (log-frequency) axis a tape-speed change by ``2^k`` shifts the spectrum by
``k · bins_per_octave`` bins (and stretches time), so a CNN with global pooling over frequency is
the usual answer to pitch and tempo changes.

The transforms run in numpy (librosa, the ``audio`` extra), outside autograd and outside
``torch.compile``'s graphs: the module has no parameters, and its output on a CUDA input is
copied back to the input's device.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys

import numpy as np
import torch
from torch import Tensor, nn

from .._extras import need

__all__ = ["Spectrogram", "FRONTENDS"]

#: the front ends by name
FRONTENDS = ("logmel", "cqt")
#: C1, librosa's default lowest CQT frequency
_C1_HZ = 32.703195662574764
#: the top CQT bin stays below this fraction of the sample rate (librosa refuses filters past Nyquist)
_TOP = 0.45


def _librosa():
    return need("librosa", "audio", "the spectrogram front ends (model.name = 'spec_cnn')")


class Spectrogram(nn.Module):
    """A log-mel or constant-Q spectrogram in dB below each clip's maximum: ``x: [B, C, T] ->
    [B, C, F, N]``, per clip (and channel) what librosa gives for that clip alone:

    - ``"logmel"``: ``librosa.power_to_db(librosa.feature.melspectrogram(y, sr, n_fft, hop_length,
      n_mels=n_bins, fmin=fmin), ref=np.max, amin=1e-10, top_db=top_db)``.
    - ``"cqt"``: ``librosa.amplitude_to_db(|librosa.cqt(y, sr, hop_length, fmin, n_bins,
      bins_per_octave, tuning=0)|, ref=np.max, amin=1e-5, top_db=top_db)``. Tuning is fixed at 0:
      an estimated tuning would move every clip's bins by its own fraction of a semitone.

    Defaults follow the sample rate: ``n_fft`` the power of two nearest 64 ms, ``hop_length``
    ``n_fft / 4`` (log-mel) or the same hop (CQT), 64 mel bands from 0 Hz, and as many whole CQT
    octaves from C1 (32.7 Hz) as fit under 0.45 × the sample rate.
    Frames are centred (``N = T // hop_length + 1``).

    Args:
        kind: ``"logmel"`` or ``"cqt"``.
        sample_rate: of the input, Hz.
        n_bins: mel bands or CQT bins (default as above).
        hop_length, n_fft: samples (``n_fft`` is the log-mel window; the CQT's filters have their
            own lengths).
        fmin: lowest frequency, Hz (default 0 for log-mel, C1 for the CQT).
        bins_per_octave: CQT resolution (12: semitones).
        top_db: the floor, in dB below the clip's maximum (80, librosa's default; None: none but
            ``amin``, 100 dB below 1 in absolute terms).
    """

    def __init__(self, kind: str, sample_rate: int, *, n_bins: int | None = None, hop_length: int | None = None,
                 n_fft: int | None = None, fmin: float | None = None, bins_per_octave: int = 12,
                 top_db: float | None = 80.0):
        super().__init__()
        if kind not in FRONTENDS:
            raise ValueError(f"unknown spectrogram front end {kind!r}; use one of {', '.join(FRONTENDS)}")
        if not (isinstance(sample_rate, int) and sample_rate > 0):
            raise ValueError(f"Spectrogram needs a positive whole sample rate in Hz, got {sample_rate!r}")
        self.kind, self.sample_rate, self.bins_per_octave = kind, sample_rate, int(bins_per_octave)
        if top_db is not None and not top_db > 0:
            raise ValueError(f"Spectrogram top_db is a positive range in dB below each clip's maximum (or None), "
                             f"got {top_db!r}")
        self.top_db = None if top_db is None else float(top_db)
        self.n_fft = int(n_fft or 2 ** round(math.log2(0.064 * sample_rate)))
        self.hop_length = int(hop_length or max(1, self.n_fft // 4))
        if kind == "logmel":
            self.fmin = float(fmin if fmin is not None else 0.0)
            self.n_bins = int(n_bins or 64)
            if not 0 <= self.fmin < sample_rate / 2:
                raise ValueError(f"log-mel fmin must lie in [0, {sample_rate / 2:g}) Hz (Nyquist), got {self.fmin:g}")
        else:
            self.fmin = float(fmin if fmin is not None else _C1_HZ)
            if self.fmin <= 0:
                raise ValueError(f"CQT fmin must be a positive frequency in Hz, got {self.fmin:g}")
            room = math.floor(math.log2(_TOP * sample_rate / self.fmin) * self.bins_per_octave)
            self.n_bins = int(n_bins or room // self.bins_per_octave * self.bins_per_octave)
            if self.n_bins < 1 or self.n_bins > room:
                raise ValueError(
                    f"a CQT from {self.fmin:g} Hz at {sample_rate} Hz has room for at most {room} bins of "
                    f"{self.bins_per_octave} per octave below {_TOP:g} x the sample rate; got n_bins = {self.n_bins}. "
                    "Lower model.n_bins or model.fmin")

    @property
    def options(self) -> dict:
        """What defines the transform (its cache identity, with librosa's version)."""
        return {"kind": self.kind, "sample_rate": self.sample_rate, "n_bins": self.n_bins,
                "hop_length": self.hop_length, "n_fft": self.n_fft, "fmin": self.fmin,
                "bins_per_octave": self.bins_per_octave, "top_db": self.top_db}

    def key(self) -> str:
        """A short hash of :attr:`options` and librosa's version: feature caches are named by it."""
        blob = json.dumps({**self.options, "librosa": _librosa().__version__}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]

    def frames(self, length: int) -> int:
        """Frames ``N`` of a clip of ``length`` samples (centred frames)."""
        return length // self.hop_length + 1

    def numpy(self, y: np.ndarray) -> np.ndarray:
        """``y: [..., T]`` float -> ``[..., F, N]`` float32 dB, by librosa."""
        librosa = _librosa()
        y = np.ascontiguousarray(y, dtype=np.float32)
        if not np.isfinite(y).all():
            raise ValueError("Spectrogram: the waveform holds NaN or inf samples; clean or drop those clips")
        if self.kind == "logmel":
            s = librosa.feature.melspectrogram(y=y, sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
                                               n_mels=self.n_bins, fmin=self.fmin)
            out = librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=None)
        else:
            c = librosa.cqt(y, sr=self.sample_rate, hop_length=self.hop_length, fmin=self.fmin, n_bins=self.n_bins,
                            bins_per_octave=self.bins_per_octave, tuning=0.0)
            out = librosa.amplitude_to_db(np.abs(c), ref=1.0, amin=1e-5, top_db=None)
        out = out - out.max(axis=(-2, -1), keepdims=True)  # dB below the clip's own maximum (librosa's ref=np.max, per clip of a batch)
        if self.top_db is not None:
            out = np.maximum(out, -self.top_db)
        return out.astype(np.float32, copy=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"Spectrogram expected waveforms [B, C, T], got {list(x.shape)}")
        # numpy: torch.compile runs it as it is, the network around it compiled. Only a compile can
        # be tracing this, and it has imported torch._dynamo; a decorator would import it (~1 s) with
        # the package
        run = torch.compiler.disable(self._librosa) if "torch._dynamo" in sys.modules else self._librosa
        return run(x)

    def _librosa(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            out = torch.from_numpy(self.numpy(x.detach().float().cpu().numpy()))
        return out.to(device=x.device, dtype=x.dtype if x.is_floating_point() else torch.float32)

    def extra_repr(self) -> str:
        extra = f", bins_per_octave={self.bins_per_octave}" if self.kind == "cqt" else f", n_fft={self.n_fft}"
        return (f"{self.kind!r}, sample_rate={self.sample_rate}, n_bins={self.n_bins}, hop_length={self.hop_length}, "
                f"fmin={self.fmin:g}{extra}")
