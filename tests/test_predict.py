"""`wavenets predict`: a trained image run on whole images (dense heat maps, exact under rot90),
folders, and the bad inputs a user meets."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from wavenets.cli import main
from wavenets.groups import Rotation
from wavenets.models import SE2Net


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "tissue_se2_n8", "--set", "train.epochs=1", "--set", "model.width=4", "--set",
                 "data.fraction=0.3", "--runs-dir", str(runs)]) == 0
    return runs / "tissue_se2_n8"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from skimage.data import immunohistochemistry

    folder = tmp_path_factory.mktemp("images")
    ihc = immunohistochemistry()[:200, :232]  # (200 − 40) and (232 − 40) are multiples of the stride 4
    Image.fromarray(ihc).save(folder / "ihc.png")
    Image.fromarray(np.rot90(ihc).copy()).save(folder / "ihc_rot90.png")
    return folder


def test_dense_map_equals_the_classifier_on_every_window():
    torch.manual_seed(0)
    net = SE2Net(Rotation(4), 3, 2, preset="tissue", width=3).eval()
    image = torch.randn(1, 3, 40 + 4 * 5, 40 + 4 * 3)
    dense = net.forward_dense(image)
    assert dense.shape == (1, 2, 6, 4) and (net.window, net.stride) == (40, 4)
    for i, j in ((0, 0), (5, 3), (2, 1)):
        window = image[..., 4 * i:4 * i + 40, 4 * j:4 * j + 40]
        assert torch.allclose(dense[0, :, i, j], net(torch.nn.functional.pad(window, (2, 2, 2, 2))), atol=1e-5)
    with pytest.raises(ValueError, match="multiples of 4"):
        net.forward_dense(image[..., :-1])


def test_predict_writes_maps_that_turn_with_the_image(run, images, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["predict", str(run), str(images / "ihc.png"), str(images / "ihc_rot90.png"), "--out", str(out)]) == 0
    probs = np.load(out / "ihc_probs.npy")
    turned = np.load(out / "ihc_rot90_probs.npy")
    assert probs.shape == (2, (200 - 40) // 4 + 1, (232 - 40) // 4 + 1)
    assert np.allclose(probs.sum(0), 1, atol=1e-5)
    assert np.abs(np.rot90(probs, 1, (1, 2)) - turned).max() < 1e-5  # C8 with rot90: the map turns exactly
    with Image.open(out / "ihc_heatmap.png") as im:
        assert im.format == "PNG"
    assert "windows" in capsys.readouterr().out


def test_predict_reads_folders_and_reports_bad_inputs(run, images, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.open(images / "ihc.png").save(folder / "a.png")
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(folder / "small.png")
    (folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    assert main(["predict", str(run), str(folder), "--out", str(out)]) == 2  # stops at the first bad file
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("error: ") and "broken.png: not a readable image" in last
    assert main(["predict", str(run), str(folder), "--out", str(out), "--skip-errors"]) == 2
    captured = capsys.readouterr().out
    assert "20×30 px" in captured and "2 of 3 file(s) skipped" in captured
    assert (out / "a_probs.npy").exists() and not (out / "small_probs.npy").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(run), str(empty)]) == 2
    assert "holds no images" in capsys.readouterr().err
    assert main(["predict", str(run), str(tmp_path / "nope.png")]) == 2
    assert "nope.png not found" in capsys.readouterr().err


def test_predict_refuses_audio_runs(run, tmp_path, capsys):
    audio = tmp_path / "audio_run"
    audio.mkdir()
    cfg = json.loads((run / "config.json").read_text())
    cfg["data"]["name"] = "sounds"
    (audio / "config.json").write_text(json.dumps(cfg))
    assert main(["predict", str(audio), str(tmp_path)]) == 2
    assert "audio: not supported yet" in capsys.readouterr().err
