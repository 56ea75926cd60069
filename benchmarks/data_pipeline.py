"""The data pipeline on a PCam-format file: ``python -m benchmarks.data_pipeline [--patches 16384]
[--steps 48] [--workers 0,2,4] [--recipe pcam_se2_n8] [--device cpu]``.

Writes a PCam-format fixture (``camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5``, random
96×96×3 patches; fresh, so in the page cache) and measures, for each worker count:
- the reader alone: an epoch of seeded batches of 32 read by the trainer's stream, images/s
  (and the old item-by-item read for reference);
- ``--steps`` training steps of the recipe's model fed by that stream, against the same steps on
  batches already in memory (pure compute): the ratio is what reading costs the epoch."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

PREFIX = "camelyonpatch_level_2_split_"


def write_fixture(root: Path, patches: int, seed: int = 0) -> Path:
    import h5py

    folder = root / "pcam"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", patches), ("valid", 64), ("test", 64)):
        with h5py.File(folder / f"{PREFIX}{split}_x.h5", "w") as f:
            x = f.create_dataset("x", shape=(n, 96, 96, 3), dtype=np.uint8)
            for start in range(0, n, 4096):
                stop = min(n, start + 4096)
                x[start:stop] = rng.integers(0, 256, size=(stop - start, 96, 96, 3), dtype=np.uint8)
        with h5py.File(folder / f"{PREFIX}{split}_y.h5", "w") as f:
            f.create_dataset("y", data=rng.integers(0, 2, size=(n, 1, 1, 1), dtype=np.uint8))
    return root


def _trainer(recipe: str, root: Path, workers: int, device: str, run_dir: Path):
    from wavenets.train import Trainer, load_recipe

    cfg = load_recipe(recipe, [f"data.num_workers={workers}", "train.amp=false"])
    return Trainer(cfg, run_dir, device=torch.device(device), data_root=root, quiet=True)


def measure(recipe: str, root: Path, patches: int, steps: int, workers_list: list[int], device: str) -> list[dict]:
    from wavenets.train._trainer import read_batch

    rows = []
    with tempfile.TemporaryDirectory() as runs:
        base = _trainer(recipe, root, 0, device, Path(runs) / "base")
        batches = base._epoch_batches(0)
        t0 = time.perf_counter()  # the old read: item by item, in the training process
        for idx in batches[:steps]:
            items = [base.train_set[int(i)] for i in idx]
            torch.stack([a for a, _ in items])
        per_item = steps * base.batch_size / (time.perf_counter() - t0)
        held = [read_batch(base.train_set, idx) for idx in batches[:steps]]
        model, opt = base.model, base.optimizer

        def step(images, labels):
            x = base.task.prepare(images.to(base.device), torch.Generator().manual_seed(0))
            loss = base.task.loss(model(x), labels.to(base.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        model.train()
        step(*held[0])  # warm-up
        t0 = time.perf_counter()
        for images, labels in held:
            step(images, labels)
        compute = time.perf_counter() - t0
        for workers in workers_list:
            tr = _trainer(recipe, root, workers, device, Path(runs) / f"w{workers}")
            t0 = time.perf_counter()
            n = sum(len(y) for _, y in tr._stream(tr.train_set, batches))
            reader = n / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            for images, labels in tr._stream(tr.train_set, batches[:steps]):
                step(images, labels)
            fed = time.perf_counter() - t0
            rows.append({"workers": workers, "reader_images_s": reader, "item_by_item_images_s": per_item,
                         "compute_s": compute, "fed_s": fed, "ratio": fed / compute, "steps": steps,
                         "batch": base.batch_size, "patches": patches})
            print(f"workers {workers}: reader {reader:,.0f} images/s (item by item {per_item:,.0f}); {steps} steps "
                  f"{fed:.2f} s fed vs {compute:.2f} s pure compute = {fed / compute:.2f}×", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data_pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=16384)
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--workers", default="0,2,4")
    parser.add_argument("--recipe", default="pcam_se2_n8")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = write_fixture(Path(tmp), args.patches)
        print(f"PCam-format fixture: {args.patches:,} training patches ({args.patches * 96 * 96 * 3 / 2**20:,.0f} MiB) "
              f"written in {time.perf_counter() - t0:.1f} s; recipe {args.recipe}, {args.device}")
        rows = measure(args.recipe, root, args.patches, args.steps, [int(w) for w in args.workers.split(",")],
                       args.device)
    print("\n| workers | reader images/s | item-by-item images/s | steps | fed s | pure compute s | fed / compute |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['reader_images_s']:,.0f} | {r['item_by_item_images_s']:,.0f} | {r['steps']} × "
              f"{r['batch']} | {r['fed_s']:.2f} | {r['compute_s']:.2f} | {r['ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
