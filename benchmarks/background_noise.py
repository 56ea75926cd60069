"""Trained audio runs under a recording's steady background, played at other tape speeds:
``python -m benchmarks.background_noise RUN [RUN ...] [--data-root DIR] [--noise brown,pink,white,hum]
[--snr 20,10] [--scales 0.5,0.707,1,1.414,2]``.

Each run's best checkpoint classifies its test set with a stationary background added to every
clip *before* the tape-speed change, as a recording's own room tone is played back with it:
noise whose power falls as ``1/f^2`` (``brown``: rumble, traffic, a fan), ``1/f`` (``pink``) or
is flat (``white``), each from 20 Hz up, or a 60 Hz mains ``hum``, at ``--snr`` dB below the
clip's power. The backgrounds are drawn once, from a fixed seed, so every run hears the same.
Runs that differ only in their seed are one row (mean ± sd over them); a row is named by its
run's name (less seed and digest) and the keys in which its configuration differs from the first
row of that name. Prints a markdown
table: accuracy per tape speed and its mean.

Where ``noise_floor`` adds white noise *after* the change (a playback chain's floor, the cue the
pyramid W-Net's ``empty_band`` rule reads), this checks what a recording brings with it: the
pyramid's content-octave anchor reads the level powers, and a steady background in the coarse
octaves can move it (``model.anchor_floor``).
"""
from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import torch

from wavenets.data import time_stretch
from wavenets.train import Trainer
from wavenets.train._rundir import _flat

from ._report import mean_sd
from .noise_floor import predicted

NOISES = {"brown": 2.0, "pink": 1.0, "white": 0.0}  # power spectrum exponent: P(f) ∝ f^-a


def background(kind: str, shape: tuple[int, ...], rate: float, gen: torch.Generator) -> torch.Tensor:
    """``[B, C, T]`` of unit power per clip: ``kind`` noise from 20 Hz up, or a 60 Hz ``hum``."""
    t = shape[-1]
    if kind == "hum":
        return math.sqrt(2) * torch.sin(2 * math.pi * 60 * torch.arange(t, dtype=torch.float64) / rate).expand(shape)
    if kind not in NOISES:
        raise SystemExit(f"unknown background {kind!r}; choose from {', '.join([*NOISES, 'hum'])}")
    f = torch.fft.rfftfreq(t, 1 / rate, dtype=torch.float64)
    gain = torch.where(f >= 20, f.clamp_min(20) ** (-NOISES[kind] / 2), torch.zeros_like(f))
    n = torch.fft.irfft(torch.fft.rfft(torch.randn(shape, generator=gen, dtype=torch.float64)) * gain, n=t)
    return n / n.pow(2).mean(-1, keepdim=True).sqrt()


def with_background(x: torch.Tensor, noise: torch.Tensor | None, snr_db: float) -> torch.Tensor:
    """``x`` plus ``noise`` (unit power) at ``snr_db`` below each clip's power."""
    if noise is None:
        return x
    power = x.double().pow(2).mean(-1, keepdim=True)
    return (x.double() + noise * (power * 10 ** (-snr_db / 10)).sqrt()).to(x.dtype)


def load_run(run: Path, data_root: str | None) -> tuple[Trainer, dict]:
    """The run's trainer (its data set, its best weights, eval mode) and its configuration."""
    cfg = json.loads((run / "config.json").read_text())
    trainer = Trainer(cfg, run, device=torch.device("cpu"), quiet=True, data_root=data_root)
    trainer.load_best()
    trainer.model.eval()
    return trainer, cfg


def _setting(cfg: dict) -> dict:
    """What a run trained with, less its name, seed and evaluation settings."""
    return {k: v for k, v in _flat(cfg).items() if k not in ("name", "train.seed") and not k.startswith("eval.")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.background_noise", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (config.json and best.pt)")
    parser.add_argument("--data-root", default=None, help="dataset folder (default: $WAVENETS_DATA or ./datasets)")
    parser.add_argument("--noise", default="brown,pink,hum", help="backgrounds: brown, pink, white, hum")
    parser.add_argument("--snr", default="20,10", help="dB below each clip's power")
    parser.add_argument("--scales", default="0.5,0.707,1,1.414,2", help="tape speeds (time-scale factors)")
    args = parser.parse_args(argv)
    snrs = [float(s) for s in args.snr.split(",") if s]
    scales = [float(s) for s in args.scales.split(",") if s]
    kinds = [k for k in args.noise.split(",") if k]
    conditions = [("none", None)] + [(k, s) for k in kinds for s in snrs]
    groups: dict[str, list[dict]] = {}  # setting -> per seed: condition -> accuracies
    settings: dict[str, dict] = {}
    for run in args.runs:
        if not (run / "best.pt").exists():
            raise SystemExit(f"{run} holds no best.pt; pass the folders of finished runs")
        trainer, cfg = load_run(run, args.data_root)
        x = torch.tensor(trainer.test_set.waves, dtype=torch.float32)  # a copy: the cache is read-only
        y = torch.as_tensor(trainer.test_set.labels)
        rate = cfg["data"].get("sample_rate") or getattr(trainer.test_set, "sample_rate", None)
        if not rate:
            raise SystemExit(f"{run}: its data set ({cfg['data']['name']}) names no sample rate; this check is for audio runs")
        gen = torch.Generator().manual_seed(0)
        noises = {k: background(k, tuple(x.shape), float(rate), gen) for k in kinds}
        accs = {}
        for kind, snr in conditions:
            noisy = with_background(x, None if snr is None else noises[kind], snr or 0.0)
            accs[kind, snr] = [float((predicted(trainer.model, time_stretch(noisy, s).float()) == y).float().mean())
                               for s in scales]
        key = json.dumps(_setting(cfg), sort_keys=True, default=str)
        settings.setdefault(key, cfg)
        groups.setdefault(key, []).append(accs)
        print(f"{run.name}: clean mean {sum(accs['none', None]) / len(scales):.3f}", flush=True)
    stem = {key: re.sub(r"_f[\d.]+_s\d+_[0-9a-f]{8}$|_s\d+$", "", cfg["name"]) for key, cfg in settings.items()}
    print(f"\n| run ({', '.join(str(len(g)) for g in groups.values())} seeds) | background | "
          + " | ".join(f"×{s:g}" for s in scales) + " | mean |")
    print("|---|---|" + "---|" * (len(scales) + 1))
    for key, runs in groups.items():
        setting = _setting(settings[key])
        first = _setting(settings[next(k for k in groups if stem[k] == stem[key])])  # the first run of its name
        differ = [f"{k.split('.')[-1]}={setting.get(k)}" for k in sorted(set(setting) | set(first))
                  if setting.get(k) != first.get(k)]
        label = stem[key] + (f" ({', '.join(differ)})" if differ else "")
        for kind, snr in conditions:
            cells = [mean_sd([r[kind, snr][i] for r in runs]) for i in range(len(scales))]
            cells.append(mean_sd([sum(r[kind, snr]) / len(scales) for r in runs]))
            what = "none" if snr is None else f"{kind} {snr:g} dB"
            print(f"| {label} | {what} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
