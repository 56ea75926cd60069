"""`wavenets export`: a trained SE(2) net, a pyramid W-Net and a magnification pyramid as ONNX
(checked with ONNX Runtime), torch.export programs and TorchScript, outputs equal to the eager
model's within 1e-4, and what happens when an export does not reproduce the model."""
import json

import numpy as np
import pytest
import torch

from wavenets.cli import main
from wavenets.predict import load_model
from wavenets.train import RunDir

ort = pytest.importorskip("onnxruntime", reason="ONNX export needs pip install 'wavenets[export]'")


@pytest.fixture(scope="module")
def se2_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "tissue_se2_n8", "--set", "train.epochs=1", "--set", "model.width=4", "--set",
                 "data.fraction=0.2", "-q", "--runs-dir", str(runs)]) == 0
    return runs / "tissue_se2_n8"


@pytest.fixture(scope="module")
def wnet_run(tmp_path_factory):
    """The pyramid W-Net read by its vote of levels (content octave above each band's floor: frame
    quantiles by sort and gather; band tests, per-clip gathers), weighted by each level's confidence
    (softmax entropies), over two input voices (a band-limited FFT resampling of the clip inside the
    model), every clip moved to its onset (per-clip gathers)."""
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "sounds_wnet_pyramid_vote", "--set", "train.epochs=1", "--set", "model.width=4", "--set",
                 "model.order=5", "--set", "model.anchor_levels=5", "--set", "model.anchor_floor=0.25",
                 "--set", "model.vote=confidence",
                 "--set", "model.input_voices=2", "--set", "model.align=onset", "--set", "data.fraction=0.2", "-q",
                 "--runs-dir", str(runs)]) == 0
    return runs / "sounds_wnet_pyramid_vote"


def _onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


def test_se2_net_exports_to_onnx(se2_run, tmp_path, capsys):
    from skimage.data import immunohistochemistry

    from wavenets.data import normalize

    out = tmp_path / "se2.onnx"
    assert main(["export", str(se2_run), "--out", str(out)]) == 0
    assert "max |exported - eager|" in capsys.readouterr().out
    model, _, cls, _ = load_model(RunDir.at(se2_run))
    ihc = immunohistochemistry()
    r = model.input_size
    patches = np.stack([ihc[i:i + r, j:j + r] for i, j in ((0, 0), (100, 300), (400, 50))])
    x = normalize(torch.from_numpy(patches.transpose(0, 3, 1, 2).copy()), cls.mean, cls.std).float()
    with torch.no_grad():
        ref = model(x).numpy()
    assert np.abs(_onnx(out, x) - ref).max() <= 1e-4  # real tissue patches, a batch size the export never saw
    meta = json.loads((tmp_path / "se2.onnx.json").read_text())
    assert meta["input"]["shape"] == ["batch", 3, r, r] and len(meta["input"]["mean"]) == 3
    assert meta["output"]["shape"] == ["batch", 2] and meta["max_abs_error_vs_eager"] <= 1e-4
    assert not list(tmp_path.glob(".*"))  # no temporary left


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")  # torch.jit.load (2.14)
def test_pyramid_wnet_exports_to_onnx_and_torchscript(wnet_run, tmp_path):
    from wavenets.data import SyntheticSounds, time_stretch

    model, _, _, _ = load_model(RunDir.at(wnet_run))
    clips = torch.as_tensor(np.asarray(SyntheticSounds("test").waves[:5]))
    x = torch.cat([clips, time_stretch(clips[:2], 0.5), time_stretch(clips[2:4], 2.0)])  # anchors move per clip
    with torch.no_grad():
        ref = model(x).numpy()
    assert main(["export", str(wnet_run), "--out", str(tmp_path / "w.onnx")]) == 0
    assert np.abs(_onnx(tmp_path / "w.onnx", x) - ref).max() <= 1e-4
    assert main(["export", str(wnet_run), "--format", "torchscript"]) == 0  # default: inside the run folder
    scripted = torch.jit.load(str(wnet_run / "model.pt"))
    with torch.no_grad():
        assert np.abs(scripted(x).numpy() - ref).max() <= 1e-4
    meta = json.loads((wnet_run / "model.pt.json").read_text())
    assert meta["input"]["sample_rate"] == 8000 and meta["output"]["classes"][0] == "sine"
    assert main(["export", str(wnet_run), "--format", "pt2"]) == 0
    program = torch.export.load(str(wnet_run / "model.pt2")).module()
    with torch.no_grad():
        assert np.abs(program(x).numpy() - ref).max() <= 1e-4
    assert json.loads((wnet_run / "model.pt2.json").read_text())["format"] == "pt2"


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")  # torch.jit.load (2.14)
def test_a_magnification_pyramid_exports(tmp_path):
    """A patch classifier that is not fully convolutional (roto-scale pyramid, two input voices:
    a magnified copy of the patch inside the model) as ONNX and TorchScript, both checked on
    tissue patches at a batch size the export never saw (the copy's blur and grid once depended
    on the batch, which a trace fixes)."""
    from skimage.data import immunohistochemistry

    from wavenets.data import TissueZoom, normalize

    runs = tmp_path / "runs"
    assert main(["train", "tissue_zoom_scale_iv2_ld", "--set", "train.epochs=1", "--set", "model.group=rotation",
                 "--set", "model.order=4", "--set", "model.scales=2", "--set", "model.width=4", "--set",
                 "data.fraction=0.1", "-q", "--runs-dir", str(runs)]) == 0
    run = runs / "tissue_zoom_scale_iv2_ld"
    model, _, cls, _ = load_model(RunDir.at(run))
    ihc = immunohistochemistry()
    s = TissueZoom.zoom_size
    patches = np.stack([ihc[i:i + s, j:j + s] for i, j in ((0, 0), (100, 300), (400, 50), (250, 250), (7, 470))])
    x = normalize(torch.from_numpy(patches.transpose(0, 3, 1, 2).copy()), cls.mean, cls.std).float()
    with torch.no_grad():
        ref = model(x).numpy()
    assert main(["export", str(run), "--out", str(tmp_path / "z.onnx")]) == 0
    assert np.abs(_onnx(tmp_path / "z.onnx", x) - ref).max() <= 1e-4
    assert json.loads((tmp_path / "z.onnx.json").read_text())["input"]["shape"] == ["batch", 3, s, s]
    assert main(["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "z.pt")]) == 0
    with torch.no_grad():
        assert np.abs(torch.jit.load(str(tmp_path / "z.pt"))(x).numpy() - ref).max() <= 1e-4
    assert main(["export", str(run), "--format", "pt2", "--out", str(tmp_path / "z.pt2")]) == 0
    with torch.no_grad():
        assert np.abs(torch.export.load(str(tmp_path / "z.pt2")).module()(x).numpy() - ref).max() <= 1e-4


def test_export_in_a_new_process(wnet_run, tmp_path):
    """``wavenets export`` as a user runs it: in a new process, whose first model call is the
    export's trace (the tests above ran the model first, in this one)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "wavenets.cli", "export", str(wnet_run), "--out", str(tmp_path / "w.onnx")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "w.onnx.json").read_text())["max_abs_error_vs_eager"] <= 1e-4
    # a torch.export program runs where wavenets cannot even be imported
    assert main(["export", str(wnet_run), "--format", "pt2", "--out", str(tmp_path / "w.pt2")]) == 0
    x = torch.randn(3, 1, 8192)
    torch.save(x, tmp_path / "x.pt")
    script = ("import sys; sys.modules['wavenets'] = None\nimport torch\n"
              f"m = torch.export.load({str(tmp_path / 'w.pt2')!r}).module()\n"
              f"torch.save(m(torch.load({str(tmp_path / 'x.pt')!r})).detach(), {str(tmp_path / 'y.pt')!r})")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    model, _, _, _ = load_model(RunDir.at(wnet_run))
    with torch.no_grad():
        assert (torch.load(tmp_path / "y.pt") - model(x)).abs().max() <= 1e-4


def test_an_export_that_differs_from_the_model_is_refused(wnet_run, tmp_path, monkeypatch, capsys):
    import wavenets.deploy as deploy

    monkeypatch.setattr(deploy, "_load_torchscript", lambda path: lambda x: np.zeros((len(x), 6), np.float32) + 5)
    out = tmp_path / "bad.pt"
    assert main(["export", str(wnet_run), "--format", "torchscript", "--out", str(out)]) == 2
    assert "differs from the eager model" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())
    assert main(["export", str(tmp_path / "no_such_run")]) == 2
    assert "config.json not found" in capsys.readouterr().err

    def untraceable(frozen, x, path):
        path.write_bytes(b"half a file")
        try:
            raise RuntimeError("Could not guard on data-dependent expression Eq(u0, 1)\n(pages of trace)")
        except RuntimeError as cause:
            raise ValueError("\x1b[96mFailed to export the model with torch.export.\x1b[0m") from cause

    monkeypatch.setattr(deploy, "_write_onnx", untraceable)
    assert main(["export", str(wnet_run), "--out", str(tmp_path / "u.onnx")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "onnx could not trace the MNet" in last and "Could not guard on data-dependent expression" in last
    assert "Try --format pt2 or --format torchscript" in last and "pages of trace" not in last and "\x1b" not in last
    assert not list(tmp_path.iterdir())

    class OldDim:  # torch < 2.6: no Dim.AUTO, so no free batch size for onnx and pt2
        pass

    monkeypatch.setattr(torch.export, "Dim", OldDim)
    for fmt in ("onnx", "pt2"):
        assert main(["export", str(wnet_run), "--format", fmt, "--out", str(tmp_path / f"o.{fmt}")]) == 2
        assert "lacks (it came with torch 2.6); upgrade torch, or use --format torchscript" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
