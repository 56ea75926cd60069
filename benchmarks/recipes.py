"""Whole-model throughput of the recipes: one training step (forward, backward, optimiser) at the
recipe's batch size, on random inputs of the dataset's shape (data loading excluded), and
inference at the evaluation batch size. Items per second (images/s or clips/s)."""
from __future__ import annotations

import torch

from wavenets.models import model_from_config
from wavenets.train import load_recipe

from ._report import markdown_table
from ._timing import median_ms

#: dataset -> (input shape without batch, classes)
SHAPES = {"tissue": ((3, 44, 44), 2), "digits": ((1, 12, 12), 10), "pcam": ((3, 96, 96), 2),
          "sounds": ((1, 8192), 6), "us8k": ((1, 88200), 10), "esc50": ((1, 110250), 50),
          "sc09": ((1, 16384), 10)}
RECIPES = [("tissue_se2_n8", []), ("tissue_cnn", []), ("digits_se2_n8", []), ("digits_cnn", []),
           ("pcam_se2_n8", []), ("pcam_cnn_aug", []), ("sounds_wnet", []), ("sounds_wnet", ["model.multirate=2"]),
           ("sounds_wnet_pyramid_vote", []), ("sounds_wnet_pyramid_vote_voices", []), ("sounds_mnet", []),
           ("sc09_wnet_pyramid", []), ("sc09_wnet_pyramid", ["model.voice_length=own"]),
           ("sc09_wnet_pyramid", ["model.voice_dropout=true"]),
           ("sc09_wnet_pyramid", ["model.input_voices=1"]), ("sc09_mnet", []),
           ("us8k_wnet_m11", []), ("us8k_wnet_m11", ["model.multirate=2"]),
           ("us8k_mnet_m11", [])]


def build(recipe: str, overrides: list[str], device: torch.device, batch: int | None = None):
    """The recipe's model and one training step and one inference call on random inputs of its
    dataset's shape (bf16 autocast on CUDA, as the trainer's ``amp = "auto"``)."""
    cfg = load_recipe(recipe, overrides)
    shape, classes = SHAPES[cfg["data"]["name"]]
    torch.manual_seed(0)
    model = model_from_config(cfg["model"], in_channels=shape[0], num_classes=classes,
                              default_preset=cfg["data"]["name"]).to(device)
    bsz = batch or int(cfg["train"]["batch_size"])
    x = torch.randn(bsz, *shape, device=device)
    y = torch.randint(0, classes, (bsz,), device=device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    amp = device.type == "cuda"

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(x)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(out.float(), y).backward()
        opt.step()

    def infer():
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            model(x)

    return model, step, infer, bsz, shape, amp


def bench(recipe: str, overrides: list[str], device: torch.device, reps: int, batch: int | None = None) -> dict:
    model, step, infer, bsz, shape, amp = build(recipe, overrides, device, batch)
    model.train()
    train_ms = median_ms(step, device, warmup=2, reps=reps)
    model.eval()
    eval_ms = median_ms(infer, device, warmup=2, reps=reps)
    name = recipe + "".join(f" ({o})" for o in overrides)
    return {"recipe": name, "batch": bsz, "params": sum(p.numel() for p in model.parameters()),
            "input": "×".join(map(str, shape)), "train_ms": train_ms, "train_items_s": bsz / train_ms * 1e3,
            "eval_ms": eval_ms, "eval_items_s": bsz / eval_ms * 1e3, "bf16": amp, "device": str(device)}


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    if quick:
        todo = [("digits_se2_n8", []), ("sounds_wnet", ["model.multirate=2"])]
    elif device.type == "cpu":  # the 88,200-sample US8K models take minutes a step on 2 cores: wnet covers them
        todo = [r for r in RECIPES if not r[0].startswith("us8k")]
    else:
        todo = RECIPES
    rows = []
    for recipe, overrides in todo:
        r = bench(recipe, overrides, device, reps or (1 if quick else 5), batch=4 if quick else None)
        rows.append(r)
        print(f"{r['recipe']:<40} train {r['train_items_s']:9.1f}/s   eval {r['eval_items_s']:9.1f}/s", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    return markdown_table([
        ("recipe", lambda r: r["recipe"]),
        ("input", lambda r: str(r["input"])),
        ("params", lambda r: f"{r['params']:,}"),
        ("batch", lambda r: str(r["batch"])),
        ("train step ms", lambda r: f"{r['train_ms']:.1f}"),
        ("train items/s", lambda r: f"{r['train_items_s']:.1f}"),
        ("eval ms", lambda r: f"{r['eval_ms']:.1f}"),
        ("eval items/s", lambda r: f"{r['eval_items_s']:.1f}"),
    ], rows)
