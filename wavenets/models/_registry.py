"""Build a model from a recipe's ``[model]`` table."""
from __future__ import annotations

from torch import nn

from ..groups import Dilation, Trivial
from ._mnet import MNet
from ._samplecnn import SampleCNN
from ._patch_pyramid import PyramidPatchNet
from ._se2 import SE2Net, make_group
from ._spec_cnn import SpecCNN
from ..nn import Spectrogram

__all__ = ["model_from_config"]


def _audio_group(cfg: dict, kind: str):
    """``Trivial()`` (M-Net, SampleCNN) or the recipe's ``Dilation(order, base, start=start)``."""
    if kind == "trivial":
        return Trivial()
    return Dilation(int(cfg.get("order", 9)), float(cfg.get("base", 2.0)), start=int(cfg.get("start", 0)))


def model_from_config(cfg: dict, *, in_channels: int, num_classes: int, default_preset: str | None = None,
                      sample_rate: int | None = None) -> nn.Module:
    """The model of a recipe's ``[model]`` table. ``sample_rate`` (Hz) is the audio input's, which
    the spectrogram front end of ``spec_cnn`` needs."""
    name = cfg.get("name", "se2net")
    width = cfg.get("width")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise ValueError(f"model.width is channels per group element, a whole number >= 1 (or unset: budget-"
                         f"matched); got {width!r}")
    multirate = cfg.get("multirate", 0)
    if isinstance(multirate, bool) or not isinstance(multirate, int) or multirate < 0:
        raise ValueError(f"model.multirate is a whole number of samples per dilation step (0: off, 2: the fast "
                         f"mode), got {multirate!r}")
    if name == "mnet":
        kind = cfg.get("group", "dilation").lower()
        if kind not in ("trivial", "dilation"):
            raise ValueError(f"mnet needs group 'trivial' (M-Net) or 'dilation' (W-Net), got {kind!r}")
        group = _audio_group(cfg, kind)
        return MNet(group, cfg.get("arch", "m5"), num_classes, in_channels=in_channels, width=cfg.get("width") or None,
                    scale_taps=cfg.get("scale_taps"), head_taps=cfg.get("head_taps"),
                    lift_kernel=cfg.get("lift_kernel"), time_pool=cfg.get("time_pool", "max"),
                    antialias=bool(cfg.get("antialias", False)), multirate=int(cfg.get("multirate", 0)),
                    layout=cfg.get("layout", "dense"), readout=cfg.get("readout", "max"),
                    global_pool=cfg.get("global_pool", "mean"), level_dropout=int(cfg.get("level_dropout", 0)),
                    empty_band=float(cfg.get("empty_band", 0.0)), anchor_levels=int(cfg.get("anchor_levels", 0)),
                    anchor_ratio=float(cfg.get("anchor_ratio", 0.2)))
    if name == "samplecnn":
        kind = cfg.get("group", "dilation").lower()
        group = _audio_group(cfg, kind)
        return SampleCNN(group, num_classes, width=cfg.get("width") or None, layout=cfg.get("layout", "dense"))
    if name == "pyramid_patchnet":
        first = make_group(cfg.get("group", "trivial"), int(cfg.get("order", 1)), mask=bool(cfg.get("mask", False)))
        group = PyramidPatchNet.make_group(first, int(cfg.get("scales", 1)), int(cfg.get("voices", 1)))
        return PyramidPatchNet(group, in_channels, num_classes, width=cfg.get("width") or None,
                               group_kernel_size=int(cfg.get("scale_taps") or 1),
                               level_dropout=int(cfg.get("level_dropout", 0)),
                               readout=cfg.get("spatial_readout", "centre"), fovea=cfg.get("fovea"),
                               padding_mode=cfg.get("padding_mode", "zeros"),
                               input_voices=int(cfg.get("input_voices", 1)),
                               group_pool=cfg.get("group_pool", "max"))
    if name == "spec_cnn":
        if not sample_rate:
            raise ValueError("spec_cnn's spectrogram front end needs the audio's sample rate: "
                             "model_from_config(..., sample_rate=Hz)")
        frontend = Spectrogram(cfg.get("frontend", "logmel"), int(sample_rate), n_bins=cfg.get("n_bins"),
                               hop_length=cfg.get("hop_length"), n_fft=cfg.get("n_fft"), fmin=cfg.get("fmin"),
                               bins_per_octave=int(cfg.get("bins_per_octave", 12)), top_db=cfg.get("top_db", 80.0))
        return SpecCNN(frontend, cfg.get("arch", "m5"), num_classes, in_channels=in_channels,
                       width=cfg.get("width") or None, global_pool=cfg.get("global_pool", "mean"))
    if name != "se2net":
        raise ValueError(f"unknown model {name!r}; available: se2net, pyramid_patchnet, mnet, samplecnn, spec_cnn")
    group = make_group(cfg.get("group", "rotation"), int(cfg.get("order", 1)), mask=bool(cfg.get("mask", False)))
    return SE2Net(group, in_channels, num_classes, preset=cfg.get("preset") or default_preset,
                  width=cfg.get("width") or None)
