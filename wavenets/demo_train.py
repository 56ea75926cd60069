"""``wavenets demo``: train the embedded SE(2) G-CNN and its CNN baselines, then compare them
on upright and rotated test patches (the lecture's claims 2 and 3 in three minutes)."""
from __future__ import annotations

import time
from pathlib import Path

from ._io import write_json

RECIPES = ("tissue_se2_n8", "tissue_cnn", "tissue_cnn_aug")
LABELS = {"tissue_se2_n8": "SE(2) G-CNN C8, no rot. aug", "tissue_cnn": "CNN, no rot. aug", "tissue_cnn_aug": "CNN + rotation aug"}


def run_demo(*, epochs: int | None = None, device: str = "auto", runs_dir: Path = Path("runs")) -> int:
    from .train import RunDir, Trainer, load_recipe, resolve_device

    start = time.perf_counter()
    results = {}
    for name in RECIPES:
        overrides = [f"name='demo_{name}'"] + ([f"train.epochs={epochs}"] if epochs else [])
        cfg = load_recipe(name, overrides)
        run = RunDir(runs_dir, cfg["name"])
        print(f"\n== {LABELS[name]} ({name}) ==")
        with run.lock():
            run.clear()
            results[name] = Trainer(cfg, run.path, device=resolve_device(device)).fit()
    angles = list(results[RECIPES[0]]["test"])
    print("\nTest accuracy on embedded tissue patches (best validation checkpoint), by input rotation:\n")
    print(f"{'model':<26}{'params':>9}" + "".join(f"{float(a):>7g}°" for a in angles) + f"{'train s':>9}")
    for name, r in results.items():
        accs = "".join(f"{r['test'][a]['acc']:>8.3f}" for a in angles)
        print(f"{LABELS[name]:<26}{r['params']:>9,}{accs}{r['wall_s']:>9.1f}")
    write_json(runs_dir / "demo_comparison.json", results)
    print(f"\nRuns, curves and summaries in {runs_dir}/demo_*/; total {time.perf_counter() - start:.0f} s")
    return 0
