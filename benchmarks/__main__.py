"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only SECTIONS] [--device cpu|cuda] [--out DIR]
[--warm-heap]``
(also ``wavenets bench`` from the repository root).

Sections: ``layers`` (2D lifting + group conv vs the plain-conv limit), ``fastpaths`` (channels_last,
bf16, torch.compile, the eval cache), ``peers`` (e2cnn, when installed), ``wnet`` (W-Net / M-Net
and SampleCNN pairs, reference and multirate), ``pyramid`` (the pyramid-layout W-Nets against their
M-Nets: step, inference, memory), ``pyramid2d`` (2D scale and roto-scale pyramid layers against one
conv2d on the finest level), ``recipes`` (whole-model throughput), ``determinism`` (the cost of
``train.deterministic``), ``export`` (ONNX Runtime and TorchScript against the eager model, CPU). Each writes
``<section>.json``; all of them one ``benchmarks.md``. Medians over repeated runs; every ratio is
taken within one run.
"""
from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from wavenets._io import write_atomic, write_json
from ._timing import WARM_HEAP_HELP, heap_state, restart_with_warm_heap
from . import determinism, export, fastpaths, layers, patchnets, peers, pyramid, pyramid2d, recipes, wnet

SECTIONS = {"layers": layers, "fastpaths": fastpaths, "peers": peers, "wnet": wnet, "pyramid": pyramid,
            "pyramid2d": pyramid2d, "patchnets": patchnets, "recipes": recipes, "determinism": determinism,
            "export": export}
TITLES = {"layers": "2D lifting + group convolution vs the plain-convolution limit",
          "fastpaths": "Fast paths (C8 pair)", "peers": "Peer: e2cnn R2Conv",
          "wnet": "Wavelet Networks vs M-Nets (training step)",
          "pyramid": "Pyramid-layout W-Nets vs M-Nets (training step, inference, memory)",
          "pyramid2d": "2D pyramid layers (scale, roto-scale) vs one conv2d on the finest level",
          "patchnets": "Scale G-CNNs for images vs their CNN (training step)",
          "recipes": "Whole-recipe throughput",
          "determinism": "What train.deterministic costs (training step)",
          "export": "Exported inference (wavenets export) vs the eager model (CPU)"}


def _sections(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise SystemExit(f"error: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (CI smoke run, no timing value)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections (default: all: "
                        f"{','.join(SECTIONS)})")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--reps", type=int, default=None, help="timed repeats per measurement")
    parser.add_argument("--warm-heap", action="store_true", help=WARM_HEAP_HELP)
    args = parser.parse_args(argv)
    if args.warm_heap:
        restart_with_warm_heap("benchmarks", argv)
    sections = _sections(args.only)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "cpu")
    meta = {"device": name, "torch": torch.__version__, "threads": torch.get_num_threads(), "quick": args.quick,
            "heap": heap_state(),
            "command": "python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))}
    args.out.mkdir(parents=True, exist_ok=True)
    md = [f"# wavenets benchmarks", "", f"Device: {name} ({device.type}), torch {torch.__version__}, "
          f"{meta['threads']} threads, {meta['heap']} heap. Command: `{meta['command']}`", ""]
    for section in sections:
        print(f"\n== {TITLES[section]} ==", flush=True)
        t0 = time.perf_counter()
        module = SECTIONS[section]
        rows = module.run(device, args.quick, args.reps)
        write_json(args.out / f"{section}.json", {"meta": meta, "rows": rows})
        md += [f"## {TITLES[section]}", "", module.table(rows) if rows else "(no rows)", "",
               f"({time.perf_counter() - t0:.0f} s)", ""]
        write_atomic(args.out / "benchmarks.md", "\n".join(md))
    print(f"\nwrote {args.out / 'benchmarks.md'} and {', '.join(s + '.json' for s in sections)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
