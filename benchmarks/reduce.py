"""What the polyphase REDUCE saves: ``python -m benchmarks.reduce [--reps 15] [--recipes
sc09_wnet_pyramid,sounds_wnet_pyramid] [--warm-heap]`` (CPU).

``pyramid_reduce`` with an axis of at least ``wavenets.nn._blur.POLYPHASE_FROM`` samples runs as a
convolution of 16-sample blocks per axis (``_reduce_polyphase``) instead of a one-channel
convolution at stride 2. Times both, in interleaved rounds: the REDUCE alone at input pyramids'
shapes (audio and images, float32 and float64), then inference of each recipe's network on random
inputs of its shape (the threshold switched between rounds, the same model and input). Prints ms
and the ratio."""
from __future__ import annotations

import argparse

import torch

from wavenets.nn import _blur, pyramid_reduce

from ._timing import WARM_HEAP_HELP, heap_state, interleaved_ms, restart_with_warm_heap
from .recipes import build

#: input shapes: the recipes' audio levels (SC09, the sounds, US8K at 88,200 and its next octave, the
#: short levels), and images (a large one, the tissue patches' 44² and their next octave)
SHAPES = [(32, 1, 16384), (32, 1, 8192), (32, 1, 4096), (32, 1, 1024), (32, 1, 128), (4, 1, 88200), (16, 1, 88200),
          (4, 1, 44100), (8, 3, 512, 512), (32, 3, 44, 44), (32, 3, 22, 22)]
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
            for shape in SHAPES:
                x, dim = torch.randn(shape, dtype=dtype), len(shape) - 2
                t = interleaved_ms({"conv": _switch(lambda: pyramid_reduce(x, dim), OFF),
                                    "poly": _switch(lambda: pyramid_reduce(x, dim), 1)}, device, reps=args.reps)
                size = " × ".join(f"{n:,}" for n in shape)
                print(f"| REDUCE {size} {str(dtype).removeprefix('torch.')} | {t['conv']:.2f} | "
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
