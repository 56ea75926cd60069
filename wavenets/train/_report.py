"""Run reports: metrics CSV/JSON, a training-curve PNG and a short summary.md."""
from __future__ import annotations

import csv
from pathlib import Path

from .._extras import need
from .._io import atomic_open, write_atomic, write_json
from ._task import transform_named

__all__ = ["write_metrics", "plot_curves", "write_summary", "pyplot", "save_figure"]


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    matplotlib = need("matplotlib", "train", "plotting training curves and experiments")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` atomically (a reader never sees half a PNG) and close it."""
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, dpi=dpi, format=Path(path).suffix.lstrip(".") or "png")
    finally:
        pyplot().close(fig)
    return path


def write_metrics(history: list[dict], run_dir: Path) -> None:
    if not history:
        return
    with atomic_open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    write_json(run_dir / "metrics.json", history)


def plot_curves(history: list[dict], path: Path, title: str = "") -> None:
    plt = pyplot()
    epochs = [r["epoch"] for r in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    a.plot(epochs, [r["val_loss"] for r in history], "s-", label="val")
    a.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    b.plot(epochs, [r["train_acc"] for r in history], "o-", label="train")
    b.plot(epochs, [r["val_acc"] for r in history], "s-", label="val")
    b.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def write_summary(cfg: dict, results: dict, history: list[dict], run_dir: Path) -> None:
    m, a = cfg["model"], cfg["augment"]
    transform = transform_named(results.get("eval_transform"))
    aug = ", ".join(k if v is True else f"{k} {v}" for k, v in a.items() if v) or "none"
    lines = [
        f"# {cfg['name']}",
        "",
        f"- data: `{cfg['data']['name']}` (fraction {cfg['data']['fraction']})",
        f"- model: `{m['name']}`{' ' + m['arch'] if 'arch' in m else ''}"
        + (f", group `{m['group']}`" if "group" in m else "")
        + (f" order {m['order']}" if m.get("order") is not None else "")
        + (" (disk mask)" if m.get("mask") else "")
        + f", {results['params']:,} parameters",
        f"- augmentation: {aug}",
        f"- optimiser: {cfg['optim']['name']} lr {cfg['optim']['lr']}, {cfg['train']['epochs']} epochs, batch "
        f"{cfg['train']['batch_size']}, seed {cfg['train']['seed']}, device {results['device']}",
        f"- best epoch (validation {results.get('select', 'acc')}): {results['best_epoch']} "
        f"({results['best_val_score']:.4f}); "
        f"training wall time {results['wall_s']:.1f} s",
        "",
        "## Test set (best checkpoint)",
        "",
        f"| input {transform.name} | accuracy | ROC-AUC | PR-AUC | NLL |",
        "|---|---|---|---|---|",
    ]
    for param, r in results["test"].items():
        pr = f"{r['pr_auc']:.4f}" if "pr_auc" in r else "–"
        lines.append(f"| {transform.format(param)} | {r['acc']:.4f} | {r['auc']:.4f} | {pr} | {r['nll']:.4f} |")
    lines += ["", "![training curves](curves.png)", ""]
    write_atomic(run_dir / "summary.md", "\n".join(lines))
