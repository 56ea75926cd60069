"""What packing the short octave levels into one call saves: ``python -m benchmarks.pack_levels
[--archs m5,m11,m34res,samplecnn] [--reps 8] [--length N] [--device cpu] [--warm-heap]``.

For each pyramid W-Net (from the input rate and with ``start=1``), one training step and one
inference, timed in interleaved rounds with the M-Net, with ``wavenets.nn._pack.PACK_BELOW`` at
its default (levels of at most that many samples run as one convolution, one EXPAND) and at 0
(one call per level, the layout before packing); inference also with the levels kept packed
from block to block (``_pack.KEEP_PACKED``, eval mode only; "packed" rows have it off). Prints ms
and the ratio to the M-Net."""
from __future__ import annotations

import argparse

import torch

from wavenets.nn import _pack

from ._timing import WARM_HEAP_HELP, heap_state, interleaved_ms, restart_with_warm_heap
from .pyramid import _models


def bench(arch: str, device: torch.device, reps: int, length: int | None = None) -> list[dict]:
    torch.manual_seed(0)
    batch, length = (2, length or 59049) if arch == "samplecnn" else (4, length or 88200)
    x = torch.randn(batch, 1, length, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    default = _pack.PACK_BELOW
    train, infer = {}, {}
    for tag, model in _models(arch).items():
        model = model.to(device)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        for below in ((0,) if tag == "mnet" else (default, 0)):
            name = tag if tag == "mnet" else f"{tag}, {'packed' if below else 'per level'}"

            def step(model=model, opt=opt, below=below):
                _pack.PACK_BELOW = below
                model.train()
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(model(x)[:, :10], y).backward()
                opt.step()

            def predict(model=model, below=below, keep=False):
                _pack.PACK_BELOW, _pack.KEEP_PACKED = below, keep
                model.eval()
                with torch.no_grad():
                    model(x)

            train[name], infer[name] = step, predict
            if tag != "mnet" and below:  # eval only: the levels kept packed from block to block
                infer[f"{tag}, kept packed"] = lambda predict=predict: predict(keep=True)
    try:
        t = interleaved_ms(train, device, warmup=1, reps=reps)
        i = interleaved_ms(infer, device, warmup=1, reps=reps)
    finally:
        _pack.PACK_BELOW, _pack.KEEP_PACKED = default, True
    return [{"arch": arch, "model": k, "train_ms": t.get(k), "train_ratio": t[k] / t["mnet"] if k in t else None,
             "infer_ms": i[k], "infer_ratio": i[k] / i["mnet"]} for k in i]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pack_levels", description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="m5,m11,m34res,samplecnn")
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--length", type=int, default=None, help="samples per clip (default: 88,200; SampleCNN 59,049)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warm-heap", action="store_true", help=WARM_HEAP_HELP)
    args = parser.parse_args(argv)
    if args.warm_heap:
        restart_with_warm_heap("benchmarks.pack_levels", argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {heap_state()} heap")
    print("| pair | model | train ms | train / M-Net | infer ms | infer / M-Net |")
    print("|---|---|---|---|---|---|")
    for arch in args.archs.split(","):
        for r in bench(arch, torch.device(args.device), args.reps, args.length):
            train = "– | –" if r["train_ms"] is None else f"{r['train_ms']:.1f} | {r['train_ratio']:.2f}"
            print(f"| {r['arch']} | {r['model']} | {train} | {r['infer_ms']:.1f} | {r['infer_ratio']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
