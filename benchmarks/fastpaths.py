"""Fast paths of a 2D C8 lifting + group-conv pair, each against the plain-conv pair under the
same setting: float32 (default), channels_last, bf16 autocast, torch.compile, and the eval-mode
filter-bank cache (cached vs rebuilt on every call)."""
from __future__ import annotations

import torch

from .layers import GroupPair, PlainPair, _group
from ._report import markdown_table
from ._timing import interleaved_ms, pair_line


def _fns(net, x, *, autocast: bool = False):
    """(training step, inference call) of ``net`` on ``x``."""
    def step():
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            out = net(x)
        out.float().square().mean().backward()

    def infer():
        with torch.inference_mode(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            net(x)

    return step, infer


def run(device: torch.device, quick: bool, reps: int | None, group: str = "C8") -> list[dict]:
    fields, k, batch, size = (4, 3, 2, 16) if quick else ((16, 5, 8, 64) if device.type == "cpu" else (16, 5, 64, 96))
    reps = reps or (1 if quick else 10)
    g = _group(group)
    settings = ["float32", "channels_last", "bf16 autocast", "eval cache off"]
    if device.type == "cpu" and not quick:  # CPU bf16 convolutions without AMX are emulated: minutes, no information
        settings.remove("bf16 autocast")
    if not quick:
        settings.append("torch.compile")
    rows = []
    for setting in settings:
        torch.manual_seed(0)
        gnet = GroupPair(g, 3, fields, k).to(device)
        pnet = PlainPair(3, fields * g.order, k).to(device)
        x = torch.randn(batch, 3, size, size, device=device)
        ac = setting == "bf16 autocast"
        if setting == "channels_last":
            x = x.contiguous(memory_format=torch.channels_last)
            for net in (gnet, pnet):  # 4D weights only: a group conv's own weight is 5D
                for p in net.parameters():
                    if p.dim() == 4:
                        p.data = p.data.contiguous(memory_format=torch.channels_last)
        if setting == "torch.compile":
            gnet, pnet = torch.compile(gnet), torch.compile(pnet)
        row = {"setting": setting, "group": group, "fields": fields, "kernel": k, "batch": batch, "size": size}
        (p_step, p_infer), (g_step, g_infer) = _fns(pnet, x, autocast=ac), _fns(gnet, x, autocast=ac)
        if setting == "eval cache off":
            # eval-mode forward that must rebuild the banks each call (grad enabled, as in a
            # validation loop without no_grad): the cost the cache removes
            def g_infer():
                gnet(x)
        pnet.train(), gnet.train()  # plain and group timed in alternating rounds: drift hits both alike
        t = interleaved_ms({"plain": p_step, "group": g_step}, device, warmup=3, reps=reps)
        pnet.eval(), gnet.eval()
        e = interleaved_ms({"plain": p_infer, "group": g_infer}, device, warmup=3, reps=reps)
        row |= {"train_plain_ms": t["plain"], "train_group_ms": t["group"],
                "eval_plain_ms": e["plain"], "eval_group_ms": e["group"]}
        row["train_ratio"] = row["train_group_ms"] / row["train_plain_ms"]
        row["eval_ratio"] = row["eval_group_ms"] / row["eval_plain_ms"]
        rows.append(row)
        print(f"{setting:<15} {pair_line(row)}", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    r0 = rows[0]
    caption = [f"{r0['group']}, {r0['fields']} fields, {r0['kernel']}×{r0['kernel']}, batch {r0['batch']}, "
               f"{r0['size']}×{r0['size']}; each ratio against the plain pair under the same setting.", ""]
    return markdown_table([
        ("setting", lambda r: r["setting"]),
        ("train plain ms", lambda r: f"{r['train_plain_ms']:.2f}"),
        ("train group ms", lambda r: f"{r['train_group_ms']:.2f}"),
        ("ratio", lambda r: f"{r['train_ratio']:.3f}"),
        ("eval plain ms", lambda r: f"{r['eval_plain_ms']:.2f}"),
        ("eval group ms", lambda r: f"{r['eval_group_ms']:.2f}"),
        ("ratio", lambda r: f"{r['eval_ratio']:.3f}"),
    ], rows, caption)
