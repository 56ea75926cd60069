"""Run the benchmarks: ``python -m benchmarks [--quick] [--device cpu|cuda] [--out DIR]``.

Writes ``layers.json`` and ``layers.md`` (medians in ms; ratios taken within one run).
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from . import layers


def _table(rows: list[dict]) -> str:
    head = ("| group | fields | k | batch | size | bf16 | train plain ms | train group ms | ratio "
            "| eval plain ms | eval group ms | ratio |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['group']} | {r['fields']} | {r['kernel']} | {r['batch']} | {r['size']} | "
            f"{'yes' if r['autocast_bf16'] else 'no'} | {r['train_plain_ms']:.2f} | {r['train_group_ms']:.2f} | "
            f"{r['train_ratio']:.3f} | {r['eval_plain_ms']:.2f} | {r['eval_group_ms']:.2f} | {r['eval_ratio']:.3f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats (CI smoke run)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    layers._same_convolutions_check()
    if args.quick:
        configs = [("C4", 4, 3, 2, 16, False), ("C8", 4, 5, 2, 16, False)]
        reps = args.reps or 2
    elif device.type == "cpu":
        configs = [("C8", 16, 5, 8, 64, False), ("C4", 16, 5, 8, 64, False), ("D4", 16, 5, 8, 64, False),
                   ("C16", 8, 5, 8, 64, False), ("C8", 16, 3, 8, 64, False), ("C8", 16, 7, 8, 64, False)]
        reps = args.reps or 10
    else:
        configs = []
        for g, f in (("C4", 20), ("C8", 14), ("C16", 10), ("C8", 16), ("D4", 16), ("C8", 32), ("C8", 64)):
            configs.append((g, f, 5, 64, 96, False))
        configs += [("C8", 16, 3, 64, 96, False), ("C8", 16, 7, 64, 96, False)]
        configs += [(g, f, 5, 64, 96, True) for g, f in (("C4", 20), ("C8", 14), ("C16", 10))]
        reps = args.reps or 30
    rows = []
    for g, f, k, b, s, ac in configs:
        row = layers.bench_pair(g, f, k, b, s, device, reps, autocast=ac)
        rows.append(row)
        print(f"{g:>4} fields={f:<3} k={k} bf16={ac!s:<5} train {row['train_group_ms']:8.2f} / "
              f"{row['train_plain_ms']:8.2f} ms = {row['train_ratio']:.3f}   eval {row['eval_group_ms']:8.2f} / "
              f"{row['eval_plain_ms']:8.2f} ms = {row['eval_ratio']:.3f}", flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    meta = {"device": name, "torch": torch.__version__, "threads": torch.get_num_threads(), "quick": args.quick}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "layers.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (args.out / "layers.md").write_text(f"Device: {name}, torch {torch.__version__}, "
                                        f"{meta['threads']} threads\n\n{_table(rows)}\n")
    print(f"\nwrote {args.out / 'layers.json'} and {args.out / 'layers.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
