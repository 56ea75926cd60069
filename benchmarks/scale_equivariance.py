"""Scale-equivariance error of W-Net lifting layers and feature extractors, with and without
the B-spline anti-aliasing, under exact decimation and under ×2 stretches.

``python -m benchmarks.scale_equivariance`` prints a markdown table (docs/wavelet_networks.md).
Inputs: 4 random band-limited signals of 4,096 samples (sums of Gaussian-windowed sinusoids);
"smooth" ≤ 12 cycles per clip, "broadband" ≤ 800 cycles (up to 0.39 of the sampling rate).
Stretch ×2: "linear" upsamples by linear interpolation (as measured for the official lifting,
1.8–2.0%), "cubic" is wavenets' ``Dilation.act_on_signal``.

The second table is the pyramid layout (``layout="pyramid"``): feature levels ``j`` of the
contracted input against levels ``j+1`` of the original (every level both sides have, all
compared levels together), under the pyramid's own contraction ``↓2(g ∗ x)`` in float32 and
float64, and under band-limited FFT resampling of the whole clip (×0.5 to ``T/2`` samples,
×2 to ``2T``: the stretched input's level ``j+1`` against the original's ``j``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from wavenets.groups import Dilation
from wavenets.models import MNet
from wavenets.nn import LiftingConv
from wavenets.testing import pyramid_equivariance_error, smooth_signal


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    n = min(a.shape[-1], b.shape[-1])  # pooling rounds lengths differently after a stretch
    a, b = a[..., :n], b[..., :n]
    keep = torch.isfinite(b)
    return ((a - b)[keep].norm() / b[keep].norm()).item()


def _errors(module, group, out_group, x):
    y = module(x)
    dec = _rel(module(group.act_on_signal(x, -1)), out_group.act_on_features(y, -1))
    cubic = _rel(module(group.act_on_signal(x, 1)), out_group.act_on_features(y, 1))
    up = F.interpolate(x, size=2 * x.shape[-1] - 1, mode="linear", align_corners=True)
    linear = _rel(module(up), out_group.act_on_features(y, 1))
    return dec, linear, cubic


def main() -> None:
    torch.manual_seed(0)
    rows = []
    for band, cycles in (("smooth", 12), ("broadband", 800)):
        x = smooth_signal(4, 1, 4096, max_cycles=cycles)
        for aa in (False, True):
            torch.manual_seed(0)
            lift = LiftingConv(Dilation(9), 1, 16, 79, dim=1, antialias=aa).double().eval()
            rows.append(("lifting (79 taps, 9 scales)", band, aa, *_errors(lift, Dilation(9), Dilation(9), x)))
            for pool in ("max", "subsample"):
                torch.manual_seed(0)
                net = MNet(Dilation(9), "m5", 4, width=8, time_pool=pool, antialias=aa).double().eval()
                with torch.no_grad():
                    errs = _errors(net.features, Dilation(9), net.features_group, x)
                rows.append((f"W-M5 features, time_pool={pool}", band, aa, *errs))
    print("| module | input | antialias | contract ×2 (decimation) | stretch ×2 (linear) | stretch ×2 (cubic) |")
    print("|---|---|---|---|---|---|")
    for name, band, aa, dec, lin, cub in rows:
        print(f"| {name} | {band} | {'yes' if aa else 'no'} | {dec:.2e} | {lin:.2e} | {cub:.2e} |")


def fft_resample(x: torch.Tensor, length: int) -> torch.Tensor:
    """Band-limited resampling of the whole clip to ``length`` samples (amplitude kept)."""
    spec = torch.fft.rfft(x, dim=-1)
    bins = length // 2 + 1
    spec = spec[..., :bins] if bins <= spec.shape[-1] else F.pad(spec, (0, bins - spec.shape[-1]))
    return torch.fft.irfft(spec, n=length, dim=-1) * (length / x.shape[-1])


def _level_error(fine: list, coarse: list) -> float:
    """Relative error of ``coarse[j]`` against ``fine[j+1]`` over all levels both have."""
    pairs = list(zip(coarse, fine[1:]))
    num = sum((a - b).double().norm() ** 2 for a, b in pairs)
    den = sum(b.double().norm() ** 2 for _, b in pairs)
    return (num / den).sqrt().item()


def pyramid_rows() -> list[tuple]:
    rows = []
    for name, kw in (("W-M5 pyramid, published scale taps (9 -> 3 levels)", {}),
                     ("W-M5 pyramid, 1 scale tap (sounds recipe)", {"scale_taps": [1, 1, 1], "head_taps": 1})):
        for band, cycles in (("smooth", 12), ("broadband", 800)):
            errs = {}
            for dtype in (torch.float32, torch.float64):
                torch.manual_seed(0)
                net = MNet(Dilation(9), "m5", 4, width=8, layout="pyramid", **kw).to(dtype).eval()
                x = smooth_signal(4, 1, 4096, max_cycles=cycles).to(dtype)
                errs[dtype] = pyramid_equivariance_error(net.features, x, 1).max().item()
            x = x.double()
            y = net.features(x)
            contracted = _level_error(y, net.features(fft_resample(x, x.shape[-1] // 2)))
            stretched = _level_error(net.features(fft_resample(x, 2 * x.shape[-1])), y)
            rows.append((name, band, errs[torch.float32], errs[torch.float64], contracted, stretched))
    return rows


if __name__ == "__main__":
    with torch.no_grad():
        main()
        print()
        print("| pyramid module | input | pyramid contraction, float32 (max over levels) | float64 | "
              "FFT ×0.5 | FFT ×2 |")
        print("|---|---|---|---|---|---|")
        for name, band, e32, e64, c, st in pyramid_rows():
            print(f"| {name} | {band} | {e32:.1e} | {e64:.1e} | {c:.2e} | {st:.2e} |")
