"""`wavenets predict`: a trained image run on whole images (dense heat maps, exact under rot90),
folders, and the bad inputs a user meets."""
import json
from pathlib import Path

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
    never = tmp_path / "never"  # no image mapped: no output folder left behind
    assert main(["predict", str(run), str(folder / "broken.png"), "--out", str(never)]) == 2
    assert "not a readable image" in capsys.readouterr().err and not never.exists()


def test_predict_names_a_run_it_cannot_apply(run, tmp_path, capsys):
    other = tmp_path / "zoom_run"
    other.mkdir()
    cfg = json.loads((run / "config.json").read_text())
    cfg["data"]["name"] = "nosuch"
    (other / "config.json").write_text(json.dumps(cfg))
    assert main(["predict", str(other), str(tmp_path)]) == 2
    assert "applies image and audio runs" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"  # killed before its first validation: a config, no checkpoint
    unfinished.mkdir()
    (unfinished / "config.json").write_text((run / "config.json").read_text())
    for command in (["predict", str(unfinished), str(tmp_path)], ["export", str(unfinished)]):
        assert main(command) == 2
        assert "has no best.pt yet" in capsys.readouterr().err and not (unfinished / "model.onnx").exists()


@pytest.fixture(scope="module")
def zoom_run(tmp_path_factory):
    """A magnification pyramid (roto-scale: C4 × two octaves, two input voices), which reads the
    patch centre at every level and so classifies an image window by window."""
    runs = tmp_path_factory.mktemp("zoom_runs")
    assert main(["train", "tissue_zoom_scale_iv2_ld", "--set", "train.epochs=1", "--set", "model.group=rotation",
                 "--set", "model.order=4", "--set", "model.scales=2", "--set", "model.width=4", "--set",
                 "data.fraction=0.1", "-q", "--runs-dir", str(runs)]) == 0
    return runs / "tissue_zoom_scale_iv2_ld"


def test_a_magnification_pyramid_predicts_window_by_window(zoom_run, tmp_path, capsys):
    """Every value of the map is the classifier on that 33 px patch (the run's ``zoom_size``),
    whatever batch the windows fell into; ``--stride`` spaces them; with a symmetric tiling the
    C4 roto-scale network's map turns with the image."""
    from skimage.data import immunohistochemistry

    from wavenets.data import TissueZoom, normalize
    from wavenets.predict import load_model, window_probs
    from wavenets.train import RunDir

    ihc = immunohistochemistry()[:197, :229]  # (197 − 33) and (229 − 33) are multiples of 4: no crop
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(ihc).save(folder / "ihc.png")
    Image.fromarray(np.rot90(ihc).copy()).save(folder / "ihc_rot90.png")
    out = tmp_path / "out"
    assert main(["predict", str(zoom_run), str(folder), "--out", str(out), "--stride", "4"]) == 0
    assert "ihc.png: 42×50 windows" in capsys.readouterr().out
    probs, turned = np.load(out / "ihc_probs.npy"), np.load(out / "ihc_rot90_probs.npy")
    assert probs.shape == (2, (197 - 33) // 4 + 1, (229 - 33) // 4 + 1)
    assert np.abs(np.rot90(probs, 1, (1, 2)) - turned).max() < 1e-5
    assert (out / "ihc_heatmap.png").exists()

    model, _, cls, _ = load_model(RunDir.at(zoom_run))
    x = normalize(torch.from_numpy(ihc.transpose(2, 0, 1).copy())[None], cls.mean, cls.std)
    for i, j in ((0, 0), (17, 30), (41, 49)):
        with torch.no_grad():
            alone = torch.softmax(model(x[..., 4 * i:4 * i + 33, 4 * j:4 * j + 33]), 1)[0].numpy()
        np.testing.assert_allclose(probs[:, i, j], alone, atol=1e-5)
    calls = []
    counting = lambda p: calls.append(len(p)) or model(p)  # noqa: E731
    small, *_ = window_probs(counting, ihc, 33, 4, cls.mean, cls.std, torch.device("cpu"), batch=100)
    assert max(calls) <= 100 and sum(calls) == 42 * 50  # two rows of 50 windows a call
    np.testing.assert_allclose(small, probs, atol=1e-5)

    assert main(["predict", str(zoom_run), str(folder / "ihc.png"), "--out", str(out)]) == 0  # default: 33 // 8 px
    assert np.load(out / "ihc_probs.npy").shape == (2, (197 - 33) // 4 + 1, (229 - 33) // 4 + 1)
    for bad in (["--stride", "0"], ["--stride", "0", "--skip-errors"]):  # refused, not skipped image by image
        assert main(["predict", str(zoom_run), str(folder), "--out", str(tmp_path / "bad"), *bad]) == 2
        captured = capsys.readouterr()
        assert "--stride is a positive number of pixels" in captured.err and "skipped" not in captured.out
    assert not (tmp_path / "bad").exists()
    assert TissueZoom.zoom_size == 33


def test_predict_stride_is_for_networks_read_window_by_window(run, images, capsys):
    assert main(["predict", str(run), str(images / "ihc.png"), "--stride", "8"]) == 2
    assert "one window every 4 px" in capsys.readouterr().err
    assert main(["predict", str(run), str(images / "ihc.png"), "--stride", "4", "--out",
                 str(images.parent / "same_stride")]) == 0  # its own stride: allowed


@pytest.fixture(scope="module")
def sounds_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("sound_runs")
    assert main(["train", "sounds_mnet", "--set", "train.epochs=2", "--runs-dir", str(runs)]) == 0
    return runs / "sounds_mnet"


def test_predict_scores_recordings_window_by_window(sounds_run, tmp_path, capsys):
    import soundfile as sf

    from wavenets.data import SyntheticSounds

    rng = np.random.default_rng(0)
    folder = tmp_path / "clips"
    folder.mkdir()
    square = SyntheticSounds.synthesize(SyntheticSounds.CLASSES.index("square"), rng)  # 8,192 samples at 8 kHz
    sf.write(folder / "one.wav", np.stack([square, square], 1), 8000)  # stereo: downmixed
    sf.write(folder / "long.flac", np.tile(square, 5), 16000)  # 40,960 samples at 16 kHz: 20,480 at 8 kHz
    (folder / "broken.wav").write_bytes(b"RIFF....not audio")
    out = tmp_path / "out"
    assert main(["predict", str(sounds_run), str(folder), "--out", str(out), "--hop", "0.5"]) == 2
    assert "cannot decode" in capsys.readouterr().err
    assert main(["predict", str(sounds_run), str(folder), "--out", str(out), "--hop", "0.5", "--skip-errors"]) == 2
    printed = capsys.readouterr().out
    assert "1 of 3 file(s) skipped" in printed
    import csv

    with open(out / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:3] == ["file", "start_s", "end_s"] and "square" in rows[0]
    by_file = {}
    for r in rows:
        by_file.setdefault(Path(r["file"]).name, []).append(r)
        assert abs(sum(float(r[c]) for c in SyntheticSounds.CLASSES) - 1) < 1e-4
    assert len(by_file["one.wav"]) == 1 and float(by_file["one.wav"][0]["end_s"]) == pytest.approx(8192 / 8000)
    # windows every 0.5 s while one fits, then one ending at the last sample
    starts = [float(r["start_s"]) for r in by_file["long.flac"]]
    assert starts == pytest.approx([0.0, 0.5, 1.0, 1.5, (20480 - 8192) / 8000], abs=2e-3)
    assert "one.wav: 1 window(s)" in printed


def test_predict_names_the_outputs_as_the_run_recorded_them(tmp_path, capsys):
    """ESC-50 names its classes only in its metadata: the run records the names (results.json and
    the checkpoint), and predict's scores.csv carries them, also without the data or the results."""
    import csv

    from wavenets.predict import load_model
    from wavenets.train import RunDir

    from .data.test_audio_files import make_esc50

    make_esc50(tmp_path / "data")
    runs = tmp_path / "runs"
    assert main(["train", "esc50_mnet_m11", "--data-root", str(tmp_path / "data"), "--runs-dir", str(runs), "-q",
                 "--set", "train.epochs=1", "--set", "data.sample_rate=4000", "--set", "data.length=8000",
                 "--set", "model.arch=m5", "--set", "model.width=4", "--set", "model.lift_kernel=9"]) == 0
    run = runs / "esc50_mnet_m11"
    assert json.loads((run / "results.json").read_text())["classes"][:3] == ["cat0", "cat1", "cat2"]
    clip = next((tmp_path / "data" / "ESC-50-master" / "audio").glob("*.wav"))
    assert main(["predict", str(run), str(clip), "--out", str(tmp_path / "p")]) == 0
    with open(tmp_path / "p" / "scores.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:6] == ["file", "start_s", "end_s", "cat0", "cat1", "cat2"] and len(header) == 53
    (run / "results.json").unlink()  # an unfinished run: the names come from its checkpoint
    assert load_model(RunDir.at(run))[3][:3] == ["cat0", "cat1", "cat2"]
    capsys.readouterr()


def test_predict_hop_is_for_audio(run, images, capsys):
    assert main(["predict", str(run), str(images / "ihc.png"), "--hop", "1"]) == 2
    assert "--hop cuts recordings" in capsys.readouterr().err


def test_audio_windows_are_batched_across_files_with_the_scores_of_each_alone(sounds_run, tmp_path):
    """Windows of several recordings are scored together, ``batch`` at a time, and each file gets
    exactly its own rows: the scores equal the model's on that file alone, whatever batch the
    windows fell into (7 one-window files and one 3-window file across batches of 4)."""
    import csv

    import soundfile as sf

    from wavenets.data import SyntheticSounds
    from wavenets.predict import load_model, predict_audio
    from wavenets.train import RunDir

    rng = np.random.default_rng(1)
    folder = tmp_path / "clips"
    folder.mkdir()
    clips = {f"c{i}.wav": SyntheticSounds.synthesize(i % 6, rng) for i in range(7)}
    clips["c3.wav"] = np.concatenate([clips["c3.wav"]] * 3)  # three windows
    for name, wave in clips.items():
        sf.write(folder / name, wave, 8000, subtype="FLOAT")
    loaded = load_model(RunDir.at(sounds_run))
    calls = []
    counting = (lambda x: calls.append(len(x)) or loaded[0](x), *loaded[1:])
    assert predict_audio(counting, [str(folder)], tmp_path / "out", device=torch.device("cpu"), quiet=True,
                         batch=4) == 0
    # scored once >= 4 windows wait: c0-c3 (6 windows) as 4 + 2, then c4-c6 at the end (file by file: 8 calls)
    assert calls == [4, 2, 3]
    with open(tmp_path / "out" / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [Path(r["file"]).name for r in rows] == ["c0.wav", "c1.wav", "c2.wav"] + ["c3.wav"] * 3 + [
        "c4.wav", "c5.wav", "c6.wav"]
    model = loaded[0]
    for name, wave in clips.items():
        x = torch.from_numpy(wave.astype(np.float32)).view(-1, 1, 8192)
        with torch.no_grad():
            alone = torch.softmax(model(x), 1).numpy()
        got = np.array([[float(r[c]) for c in SyntheticSounds.CLASSES] for r in rows if Path(r["file"]).name == name])
        np.testing.assert_allclose(got, alone, atol=1e-5)


def test_a_spectrogram_run_predicts_recordings_and_refuses_export(tmp_path, capsys):
    """spec_cnn's librosa front end travels inside the model: predict applies it to each window;
    export says why it cannot hold it, and writes nothing."""
    pytest.importorskip("librosa")
    import csv

    import soundfile as sf

    from wavenets.data import SyntheticSounds
    from wavenets.predict import load_model
    from wavenets.train import RunDir

    runs = tmp_path / "runs"
    assert main(["train", "sounds_spec_cqt", "--set", "train.epochs=1", "--set", "model.width=4", "--set",
                 "data.fraction=0.2", "--runs-dir", str(runs), "-q"]) == 0
    run = runs / "sounds_spec_cqt"
    rng = np.random.default_rng(1)
    clips = tmp_path / "clips"
    clips.mkdir()
    waves = [SyntheticSounds.synthesize(c, rng) for c in (0, 4)]
    for i, w in enumerate(waves):
        sf.write(clips / f"c{i}.wav", w, 8000, subtype="FLOAT")
    assert main(["predict", str(run), str(clips), "--out", str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "scores.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["file"])
    model, _, _, _ = load_model(RunDir.at(run))
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(np.stack(waves))[:, None]), 1).numpy()
    got = np.array([[float(r[c]) for c in SyntheticSounds.CLASSES] for r in rows])
    np.testing.assert_allclose(got, ref, atol=1e-4)
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "librosa" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()
