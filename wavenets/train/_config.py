"""Recipes: TOML files of plain data, merged over defaults, with ``--set key=value`` overrides."""
from __future__ import annotations

import copy
import difflib
import importlib.resources
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ._schema import check, defaults

__all__ = ["DEFAULTS", "load_recipe", "apply_overrides", "ConfigError", "resolve_recipe_path", "check", "upgrade_config"]


class ConfigError(ValueError):
    """A recipe or override is malformed; the message names the key."""


#: the default configuration, built from the one schema (:data:`wavenets.train._schema.SCHEMA`)
DEFAULTS: dict = defaults()


#: tables whose keys belong to something else: the ``[model]`` table's are the named model's
#: (checked by :func:`~wavenets.train._schema.check_model`, not known to the defaults)
OPEN_TABLES = ("model",)


def _merge(base: dict, new: dict, path: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in new.items():
        where = f"{path}{key}"
        if key not in base:
            if path.rstrip(".") in OPEN_TABLES:
                out[key] = copy.deepcopy(value)
                continue
            raise ConfigError(f"unknown key '{where}'; known keys here: {', '.join(sorted(base))}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"'{where}' must be a table, got {value!r}")
            out[key] = _merge(base[key], value, where + ".")
        else:
            out[key] = value
    return out


#: keys every ``[model]`` table held before the model registry, whatever its model (a stored
#: configuration with all of them was written then)
_PRE_REGISTRY = {"mask", "arch", "scales", "frontend"}


def upgrade_config(cfg: dict) -> dict:
    """A stored configuration (a run's ``config.json``, a checkpoint's) in today's form.

    Before the model registry, a stored ``[model]`` table held every model's keys, at the
    schema's defaults where the recipe left them. Read back, the keys its model does not take are
    dropped (they did nothing), with the ``order`` of a trivial-group waveform model; a
    SampleCNN with a group other than trivial was a W-Net ('dilation'); an unset ``preset`` is
    the dataset's name, as the model was built. Other configurations are returned as they are.
    """
    model = cfg.get("model")
    if not isinstance(model, dict) or not _PRE_REGISTRY <= model.keys():
        return cfg
    from ..models import model_keys

    name = model.get("name") or "se2net"
    keys = model_keys(name)
    table = {k: v for k, v in model.items() if k in keys}
    if name in ("mnet", "samplecnn"):
        group = str(table.get("group", "")).lower()
        if group == "trivial":
            for k in ("order", "base", "start"):
                table.pop(k, None)
        elif name == "samplecnn":
            table["group"] = "dilation"
    if "preset" in keys and table.get("preset") is None:
        table["preset"] = (cfg.get("data") or {}).get("name")
    return {**cfg, "model": {"name": name, **table}}


def recipes_dir() -> Path:
    """The recipes installed with the package, ``wavenets.recipes`` (the source tree's ``recipes/``;
    an installed wheel carries them too)."""
    return Path(str(importlib.resources.files("wavenets.recipes")))


def resolve_recipe_path(recipe: str | Path) -> Path:
    """A path, or a bare name looked up in ``./recipes/`` and then in the installed recipes
    (``tissue_se2_n8`` -> ``recipes/tissue_se2_n8.toml``)."""
    p = Path(recipe)
    for cand in (p, p.with_suffix(".toml"), Path("recipes") / p.with_suffix(".toml").name,
                 recipes_dir() / p.with_suffix(".toml").name):
        if cand.is_file():
            return cand
    known = sorted(f.stem for f in recipes_dir().glob("*.toml"))
    close = difflib.get_close_matches(p.stem, known, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise ConfigError(f"recipe {recipe!r} not found (looked for {p} and recipes/{p.with_suffix('.toml').name}); "
                      f"{hint}`wavenets recipes` lists them all")


def load_recipe(recipe: str | Path, overrides: list[str] | None = None) -> dict:
    """The full configuration of a recipe: a name from ``recipes/`` (``"tissue_se2_n8"``) or a
    path to a TOML file, merged over the defaults, then ``overrides`` (``["train.epochs=3"]``, as
    ``--set``). Every key and value is checked against the schema (docs/config.md); anything
    else raises :class:`ConfigError` naming the file and the key."""
    path = resolve_recipe_path(recipe)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from err
    cfg = _merge(DEFAULTS, raw)
    cfg["name"] = cfg["name"] or path.stem
    try:
        check(cfg)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return check(apply_overrides(cfg, overrides or []))


def apply_overrides(cfg: dict, overrides: list[str]) -> dict:
    """``["train.epochs=3", "augment.rot90=true", "name='x'"]``; values are TOML literals
    (bare words are taken as strings)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        parts = key.strip().split(".")
        node = cfg
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"unknown key '{'.'.join(parts[: i + 1])}' in --set {item}")
            node = node[part]
        leaf = parts[-1]
        if leaf not in node and ".".join(parts[:-1]) not in OPEN_TABLES:
            raise ConfigError(f"unknown key '{key}' in --set {item}; known: {', '.join(sorted(node))}")
        if isinstance(node.get(leaf), dict):
            raise ConfigError(f"'{key}' is a table; set one of its keys instead, e.g. --set {key}."
                              f"{sorted(node[leaf])[0]}=...")
        node[leaf] = value
    return cfg
