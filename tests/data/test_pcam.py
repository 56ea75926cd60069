"""PCam reader and fetcher, end to end against a local server with files in the real format."""
import gzip
import hashlib
import shutil

import h5py
import numpy as np
import pytest
import torch

from wavenets.cli import main
from wavenets.data import DownloadError, PCam, fetch_pcam
from wavenets.data import _pcam

PREFIX = "camelyonpatch_level_2_split_"
N = {"train": 6, "valid": 4, "test": 4}


def _write_split(folder, split, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
    y = rng.integers(0, 2, size=(n, 1, 1, 1), dtype=np.uint8)
    with h5py.File(folder / f"{PREFIX}{split}_x.h5", "w") as f:
        f.create_dataset("x", data=x)
    with h5py.File(folder / f"{PREFIX}{split}_y.h5", "w") as f:
        f.create_dataset("y", data=y)
    rows = ["index,coord_y,coord_x,tumor_patch,center_tumor_patch,wsi"]
    rows += [f"{i},{100 * i},{50 * i},{bool(y[i, 0, 0, 0])},{bool(y[i, 0, 0, 0])},camelyon16_train_normal_00{i}"
             for i in range(n)]
    (folder / f"{PREFIX}{split}_meta.csv").write_text("\n".join(rows) + "\n")
    return x, y


def _serve_pcam(served, monkeypatch, *, swap_valid_test=True):
    """Write the nine files as Zenodo serves them (.h5.gz + .csv) and a manifest of their MD5s."""
    raw = served / "raw"
    raw.mkdir()
    data = {s: _write_split(raw, s, n, i) for i, (s, n) in enumerate(N.items())}
    manifest = {}
    for path in sorted(raw.iterdir()):
        if path.suffix == ".h5":
            target = served / (path.name + ".gz")
            with open(path, "rb") as fin, gzip.open(target, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            target = served / path.name
            shutil.copy(path, target)
        short = target.name.removeprefix(PREFIX)
        manifest[short] = ((hashlib.md5(target.read_bytes()).hexdigest(),), target.stat().st_size)
    if swap_valid_test:  # the published lists swap valid and test: accept either of the twin pair
        for kind in ("x.h5.gz", "y.h5.gz", "meta.csv"):
            v, t = manifest[f"valid_{kind}"], manifest[f"test_{kind}"]
            manifest[f"valid_{kind}"] = ((t[0][0], v[0][0]), v[1])
            manifest[f"test_{kind}"] = ((v[0][0], t[0][0]), t[1])
    shutil.rmtree(raw)
    monkeypatch.setattr(_pcam, "PCAM_FILES", manifest)
    return data


def test_fetch_end_to_end_then_read(http_folder, tmp_path, monkeypatch):
    served, base, log = http_folder
    data = _serve_pcam(served, monkeypatch)
    root = tmp_path / "data"
    folder = fetch_pcam(root, url=base + "/{name}?download=1", quiet=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{PREFIX}{s}_{k}.h5" for s in N for k in "xy"] + [f"{PREFIX}{s}_meta.csv" for s in N])
    for split, name in (("train", "train"), ("val", "valid"), ("test", "test")):
        ds = PCam(split, root=root)
        x, y = data[name]
        assert len(ds) == N[name]
        img, label = ds[1]
        assert img.dtype == torch.uint8 and img.shape == (3, 96, 96)
        assert torch.equal(img, torch.from_numpy(x[1]).permute(2, 0, 1))
        assert label == int(y[1, 0, 0, 0])
    requests = len(log)
    fetch_pcam(root, url=base + "/{name}", quiet=True)  # everything there: nothing downloaded
    assert len(log) == requests


def test_fetch_resumes_an_interrupted_download(http_folder, tmp_path, monkeypatch):
    served, base, log = http_folder
    _serve_pcam(served, monkeypatch)
    name = f"{PREFIX}train_x.h5.gz"
    dest = tmp_path / "data" / "pcam"
    dest.mkdir(parents=True)
    full = (served / name).read_bytes()
    (dest / (name + ".part")).write_bytes(full[: len(full) // 2])
    fetch_pcam(tmp_path / "data", url=base + "/{name}", quiet=True)
    assert (f"/{name}", f"bytes={len(full) // 2}-") in log
    assert len(PCam("train", root=tmp_path / "data")) == N["train"]


def test_corrupt_download_is_deleted_and_reported(http_folder, tmp_path, monkeypatch):
    served, base, _ = http_folder
    _serve_pcam(served, monkeypatch)
    bad = served / f"{PREFIX}valid_x.h5.gz"
    blob = bytearray(bad.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    bad.write_bytes(bytes(blob))
    with pytest.raises(DownloadError, match="checksum mismatch for camelyonpatch_level_2_split_valid_x.h5.gz"):
        fetch_pcam(tmp_path / "data", url=base + "/{name}", quiet=True)
    folder = tmp_path / "data" / "pcam"
    assert not (folder / f"{PREFIX}valid_x.h5").exists()
    assert not list(folder.glob("*valid_x*"))  # neither the final nor a partial file is left
    assert (folder / f"{PREFIX}train_x.h5").exists()  # what was good is kept


def test_truncated_gzip_leaves_no_final_file(http_folder, tmp_path, monkeypatch):
    served, base, _ = http_folder
    _serve_pcam(served, monkeypatch)
    gz = served / f"{PREFIX}test_y.h5.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(DownloadError, match="not a valid gzip"):
        fetch_pcam(tmp_path / "data", url=base + "/{name}", verify=False, quiet=True)
    assert not (tmp_path / "data" / "pcam" / f"{PREFIX}test_y.h5").exists()
    assert not list((tmp_path / "data" / "pcam").glob("*.tmp"))


def test_disk_space_is_checked_first(http_folder, tmp_path, monkeypatch):
    served, base, log = http_folder
    _serve_pcam(served, monkeypatch)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 10))
    with pytest.raises(DownloadError, match="not enough disk space"):
        fetch_pcam(tmp_path / "data", url=base + "/{name}", quiet=True)
    assert log == []


def test_cli_fetch_and_info(http_folder, tmp_path, monkeypatch, capsys):
    served, base, _ = http_folder
    _serve_pcam(served, monkeypatch)
    root = str(tmp_path / "data")
    assert main(["data", "fetch", "pcam", "--data-root", root, "--url", base + "/{name}"]) == 0
    assert main(["data", "info", "pcam", "--data-root", root]) == 0
    out = capsys.readouterr().out
    assert "train: 6 images, 3x96x96" in out


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="wavenets data fetch pcam"):
        PCam("train", root=tmp_path)
    folder = tmp_path / "pcam"
    folder.mkdir()
    with h5py.File(folder / f"{PREFIX}train_x.h5", "w") as f:
        f.create_dataset("x", data=np.zeros((2, 64, 64, 3), np.uint8))
    with h5py.File(folder / f"{PREFIX}train_y.h5", "w") as f:
        f.create_dataset("y", data=np.zeros((2, 1, 1, 1), np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 96, 96, 3\) uint8"):
        PCam("train", root=tmp_path)
    (folder / f"{PREFIX}valid_x.h5").write_bytes(b"not hdf5")
    (folder / f"{PREFIX}valid_y.h5").write_bytes(b"not hdf5")
    with pytest.raises(DownloadError, match="may be corrupt"):
        PCam("val", root=tmp_path)


def test_reader_is_safe_in_worker_processes(tmp_path):
    folder = tmp_path / "pcam"
    folder.mkdir()
    x, y = _write_split(folder, "train", 8, 3)
    ds = PCam("train", root=tmp_path)
    ds[0]  # open a handle in the parent first: workers must not inherit it
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context="spawn")
    images = torch.cat([b for b, _ in loader])
    assert torch.equal(images, torch.from_numpy(x).permute(0, 3, 1, 2))


@pytest.mark.parametrize("y, match", [
    (np.array([0.3, 0.8], np.float32).reshape(2, 1, 1, 1), "integers 0/1"),  # floats used to become 0
    (np.zeros((2, 2), np.uint8), "one label per image"),  # (N, 2) used to double the length
    (np.array([0, 2], np.uint8).reshape(2, 1, 1, 1), "2 at index 1"),
    (np.zeros((3, 1, 1, 1), np.uint8), "3 labels for 2 images"),
    (np.zeros((0, 1, 1, 1), np.uint8), None),
])
def test_labels_are_checked_at_open_time(tmp_path, y, match):
    folder = tmp_path / "pcam"
    folder.mkdir()
    n = 0 if len(y) == 0 else 2
    with h5py.File(folder / f"{PREFIX}train_x.h5", "w") as f:
        f.create_dataset("x", data=np.zeros((n, 96, 96, 3), np.uint8))
    with h5py.File(folder / f"{PREFIX}train_y.h5", "w") as f:
        f.create_dataset("y", data=y)
    with pytest.raises(ValueError, match=match or "the split is empty"):
        PCam("train", root=tmp_path)
