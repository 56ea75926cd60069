"""``wavenets export RUN --format onnx|pt2|torchscript``: a trained run as one file that needs no
wavenets to run.

The run's best checkpoint is loaded, every group convolution is frozen into plain convolutions
(:func:`wavenets.nn.export`), and the frozen model is written as ONNX (opset 18, through
``torch.onnx.export``'s ``torch.export`` path, batch size free), as a ``torch.export`` program
(``.pt2``, batch size free; PyTorch's successor to TorchScript, run with ``torch.export.load(f)
.module()``) or as TorchScript (a trace). The file is then loaded back (ONNX Runtime,
``torch.export.load`` or ``torch.jit.load``) and its outputs compared with the eager model's on
two batch sizes; an export that differs by more than ``tolerance`` is deleted
and reported. Beside it, ``<file>.json`` says what the input must be (shape, sample rate or the
per-channel normalisation) and what the output is (logits, class names).

Every layer exports, the scale-space pyramid included: its content octave, band tests and level
selection are tensor operations (argmax, gather, masks), so the file makes the same per-clip
choices as the eager model. Anti-aliased dense dilation layers (``antialias=True``) are refused
by :func:`wavenets.nn.export` with a clear error.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ._extras import need
from ._io import atomic_open
from .nn import export

__all__ = ["FORMATS", "ExportError", "export_run", "example_input"]

FORMATS = {"onnx": ".onnx", "pt2": ".pt2", "torchscript": ".pt"}
OPSET = 18


class ExportError(RuntimeError):
    """The exported file does not reproduce the eager model (or cannot be written)."""


def example_input(model, cls, cfg: dict, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """A random input of the shape the run was trained on (its task's: ``[B, 1, T]`` clips of the
    run's length for audio, ``[B, C, R, R]`` normalised patches of its training size for images)."""
    from .train._task import task_class

    return task_class(cls).example_input(cls, cfg, model, batch, torch.Generator().manual_seed(seed))


def _input_spec(model, cls, cfg: dict, x: torch.Tensor) -> dict:
    from .train._task import task_class

    return {"name": "input", "shape": ["batch", *x.shape[1:]], "dtype": "float32",
            **task_class(cls).input_spec(cls, cfg)}


def _write_onnx(frozen, x: torch.Tensor, path: Path) -> None:
    need("onnxscript", "export", "ONNX export")
    quiet = logging.getLogger("torch.onnx")  # (it logs every optional op library it does not find)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(frozen, (x,), str(path), dynamo=True, opset_version=OPSET, input_names=["input"],
                              output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim.AUTO}},
                              external_data=False, verbose=False)
    finally:
        quiet.setLevel(level)


def _load_onnx(path: Path) -> Callable[[torch.Tensor], np.ndarray]:
    ort = need("onnxruntime", "export", "checking an ONNX export")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.numpy()})[0]


def _write_pt2(frozen, x: torch.Tensor, path: Path) -> None:
    program = torch.export.export(frozen, (x,), dynamic_shapes={"x": {0: torch.export.Dim.AUTO}}, strict=False)
    with atomic_open(path, "wb") as f:
        torch.export.save(program, f)


def _load_pt2(path: Path) -> Callable[[torch.Tensor], np.ndarray]:
    module = torch.export.load(str(path)).module()

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return module(x).numpy()

    return run


def _write_torchscript(frozen, x: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch deprecates TorchScript for torch.export: the README says so)
        traced = torch.jit.trace(frozen, (x,), check_trace=False)
        with atomic_open(path, "wb") as f:
            torch.jit.save(traced, f)


def _load_torchscript(path: Path) -> Callable[[torch.Tensor], np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PyTorch deprecates TorchScript for torch.export
        warnings.simplefilter("ignore", FutureWarning)  # (the category since torch 2.14)
        scripted = torch.jit.load(str(path)).eval()

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return scripted(x).numpy()

    return run


def export_run(run, fmt: str = "onnx", out: Path | None = None, *, checkpoint: str = "best.pt",
               tolerance: float = 1e-4) -> tuple[Path, float]:
    """Write run ``run`` (a RunDir) as ``fmt`` (``"onnx"``, ``"pt2"`` or ``"torchscript"``) to
    ``out`` (default: ``<run>/model.onnx``, ``model.pt2`` or ``model.pt``) and its input/output
    description beside it (``.json``). Returns ``(path, max |exported − eager|)`` over two batch sizes; raises
    :class:`ExportError` (and leaves no file) when that exceeds ``tolerance``."""
    from .predict import load_model

    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "torchscript" and not hasattr(torch.export.Dim, "AUTO"):  # (torch < 2.6)
        raise ExportError(f"--format {fmt} exports with a free batch size through torch.export's Dim.AUTO, which torch "
                          f"{torch.__version__} lacks (it came with torch 2.6); upgrade torch, or use --format "
                          "torchscript")
    model, cfg, cls, names = load_model(run, checkpoint)
    if getattr(model, "frontend", None) is not None:
        raise ExportError(f"{run.path} holds a {type(model).__name__} whose {model.frontend.kind} front end is computed "
                          "by librosa in numpy, which neither ONNX nor TorchScript can hold; apply it with `wavenets "
                          "predict`, or export the network alone on precomputed features (model.features, model.fc)")
    frozen = export(model).float()
    x = example_input(model, cls, cfg)
    path = Path(out) if out is not None else run.path / f"model{FORMATS[fmt]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial{FORMATS[fmt]}")
    write, load = {"onnx": (_write_onnx, _load_onnx), "pt2": (_write_pt2, _load_pt2),
                   "torchscript": (_write_torchscript, _load_torchscript)}[fmt]
    start = time.perf_counter()
    try:
        try:
            write(frozen, x, tmp)
        except Exception as err:  # the tracer's own report is pages long: its cause's first line, and what to do
            root = err
            while root.__cause__ is not None:
                root = root.__cause__
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(root))  # (no terminal colours)
            first = next((line.strip() for line in text.splitlines() if line.strip()), type(root).__name__)
            other = " or --format ".join(f for f in FORMATS if f != fmt)
            raise ExportError(f"{fmt} could not trace the {type(model).__name__} of {run.path}: {first[:300]}. Nothing "
                              f"was written. Try --format {other}, and please report it with the run's config.json"
                              ) from err
        run_file = load(tmp)
        err = 0.0
        for xb in (x, example_input(model, cls, cfg, batch=3, seed=1)):  # the traced batch and another
            with torch.no_grad():
                ref = model(xb).float().numpy()
            err = max(err, float(np.abs(run_file(xb) - ref).max()))
        if not err <= tolerance:
            raise ExportError(f"the {fmt} export of {run.path} differs from the eager model by {err:.3g} (tolerance "
                              f"{tolerance:g}); nothing was written. Please report it with the run's config.json")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    meta = {"run": str(run.path), "checkpoint": checkpoint, "format": fmt, "opset": OPSET if fmt == "onnx" else None,
            "input": _input_spec(model, cls, cfg, x),
            "output": {"name": "logits", "shape": ["batch", int(cls.num_classes)],
                       "kind": "tag logits (sigmoid)" if getattr(cls, "multilabel", False) else "class logits (softmax)",
                       "classes": names},
            "max_abs_error_vs_eager": err, "torch": torch.__version__, "export_s": round(time.perf_counter() - start, 2)}
    with atomic_open(path.with_suffix(path.suffix + ".json"), "w") as f:
        json.dump(meta, f, indent=2)
    return path, err
