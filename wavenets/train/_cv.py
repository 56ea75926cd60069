"""K-fold cross validation over a dataset's predefined folds (UrbanSound8K: 10, ESC-50: 5).

Fold ``k`` is the test fold of run ``<name>_fold<k>``; its validation fold is ``k+1`` (never the
test fold) and model selection looks only at validation. Finished folds are skipped, so a
killed run picks up where it stopped.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from .._io import write_atomic, write_json
from ._config import apply_overrides
from ._dist import launch_rank
from ._rundir import RunDir
from ._task import transform_named
from ._trainer import Trainer

__all__ = ["cross_validate"]


def cross_validate(cfg: dict, folds: list[int], runs_dir: Path, *, device=None, data_root=None,
                   quiet: bool = False) -> dict:
    """Train ``cfg`` once per test fold in ``folds`` (a data set with folds: UrbanSound8K, ESC-50)
    into ``runs_dir/<name>_fold<k>``, and write the folds' test accuracies with their mean and sd
    to ``runs_dir/<name>_cv`` (``cv.json``, ``summary.md``). A finished fold is read back, not
    trained again; an interrupted one resumes from its ``last.pt``. Returns the summary dict
    (``acc`` per fold, ``mean``, ``sd``). Under torchrun every rank trains each fold with the
    others, and rank 0 alone reports and writes the summary."""
    name = cfg["name"]
    main = launch_rank() == 0
    per_fold = {}
    for k in folds:
        run = RunDir(runs_dir, f"{name}_fold{k}")
        with run.lock():
            if run.done:
                per_fold[k] = json.loads((run / "results.json").read_text())
                if not quiet and main:
                    print(f"fold {k}: done earlier, skipped")
                continue
            fold_cfg = apply_overrides(cfg, [f"data.test_fold={k}", f"name='{name}_fold{k}'"])
            trainer = Trainer(fold_cfg, run.path, device=device, data_root=data_root, quiet=quiet)
            per_fold[k] = trainer.fit(resume=(run / "last.pt").exists())
    identity = transform_named(next(iter(per_fold.values())).get("eval_transform")).identity_key()
    accs = [r["test"][identity]["acc"] for r in per_fold.values()]
    summary = {"name": name, "folds": folds, "acc": {str(k): r["test"][identity]["acc"] for k, r in per_fold.items()},
               "mean": statistics.mean(accs), "sd": statistics.stdev(accs) if len(accs) > 1 else 0.0}
    if not main:
        return summary
    out = Path(runs_dir) / f"{name}_cv"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "cv.json", summary)
    lines = [f"# {name}: {len(folds)}-fold cross validation", "", "| test fold | accuracy |", "|---|---|"]
    lines += [f"| {k} | {a:.4f} |" for k, a in summary["acc"].items()]
    lines += ["", f"**mean ± sd: {summary['mean']:.4f} ± {summary['sd']:.4f}**", ""]
    write_atomic(out / "summary.md", "\n".join(lines))
    if not quiet:
        print(f"{name}: accuracy {summary['mean']:.4f} ± {summary['sd']:.4f} over folds {folds}; {out / 'summary.md'}")
    return summary
