"""The one schema of a recipe: every key's type, range and default, declared once.

:data:`SCHEMA` mirrors a recipe's tables; :data:`~wavenets.train.DEFAULTS` is built from it, and
:func:`check` refuses a configuration (a recipe file, ``--set`` overrides, a resumed or
evaluated run's ``config.json``) before any work starts, in one line that names the key, the
value it got and what is allowed. What depends on the data (``augment.zoom`` against the
dataset's context, ``eval.rotation`` only on zoom datasets, image options on audio) is checked
where the data is opened; what depends on the model's other options is checked by the model.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA", "Key", "UNSET", "check", "defaults", "describe"]


@dataclass(frozen=True)
class Key:
    """One recipe key: its default, what it accepts (``allowed``, for messages) and a test."""

    default: Any
    allowed: str
    test: Callable[[Any], bool]
    message: str | None = None  # a whole message in place of "KEY must be ALLOWED", with {key} and {value}

    def ok(self, value) -> bool:
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: the default of a key declared elsewhere (a model key: the model's builder declares it); such a
#: key is absent from :func:`defaults` and a table holds it only when a recipe sets it
UNSET = _Unset()


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def count(default, low: int = 1, *, optional: bool = False, allowed: str | None = None) -> Key:
    """A whole number ``>= low`` (or ``None`` when ``optional``)."""
    text = allowed or f"a whole number >= {low}" + (" (or unset)" if optional else "")
    return Key(default, text, lambda v: (optional and v is None) or (_int(v) and v >= low))


def number(default, low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False) -> Key:
    """A finite number in ``[low, high]`` (ends open where asked)."""
    lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
    hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
    text = "a number " + " and ".join(t for t in (lo, hi) if t) if lo or hi else "a finite number"

    def test(v):
        return _num(v) and (low is None or (v > low if low_open else v >= low)) and \
            (high is None or (v < high if high_open else v <= high))
    return Key(default, text, test)


def flag(default: bool) -> Key:
    return Key(default, "true or false", lambda v: isinstance(v, bool))


def choice(default, options, *, lower: bool = False, optional: bool = False) -> Key:
    names = ", ".join(repr(o) for o in options) + (" or unset" if optional else "")
    return Key(default, f"one of {names}", lambda v: (optional and v is None) or
               (isinstance(v, str) and (v.lower() if lower else v) in options))


def text(default, *, optional: bool = False) -> Key:
    return Key(default, "a non-empty string" + (" (or unset)" if optional else ""),
               lambda v: (optional and v is None) or (isinstance(v, str) and bool(v.strip())))


def numbers(default, allowed: str, *, positive: bool = False) -> Key:
    """A non-empty list of finite numbers (positive: factors, 1.0 the identity)."""
    return Key(default, allowed,
               lambda v: isinstance(v, list) and bool(v) and all(_num(x) and (x > 0 or not positive) for x in v))


def factor_range(default, *, at_least: float | None = None,
                 allowed: str = "positive factors [lo, hi] with 0 < lo <= hi, e.g. [0.5, 2.0], or false (off)") -> Key:
    """``false`` (off) or ``[lo, hi]`` with ``0 < lo <= hi`` (``at_least``: ``at_least <= lo``)."""
    return Key(default, allowed,
               lambda v: v is False or (isinstance(v, list) and len(v) == 2 and all(_num(x) and x > 0 for x in v)
                                        and (at_least is None or v[0] >= at_least) and v[0] <= v[1]))


def _taps(v, depth: int = 4) -> bool:
    """A whole number >= 1, or a non-empty list of such values nested at most ``depth - 1`` deep
    (per stage, per layer or block, a residual block's two convs)."""
    return v is None or (_int(v) and v >= 1) or (
        depth > 1 and isinstance(v, list) and bool(v) and all(x is not None and _taps(x, depth - 1) for x in v))


_FACTORS = "positive factors, a non-empty list such as [0.5, 1.0, 2.0] (1.0 is the identity)"

#: every key a recipe may set: its default, what it accepts, and the test
SCHEMA: dict = {
    "name": text(None, optional=True),
    "data": {
        "name": text("tissue"),
        "fraction": number(1.0, 0, 1, low_open=True),
        "num_workers": count(0, 0, allowed="a whole number >= 0: DataLoader worker processes that read a dataset "
                             "kept on disk (PCam, memory-mapped audio caches) ahead of the compute; 0 reads in "
                             "the training process; in-memory datasets never use workers"),
        "test_fold": count(None, optional=True),
        "val_fold": count(None, optional=True),
        "sample_rate": count(None, optional=True),
        "length": count(None, optional=True),
        "skip_corrupt": flag(False),
    },
    # model keys have no default here: the model's builder declares them (wavenets.models.model_keys);
    # the tests below only check a value's type before any work, and a model refuses keys it does not take
    "model": {
        "name": Key(None, "a registered model: se2net, pyramid_patchnet, mnet, samplecnn or spec_cnn (wavenets models "
                    "lists them); required", lambda v: v is None or (isinstance(v, str) and bool(v.strip()))),
        "group": choice(UNSET, ("trivial", "rotation", "dihedral", "dilation"), lower=True),
        "order": count(UNSET, optional=True),
        "mask": flag(UNSET),
        "preset": text(UNSET, optional=True),
        "width": Key(UNSET, "channels per group element", lambda v: v is None or (_int(v) and v >= 1),
                     "{key} is channels per group element, a whole number >= 1 (or unset: budget-matched); "
                     "got {value!r}"),
        "arch": choice(UNSET, ("m3", "m5", "m11", "m18", "m34res")),
        "base": Key(UNSET, "a number > 1 (or unset)", lambda v: v is None or (_num(v) and v > 1)),
        "start": count(UNSET, 0, optional=True),
        "lift_kernel": count(UNSET, optional=True),
        "scale_taps": Key(UNSET, "unset, a whole number >= 1, or a list of them (per stage; nested per layer or residual block, and per conv of a residual block)", _taps),
        "head_taps": count(UNSET, optional=True),
        "time_pool": choice(UNSET, ("max", "subsample")),
        "antialias": flag(UNSET),
        "multirate": count(UNSET, 0, allowed="a whole number of samples per dilation step (0: off, 2: the fast mode)"),
        "layout": choice(UNSET, ("dense", "pyramid")),
        "readout": choice(UNSET, ("max", "mean", "feature_max", "feature_mean", "feature_max_normalized",
                                      "feature_window", "window_vote")),
        "global_pool": choice(UNSET, ("mean", "max", "excess", "active")),
        "level_dropout": count(UNSET, 0, allowed="a whole number of octave levels (0: off)"),
        "empty_band": number(UNSET, 0),
        "anchor_levels": count(UNSET, 0, allowed="a whole number of octave levels (0: off)"),
        "anchor_ratio": number(UNSET, 0, 1, low_open=True, high_open=True),
        "anchor_floor": number(UNSET, 0, 1, high_open=True),
        "anchor": choice(UNSET, ("content", "centroid")),
        "anchor_offset": count(UNSET, 0, allowed="a whole number of octave levels >= 0: the window starts that many "
                                                  "levels coarser than the anchor"),
        "vote": choice(UNSET, ("mean", "confidence")),
        "align": choice(UNSET, ("none", "onset")),
        "voice_length": choice(UNSET, ("clip", "own")),
        "voice_dropout": flag(UNSET),
        "scales": count(UNSET),
        "voices": count(UNSET),
        "spatial_readout": choice(UNSET, ("centre", "global"), optional=True),
        "fovea": count(UNSET, optional=True),
        "padding_mode": choice(UNSET, ("zeros", "replicate", "reflect", "circular")),
        "input_voices": count(UNSET),
        "group_pool": choice(UNSET, ("max", "mean")),
        "frontend": choice(UNSET, ("logmel", "cqt")),
        "n_bins": count(UNSET, optional=True),
        "hop_length": count(UNSET, optional=True),
        "n_fft": count(UNSET, optional=True),
        "fmin": Key(UNSET, "a frequency in Hz >= 0, or unset (the front end's default)",
                    lambda v: v is None or (_num(v) and v >= 0)),
        "bins_per_octave": count(UNSET),
        "top_db": Key(UNSET, "a positive range in dB below each clip's maximum, or unset (no floor)",
                      lambda v: v is None or (_num(v) and v > 0)),
    },
    "train": {
        "epochs": count(10),
        "batch_size": count(32),
        "eval_batch_size": count(256),
        "seed": count(0, 0),
        "amp": Key("auto", '"auto" (bf16 on CUDA), true, "bf16" or false',
                   lambda v: v in ("auto", "bf16") or isinstance(v, bool)),
        "compile": flag(False),
        "deterministic": flag(False),
        "grad_clip": number(0.0, 0),
        "wavelet_loss": number(0.0, 0),
    },
    "optim": {
        "name": choice("adam", ("adam", "adamw", "sgd"), lower=True),
        "lr": number(1e-3, 0, low_open=True),
        "weight_decay": number(1e-4, 0),
        "momentum": number(0.9, 0, 1, high_open=True),
        "nesterov": flag(False),
    },
    "schedule": {
        "name": choice("cosine", ("none", "cosine", "step", "plateau"), lower=True),
        "step_size": count(30),
        "gamma": number(0.5, 0, low_open=True),
        "patience": count(10, 0),
        "factor": number(0.5, 0, 1, low_open=True, high_open=True),
    },
    "augment": {
        "rot90": flag(False),
        "flip": flag(False),
        "rotate": flag(False),
        "color_jitter": flag(False),
        "stretch": factor_range(False),
        "pad": factor_range(False, at_least=1, allowed="length factors [lo, hi] with 1 <= lo <= hi, e.g. [1.0, 2.0] "
                                                        "(silence around each batch), or false (off)"),
        "crop": factor_range(False, at_least=1, allowed="slow-down factors [lo, hi] with 1 <= lo <= hi, e.g. [1.0, 2.0] "
                                                         "(each clip keeps a random 1/hi..1/lo of itself), or false (off)"),
        "zoom": factor_range(False),
    },
    "eval": {
        "rotations": numbers([0], "a non-empty list of angles in degrees, such as [0, 90]"),
        "scales": numbers([1.0], _FACTORS, positive=True),
        "zooms": numbers([1.0], _FACTORS, positive=True),
        "rotation": Key(0, 'an angle in degrees or "random"', lambda v: v == "random" or _num(v)),
    },
}


def defaults(schema: dict = SCHEMA) -> dict:
    """The default configuration: every key's default, in the schema's tables (keys whose default
    is declared elsewhere, :data:`UNSET`, left out)."""
    return {k: defaults(v) if isinstance(v, dict) else _copy(v.default) for k, v in schema.items()
            if isinstance(v, dict) or v.default is not UNSET}


def _copy(value):
    return list(value) if isinstance(value, list) else value


def check(cfg: dict, schema: dict = SCHEMA, path: str = "") -> dict:
    """Raise :class:`~wavenets.train.ConfigError` for the first key of ``cfg`` that the schema
    does not know or whose value it does not accept; returns ``cfg``. Keys the schema holds but
    ``cfg`` lacks are not an error here (a merge over the defaults fills them). The ``model``
    table is the named model's: :func:`check_model`."""
    from ._config import ConfigError

    for key, value in cfg.items():
        where = f"{path}{key}"
        spec = schema.get(key)
        if spec is None:
            raise ConfigError(f"unknown key '{where}'; known keys here: {', '.join(sorted(schema))}")
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"'{where}' is a table; set one of its keys instead, e.g. {where}."
                                  f"{sorted(spec)[0]} = ...; got {value!r}")
            if schema is SCHEMA and key == "model":
                check_model(value)
            else:
                check(value, spec, where + ".")
        else:
            _check_value(spec, where, value)
    return cfg


def _check_value(spec: Key, where: str, value) -> None:
    from ._config import ConfigError

    if not spec.ok(value):
        raise ConfigError(spec.message.format(key=where, value=value) if spec.message
                          else f"{where} must be {spec.allowed}, got {value!r}")


def check_model(table: dict) -> dict:
    """A ``[model]`` table: every key of a type the schema accepts, then ``name`` a registered
    model, every other key one that model takes and none of its required keys missing (the
    registry's check, :func:`wavenets.models.resolve_model_config`). Raises
    :class:`~wavenets.train.ConfigError` naming the key."""
    from ..models import resolve_model_config
    from ._config import ConfigError

    for key, value in table.items():  # the value's type first, whatever the model
        if key in SCHEMA["model"]:
            _check_value(SCHEMA["model"][key], f"model.{key}", value)
    try:
        resolve_model_config(table)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return table


def describe(schema: dict = SCHEMA, path: str = "") -> list[tuple[str, Any, str]]:
    """``(key, default, what it accepts)`` for every key: the reference table of the docs."""
    rows = []
    for key, spec in schema.items():
        if isinstance(spec, dict):
            rows += describe(spec, f"{path}{key}.")
        else:
            rows.append((path + key, spec.default, spec.allowed))
    return rows


def reference() -> str:
    """docs/config.md's table of every key (``wavenets recipes --keys > docs/config.md``)."""
    lines = ["# Recipe keys", "", "Every key a recipe (or `--set KEY=VALUE`) may set, with its default and what it accepts.",
             "Generated from the one schema, `wavenets/train/_schema.py`, by `wavenets recipes --keys > docs/config.md`.",
             "A recipe, an override or a run's config.json with any other key or value is refused before any",
             "work starts, in one line that names the key.", "",
             "`model.name` is required. The other `model.*` keys belong to the named model: their defaults",
             "are declared once, in its builder (`wavenets models NAME` lists them), and a key the model does",
             "not take is refused.", "",
             "| key | default | accepts |", "|---|---|---|"]
    for key, default, allowed in describe():
        lines.append(f"| `{key}` | `{_shown(default)}` | {allowed.replace('|', '/')} |")
    from ..models import list_models, model_keys

    lines += ["", "## Models", "", "Each model's keys and their defaults, from its builder (`wavenets models NAME`).", ""]
    for name in list_models():
        keys = model_keys(name)
        lines.append(f"- `{name}`: " + ", ".join(f"`{k}` = `{_shown(d)}`" for k, d in keys.items()))
    return "\n".join(lines) + "\n"


def _shown(default) -> str:
    if default is UNSET:
        return "the model's"
    if default is None:
        return "unset"
    return str(default).lower() if isinstance(default, bool) else repr(default)
