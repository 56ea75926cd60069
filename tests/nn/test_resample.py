"""magnify: the anti-aliased zoom about the centre behind the zoomed data and the input voices."""
import pytest
import torch

from wavenets.nn import magnify


def test_identity_is_exact_and_crops_the_centre():
    x = torch.randn(2, 3, 35, 35)
    assert torch.equal(magnify(x, 1.0), x)
    assert torch.equal(magnify(x, 1.0, 33), x[..., 1:34, 1:34])


def test_centre_stays_and_padding_modes_read_outside_as_the_layers_pad(dtype):
    x = torch.full((1, 1, 33, 33), 0.7, dtype=dtype)
    x[..., 16, 16] = 2.0
    for mode in ("zeros", "replicate", "reflect"):
        y = magnify(x, 0.5, padding_mode=mode)
        assert y.dtype == dtype and y.shape == x.shape
        assert y[0, 0, 16, 16] == y.max()  # the centre pixel stays at the centre
        # the corner reads input pixel -16: zero, the edge, or (mirrored about pixel 0) the centre
        border = {"zeros": 0.0, "replicate": 0.7, "reflect": y[0, 0, 16, 16].item()}[mode]
        assert abs(y[0, 0, 0, 0].item() - border) < 1e-3, mode
    # zooming in by 2 and reading the centre: pixel 16 is the centre, pixel 18 reads input 17
    ramp = torch.arange(33, dtype=dtype).expand(1, 1, 33, 33).contiguous()
    torch.testing.assert_close(magnify(ramp, 2.0)[0, 0, 5, 16:19:2], torch.tensor([16.0, 17.0], dtype=dtype))


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="'zeros', 'replicate' or 'reflect'"):
        magnify(torch.zeros(1, 1, 9, 9), 0.5, padding_mode="circular")
    with pytest.raises(ValueError, match=r"images \[B, C, H, W\]"):
        magnify(torch.zeros(9, 9), 0.5)
    for bad in (torch.tensor([1.0, -1.0]), float("nan"), 0, [0.5, 1.0, 2.0]):  # a number or one per image
        with pytest.raises(ValueError, match="one positive factor per image"):
            magnify(torch.zeros(2, 1, 9, 9), bad)
    with pytest.raises(ValueError, match="square images of at least 11 px"):
        magnify(torch.zeros(1, 1, 9, 9), 0.5, 11)
