"""The data pipeline: file-backed datasets (PCam, memory-mapped audio caches) are read by
DataLoader workers ahead of compute; the batches, and so the weights, do not depend on the
number of workers, and a resumed epoch starts where it stopped."""
import h5py
import numpy as np
import pytest
import torch

from wavenets.data import PCam
from wavenets.train import DEFAULTS, Interrupted, Trainer
from wavenets.train._config import _merge
from wavenets.train._trainer import read_batch

PREFIX = "camelyonpatch_level_2_split_"


@pytest.fixture
def pcam_root(tmp_path):
    folder = tmp_path / "pcam"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("valid", 12), ("test", 12)):
        y = rng.integers(0, 2, size=(n, 1, 1, 1), dtype=np.uint8)
        x = rng.integers(0, 60, size=(n, 96, 96, 3), dtype=np.uint8) + 120 * y  # learnable: brightness
        with h5py.File(folder / f"{PREFIX}{split}_x.h5", "w") as f:
            f.create_dataset("x", data=x.astype(np.uint8))
        with h5py.File(folder / f"{PREFIX}{split}_y.h5", "w") as f:
            f.create_dataset("y", data=y)
    return tmp_path


def _cfg(workers):
    return _merge(DEFAULTS, {
        "name": "pcam_tiny",
        "data": {"name": "pcam", "num_workers": workers},
        "model": {"name": "se2net", "group": "trivial", "order": 1, "width": 2},
        "train": {"epochs": 2, "batch_size": 8, "eval_batch_size": 16, "seed": 1},
        "augment": {"flip": True},
        "eval": {"rotations": [0, 90]},
    })


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def test_pcam_batch_reads_any_order_in_one_selection(pcam_root):
    ds = PCam("train", root=pcam_root)
    idx = torch.tensor([7, 3, 3, 39, 0])  # unsorted, with a repeat: h5py alone refuses both
    images, labels = ds.batch(idx)
    items = [ds[int(i)] for i in idx]
    assert torch.equal(images, torch.stack([a for a, _ in items]))
    assert labels.dtype == torch.int64 and labels.tolist() == [b for _, b in items]
    assert read_batch(ds, idx)[0].shape == (5, 3, 96, 96) and not ds.in_memory


def test_workers_give_the_same_weights_and_resume_exactly(pcam_root, tmp_path, monkeypatch):
    monkeypatch.setenv("WAVENETS_DATA", str(pcam_root))
    made = []

    class Counting(torch.utils.data.DataLoader):
        def __init__(self, *args, **kwargs):
            made.append(kwargs["num_workers"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(torch.utils.data, "DataLoader", Counting)
    cfg0, cfg2 = _cfg(0), _cfg(2)
    plain = Trainer(cfg0, tmp_path / "w0", quiet=True)
    r0 = plain.fit()
    fed = Trainer(cfg2, tmp_path / "w2", quiet=True)
    assert made == []  # no workers asked: read in the training process
    r2 = fed.fit()
    assert made and max(made) == 2 and min(made) >= 1  # epochs by two workers; a one-batch evaluation by one
    a, b = _weights(plain), _weights(fed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert r0["test"] == r2["test"]

    def interrupt(epoch, step):
        if (epoch, step) == (1, 1):
            raise KeyboardInterrupt

    part = Trainer(cfg2, tmp_path / "part", on_step=interrupt, quiet=True)
    with pytest.raises(Interrupted):
        part.fit()
    resumed = Trainer(cfg2, tmp_path / "part", quiet=True)
    resumed.fit(resume=True)
    c = _weights(resumed)
    assert all(torch.equal(a[k], c[k]) for k in a)
