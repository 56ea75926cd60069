"""Scale-equivariance error of W-Net lifting layers and feature extractors, with and without
the B-spline anti-aliasing, under exact decimation and under ×2 stretches.

``python -m benchmarks.scale_equivariance`` prints a markdown table (docs/wavelet_networks.md).
Inputs: 4 random band-limited signals of 4,096 samples (sums of Gaussian-windowed sinusoids);
"smooth" ≤ 12 cycles per clip, "broadband" ≤ 800 cycles (up to 0.39 of the sampling rate).
Stretch ×2: "linear" upsamples by linear interpolation (as measured for the official lifting,
1.8–2.0%), "cubic" is wavenets' ``Dilation.act_on_signal``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from wavenets.groups import Dilation
from wavenets.models import MNet
from wavenets.nn import LiftingConv
from wavenets.testing import smooth_signal


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


if __name__ == "__main__":
    with torch.no_grad():
        main()
