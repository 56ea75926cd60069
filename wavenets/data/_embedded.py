"""Real data that ships inside packages: tissue patches from scikit-image's IHC image and
scikit-learn's handwritten digits. No download, deterministic, small enough for CPU demos.
"""
from __future__ import annotations

import numpy as np

from ._base import SPLITS, ImageDataset, check_split

__all__ = ["TissuePatches", "Digits"]


class TissuePatches(ImageDataset):
    """44×44 RGB patches of scikit-image's immunohistochemistry image (``ihc.png``, 512×512).

    **Label rule.** Colour deconvolution (``skimage.color.rgb2hed``) gives the DAB
    (brown, antibody-positive) optical density; smoothed with a Gaussian (σ = 1 px) and
    thresholded at 0.08, it marks strongly DAB-positive tissue. A patch is positive (1) iff that
    mask covers at least half of the central 8×8 pixels: "is there DAB-positive staining at the
    patch centre". The rule is invariant to rotations of the patch about its centre.

    **Split.** The image is cut into 16 tiles of 128×128; patches (stride 6, 15×15 per tile) lie
    wholly inside one tile, so no two splits share a pixel. Tiles 0–9 (row-major, shuffled with
    a fixed permutation) train, 10–12 validate, 13–15 test: 2,250 / 675 / 675 patches, of which
    40% / 32% / 27% are positive (``class_balance()``).
    """

    name = "tissue"
    num_classes = 2
    mean = (0.69, 0.62, 0.55)
    std = (0.15, 0.20, 0.25)
    rotation_padding = "reflection"
    PATCH, STRIDE, TILE = 44, 6, 128
    TILE_ORDER = (5, 10, 0, 15, 3, 12, 6, 9, 1, 14, 4, 11, 7, 2, 13, 8)
    THRESHOLD, CENTRE = 0.08, 8

    def __init__(self, split: str = "train", root=None):
        from scipy import ndimage
        from skimage import data
        from skimage.color import rgb2hed

        split = check_split(split)
        image = data.immunohistochemistry()
        dab = ndimage.gaussian_filter(rgb2hed(image)[..., 2], 1.0) > self.THRESHOLD
        centre_frac = ndimage.uniform_filter(dab.astype(np.float64), self.CENTRE)
        tiles = {"train": self.TILE_ORDER[:10], "val": self.TILE_ORDER[10:13], "test": self.TILE_ORDER[13:]}[split]
        per_row = image.shape[1] // self.TILE
        images, labels = [], []
        offsets = range(0, self.TILE - self.PATCH + 1, self.STRIDE)
        for t in sorted(tiles):
            ty, tx = (t // per_row) * self.TILE, (t % per_row) * self.TILE
            for oy in offsets:
                for ox in offsets:
                    y, x = ty + oy, tx + ox
                    images.append(image[y : y + self.PATCH, x : x + self.PATCH])
                    # uniform_filter of an even window is centred between pixels c-1 and c
                    labels.append(centre_frac[y + self.PATCH // 2, x + self.PATCH // 2] >= 0.5)
        super().__init__(np.stack(images), np.array(labels, dtype=np.int64))


class Digits(ImageDataset):
    """scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes), zero-padded to 12×12
    so that rotations by any angle keep the digit; intensities 0–16 scaled to 0–255.

    Split: stratified and seeded (seed 0), 60/20/20 % train/val/test. For the classic check,
    train upright and evaluate with ``wavenets eval RUN --rotate …``.
    """

    name = "digits"
    num_classes = 10
    mean = (0.15,)
    std = (0.3,)
    rotation_padding = "zeros"

    def __init__(self, split: str = "train", root=None):
        from sklearn.datasets import load_digits

        split = check_split(split)
        d = load_digits()
        rng = np.random.default_rng(0)
        idx = {s: [] for s in SPLITS}
        for c in range(10):
            members = rng.permutation(np.flatnonzero(d.target == c))
            a, b = int(0.6 * len(members)), int(0.8 * len(members))
            idx["train"] += members[:a].tolist()
            idx["val"] += members[a:b].tolist()
            idx["test"] += members[b:].tolist()
        sel = np.sort(np.array(idx[split]))
        imgs = np.pad(d.images[sel], ((0, 0), (2, 2), (2, 2))) * (255.0 / 16.0)
        super().__init__(np.round(imgs).astype(np.uint8)[..., None], d.target[sel])
