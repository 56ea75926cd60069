"""Recipes: TOML files of plain data, merged over defaults, with ``--set key=value`` overrides."""
from __future__ import annotations

import copy
import importlib.resources
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ._schema import check, defaults

__all__ = ["DEFAULTS", "load_recipe", "apply_overrides", "ConfigError", "resolve_recipe_path", "check"]


class ConfigError(ValueError):
    """A recipe or override is malformed; the message names the key."""


#: the default configuration, built from the one schema (:data:`wavenets.train._schema.SCHEMA`)
DEFAULTS: dict = defaults()


def _merge(base: dict, new: dict, path: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in new.items():
        where = f"{path}{key}"
        if key not in base:
            raise ConfigError(f"unknown key '{where}'; known keys here: {', '.join(sorted(base))}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"'{where}' must be a table, got {value!r}")
            out[key] = _merge(base[key], value, where + ".")
        else:
            out[key] = value
    return out


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
    raise ConfigError(f"recipe {recipe!r} not found (looked for {p} and recipes/{p.with_suffix('.toml').name})")


def load_recipe(recipe: str | Path, overrides: list[str] | None = None) -> dict:
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
        if leaf not in node:
            raise ConfigError(f"unknown key '{key}' in --set {item}; known: {', '.join(sorted(node))}")
        if isinstance(node[leaf], dict):
            raise ConfigError(f"'{key}' is a table; set one of its keys instead, e.g. --set {key}."
                              f"{sorted(node[leaf])[0]}=...")
        node[leaf] = value
    return cfg
