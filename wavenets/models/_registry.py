"""One registry of the models a recipe can name, in the torchvision style.

``register_model(name)`` records a builder; ``get_model(name, **kwargs)`` builds it. A model's
keys are its builder's keyword arguments and, where the builder forwards ``**options`` to its
class (``forwards=``), that class's keyword arguments. Their defaults are declared there and
nowhere else: a recipe's ``[model]`` table holds only what it changes, :func:`model_keys` lists
the rest. An unknown key or a missing required one is refused, naming it.

What the data decides (input channels, classes, the audio's sample rate, the patch preset of the
dataset) is passed by :func:`model_from_config` to the models that take it.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

__all__ = ["REQUIRED", "DATA_KEYS", "register_model", "get_model", "list_models", "model_keys", "resolve_model_config",
           "model_from_config"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: the default of a key that has none: a recipe must set it
REQUIRED = _Required()
#: keyword arguments the data supplies (:func:`model_from_config`), never a recipe's
DATA_KEYS = ("in_channels", "num_classes", "sample_rate")


@dataclass(frozen=True)
class _Entry:
    builder: Callable[..., nn.Module]
    forwards: tuple[Callable, ...]  # callables that receive the builder's **options
    builds: tuple[str, ...]  # their arguments the builder makes itself (a group object, a front end)


_MODELS: dict[str, _Entry] = {}


def register_model(name: str, *, forwards: Callable | tuple[Callable, ...] = (), builds: tuple[str, ...] = ()):
    """Decorator: record ``builder`` as model ``name``.

    Args:
        forwards: the class (or classes) the builder passes its ``**options`` to; their keyword
            arguments become the model's keys, with their defaults.
        builds: arguments of those classes the builder makes from its own keys (``"group"`` from
            ``group``/``order``), so they are not keys.
    """
    def record(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered already ({_MODELS[name].builder.__qualname__})")
        _MODELS[name] = _Entry(builder, forwards if isinstance(forwards, tuple) else (forwards,), tuple(builds))
        return builder
    return record


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return sorted(_MODELS)


def _entry(name: str) -> _Entry:
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    return _MODELS[name]


def _keyword_params(fn: Callable) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]


def _takes(entry: _Entry) -> set[str]:
    """Every keyword argument the builder or its forwarded classes accept (data keys included)."""
    return {p.name for fn in (entry.builder,) + entry.forwards for p in _keyword_params(fn)}


def model_keys(name: str) -> dict[str, object]:
    """``{key: default}`` of model ``name`` (:data:`REQUIRED` where there is none), the data's
    keys (:data:`DATA_KEYS`) left out."""
    entry = _entry(name)
    keys: dict[str, object] = {}
    for fn, skip in [(entry.builder, ())] + [(cls, entry.builds) for cls in entry.forwards]:
        for p in _keyword_params(fn):
            if p.name not in skip and p.name not in DATA_KEYS and p.name not in keys:
                keys[p.name] = REQUIRED if p.default is p.empty else p.default
    return keys


def _check_keys(name: str, given, *, data: tuple[str, ...] = ()) -> dict[str, object]:
    keys = model_keys(name)
    unknown = sorted(k for k in given if k not in keys and k not in data)
    if unknown:
        raise ValueError(f"model {name!r} has no key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; its keys "
                         f"are {', '.join(keys)} (wavenets models {name} lists them with their defaults)")
    missing = [k for k, d in keys.items() if d is REQUIRED and k not in given]
    if missing:
        raise ValueError(f"model {name!r} needs {', '.join(missing)} (no default); set "
                         f"{' and '.join(f'model.{k}' for k in missing)} in the recipe")
    return keys


def get_model(name: str, **kwargs) -> nn.Module:
    """Build registered model ``name``: ``get_model("mnet", group="dilation", order=9, arch="m11",
    num_classes=10)``. Unknown or missing keys raise a ``ValueError`` that names them."""
    entry = _entry(name)
    _check_keys(name, kwargs, data=tuple(k for k in DATA_KEYS if k in _takes(entry)))
    return entry.builder(**kwargs)


def resolve_model_config(cfg: dict, *, default_preset: str | None = None) -> dict:
    """A recipe's ``[model]`` table with every key the model takes, its default where the table
    leaves it out (what a run folder's ``config.json`` records, so that a later change of a
    default does not change what a stored run means), as plain data (tuples as lists).
    ``default_preset`` (the dataset's name) fills an unset ``preset``. Refuses unknown and
    missing keys."""
    name = cfg.get("name")
    if name is None:
        raise ValueError(f"model.name is required (a recipe names its model): one of {', '.join(list_models())}")
    keys = _check_keys(name, {k: v for k, v in cfg.items() if k != "name"})
    out = {"name": name, **{k: _plain(cfg.get(k, d)) for k, d in keys.items() if k in cfg or d is not REQUIRED}}
    if "preset" in keys and cfg.get("preset") is None and default_preset is not None:
        out["preset"] = default_preset
    return out


def _plain(value):
    """A default as a configuration file holds it: tuples as lists."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def model_from_config(cfg: dict, *, in_channels: int, num_classes: int, default_preset: str | None = None,
                      sample_rate: int | None = None) -> nn.Module:
    """The model of a recipe's ``[model]`` table (``name`` and the model's keys,
    :func:`resolve_model_config`). The data's ``in_channels``, ``num_classes`` and
    ``sample_rate`` (Hz) go to the models that take them."""
    kwargs = resolve_model_config(cfg, default_preset=default_preset)  # the keys checked here
    entry = _entry(kwargs.pop("name"))
    takes = _takes(entry)
    if "sample_rate" in takes and sample_rate is None:
        raise ValueError(f"model {cfg['name']!r} needs the audio's sample rate: model_from_config(..., sample_rate=Hz)")
    context = {"in_channels": in_channels, "num_classes": num_classes, "sample_rate": sample_rate}
    return entry.builder(**kwargs, **{k: v for k, v in context.items() if k in takes})
