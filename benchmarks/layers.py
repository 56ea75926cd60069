"""Lifting + group convolution against the limit: plain convolutions with the same expanded
channels (``C·|G|``), forward + backward (training step) and inference.

The plain pair is ``conv2d(C_in → C_out·|G|)`` then ``conv2d(C_out·|G| → C_out·|G|)``: exactly the
convolutions a wavenets layer pair runs once its filter banks are built, so the ratio measures
the whole overhead of equivariance (bank building, indexing, reshapes).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wavenets.groups import Dihedral, Rotation, Trivial
from wavenets.nn import GroupConv, LiftingConv

from ._timing import interleaved_ms, pair_line, peak_mib


class PlainPair(nn.Module):
    def __init__(self, c_in: int, c_mid: int, k: int):
        super().__init__()
        self.a = nn.Conv2d(c_in, c_mid, k, padding=k // 2)
        self.b = nn.Conv2d(c_mid, c_mid, k, padding=k // 2)

    def forward(self, x):
        return self.b(self.a(x))


class GroupPair(nn.Module):
    def __init__(self, group, c_in: int, fields: int, k: int):
        super().__init__()
        self.a = LiftingConv(group, c_in, fields, k, dim=2)
        self.b = GroupConv(group, fields, fields, k, dim=2)

    def forward(self, x):
        return self.b(self.a(x))


def _group(name: str):
    kind, n = name[0], int(name[1:])
    return {"C": Rotation, "D": Dihedral}[kind](n) if n > 1 or kind == "D" else Trivial()


def bench_pair(group_name: str, fields: int, k: int, batch: int, size: int, device: torch.device,
               reps: int, dtype=torch.float32, autocast: bool = False) -> dict:
    group = _group(group_name)
    x = torch.randn(batch, 3, size, size, device=device, dtype=dtype)
    gnet = GroupPair(group, 3, fields, k).to(device, dtype)
    pnet = PlainPair(3, fields * group.order, k).to(device, dtype)
    row = {"group": group_name, "fields": fields, "kernel": k, "batch": batch, "size": size,
           "device": str(device), "autocast_bf16": autocast}

    def step(net):
        def run():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                out = net(x)
            out.float().square().mean().backward()
        return run

    def infer(net):
        def run():
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                net(x)
        return run

    gnet.train(), pnet.train()  # plain and group timed in alternating rounds: drift hits both alike
    t = interleaved_ms({"plain": step(pnet), "group": step(gnet)}, device, reps=reps)
    row["train_plain_ms"], row["train_group_ms"] = t["plain"], t["group"]
    gnet.eval(), pnet.eval()
    t = interleaved_ms({"plain": infer(pnet), "group": infer(gnet)}, device, reps=reps)
    row["eval_plain_ms"], row["eval_group_ms"] = t["plain"], t["group"]
    row["train_ratio"] = row["train_group_ms"] / row["train_plain_ms"]
    row["eval_ratio"] = row["eval_group_ms"] / row["eval_plain_ms"]
    gnet.train(), pnet.train()
    row["train_plain_peak_mib"] = peak_mib(step(pnet), device)
    row["train_group_peak_mib"] = peak_mib(step(gnet), device)
    return row


# sanity: the group pair really runs the same convolutions as the plain pair
def _same_convolutions_check():
    g = GroupPair(Rotation(4), 3, 2, 3)
    x = torch.randn(1, 3, 8, 8)
    bank_a = g.a.filter_banks()[0][0]
    bank_b = g.b.filter_banks()[0][0]
    ref = F.conv2d(F.conv2d(x, bank_a, g.a.bias.repeat_interleave(4), padding=1), bank_b,
                   g.b.bias.repeat_interleave(4), padding=1)
    torch.testing.assert_close(g(x).flatten(1, 2), ref)


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    _same_convolutions_check()
    if quick:
        configs = [("C4", 4, 3, 2, 16, False), ("C8", 4, 5, 2, 16, False)]
    elif device.type == "cpu":
        configs = [(g, f, k, 8, 64, False) for g, f in (("C4", 16), ("C8", 16), ("D4", 16), ("C16", 8))
                   for k in (3, 5, 7)]
        configs += [("C8", 32, 5, 8, 64, False), ("C4", 64, 3, 8, 64, False)]
    else:
        configs = [(g, f, k, 64, 96, False) for g, f in (("C4", 16), ("C8", 16), ("D4", 16), ("C16", 16))
                   for k in (3, 5, 7)]
        configs += [("C8", 32, 5, 64, 96, False), ("C8", 64, 5, 64, 96, False)]
        configs += [(g, f, 5, 64, 96, True) for g, f in (("C4", 20), ("C8", 14), ("C16", 10))]
    reps = reps or (2 if quick else (10 if device.type == "cpu" else 30))
    rows = []
    for g, f, k, b, s, ac in configs:
        row = bench_pair(g, f, k, b, s, device, reps, autocast=ac)
        rows.append(row)
        print(f"{g:>4} fields={f:<3} k={k} bf16={ac!s:<5} {pair_line(row)}", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| group | fields | k | batch | size | bf16 | train plain ms | train group ms | ratio "
            "| eval plain ms | eval group ms | ratio |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['group']} | {r['fields']} | {r['kernel']} | {r['batch']} | {r['size']} | "
            f"{'yes' if r['autocast_bf16'] else 'no'} | {r['train_plain_ms']:.2f} | {r['train_group_ms']:.2f} | "
            f"{r['train_ratio']:.3f} | {r['eval_plain_ms']:.2f} | {r['eval_group_ms']:.2f} | {r['eval_ratio']:.3f} |"
        )
    return "\n".join(lines)
