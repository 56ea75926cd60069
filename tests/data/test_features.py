"""Cached front-end features: in memory for in-memory data, on disk beside a memory-mapped
waveform cache (reused, rebuilt when the waveforms or the front end change)."""
import numpy as np
import pytest
import torch

from wavenets.data import AudioDataset, FeatureView, SyntheticSounds, UrbanSound8K, feature_cache
from wavenets.nn import Spectrogram

from .test_audio_files import make_us8k

pytest.importorskip("librosa")


def test_in_memory_features_are_the_front_end_of_every_clip():
    ds = SyntheticSounds("val")
    spec = Spectrogram("logmel", 8000)
    feats = feature_cache(ds, spec, batch=50, quiet=True)
    assert feats.shape == (len(ds), 1, 64, 65) and not isinstance(feats, np.memmap)
    # equal to the front end on any batch of the clips (a batch's size moves float rounding: ~4e-6 dB)
    np.testing.assert_allclose(feats[123:130], spec.numpy(ds.waves[123:130]), atol=1e-4)
    view = FeatureView(ds, feats)
    x, y = view.batch(torch.tensor([5, 2]))
    assert torch.equal(x, torch.from_numpy(feats[[5, 2]])) and torch.equal(y, torch.from_numpy(ds.labels[[5, 2]]))
    assert view.name == "sounds" and view.kind == "audio" and len(view) == len(ds)


def test_a_memory_mapped_dataset_keeps_its_features_on_disk(tmp_path):
    make_us8k(tmp_path)
    ds = UrbanSound8K("train", root=tmp_path, sample_rate=4000, length=4000, quiet=True)
    spec = Spectrogram("cqt", 4000)
    feats = feature_cache(ds, spec, quiet=True)
    stored = list((tmp_path / "UrbanSound8K" / "cache").glob("*.feat-*.npy"))
    assert len(stored) == 1 and isinstance(feats, np.memmap)
    np.testing.assert_allclose(feats, spec.numpy(np.asarray(ds.waves)), atol=1e-4)
    mtime = stored[0].stat().st_mtime_ns
    assert np.array_equal(feature_cache(ds, spec, quiet=True), feats) and stored[0].stat().st_mtime_ns == mtime
    feature_cache(ds, Spectrogram("cqt", 4000, top_db=40.0), quiet=True)  # another front end: another file
    assert len(list(stored[0].parent.glob("*.feat-*.npy"))) == 2
    assert not list(stored[0].parent.glob(".*tmp*"))  # no temporary left behind


def test_a_truncated_feature_file_is_rebuilt(tmp_path):
    make_us8k(tmp_path)
    ds = UrbanSound8K("train", root=tmp_path, sample_rate=4000, length=4000, quiet=True)
    spec = Spectrogram("logmel", 4000)
    path = next((tmp_path / "UrbanSound8K" / "cache").glob("*.npy"))  # the waveform cache
    feature_cache(ds, spec, quiet=True)
    stored = next(path.parent.glob("*.feat-*.npy"))
    stored.write_bytes(stored.read_bytes()[:100])
    np.testing.assert_allclose(feature_cache(ds, spec, quiet=True), spec.numpy(np.asarray(ds.waves)), atol=1e-4)


def test_a_view_refuses_features_of_another_length():
    ds = AudioDataset(np.zeros((4, 1, 100), np.float32), np.arange(4))
    with pytest.raises(ValueError, match="3 feature rows for a dataset of 4 clips"):
        FeatureView(ds, np.zeros((3, 1, 2, 2), np.float32))
