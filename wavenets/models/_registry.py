"""Build a model from a recipe's ``[model]`` table."""
from __future__ import annotations

from torch import nn

from ._se2 import SE2Net, make_group

__all__ = ["model_from_config"]


def model_from_config(cfg: dict, *, in_channels: int, num_classes: int, default_preset: str | None = None) -> nn.Module:
    name = cfg.get("name", "se2net")
    if name != "se2net":
        raise ValueError(f"unknown model {name!r}; available: se2net")
    group = make_group(cfg.get("group", "rotation"), int(cfg.get("order", 1)), mask=bool(cfg.get("mask", False)))
    return SE2Net(group, in_channels, num_classes, preset=cfg.get("preset") or default_preset,
                  width=cfg.get("width") or None)
