"""Aggregate seeded runs: ``python -m benchmarks.aggregate_runs RUNS_DIR [--json OUT]``.

Runs named ``<recipe>_s<seed>`` are grouped by recipe; prints test accuracy mean ± sd per
evaluation transform (rotation or time scale) as a markdown table, with the mean wall time.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

from wavenets._io import write_json
from wavenets.train import transform_named


def aggregate(runs_dir: Path) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(Path(runs_dir).glob("*/results.json")):
        r = json.loads(path.read_text())
        groups[re.sub(r"_s\d+$", "", r["name"])].append(r)
    out = {}
    for name, rs in groups.items():
        params = list(rs[0]["test"])
        accs = {p: [r["test"][p]["acc"] for r in rs] for p in params}
        out[name] = {"seeds": len(rs), "wall_s": statistics.mean(r["wall_s"] for r in rs),
                     "mean": {p: statistics.mean(v) for p, v in accs.items()},
                     "sd": {p: statistics.stdev(v) if len(v) > 1 else 0.0 for p, v in accs.items()},
                     "transform": rs[0].get("eval_transform", "rotation"), "params": rs[0]["params"]}
    return out


def table(agg: dict) -> str:
    first = next(iter(agg.values()))
    transform = transform_named(first["transform"])
    params = list(first["mean"])
    head = "| model | params | seeds | " + " | ".join(transform.format(p) for p in params) + " | train s |"
    lines = [head, "|" + "---|" * (len(params) + 4)]
    for name, a in agg.items():
        cells = " | ".join(f"{a['mean'][p]:.3f} ± {a['sd'][p]:.3f}" for p in params)
        lines.append(f"| {name} | {a['params']:,} | {a['seeds']} | {cells} | {a['wall_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.aggregate_runs", description=__doc__.splitlines()[0])
    p.add_argument("runs_dir", type=Path)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    agg = aggregate(args.runs_dir)
    print(table(agg))
    if args.json:
        write_json(args.json, agg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
