"""Magnification: the zoom transform and the tissue patches at any zoom (labels in physical units)."""
import numpy as np
import pytest
import torch

from wavenets.data import TissuePatches, TissueZoom, get_dataset, random_zoom, zoom


@pytest.fixture(scope="module")
def zoom_test():
    return TissueZoom("test")


def test_tissue_zoom_is_tissue_with_context(zoom_test):
    tissue = TissuePatches("test")
    assert zoom_test.images.shape == (675, 3, 67, 67) and zoom_test.zoom_size == 33
    assert np.array_equal(zoom_test.labels, tissue.labels)  # the label rule reads source pixels only
    assert torch.equal(zoom_test.images[..., 11:55, 11:55], tissue.images)  # the same patches, with context
    assert get_dataset("tissue_zoom", "val").labels.shape == (675,)


def test_tissue_zoom_splits_share_no_pixels():
    """Tiles are reflected at their edges: no split's context reaches into another split's tile
    (every pixel colour a split's patches hold occurs in that split's own tiles)."""
    from skimage import data

    image = data.immunohistochemistry()
    tiles = {"train": TissuePatches.TILE_ORDER[:10], "val": TissuePatches.TILE_ORDER[10:13],
             "test": TissuePatches.TILE_ORDER[13:]}
    for split, own in tiles.items():
        allowed = {tuple(p) for t in own
                   for p in image[(t // 4) * 128:(t // 4 + 1) * 128, (t % 4) * 128:(t % 4 + 1) * 128].reshape(-1, 3)}
        seen = {tuple(p) for p in TissueZoom(split).images.permute(0, 2, 3, 1).reshape(-1, 3)[::7].tolist()}
        assert seen <= allowed


def test_zoom_one_is_an_exact_crop_and_two_is_a_magnification(zoom_test):
    x = zoom_test.images[:8].double() / 255
    assert torch.equal(zoom(x, 1.0, 33), x[..., 17:50, 17:50])
    z2 = zoom(x, 2.0, 33)
    # output pixel 2i reads input c + (2i - 16)/2 = 17 + i: every other output pixel is an input pixel
    torch.testing.assert_close(z2[..., ::2, ::2], x[..., 25:42, 25:42], rtol=0, atol=1e-12)
    # per-sample factors: each image gets its own
    mixed = zoom(x[:2], torch.tensor([1.0, 2.0]), 33)
    torch.testing.assert_close(mixed[1], z2[1], rtol=0, atol=1e-12)


def test_zoom_out_is_anti_aliased():
    """A checkerboard at the Nyquist rate zoomed out by 2 is blurred to grey, not aliased."""
    board = (torch.arange(67)[:, None] + torch.arange(67)[None, :]) % 2
    x = board.double()[None, None].expand(1, 1, 67, 67)
    out = zoom(x, 0.5, 33)
    # sampling without the blur aliases it to all 0 or all 1 (0.5 off); sigma = (1/z - 1)/2 leaves 0.15
    assert (out[..., 4:-4, 4:-4] - 0.5).abs().max() < 0.2


def test_random_zoom_is_log_uniform_and_seeded():
    a = random_zoom(20000, 0.5, 2.0, torch.Generator().manual_seed(0))
    b = random_zoom(20000, 0.5, 2.0, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.min() >= 0.5 and a.max() <= 2.0
    assert abs(float((a < 1).double().mean()) - 0.5) < 0.02  # 0.5-1 as likely as 1-2


def test_zoom_errors():
    with pytest.raises(ValueError, match="at least 33 px"):
        zoom(torch.zeros(1, 1, 20, 20), 1.0, 33)
    with pytest.raises(ValueError, match="positive factor per image"):
        zoom(torch.zeros(2, 1, 40, 40), torch.tensor([1.0, -1.0]), 33)


def test_wide_tissue_zoom_is_tissue_zoom_with_twice_the_context():
    wide, narrow = get_dataset("tissue_zoom_wide", "test"), get_dataset("tissue_zoom", "test")
    assert wide.images.shape == (675, 3, 133, 133) and wide.zoom_size == 65
    assert torch.equal(wide.images[..., 33:100, 33:100], narrow.images)
    assert np.array_equal(wide.labels, narrow.labels)
    x = wide.images[:4].double() / 255
    torch.testing.assert_close(zoom(x, 0.5, 65)[..., 16:49, 16:49], zoom(narrow.images[:4].double() / 255, 0.5, 33),
                               rtol=0, atol=0.02)  # the same view; only the blur's border reflection differs


@pytest.mark.parametrize("name", ["digits_scale", "digits_zoom"])
def test_scaled_digits_are_the_digits_at_a_known_magnification(name):
    from wavenets.data import Digits

    for split in ("train", "test"):
        ds, plain = get_dataset(name, split), Digits(split)
        assert ds.images.shape == (len(plain), 1, 67, 67) and ds.zoom_size == 33 and ds.min_zoom == 0.5
        assert np.array_equal(ds.labels, plain.labels)
        lo, hi = ds.SCALES
        assert lo <= ds.scales.min() and ds.scales.max() <= hi
        # the digit is centred and fits the 33 px input at its largest: the input's border ring is blank
        frame = zoom(ds.images.double(), 1.0, 33)
        ring = torch.cat([frame[..., :2, :].flatten(1), frame[..., -2:, :].flatten(1),
                          frame[..., :, :2].flatten(1), frame[..., :, -2:].flatten(1)], 1)
        assert ring.max() <= 3  # of 255: only the bicubic kernel's tail reaches it
        # ink grows with the magnification squared (the 8 px box spans FULL·s px)
        ink = ds.images.double().sum((1, 2, 3)) / torch.from_numpy(plain.images.double().sum((1, 2, 3)).numpy())
        if hi > lo:
            big, small = ds.scales > 0.8, ds.scales < 0.4
            ratio = ink[torch.from_numpy(big)].mean() / ink[torch.from_numpy(small)].mean()
            assert 3 < ratio < 9  # ~ (0.9 / 0.35)^2 = 6.6
    draws = [get_dataset("digits_scale", s).scales for s in ("train", "val", "test")]
    assert not np.array_equal(draws[0][:50], draws[2][:50])  # one draw over all digits, not per split


def test_scaled_digits_refuse_a_view_wider_than_their_canvas():
    """Below the smallest scale the canvas was sized for, zoom would reflect the digit into the frame."""
    from wavenets.data import DigitsScale

    digits = np.zeros((2, 8, 8))
    assert DigitsScale._render(digits, np.array([0.3, 1.0])).shape == (2, 67, 67, 1)
    with pytest.raises(ValueError, match="more than the 76 px canvas; raise CANVAS"):
        DigitsScale._render(digits, np.array([0.2, 1.0]))


def test_wide_digits_are_the_same_digits_with_more_surround():
    from wavenets.data import DigitsZoom, DigitsZoomWide

    wide, narrow = DigitsZoomWide("test"), DigitsZoom("test")
    assert np.array_equal(wide.labels, narrow.labels) and wide.images.shape[-2:] == (131, 131)
    a, b = zoom(wide.images.float(), 1.0, 33), zoom(narrow.images.float(), 1.0, 33)
    assert (a - b).abs().max() <= 1.0  # the same rendering, up to rounding to uint8
    ring = zoom(wide.images.float(), 1.0, 65)
    ring[..., 16:49, 16:49] = 0
    assert ring.max() == 0  # the surround a foveated pyramid reads at 2x is blank
