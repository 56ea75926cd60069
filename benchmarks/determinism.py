"""What ``train.deterministic = true`` costs: one training step of the recipes with
``torch.use_deterministic_algorithms(True)`` (and cuDNN autotuning off, as the trainer sets it)
against the default kernels, timed in alternating rounds. On CPU the default path is already
deterministic (the ratio shows the flag's bookkeeping only); on CUDA it swaps in deterministic
kernels (cuDNN, scatter/index backward) and cuBLAS's fixed workspace."""
from __future__ import annotations

import os

import torch

from ._report import markdown_table
from ._timing import interleaved_ms
from .recipes import build

RECIPES = [("tissue_se2_n8", []), ("pcam_se2_n8", []), ("pcam_cnn_aug", []), ("sounds_wnet_pyramid_max", []),
           ("us8k_wnet_m11", []), ("us8k_mnet_m11", [])]


def _flagged(fn, on: bool):
    def call():
        torch.use_deterministic_algorithms(on)
        try:
            fn()
        finally:
            torch.use_deterministic_algorithms(False)
    return call


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what the trainer sets before the first GEMM
    if quick:
        todo = [("digits_se2_n8", [])]
    elif device.type == "cpu":  # the 88,200-sample US8K models take minutes a step on 2 cores
        todo = [r for r in RECIPES if not r[0].startswith("us8k")]
    else:
        todo = RECIPES
    autotune = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    rows = []
    try:
        for recipe, overrides in todo:
            model, step, _, bsz, shape, amp = build(recipe, overrides, device, batch=4 if quick else None)
            model.train()
            ms = interleaved_ms({"default": _flagged(step, False), "deterministic": _flagged(step, True)}, device,
                                warmup=2, reps=reps or (1 if quick else 5 if device.type == "cpu" else 20))
            rows.append({"recipe": recipe, "batch": bsz, "input": "×".join(map(str, shape)), "bf16": amp,
                         "default_ms": ms["default"], "deterministic_ms": ms["deterministic"],
                         "ratio": ms["deterministic"] / ms["default"], "device": str(device)})
            print(f"{recipe:<28} default {ms['default']:8.1f} ms   deterministic {ms['deterministic']:8.1f} ms = "
                  f"{rows[-1]['ratio']:.2f}×", flush=True)
    finally:
        torch.backends.cudnn.benchmark = autotune
    return rows


def table(rows: list[dict]) -> str:
    return markdown_table([
        ("recipe", lambda r: r["recipe"]),
        ("input", lambda r: str(r["input"])),
        ("batch", lambda r: str(r["batch"])),
        ("bf16", lambda r: str(r["bf16"])),
        ("default step ms", lambda r: f"{r['default_ms']:.1f}"),
        ("deterministic step ms", lambda r: f"{r['deterministic_ms']:.1f}"),
        ("× default", lambda r: f"{r['ratio']:.2f}"),
    ], rows)
