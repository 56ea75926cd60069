"""Exported inference (``wavenets export``) against the eager eval-mode model, on CPU.

Per model: the eager model in eval mode (``no_grad``, filter banks cached), the same model with
its group convolutions frozen into plain convolutions (:func:`wavenets.nn.export`), the ONNX file
in ONNX Runtime (CPU provider, as many intra-op threads as torch uses, no spin-waiting between
calls), the ``torch.export`` program (``.pt2``, loaded back and run as its module) and the
TorchScript trace, timed in alternating rounds. Also the export's wall time and its largest difference from the
eager model. Models: the tissue SE(2) net (C8, the recipe's widths) on a batch of patches, the
published W-Net M11 (dense layout), the pyramid W-Net of ``sounds_wnet_pyramid_vote`` and the
M-Net M11.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from wavenets.deploy import _write_onnx, _write_pt2, _write_torchscript
from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet, model_from_config
from wavenets.nn import export
from wavenets.train import load_recipe

from ._report import markdown_table
from ._timing import interleaved_ms


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


def _models(quick: bool) -> list[tuple[str, torch.nn.Module, tuple]]:
    torch.manual_seed(0)
    se2_cfg = load_recipe("tissue_se2_n8")["model"]
    vote_cfg = load_recipe("sounds_wnet_pyramid_vote")["model"]
    if quick:
        se2_cfg, vote_cfg = {**se2_cfg, "width": 2}, {**vote_cfg, "width": 4, "order": 5, "anchor_levels": 5}
        return [("SE(2) C8 tissue", model_from_config(se2_cfg, in_channels=3, num_classes=2, default_preset="tissue"),
                 (4, 3, 44, 44)),
                ("W-Net pyramid vote", model_from_config(vote_cfg, in_channels=1, num_classes=6), (2, 1, 2048))]
    return [("SE(2) C8 tissue", model_from_config(se2_cfg, in_channels=3, num_classes=2, default_preset="tissue"),
             (64, 3, 44, 44)),
            ("W-Net M11 dense", MNet(Dilation(9), "m11", 10), (4, 1, 32000)),
            ("W-Net pyramid vote (sounds)", model_from_config(vote_cfg, in_channels=1, num_classes=6), (32, 1, 8192)),
            ("M-Net M11", MNet(Trivial(), "m11", 10), (4, 1, 32000))]


def run(device: torch.device, quick: bool, reps: int | None) -> list[dict]:
    if device.type != "cpu":
        print("skipped: exported inference is measured on CPU (ONNX Runtime's CPU provider)")
        return []
    if not available():
        print("skipped: needs pip install 'wavenets[export]' (onnxruntime, onnxscript)")
        return []
    import onnxruntime as ort

    reps = reps or (1 if quick else 10)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, shape in _models(quick):
            model.eval()
            x = torch.randn(*shape)
            frozen = export(model)
            t0 = time.perf_counter()
            _write_onnx(frozen, x[:2], Path(tmp) / "m.onnx")
            onnx_s = time.perf_counter() - t0
            _write_torchscript(frozen, x[:2], Path(tmp) / "m.pt")
            _write_pt2(frozen, x[:2], Path(tmp) / "m.pt2")
            program = torch.export.load(str(Path(tmp) / "m.pt2")).module()
            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            # ORT's pool spins after each run by default, taking the cores from the torch calls timed next
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(str(Path(tmp) / "m.onnx"), options, providers=["CPUExecutionProvider"])
            scripted = torch.jit.load(str(Path(tmp) / "m.pt")).eval()
            feed = {session.get_inputs()[0].name: x.numpy()}
            with torch.no_grad():
                ref = model(x).numpy()
                err = max(float(np.abs(session.run(None, feed)[0] - ref).max()),
                          float(np.abs(scripted(x).numpy() - ref).max()), float(np.abs(program(x).numpy() - ref).max()))

            def eager(m):
                def fn():
                    with torch.no_grad():
                        m(x)
                return fn

            ms = interleaved_ms({"eager": eager(model), "frozen": eager(frozen), "onnx": lambda: session.run(None, feed),
                                 "pt2": eager(program), "torchscript": eager(scripted)}, device, warmup=1 if quick else 3, reps=reps)
            row = {"model": name, "input": list(shape), "export_onnx_s": round(onnx_s, 1), "max_abs_error": err,
                   **{f"{k}_ms": v for k, v in ms.items()},
                   **{f"{k}_ratio": ms[k] / ms["eager"] for k in ("frozen", "onnx", "pt2", "torchscript")}}
            print(f"{name:30s} eager {ms['eager']:8.1f} ms  frozen {row['frozen_ratio']:.2f}x  onnx "
                  f"{row['onnx_ratio']:.2f}x  pt2 {row['pt2_ratio']:.2f}x  torchscript {row['torchscript_ratio']:.2f}x  (err {err:.1e}, onnx export "
                  f"{onnx_s:.0f} s)", flush=True)
            rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    return markdown_table([
        ("model", lambda r: r["model"]),
        ("input", lambda r: "×".join(map(str, r["input"]))),
        ("eager ms", lambda r: f"{r['eager_ms']:.1f}"),
        ("frozen", lambda r: f"{r['frozen_ratio']:.2f}×"),
        ("ONNX Runtime", lambda r: f"{r['onnx_ratio']:.2f}×"),
        ("torch.export (.pt2)", lambda r: f"{r['pt2_ratio']:.2f}×" if "pt2_ratio" in r else "–"),
        ("TorchScript", lambda r: f"{r['torchscript_ratio']:.2f}×"),
        ("max abs error", lambda r: f"{r['max_abs_error']:.1e}"),
        ("ONNX export s", lambda r: f"{r['export_onnx_s']:.0f}"),
    ], rows)
