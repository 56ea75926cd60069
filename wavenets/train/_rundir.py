"""One run folder, the same for every command (train, cv, experiment, eval, demo).

- Names are one path component: no separators, no ``..``, not empty, not hidden.
- ``lock()`` holds an exclusive lock on ``<run>/.lock`` while a process trains the run: a second
  ``wavenets train`` of the same name is refused; a second sweep sharing the run waits.
- ``clear()`` (``--force``) deletes only the files wavenets writes there, nothing else.
- ``done`` is true only once training finished and the results were written.
- ``resume_changes`` compares a resumed run's configuration with the one its checkpoint was
  trained with: keys that only affect evaluation may change; ``train.epochs`` may change when
  asked for; anything else is refused, because the restored optimizer and data order would
  silently override it.
"""
from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ..models import resolve_model_config
from ._config import DEFAULTS, ConfigError, _merge, check, upgrade_config
from ._dist import launch_rank

__all__ = ["RunDir", "RUN_FILES", "resume_changes", "FREE_ON_RESUME", "ALLOWED_ON_RESUME"]

# every file a run folder can hold that wavenets wrote (and so may delete with --force)
RUN_FILES = ("config.json", "metrics.json", "metrics.csv", "results.json", "summary.md", "curves.png",
             "robustness.json", "best.pt", "last.pt", "eval_train.json", "eval_val.json", "eval_test.json")
# keys that do not touch the training trajectory: they may differ on resume
FREE_ON_RESUME = ("name", "eval.", "train.eval_batch_size", "data.num_workers")
# keys a resumed run accepts when asked (--allow-change KEY), and what it then does
ALLOWED_ON_RESUME = {"train.epochs": "the learning-rate schedule is stretched to the new last epoch from where it is"}


def _flat(cfg: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_changes(old: dict, new: dict) -> dict[str, tuple]:
    """``{key: (old value, new value)}`` for every flat key (``model.width``) where configuration
    ``new`` differs from the stored ``old``. A key added to the defaults since ``old`` was written
    counts as its default, and model tables compare with every key filled in; a missing value
    reads ``"<missing>"``."""
    defaults = _flat(DEFAULTS)
    a, b = {**defaults, **_flat(_resolved(upgrade_config(old)))}, {**defaults, **_flat(_resolved(new))}
    return {k: (a.get(k, "<missing>"), b.get(k, "<missing>")) for k in sorted(a.keys() | b.keys())
            if a.get(k, "<missing>") != b.get(k, "<missing>")}


def resume_changes(old: dict, new: dict, allow: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The keys where ``new`` differs from ``old`` that a resume accepts (free ones and those in
    ``allow``); raises a ConfigError naming every other difference, old and new value."""
    unknown = [k for k in allow if k not in ALLOWED_ON_RESUME]
    if unknown:
        raise ConfigError(f"--allow-change accepts {', '.join(ALLOWED_ON_RESUME)} (got {', '.join(unknown)}); "
                          f"other keys cannot change in a resumed run")
    changes = config_changes(old, new)
    changed = list(changes)
    free = [k for k in changed if k.startswith(FREE_ON_RESUME) or k in FREE_ON_RESUME]
    refused = [k for k in changed if k not in free and k not in allow]
    if refused:
        lines = ", ".join(f"{k}: {changes[k][0]!r} -> {changes[k][1]!r}" for k in refused)
        hint = [f"pass --allow-change {k} to accept it ({ALLOWED_ON_RESUME[k]})" for k in refused
                if k in ALLOWED_ON_RESUME]
        fixed = [k for k in refused if k not in ALLOWED_ON_RESUME]
        if fixed:
            hint.append(f"{', '.join(fixed)} cannot change in a resumed run (the checkpoint's optimizer, schedule "
                        f"and data order would override {'it' if len(fixed) == 1 else 'them'}): start a new run "
                        f"with --set name=<new name>, or drop --resume and pass --force to overwrite this one")
        raise ConfigError(f"--resume: the configuration differs from the one this run was trained with ({lines}); "
                          + "; ".join(hint))
    return [k for k in changed if k not in free]


def _resolved(cfg: dict) -> dict:
    """``cfg`` with its model table holding every key of the model (defaults filled), so that a
    table that sets a key to its default and one that leaves it out compare equal."""
    try:
        return {**cfg, "model": resolve_model_config(cfg["model"], default_preset=cfg["data"]["name"])}
    except (KeyError, TypeError, ValueError):
        return cfg


class RunDir:
    """``<runs_dir>/<name>/``; the name is checked on construction."""

    def __init__(self, runs_dir: str | Path, name: str):
        self.name = self.check_name(name)
        self.path = Path(runs_dir) / self.name

    @classmethod
    def at(cls, path: str | Path) -> "RunDir":
        """The run folder ``path`` (``runs/digits_cnn``), as ``wavenets eval RUN_DIR`` names it."""
        path = Path(path)
        return cls(path.parent, path.name)

    def config(self) -> dict:
        """The run's ``config.json`` merged over today's defaults (keys added since it was written
        take their defaults) and checked against the schema; clear errors when it is missing or
        damaged."""
        path = self.path / "config.json"
        if not path.exists():
            raise ConfigError(f"{path} not found; a run folder is one written by `wavenets train` (or an experiment)")
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path} is not valid JSON ({err}); the run folder is damaged: train the run "
                              "again") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} holds {type(raw).__name__}, not a configuration table; train the run again")
        try:
            return check(_merge(DEFAULTS, upgrade_config(raw)))
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None

    @staticmethod
    def check_name(name) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a run name must be a non-empty string, got {name!r}")
        if name in (".", "..") or name.startswith(".") or re.search(r"[/\\\x00:]", name) or Path(name).is_absolute():
            raise ConfigError(f"a run name is one folder name (letters, digits, '_', '-', '.'; no '/', no leading "
                              f"'.'), got {name!r}; set it with --set name=<name>")
        return name

    def __truediv__(self, other: str) -> Path:
        return self.path / other

    def holds_run(self) -> bool:
        """Anything of a run here (a checkpoint, a config or results)."""
        return any((self.path / f).exists() for f in ("config.json", "last.pt", "best.pt", "results.json"))

    @property
    def done(self) -> bool:
        """Training finished: ``results.json`` exists and is a complete results file."""
        try:
            return "test" in json.loads((self.path / "results.json").read_text())
        except (OSError, ValueError, TypeError):
            return False

    def clear(self) -> list[Path]:
        """Delete the files wavenets writes here (and its temporaries); other files stay."""
        gone = []
        for f in list(self.path.glob("*")) + list(self.path.glob(".*.tmp*")):
            if f.is_file() and (f.name in RUN_FILES or f.name.startswith(".") and ".tmp" in f.name):
                f.unlink()
                gone.append(f)
        return gone

    @contextlib.contextmanager
    def lock(self, *, wait: bool = False, log: Callable[[str], None] = print) -> Iterator[None]:
        """Hold ``<run>/.lock`` exclusively. ``wait=False``: refuse when another process holds it;
        ``wait=True``: say so and wait. (POSIX ``flock``; where it is missing, no lock.)

        Under ``torchrun`` the ranks train one run together: rank 0 holds the lock for the job,
        and the other ranks take none (each taking it would refuse, or wait for, rank 0)."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; do not train one run from two processes there
            yield
            return
        if launch_rank() != 0:
            yield
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise ConfigError(f"another process is training {self.path} (it holds {fh.name}); wait for it "
                                      f"to finish (to train beside it, pick another name with --set name=<name>)"
                                      ) from None
                log(f"waiting: another process is training {self.name} (lock {fh.name})")
                fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
