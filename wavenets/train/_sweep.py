"""Experiments: a grid of recipe variants × data fractions × seeds, trained, evaluated and summarised.

An experiment is a TOML file (``recipes/experiments/NAME.toml`` or any path)::

    title = "Augmentation vs equivariance, embedded tissue patches"
    seeds = [0, 1, 2]
    fractions = [1.0]                       # several values: a sample-efficiency curve
    robustness = { start = 0, stop = 360, num = 37 }   # or a list; degrees (images) or
                                            # time-stretch factors (audio, add log = true)
    train_range = [0.707, 1.414]            # shade the range the training data spans (optional)
    focus_range = [0.5, 2.0]                # also report the mean over the robustness points in this
                                            # range, e.g. a baseline's augmentation range (optional)
    set = ["train.epochs=6"]                # overrides applied to every variant (optional)
    budget = "epochs"                       # or "steps": a run on a fraction f of the data trains
                                            # round(epochs / f) epochs, so every fraction gets
                                            # the optimiser steps of the full run (optional)

    [[variant]]
    label = "SE(2) G-CNN, no rotation aug."
    recipe = "tissue_se2_n8"
    set = []                                # this variant's overrides (optional)

Every run is keyed by a hash of its full training configuration and lives in
``<runs>/sweeps/<recipe>_f<fraction>_s<seed>_<hash>/``, so experiments that need the same run
share it, a finished run (``results.json``) is never trained twice, and a killed sweep resumes
its unfinished run from ``last.pt``. Robustness metrics are evaluated from ``best.pt`` and cached
in the run folder (``robustness.json``). The report (``summary.md``, ``runs.csv``,
``results.json`` and the plots) goes to ``<runs>/experiments/NAME/`` or ``out``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_open, write_atomic, write_json
from ._config import DEFAULTS, ConfigError, load_recipe, recipes_dir, tomllib
from ._task import transform_named
from ._report import pyplot, save_figure
from ._rundir import RunDir

__all__ = ["Experiment", "load_experiment", "run_experiment", "aggregate", "resolve_experiment_path"]


@dataclass
class Variant:
    label: str
    recipe: str
    overrides: list[str] = field(default_factory=list)


@dataclass
class Experiment:
    """A grid of training runs (what :func:`load_experiment` reads from an experiment file):
    every variant × data fraction × seed, tested on the original inputs and, with
    ``robustness``, on each rotation angle or time-scale factor of that grid. ``train_range`` and
    ``focus_range`` mark the factors seen in augmentation and the range the report averages
    over; ``budget`` ``"steps"`` trains a fraction for the full run's optimiser steps."""

    name: str
    title: str
    variants: list[Variant]
    seeds: list[int]
    fractions: list[float]
    robustness: list[float] | None = None
    train_range: tuple[float, float] | None = None
    focus_range: tuple[float, float] | None = None
    overrides: list[str] = field(default_factory=list)
    command: str = ""  # the command line that reproduces it (for the report)
    budget: str = "epochs"  # "steps": round(epochs / fraction) epochs, the full run's optimiser steps

    def epochs(self, cfg: dict, frac: float) -> int:
        """The epochs a run on ``frac`` of the data trains for under this experiment's budget."""
        epochs = cfg["train"]["epochs"]
        return max(1, round(epochs / frac)) if self.budget == "steps" and isinstance(epochs, int) else epochs

    def configs(self) -> list[tuple[Variant, float, int, dict]]:
        """Every run of the grid as ``(variant, fraction, seed, resolved config)``."""
        out = []
        for v in self.variants:
            for frac in self.fractions:
                for seed in self.seeds:
                    cfg = load_recipe(v.recipe, self.overrides + v.overrides
                                      + [f"data.fraction={frac}", f"train.seed={seed}"])
                    cfg["train"]["epochs"] = self.epochs(cfg, frac)
                    cfg["name"] = run_name(cfg, Path(v.recipe).stem)
                    out.append((v, frac, seed, cfg))
        return out


def _changes(cfg: dict, defaults: dict, prefix: str = "") -> dict:
    """The flattened entries of ``cfg`` that differ from ``defaults``."""
    out = {}
    for k, v in cfg.items():
        d = defaults.get(k) if isinstance(defaults, dict) else None
        if isinstance(v, dict):
            out.update(_changes(v, d if isinstance(d, dict) else {}, f"{prefix}{k}."))
        elif k not in defaults or v != d:
            out[prefix + k] = v
    return out


def run_name(cfg: dict, recipe: str) -> str:
    """``<recipe>_f<fraction>_s<seed>_<hash of the training config>``.

    The hash covers what differs from :data:`DEFAULTS`, so a new option added to the defaults
    later does not orphan finished runs; the evaluation settings and the name are left out, so
    they can change without retraining.
    """
    key = _changes({k: v for k, v in cfg.items() if k not in ("name", "eval")}, DEFAULTS)
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]
    return f"{recipe}_f{cfg['data']['fraction']:g}_s{cfg['train']['seed']}_{digest}"


def resolve_experiment_path(name: str | Path) -> Path:
    p = Path(name)
    here = recipes_dir() / "experiments"
    for cand in (p, p.with_suffix(".toml"), Path("recipes/experiments") / p.with_suffix(".toml").name,
                 here / p.with_suffix(".toml").name):
        if cand.is_file():
            return cand
    known = ", ".join(sorted(f.stem for f in here.glob("*.toml"))) or "none"
    raise ConfigError(f"experiment {str(name)!r} not found (looked for {p} and recipes/experiments/"
                      f"{p.with_suffix('.toml').name}); known experiments: {known}")


def _param_list(spec, where: str) -> list[float]:
    if isinstance(spec, list):
        return [float(v) for v in spec]
    if isinstance(spec, dict) and {"start", "stop", "num"} <= set(spec):
        a, b, n = float(spec["start"]), float(spec["stop"]), int(spec["num"])
        vals = np.geomspace(a, b, n) if spec.get("log", False) else np.linspace(a, b, n)
        return [round(float(v), 6) for v in vals]
    raise ConfigError(f"'{where}' must be a list of numbers or a table {{start, stop, num[, log]}}, got {spec!r}")


def load_experiment(name: str | Path, *, seeds: list[int] | None = None, overrides: list[str] | None = None
                    ) -> Experiment:
    """An experiment file (a name from ``recipes/experiments/`` or a path): its variants (recipe
    plus overrides), seeds, data fractions and robustness grid, checked. ``seeds`` replaces the
    file's seeds; ``overrides`` (``--set``) apply to every variant. Unknown keys, duplicate
    labels and out-of-range fractions raise :class:`ConfigError`."""
    path = resolve_experiment_path(name)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from err
    known = {"title", "seeds", "fractions", "robustness", "train_range", "focus_range", "set", "variant", "budget"}
    if unknown := set(raw) - known:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    if not raw.get("variant"):
        raise ConfigError(f"{path}: an experiment needs at least one [[variant]] with a label and a recipe")
    variants = []
    for i, v in enumerate(raw["variant"]):
        if "recipe" not in v:
            raise ConfigError(f"{path}: variant {i + 1} has no 'recipe'")
        if extra := set(v) - {"label", "recipe", "set"}:
            raise ConfigError(f"{path}: variant {i + 1}: unknown key(s) {', '.join(sorted(extra))}; "
                              "known: label, recipe, set")
        variants.append(Variant(v.get("label", v["recipe"]), v["recipe"], list(v.get("set", []))))
    if len({v.label for v in variants}) != len(variants):
        raise ConfigError(f"{path}: variant labels must be distinct")
    fractions = [float(f) for f in raw.get("fractions", [1.0])]
    if any(not 0 < f <= 1 for f in fractions):
        raise ConfigError(f"{path}: fractions must lie in (0, 1], got {fractions}")
    robustness = _param_list(raw["robustness"], "robustness") if "robustness" in raw else None
    budget = raw.get("budget", "epochs")
    if budget not in ("epochs", "steps"):
        raise ConfigError(f"{path}: budget must be \"epochs\" (every fraction trains the recipe's epochs) or "
                          f"\"steps\" (every fraction trains the full run's optimiser steps), got {budget!r}")
    focus = _focus_range(raw["focus_range"], robustness, path) if "focus_range" in raw else None
    exp = Experiment(name=path.stem, title=raw.get("title", path.stem), variants=variants,
                     seeds=list(seeds if seeds is not None else raw.get("seeds", [0])), fractions=fractions,
                     robustness=robustness, train_range=tuple(raw["train_range"]) if "train_range" in raw else None,
                     focus_range=focus,
                     overrides=list(raw.get("set", [])) + list(overrides or []), budget=budget)
    exp.command = " ".join(["wavenets experiment", shlex.quote(str(name))]
                           + ([f"--seeds {','.join(map(str, seeds))}"] if seeds is not None else [])
                           + [f"--set {shlex.quote(o)}" for o in overrides or []])
    exp.configs()  # fail now, not after an hour of training, if a recipe or override is wrong
    return exp


def _focus_range(spec, robustness: list[float] | None, path: Path) -> tuple[float, float]:
    """``focus_range = [lo, hi]``, checked: two numbers, lo < hi, at least two robustness points inside."""
    if not (isinstance(spec, list) and len(spec) == 2 and all(isinstance(v, (int, float)) for v in spec)
            and spec[0] < spec[1]):
        raise ConfigError(f"{path}: focus_range must be [lo, hi] with lo < hi, e.g. [0.5, 2.0]; got {spec!r}")
    inside = in_range(robustness or [], tuple(spec))
    if len(inside) < 2:
        raise ConfigError(f"{path}: focus_range {spec} holds {len(inside)} of the robustness points "
                          f"{robustness}; it needs two or more (widen it, or add points)")
    return float(spec[0]), float(spec[1])


def in_range(params, bounds: tuple[float, float]) -> list:
    """The robustness parameters (numbers or their string keys) inside ``bounds``, ends included
    up to rounding (a log-spaced 0.5 may be stored as 0.49999999999999994)."""
    lo, hi = bounds
    return [p for p in params if lo * (1 - 1e-9) - 1e-12 <= float(p) <= hi * (1 + 1e-9) + 1e-12]


def _focus_mean(record: dict, exp: Experiment) -> float:
    """One run's mean accuracy over its robustness points inside ``exp.focus_range``."""
    return statistics.mean(record["robustness"][p] for p in in_range(record["robustness"], exp.focus_range))


def _range_label(bounds, transform) -> str:
    """``"mean acc over 0.5–2×"``: the column and panel name of a mean over a range of the transform."""
    return f"mean acc over {bounds[0]:g}–{transform.format(bounds[1])}"


def _robustness(make_trainer: Callable, run_dir: Path, params: list[float], turn=0) -> dict[str, dict]:
    """Test metrics at each robustness parameter, from ``best.pt``; cached in ``robustness.json``
    (keyed by the parameter and, where the test images are also turned, ``eval.rotation`` =
    ``turn``). ``make_trainer()`` builds the run's trainer, only when something is missing."""
    path = run_dir / "robustness.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    key = (lambda p: str(float(p))) if not turn else (lambda p: f"{float(p)} rotation={turn}")
    missing = [p for p in params if key(p) not in cache]
    if missing:
        trainer = make_trainer()
        trainer.load_best()
        for p, m in trainer.evaluate(trainer.test_set, missing).items():
            cache[key(p)] = m
        write_json(path, cache)
    return {str(float(p)): cache[key(p)] for p in params}


def run_experiment(exp: Experiment, runs_dir: Path = Path("runs"), *, out: Path | None = None, device=None,
                   data_root=None, quiet: bool = False, on_step: Callable | None = None, log=print) -> dict:
    """Train what is missing, evaluate, aggregate and write the report; returns the aggregate."""
    from ._trainer import resolve_device

    device = device if hasattr(device, "type") else resolve_device(device)  # a torch.device, a name, or None: auto
    grid = exp.configs()
    records = []
    start = time.perf_counter()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("an experiment runs in one process (its runs are small); under torchrun, train a recipe "
                          "with `wavenets train` instead, or run the experiment without torchrun")
    for i, (v, frac, seed, cfg) in enumerate(grid, 1):
        run = RunDir(Path(runs_dir) / "sweeps", cfg["name"])
        head = f"[{i}/{len(grid)}] {v.label} | fraction {frac:g} | seed {seed}"
        with run.lock(wait=True, log=lambda msg: log(f"{head}: {msg}")):  # another sweep may share this run
            records.append(_one_run(exp, v, frac, seed, cfg, run, head, f"run {i} of {len(grid)}", device,
                                    data_root, quiet, on_step, log))
    agg = aggregate(exp, records)
    out = Path(out) if out is not None else Path(runs_dir) / "experiments" / exp.name
    write_report(exp, agg, records, out)
    log(f"{exp.name}: {len(grid)} runs in {time.perf_counter() - start:.0f} s; report in {out / 'summary.md'}")
    return agg


def _one_run(exp, v, frac, seed, cfg, run: RunDir, head: str, where: str, device, data_root, quiet, on_step,
             log) -> dict:
    """Train (or resume) one run unless finished, evaluate it, and return its record."""
    from ._trainer import Interrupted, Trainer, versions

    run_dir = run.path
    trainer = None

    def evaluator():  # the run's trainer, built only when something must be evaluated
        nonlocal trainer
        if trainer is None:
            trainer = Trainer(cfg, run_dir, device=device, data_root=data_root, quiet=True)
        return trainer

    if run.done:
        results = json.loads((run / "results.json").read_text())
        # (runs from before fingerprints have no "data": trusted, and need no trainer)
        if "data" in results and results["data"] != (now := evaluator().data_key):
            raise ConfigError(f"{run_dir} was trained on other data than the data root gives now (data fingerprint "
                              f"{results['data']}, now {now}), and an experiment would report it as a "
                              f"run on this data. Give each data tree its own --runs-dir, or delete that run folder "
                              f"to train it again")
        then, now = results.get("versions", {}), versions()
        changed = [f"{k} {then[k]}, now {now[k]}" for k in ("wavenets", "torch") if k in then and then[k] != now[k]]
        log(f"{head}: done earlier ({run_dir.name}" + (f"; trained with {'; '.join(changed)}" if changed else "") + ")")
    else:
        resume = (run_dir / "last.pt").exists()
        log(f"{head}: {'resuming' if resume else 'training'} {run_dir}")
        if not resume:
            for f in run_dir.glob("*.pt"):
                f.unlink()
        trainer = Trainer(cfg, run_dir, device=device, data_root=data_root, quiet=quiet, on_step=on_step)
        try:
            results = trainer.fit(resume=resume)
        except Interrupted:
            raise Interrupted(f"interrupted in {where} ({run_dir}); its state is saved. Run the same command "
                              "again: finished runs are skipped and this one resumes") from None
    identity = transform_named(results["eval_transform"]).identity_key()
    test = results["test"].get(identity, next(iter(results["test"].values())))
    turn = cfg["eval"].get("rotation", 0)
    if results.get("eval_rotation", 0) != turn:  # a shared run, tested without this experiment's rotation
        test = _robustness(evaluator, run_dir, [float(identity)], turn)[identity]
    rec = {"label": v.label, "recipe": v.recipe, "fraction": frac, "seed": seed, "run": run_dir.name,
           "params": results["params"], "wall_s": results["wall_s"], "best_epoch": results["best_epoch"],
           "transform": results["eval_transform"], "acc": test["acc"], "auc": test["auc"],
           "torch": results.get("versions", {}).get("torch", "")}  # ("": a run from before versions were kept)
    if exp.robustness:
        rec["robustness"] = {p: m["acc"] for p, m in _robustness(evaluator, run_dir, exp.robustness, turn).items()}
    return rec


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(exp: Experiment, records: list[dict]) -> dict:
    """Mean ± sd over seeds, per variant and fraction (and per robustness parameter)."""
    out = {"name": exp.name, "title": exp.title, "transform": records[0]["transform"], "variants": {}}
    for v in exp.variants:
        per_frac = {}
        for frac in exp.fractions:
            rs = [r for r in records if r["label"] == v.label and r["fraction"] == frac]
            acc, acc_sd = _mean_sd([r["acc"] for r in rs])
            entry = {"seeds": [r["seed"] for r in rs], "params": rs[0]["params"], "acc": acc, "acc_sd": acc_sd,
                     "auc": _mean_sd([r["auc"] for r in rs])[0], "wall_s": statistics.mean(r["wall_s"] for r in rs)}
            if exp.robustness:
                curve = {p: _mean_sd([r["robustness"][p] for r in rs]) for p in rs[0]["robustness"]}
                entry["robustness"] = {p: m for p, (m, _) in curve.items()}
                entry["robustness_sd"] = {p: s for p, (_, s) in curve.items()}
                per_seed = [statistics.mean(r["robustness"].values()) for r in rs]
                entry["robust_mean"], entry["robust_mean_sd"] = _mean_sd(per_seed)
                entry["robust_min"] = min(entry["robustness"].values())
                if exp.focus_range:
                    entry["focus_mean"], entry["focus_mean_sd"] = _mean_sd([_focus_mean(r, exp) for r in rs])
            per_frac[str(frac)] = entry
        out["variants"][v.label] = per_frac
    return out


def write_report(exp: Experiment, agg: dict, records: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with atomic_open(out / "runs.csv", "w", newline="") as f:
        cols = ["label", "recipe", "fraction", "seed", "run", "params", "wall_s", "best_epoch", "acc", "auc"]
        extra = (["robust_mean"] if exp.robustness else []) + (["focus_mean"] if exp.focus_range else []) + ["torch"]
        writer = csv.DictWriter(f, fieldnames=cols + extra)
        writer.writeheader()
        for r in records:
            row = {k: r[k] for k in cols + ["torch"]}
            if exp.robustness:
                row["robust_mean"] = statistics.mean(r["robustness"].values())
            if exp.focus_range:
                row["focus_mean"] = _focus_mean(r, exp)
            writer.writerow(row)
    write_json(out / "results.json", agg)
    plots = []
    if exp.robustness:
        plots.append(("robustness", plot_robustness(agg, exp, out / "robustness.png")))
    if len(exp.fractions) > 1:
        plots.append(("sample efficiency", plot_efficiency(agg, exp, out / "efficiency.png")))
    transform = transform_named(agg["transform"])
    seeds = ", ".join(str(s) for s in exp.seeds)
    lines = [f"# {exp.title}", "",
             f"Experiment `{exp.name}`: {len(exp.variants)} variants × {len(exp.fractions)} data fraction(s) × "
             f"seeds {seeds}. Test accuracy of the best-validation checkpoint, mean ± sd over seeds.", "",
             *(["Budget: optimiser steps. A run on a fraction f of the training set trains round(epochs / f) "
                "epochs, as many steps as the full run.", ""] if exp.budget == "steps" else []),
             f"Reproduce: `{exp.command or 'wavenets experiment ' + exp.name}`", ""]
    head = ["model", "params", "fraction", f"acc ({transform.label})"]
    if exp.robustness:
        head += [_range_label((min(exp.robustness), max(exp.robustness)), transform), "worst"]
        if exp.focus_range:
            head += [_range_label(exp.focus_range, transform)]
    head += ["train s / run"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, per_frac in agg["variants"].items():
        for frac, e in per_frac.items():
            cells = [label, f"{e['params']:,}", f"{float(frac):g}", f"{e['acc']:.3f} ± {e['acc_sd']:.3f}"]
            if exp.robustness:
                cells += [f"{e['robust_mean']:.3f} ± {e['robust_mean_sd']:.3f}", f"{e['robust_min']:.3f}"]
                if exp.focus_range:
                    cells += [f"{e['focus_mean']:.3f} ± {e['focus_mean_sd']:.3f}"]
            cells += [f"{e['wall_s']:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for title, path in plots:
        lines += [f"## {title.capitalize()}", "", f"![{title}]({path.name})", ""]
    if exp.robustness:
        params = list(next(iter(next(iter(agg["variants"].values())).values()))["robustness"])
        lines += [f"## Accuracy by input {transform.name}", "",
                  "| model | " + " | ".join(transform.format(round(float(p), 3)) for p in params) + " |",
                  "|" + "---|" * (len(params) + 1)]
        for label, per_frac in agg["variants"].items():
            e = per_frac[str(max(exp.fractions))]
            lines.append(f"| {label} | " + " | ".join(f"{e['robustness'][p]:.3f}" for p in params) + " |")
        lines.append("")
    lines += ["Per-run results: [runs.csv](runs.csv); aggregate: [results.json](results.json).", ""]
    write_atomic(out / "summary.md", "\n".join(lines))


def _finish(fig, ax, exp: Experiment, path: Path) -> Path:
    """Accuracy axis, title with the seeds, grid, legend; write the PNG."""
    ax.set_ylabel("test accuracy")
    import textwrap

    width = 80 if len(fig.axes) == 1 else 130
    title = "\n".join(textwrap.wrap(exp.title, width))  # a long title stays inside the figure
    title = f"{title}\nmean ± sd over seeds {', '.join(map(str, exp.seeds))}"
    if len(fig.axes) == 1:
        ax.set_title(title, fontsize=10)
    else:  # panels: each keeps its own title
        fig.suptitle(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8 if len(fig.axes) == 1 else 7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def plot_robustness(agg: dict, exp: Experiment, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    frac = str(max(exp.fractions))
    for label, per_frac in agg["variants"].items():
        e = per_frac[frac]
        x = np.array([float(p) for p in e["robustness"]])
        m = np.array(list(e["robustness"].values()))
        s = np.array(list(e["robustness_sd"].values()))
        (line,) = ax.plot(x, m, marker=".", label=label)
        ax.fill_between(x, m - s, m + s, color=line.get_color(), alpha=0.2)
    transform = transform_named(agg["transform"])
    ax.set_xlabel(transform.axis)
    if transform.log_scale:
        ax.set_xscale("log", base=2)
    else:
        ax.set_xticks(np.arange(0, max(361, int(x.max()) + 1), 45))
    if exp.train_range:
        ax.axvspan(*exp.train_range, color="0.85", zorder=0, label="range in the training data")
    if exp.focus_range:
        for end, label in zip(exp.focus_range, ("focus range (summary column)", None)):
            ax.axvline(end, color="0.4", linestyle=":", linewidth=1, zorder=0, label=label)
    return _finish(fig, ax, exp, path)


def plot_efficiency(agg: dict, exp: Experiment, path: Path) -> Path:
    """Accuracy against the data fraction: at the original transform, and, with robustness
    points, their mean (and the mean over ``focus_range``) in panels beside it."""
    plt = pyplot()
    transform = transform_named(agg["transform"])
    panels = [("acc", f"at the {transform.label}")]
    if exp.robustness:
        panels.append(("robust_mean", _range_label((min(exp.robustness), max(exp.robustness)), transform)))
        if exp.focus_range:
            panels.append(("focus_mean", _range_label(exp.focus_range, transform)))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 + 3.5 * (len(panels) - 1), 4), sharey=True, squeeze=False)
    for ax, (key, name) in zip(axes[0], panels):
        for label, per_frac in agg["variants"].items():
            x = np.array([100 * float(f) for f in per_frac])
            m = np.array([e[key] for e in per_frac.values()])
            s = np.array([e[key + "_sd"] for e in per_frac.values()])
            ax.errorbar(x, m, yerr=s, marker="o", capsize=3, label=label)
        ax.set_xscale("log")
        ax.set_xticks([100 * f for f in exp.fractions])
        ax.set_xticklabels([f"{100 * f:g}" for f in exp.fractions])  # (with "%" 75% and 100% touch)
        ax.minorticks_off()
        ax.set_xlabel("% of the training set (log scale)")
        if len(panels) > 1:
            ax.set_title(name, fontsize=9, loc="left")
            ax.grid(alpha=0.3)
    return _finish(fig, axes[0][0], exp, path)


def list_experiments(stream=None) -> None:
    stream = stream or sys.stdout  # looked up at call time: the default bound at import would outlive a redirect
    folder = recipes_dir() / "experiments"
    for path in sorted(folder.glob("*.toml")):
        title = tomllib.loads(path.read_text()).get("title", "")
        print(f"{path.stem:<26} {title}", file=stream)
