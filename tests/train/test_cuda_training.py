"""Training on a CUDA GPU: deterministic mode gives identical weights run after run and after a
resume, every model family trains under it, and the image scale G-CNNs match the CPU and keep
their exact symmetries there. Skipped without a GPU (CI has none; run them on a GPU machine)."""
import json

import pytest
import torch

from wavenets.groups import Dilation, Rotation
from wavenets.models import PyramidPatchNet
from wavenets.nn import pyramid_reduce
from wavenets.train import DEFAULTS, Trainer
from wavenets.train._config import _merge

from ._kill import killed_and_resumed

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CUDA = torch.device("cuda")
C8 = _merge(DEFAULTS, {"name": "c8", "data": {"name": "digits", "fraction": 0.5}, "model": {"name": "se2net", "group": "rotation",
            "order": 8, "width": 4}, "train": {"epochs": 2, "batch_size": 64, "seed": 2, "deterministic": True},
            "augment": {"rotate": True}})


def _state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


@pytest.fixture(autouse=True)
def _deterministic_off_after():
    yield
    torch.use_deterministic_algorithms(False)


def test_two_deterministic_cuda_runs_end_with_identical_weights(tmp_path):
    for name in ("a", "b"):
        Trainer(C8, tmp_path / name, device=CUDA, quiet=True).fit()
    a, b = _state(tmp_path / "a" / "last.pt"), _state(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_deterministic_cuda_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path):
    a, b = killed_and_resumed(_merge(C8, {"train": {"epochs": 3}}), tmp_path, "cuda")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("family", ["c8", "pyramid_patchnet", "pyramid_wnet"])
def test_deterministic_mode_trains_every_model_family_on_cuda(tmp_path, family):
    """No op of the training path lacks a deterministic CUDA kernel (the error would name it)."""
    model, data = {"c8": ({"group": "rotation", "order": 8, "width": 4}, {"name": "digits", "fraction": 0.2}),
                   "pyramid_patchnet": ({"name": "pyramid_patchnet", "group": "rotation", "order": 4, "scales": 2,
                                         "width": 4, "input_voices": 2, "level_dropout": 1},
                                        {"name": "digits_zoom", "fraction": 0.2}),
                   "pyramid_wnet": ({"name": "mnet", "group": "dilation", "order": 9, "arch": "m5", "width": 4,
                                     "layout": "pyramid"}, {"name": "sounds"})}[family]
    cfg = _merge(DEFAULTS, {"name": family, "data": data, "model": model,
                            "train": {"epochs": 1, "batch_size": 16, "deterministic": True}})
    Trainer(cfg, tmp_path / family, device=CUDA, quiet=True).fit()
    assert torch.are_deterministic_algorithms_enabled()
    assert json.loads((tmp_path / family / "results.json").read_text())["device"].startswith("cuda")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scale_patchnets_match_the_cpu_and_stay_exact_on_cuda(dtype):
    torch.manual_seed(0)
    tol = 50 * torch.finfo(dtype).eps
    roto = PyramidPatchNet(Rotation(4) * Dilation(3), 3, 2, width=4).to(dtype).eval()
    x = torch.randn(4, 3, 33, 33, dtype=dtype)
    with torch.no_grad():
        ref = roto(x)
        roto.cuda()
        out = roto(x.cuda())
        torch.testing.assert_close(out.cpu(), ref, rtol=1e-4, atol=1e-5)
        for k in (1, 2, 3):  # rot90 invariance, exact up to rounding
            torch.testing.assert_close(roto(torch.rot90(x.cuda(), k, dims=(-2, -1))), out, rtol=0,
                                       atol=tol * out.abs().max().item())
        scale = PyramidPatchNet(Dilation(4), 3, 2, width=4).to(dtype).eval().cuda()
        xs = torch.randn(2, 3, 65, 65, dtype=dtype, device="cuda")
        full, contracted = scale.level_logits(xs), scale.level_logits(pyramid_reduce(xs, 2))
        torch.testing.assert_close(contracted[:, :, :3], full[:, :, 1:], rtol=0,  # one level per octave
                                   atol=tol * full.abs().max().item())


def test_the_pyramid_wnet_recipe_trains_on_cuda(tmp_path):
    """sounds_wnet_pyramid: two input voices, the vote and augment.crop, whose mask is drawn on the
    CPU generator and applied to a batch on the GPU."""
    from wavenets.train import load_recipe

    cfg = load_recipe("sounds_wnet_pyramid", ["train.epochs=1", "eval.scales=[0.5, 1.0, 2.0]"])
    Trainer(cfg, tmp_path / "r", device=CUDA, quiet=True).fit()
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["device"].startswith("cuda") and set(results["test"]) == {"0.5", "1.0", "2.0"}
