"""Pyramid W-Nets and their M-Nets under ``torch.compile``: ``python -m benchmarks.compiled
[--arch m5,m11,m34res] [--mode default|reduce-overhead|max-autotune] [--batch 4] [--length 88200]
[--device cpu|cuda] [--reps 5] [--backend inductor]``.

Per pair, the M-Net, the pyramid W-Net from the input rate and from one octave below it
(``pyramid_s1``), each eager and compiled (``torch.compile(model, mode=...)``, one graph: the
networks have no graph break, see tests/test_network.py), timed in interleaved rounds: a training
step (forward, backward, SGD) and an inference call (eval, ``no_grad``). Prints a markdown table
of the milliseconds, the speed-up of compiling and the W-Net / M-Net ratios eager and compiled,
with the compile time of each model's first step and first inference.

A pyramid step issues several times the operators of its M-Net (``python -m
benchmarks.profile_step --ops``); on a GPU each is a kernel launch, and the step is
launch-bound. Compiling fuses the elementwise ones, and ``mode="reduce-overhead"`` replays the
whole step as a CUDA graph: this script measures what that buys. On CPU Inductor fuses but does
not remove the convolutions' fixed costs.
"""
from __future__ import annotations

import argparse
import time

import torch

from ._timing import interleaved_ms
from .pyramid import _models, step_and_predict

MODES = ("default", "reduce-overhead", "max-autotune")


def _first_s(fn, device: torch.device) -> float:
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def bench(arch: str, batch: int, length: int, device: torch.device, mode: str, reps: int,
          backend: str = "inductor") -> dict:
    # the models share MNet.forward, whose compiled variants (each model, train and eval) count against
    # one recompile limit (8): start afresh per pair, and allow the pair's variants
    torch._dynamo.reset()
    config = torch._dynamo.config
    limit = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"  # (torch < 2.6)
    setattr(config, limit, max(getattr(config, limit), 32))
    torch.manual_seed(0)
    x = torch.randn(batch, 1, length, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    row = {"arch": arch, "batch": batch, "length": length, "device": str(device),
           "mode": mode if backend == "inductor" else backend}
    train, infer = {}, {}
    for tag, model in _models(arch).items():
        model = model.to(device)
        train[tag], infer[tag] = step_and_predict(model, x, y)
        kw = {"mode": mode} if backend == "inductor" else {}  # (modes are Inductor's)
        compiled = torch.compile(model, backend=backend, fullgraph=True, **kw)
        step, predict = step_and_predict(compiled, x, y)
        row[f"{tag}_compile_train_s"] = _first_s(step, device)
        row[f"{tag}_compile_infer_s"] = _first_s(predict, device)
        train[f"{tag}_compiled"], infer[f"{tag}_compiled"] = step, predict
    warm = 1 if device.type == "cpu" else 3
    for kind, fns in (("train", train), ("infer", infer)):
        for tag, ms in interleaved_ms(fns, device, warmup=warm, reps=reps).items():
            row[f"{tag}_{kind}_ms"] = ms
    return row


def table(rows: list[dict]) -> str:
    lines = ["| pair | model | train ms eager / compiled | speed-up | ratio to M-Net eager / compiled | infer ms "
             "eager / compiled | speed-up | ratio to M-Net eager / compiled | compile s (step, inference) |",
             "|" + "---|" * 9]
    for r in rows:
        for tag in ("mnet", "pyramid", "pyramid_s1"):
            cells = [f"{r['arch']} ({r['batch']} × {r['length']}, {r['mode']})", tag]
            for kind in ("train", "infer"):
                eager, comp = r[f"{tag}_{kind}_ms"], r[f"{tag}_compiled_{kind}_ms"]
                ratios = "–" if tag == "mnet" else (f"{eager / r[f'mnet_{kind}_ms']:.2f} / "
                                                    f"{comp / r[f'mnet_compiled_{kind}_ms']:.2f}")
                cells += [f"{eager:.1f} / {comp:.1f}", f"{eager / comp:.2f}×", ratios]
            cells.append(f"{r[f'{tag}_compile_train_s']:.0f}, {r[f'{tag}_compile_infer_s']:.0f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compiled", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="m5,m11,m34res", help="comma-separated M-Net architectures")
    parser.add_argument("--mode", default="default", choices=MODES, help="torch.compile mode")
    parser.add_argument("--batch", type=int, default=None, help="clips per batch (default 4 on CPU, 16 on CUDA)")
    parser.add_argument("--length", type=int, default=88200, help="samples per clip")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--reps", type=int, default=None, help="timed rounds (default 5 on CPU, 20 on CUDA)")
    parser.add_argument("--backend", default="inductor",
                        help="torch.compile backend (aot_eager: traces without code generation, a quick check)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    batch = args.batch or (4 if device.type == "cpu" else 16)
    reps = args.reps or (5 if device.type == "cpu" else 20)
    rows = []
    for arch in args.arch.split(","):
        rows.append(bench(arch, batch, args.length, device, args.mode, reps, args.backend))
        print("\n".join(table(rows[-1:]).splitlines()[2:]), flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
