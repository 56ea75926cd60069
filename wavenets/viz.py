"""Pictures of equivariance: ``wavenets viz equivariance [--out DIR]``.

``rotation.png``: a real tissue patch (scikit-image's IHC image) rotated by 0°, 45°, 90°, 180°
beside one channel of its C8 lifting, all 8 orientations side by side. Rotating the input by
45° rotates every map and shifts the orientation axis cyclically by one.
``scale.png``: a chirp and its ×2 stretch beside their scale-time maps ("scalograms") from a
dyadic lifting layer: stretching by 2 moves the pattern up one scale and stretches it in time.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from ._extras import need
from ._io import atomic_path
from .data import TissuePatches, normalize, rotate
from .groups import Dilation, Rotation
from .nn import LiftingConv

__all__ = ["equivariance_figures"]


def _oriented_kernel(conv: LiftingConv) -> None:
    """A fixed, readable kernel: an oriented Gaussian derivative (edge detector), every channel."""
    k = conv.kernel_size
    i = torch.arange(k, dtype=torch.float64) - (k - 1) / 2
    g = torch.exp(-(i[:, None] ** 2 + i[None, :] ** 2) / (2 * (k / 5) ** 2))
    with torch.no_grad():
        conv.weight.copy_((i[None, :] * g).expand_as(conv.weight).to(conv.weight.dtype))
        conv.bias.zero_()


def _morlet(conv: LiftingConv) -> None:
    k = conv.kernel_size
    t = torch.arange(k, dtype=torch.float64) - (k - 1) / 2
    w = torch.exp(-((t / (k / 6)) ** 2)) * torch.cos(2 * math.pi * t / (k / 3))
    with torch.no_grad():
        conv.weight.copy_((w - w.mean()).expand_as(conv.weight).to(conv.weight.dtype))
        conv.bias.zero_()


def _save(fig, path: Path, title: str) -> Path:
    from .train._report import save_figure

    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def equivariance_figures(out: Path, *, angles=(0, 45, 90, 180), gif: bool = True) -> list[Path]:
    matplotlib = need("matplotlib", "plots", "wavenets viz")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    ds = TissuePatches("test")
    patch = ds.images[ds.labels.argmax()][None].float() / 255  # a DAB-positive patch
    group = Rotation(8, mask=True)
    lift = LiftingConv(group, 3, 1, 9, dim=2)
    _oriented_kernel(lift)
    fig, axes = plt.subplots(len(angles), 9, figsize=(13, 1.6 * len(angles)))
    with torch.no_grad():
        for row, angle in enumerate(angles):
            x = rotate(patch, float(angle), padding="reflection")
            maps = lift(normalize(x, ds.mean, ds.std))[0, 0]  # [8, H, W]
            axes[row, 0].imshow(x[0].permute(1, 2, 0).clamp(0, 1).numpy())
            axes[row, 0].set_ylabel(f"input {angle}°", fontsize=9)
            lim = maps.abs().max().item()
            for h in range(8):
                axes[row, h + 1].imshow(maps[h].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
                if row == 0:
                    axes[row, h + 1].set_title(f"θ = {45 * h}°", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    written.append(_save(fig, out / "rotation.png",
                         "C8 lifting of a tissue patch: rotating the input rotates each map and cycles the θ axis"))

    scale_group = Dilation(7)
    lift1d = LiftingConv(scale_group, 1, 1, 31, dim=1)
    _morlet(lift1d)
    t = torch.linspace(0, 1, 4096, dtype=torch.float32)
    chirp = (torch.sin(2 * math.pi * (20 * t + 120 * t**2)) * torch.exp(-(((t - 0.35) / 0.12) ** 2))).view(1, 1, -1)
    stretched = scale_group.act_on_signal(chirp, 1)[..., :4096]
    fig, axes = plt.subplots(2, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1, 1.3]})
    with torch.no_grad():
        for row, (sig, label) in enumerate(((chirp, "chirp"), (stretched, "stretched ×2"))):
            axes[row, 0].plot(sig[0, 0].numpy(), lw=0.6)
            axes[row, 0].set_title(label, fontsize=10)
            amp = lift1d(sig)[0, 0].abs().numpy()  # [scales, T]
            axes[row, 1].imshow(amp, aspect="auto", origin="lower", cmap="magma",
                                extent=[0, amp.shape[1], -0.5, amp.shape[0] - 0.5])
            axes[row, 1].set_ylabel("scale index j (dilation 2^j)")
            axes[row, 1].set_title(f"|lifting| of the {label}", fontsize=10)
    written.append(_save(fig, out / "scale.png",
                         "Dyadic lifting: stretching by 2 moves the scalogram up one scale and stretches it in time"))

    if gif:
        from matplotlib.animation import FuncAnimation, PillowWriter

        fig, axes = plt.subplots(1, 9, figsize=(13, 1.8))
        with torch.no_grad():
            frames = []
            for angle in range(0, 360, 15):
                x = rotate(patch, float(angle), padding="reflection")
                frames.append((x, lift(normalize(x, ds.mean, ds.std))[0, 0]))
        lim = max(m.abs().max().item() for _, m in frames)

        def draw(i):
            x, maps = frames[i]
            axes[0].clear(), axes[0].imshow(x[0].permute(1, 2, 0).clamp(0, 1).numpy())
            axes[0].set_title(f"{15 * i}°", fontsize=9)
            for h in range(8):
                axes[h + 1].clear(), axes[h + 1].imshow(maps[h].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
            for ax in axes:
                ax.set_xticks([]), ax.set_yticks([])

        path = out / "rotation.gif"
        with atomic_path(path) as tmp:
            FuncAnimation(fig, draw, frames=len(frames)).save(tmp, writer=PillowWriter(fps=4))
        plt.close(fig)
        written.append(path)
    return written
