"""e2cnn's R2Conv as a peer (optional: ``pip install e2cnn``; skipped when it is missing).

The same C8 lifting + group-conv pair (3 trivial channels → 16 regular fields → 16 regular
fields) in e2cnn and in wavenets, each against the plain-conv limit of the same run. e2cnn's
eval mode caches its expanded filter, as wavenets does."""
from __future__ import annotations

import torch

from wavenets.groups import Rotation

from .layers import GroupPair, PlainPair
from ._timing import interleaved_ms


def _e2cnn_pair(n: int, fields: int, k: int):
    from e2cnn import gspaces
    from e2cnn import nn as enn

    space = gspaces.Rot2dOnR2(N=n)
    t_in = enn.FieldType(space, 3 * [space.trivial_repr])
    t_mid = enn.FieldType(space, fields * [space.regular_repr])
    net = enn.SequentialModule(enn.R2Conv(t_in, t_mid, k, padding=k // 2),
                               enn.R2Conv(t_mid, t_mid, k, padding=k // 2))
    return net, t_in


def available() -> bool:
    try:
        import e2cnn  # noqa: F401
    except ImportError:
        return False
    return True


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    if not available():
        print("e2cnn is not installed (pip install e2cnn): peer comparison skipped")
        return []
    n, fields, k, batch, size = (4, 4, 3, 2, 16) if quick else ((8, 16, 5, 8, 64) if device.type == "cpu"
                                                             else (8, 16, 5, 64, 96))
    reps = reps or (1 if quick else 10)
    torch.manual_seed(0)
    x = torch.randn(batch, 3, size, size, device=device)
    e2, t_in = _e2cnn_pair(n, fields, k)
    nets = {"plain": PlainPair(3, fields * n, k), "wavenets": GroupPair(Rotation(n), 3, fields, k), "e2cnn": e2}
    row = {"group": f"C{n}", "fields": fields, "kernel": k, "batch": batch, "size": size}
    steps, infers = {}, {}
    for tag, net in nets.items():
        net = nets[tag] = net.to(device)
        if tag == "e2cnn":
            from e2cnn.nn import GeometricTensor

            def inp():
                return GeometricTensor(x, t_in)
        else:
            def inp():
                return x
        out = (lambda y: y.tensor) if tag == "e2cnn" else (lambda y: y)

        def step(net=net, inp=inp, out=out):
            out(net(inp())).square().mean().backward()

        def infer(net=net, inp=inp):
            with torch.no_grad():
                net(inp())

        steps[tag], infers[tag] = step, infer
    for net in nets.values():  # the three timed in alternating rounds: drift hits all alike
        net.train()
    row |= {f"train_{tag}_ms": ms for tag, ms in interleaved_ms(steps, device, warmup=2, reps=reps).items()}
    for net in nets.values():
        net.eval()
    row |= {f"eval_{tag}_ms": ms for tag, ms in interleaved_ms(infers, device, warmup=2, reps=reps).items()}
    for tag in ("wavenets", "e2cnn"):
        row[f"train_{tag}_ratio"] = row[f"train_{tag}_ms"] / row["train_plain_ms"]
        row[f"eval_{tag}_ratio"] = row[f"eval_{tag}_ms"] / row["eval_plain_ms"]
    print(f"C{n}: train wavenets {row['train_wavenets_ratio']:.3f}×, e2cnn {row['train_e2cnn_ratio']:.3f}× | eval "
          f"wavenets {row['eval_wavenets_ratio']:.3f}×, e2cnn {row['eval_e2cnn_ratio']:.3f}× the plain pair", flush=True)
    return [row]


def table(rows: list[dict]) -> str:
    if not rows:
        return "e2cnn not installed: no peer rows."
    lines = ["| pair | train plain ms | wavenets ms (ratio) | e2cnn ms (ratio) | eval plain ms | wavenets ms (ratio) "
             "| e2cnn ms (ratio) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['group']}, {r['fields']} fields, k={r['kernel']}, {r['batch']}×{r['size']}² | "
            f"{r['train_plain_ms']:.2f} | {r['train_wavenets_ms']:.2f} ({r['train_wavenets_ratio']:.3f}) | "
            f"{r['train_e2cnn_ms']:.2f} ({r['train_e2cnn_ratio']:.3f}) | {r['eval_plain_ms']:.2f} | "
            f"{r['eval_wavenets_ms']:.2f} ({r['eval_wavenets_ratio']:.3f}) | "
            f"{r['eval_e2cnn_ms']:.2f} ({r['eval_e2cnn_ratio']:.3f}) |")
    return "\n".join(lines)
