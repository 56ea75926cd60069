"""What wavenets' CPU paths around torch's slow operators save: ``python -m benchmarks.cpu_paths
[--reps 15] [--recipes sc09_mnet,…,pcam_se2_n8] [--warm-heap]`` (CPU).

- The polyphase REDUCE: ``pyramid_reduce`` with an axis of at least
  ``wavenets.nn._blur.POLYPHASE_FROM`` samples runs as a convolution of 16-sample blocks per
  axis (``_reduce_polyphase``) instead of a one-channel convolution at stride 2. Timed alone at
  input pyramids' shapes (audio and images, float32 and float64).
- The window max: ``max_pool1d`` of a tensor that needs a gradient (``wavenets.nn._maxpool``)
  runs torch's plain pool and finds the first maxima in the backward, instead of torch's pool
  with indices. Timed alone, forward and backward, at the recipes' pooled shapes.
- The tiled image max: ``max_pool2d`` without a gradient takes windows that tile the image as
  element-wise maxima of strided views, instead of torch's NCHW pool.
- Then each recipe's network on random inputs of its shape: for audio a training step with
  torch's pool and with the window max, and inference with the stride-2 REDUCE and with the
  polyphase one; for images inference with torch's pool and the tiled max (the path switched
  between rounds, the same model and input).

Every pair is timed in interleaved rounds. Prints ms and the ratio (fast path / torch's)."""
from __future__ import annotations

import argparse

import torch

from wavenets.nn import _blur, _maxpool, pyramid_reduce

from ._timing import WARM_HEAP_HELP, heap_state, interleaved_ms, restart_with_warm_heap
from .recipes import build

#: input shapes: the recipes' audio levels (SC09, the sounds, US8K at 88,200 and its next octave, the
#: short levels), and images (a large one, the tissue patches' 44² and their next octave)
SHAPES = [(32, 1, 16384), (32, 1, 8192), (32, 1, 4096), (32, 1, 1024), (32, 1, 128), (4, 1, 88200), (16, 1, 88200),
          (4, 1, 44100), (8, 3, 512, 512), (32, 3, 44, 44), (32, 3, 22, 22)]
#: pooled shapes: a two-voice SC09 batch's first levels, an M-Net's first pool, US8K's at 4 × 88,200
POOLS = [(64, 28, 4096), (64, 28, 1023), (32, 28, 4096), (32, 28, 1024), (4, 128, 22050)]
#: pooled images: the tissue recipes' first pools (C8 fields × channels), PCam's
IMAGE_POOLS = [(32, 96, 36, 36), (32, 96, 14, 14), (32, 128, 84, 84)]
OFF = 10**12  # a REDUCE threshold no length reaches: the stride-2 convolution everywhere


def _row(what: str, t: dict, a: str, b: str, digits: int = 2) -> None:
    print(f"| {what} | {t[a]:.{digits}f} | {t[b]:.{digits}f} | {t[b] / t[a]:.2f} |", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu_paths", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--recipes", default="sc09_mnet,sc09_wnet_pyramid,sounds_mnet,sounds_wnet_pyramid,"
                        "tissue_se2_n8,tissue_cnn,pcam_se2_n8")
    parser.add_argument("--warm-heap", action="store_true", help=WARM_HEAP_HELP)
    args = parser.parse_args(argv)
    if args.warm_heap:
        restart_with_warm_heap("benchmarks.cpu_paths", argv)
    device, threshold = torch.device("cpu"), _blur.POLYPHASE_FROM

    def reduce_at(value: int, fn):
        def run():
            _blur.POLYPHASE_FROM = value
            fn()
        return run

    def pools(fast: bool, fn):
        def run():
            _maxpool.FAST_POOLS = fast
            fn()
        return run

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {heap_state()} heap")
    print("| what | torch's path ms | fast path ms | ratio |")
    print("|---|---|---|---|")
    try:
        for dtype in (torch.float32, torch.float64):
            for shape in SHAPES:
                x, dim = torch.randn(shape, dtype=dtype), len(shape) - 2
                t = interleaved_ms({"conv": reduce_at(OFF, lambda: pyramid_reduce(x, dim)),
                                    "poly": reduce_at(1, lambda: pyramid_reduce(x, dim))}, device, reps=args.reps)
                size = " × ".join(f"{n:,}" for n in shape)
                _row(f"REDUCE {size} {str(dtype).removeprefix('torch.')}", t, "conv", "poly")
        for shape in POOLS:
            x = torch.randn(shape).relu().requires_grad_()
            g = torch.randn(*shape[:-1], -(-shape[-1] // 4))

            def step():
                _maxpool.max_pool1d(x, 4, ceil_mode=True).backward(g)
                x.grad = None

            t = interleaved_ms({"index": pools(False, step), "window": pools(True, step)}, device, reps=args.reps)
            _row(f"max pool of 4, forward + backward, {' × '.join(f'{n:,}' for n in shape)}", t, "index", "window")
        for shape in IMAGE_POOLS:
            x = torch.randn(shape).relu()

            def pool():
                with torch.no_grad():
                    _maxpool.max_pool2d(x, 2)

            t = interleaved_ms({"torch": pools(False, pool), "tiled": pools(True, pool)}, device, reps=args.reps)
            _row(f"image max pool of 2 × 2, no gradient, {' × '.join(f'{n:,}' for n in shape)}", t, "torch", "tiled")
        for recipe in filter(None, args.recipes.split(",")):
            model, step, infer, batch, shape, _ = build(recipe, [], device)
            size = " × ".join(f"{n:,}" for n in shape)
            if len(shape) == 2:  # audio: the window max in training, the REDUCE at inference
                model.train()
                t = interleaved_ms({"index": pools(False, step), "window": pools(True, step)}, device, warmup=2,
                                   reps=max(3, args.reps // 2))
                _row(f"{recipe} training step, batch {batch} × {size} (window max)", t, "index", "window", 1)
                model.eval()
                t = interleaved_ms({"conv": reduce_at(OFF, infer), "poly": reduce_at(threshold, infer)}, device,
                                   reps=args.reps)
                _row(f"{recipe} inference (polyphase REDUCE)", t, "conv", "poly", 1)
            else:  # images: the tiled max at inference
                model.eval()
                t = interleaved_ms({"torch": pools(False, infer), "tiled": pools(True, infer)}, device, reps=args.reps)
                _row(f"{recipe} inference, batch {batch} × {size} (tiled image max)", t, "torch", "tiled", 1)
    finally:
        _blur.POLYPHASE_FROM, _maxpool.FAST_POOLS = threshold, True
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
