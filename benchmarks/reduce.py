"""What the polyphase REDUCE saves: ``python -m benchmarks.reduce [--reps 15] [--recipes
sc09_wnet_pyramid,sounds_wnet_pyramid] [--warm-heap]`` (CPU).

``pyramid_reduce`` on one axis of ``n >= wavenets.nn._blur.POLYPHASE_FROM`` samples runs as a
convolution of 16-sample blocks (``_reduce_polyphase``) instead of a one-channel convolution at
stride 2. Times both, in interleaved rounds: the REDUCE alone at the input pyramid's shapes
(float32 and float64), then inference of each recipe's network on random inputs of its shape
(the threshold switched between rounds, the same model and input). Prints ms and the ratio."""
from __future__ import annotations

import argparse

import torch

from wavenets.nn import _blur, pyramid_reduce

from ._timing import WARM_HEAP_HELP, heap_state, interleaved_ms, restart_with_warm_heap
from .recipes import build

#: (batch, samples): the recipes' first levels (SC09, the sounds, US8K at 88,200 and its next octave)
SHAPES = [(32, 16384), (32, 8192), (32, 4096), (32, 2048), (4, 88200), (16, 88200), (4, 44100)]
OFF = 10**12  # a threshold no length reaches: the stride-2 convolution everywhere


def _switch(fn, threshold: int):
    def run():
        _blur.POLYPHASE_FROM = threshold
        fn()
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reduce", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--recipes", default="sc09_wnet_pyramid,sounds_wnet_pyramid")
    parser.add_argument("--warm-heap", action="store_true", help=WARM_HEAP_HELP)
    args = parser.parse_args(argv)
    if args.warm_heap:
        restart_with_warm_heap("benchmarks.reduce", argv)
    device, default = torch.device("cpu"), _blur.POLYPHASE_FROM
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {heap_state()} heap")
    print("| what | stride-2 conv ms | polyphase ms | ratio |")
    print("|---|---|---|---|")
    try:
        for dtype in (torch.float32, torch.float64):
            for batch, n in SHAPES:
                x = torch.randn(batch, 1, n, dtype=dtype)
                t = interleaved_ms({"conv": _switch(lambda: pyramid_reduce(x, 1), OFF),
                                    "poly": _switch(lambda: pyramid_reduce(x, 1), 1)}, device, reps=args.reps)
                print(f"| REDUCE {batch} × {n:,} {str(dtype).removeprefix('torch.')} | {t['conv']:.2f} | "
                      f"{t['poly']:.2f} | {t['poly'] / t['conv']:.2f} |", flush=True)
        for recipe in filter(None, args.recipes.split(",")):
            model, _, infer, batch, shape, _ = build(recipe, [], device)
            model.eval()
            t = interleaved_ms({"conv": _switch(infer, OFF), "poly": _switch(infer, default)}, device,
                               reps=args.reps)
            print(f"| {recipe} inference, batch {batch} × {shape[-1]:,} | {t['conv']:.1f} | {t['poly']:.1f} | "
                  f"{t['poly'] / t['conv']:.2f} |", flush=True)
    finally:
        _blur.POLYPHASE_FROM = default
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
