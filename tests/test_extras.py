"""``pip install wavenets`` is the layers (torch and numpy); each other feature names the extra it
needs when its package is missing, in one line."""
import subprocess
import sys
from pathlib import Path

import pytest

from wavenets._extras import EXTRAS, MissingExtra, need
from wavenets.cli import main

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = {"sklearn": "scikit-learn", "skimage": "scikit-image"}  # import name -> PyPI name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

OPTIONAL = sorted({m for mods in EXTRAS.values() for m in mods} | {"e2cnn"})


def test_pyproject_extras_match_the_table():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {d.split(">")[0].split(";")[0].strip() for d in project["dependencies"]}
    assert core == {"torch", "numpy", "tomli"}
    extras = project["optional-dependencies"]
    for extra, modules in EXTRAS.items():
        names = {d.split(">")[0] for d in extras[extra]}
        assert names == {DISTRIBUTION.get(m, m) for m in modules}, extra
    assert extras["all"] == ["wavenets[train,audio,pcam,plots]"]
    assert "wavenets[all,export]" in extras["test"]  # the tests run every optional feature, ONNX export included


def test_need_names_the_extra():
    assert need("math", "train", "x").sqrt(4) == 2
    with pytest.raises(MissingExtra, match=r"reading PCam needs the package 'no_such_pkg'.*pip install 'wavenets\[pcam\]'"):
        need("no_such_pkg.sub", "pcam", "reading PCam")


def test_cli_reports_a_missing_extra_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "pcam").mkdir()
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    assert main(["train", "pcam_cnn_aug", "--data-root", str(tmp_path), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: reading PCam needs the package 'h5py'"), err
    assert "pip install 'wavenets[pcam]'" in err[0]


def test_the_layers_need_only_torch_and_numpy():
    """In a process where every optional package fails to import, the core imports, builds the
    SE(2) G-CNN and the pyramid W-Net, runs them, and checks equivariance; the CLI still starts."""
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import torch
import wavenets
from wavenets.groups import Dilation, Rotation
from wavenets.models import MNet, SE2Net
from wavenets.testing import assert_equivariant
net = SE2Net(Rotation(4), 3, 2, width=2).eval()
print(net(torch.randn(2, 3, 96, 96)).shape)
w = MNet(Dilation(5), "m5", 3, width=4, layout="pyramid", readout="feature_max", head_taps=1).eval()
print(w(torch.randn(2, 1, 4096)).shape)
from wavenets.cli import main
main(["--help"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "torch.Size([2, 2])" in out.stdout and "torch.Size([2, 3])" in out.stdout and "usage" in out.stdout
