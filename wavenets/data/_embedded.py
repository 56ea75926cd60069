"""Real data that ships inside packages: tissue patches from scikit-image's IHC image and
scikit-learn's handwritten digits. No download, deterministic, small enough for CPU demos.
"""
from __future__ import annotations

import numpy as np

from .._extras import need
from ._base import SPLITS, ImageDataset, check_split

__all__ = ["TissuePatches", "TissueZoom", "TissueZoomWide", "Digits", "DigitsScale", "DigitsZoom", "DigitsZoomWide"]


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
        images, labels = self._cut(split, self.PATCH)
        super().__init__(images, labels)

    @classmethod
    def _cut(cls, split: str, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``size × size`` patches about the label centres of ``split`` (tiles reflected at
        their edges where a patch reaches past them, so no split reads another's pixels)."""
        ndimage = need("scipy.ndimage", "train", "loading the embedded tissue data")
        data = need("skimage.data", "train", "loading the embedded tissue data")
        rgb2hed = need("skimage.color", "train", "loading the embedded tissue data").rgb2hed

        split = check_split(split)
        image = data.immunohistochemistry()
        dab = ndimage.gaussian_filter(rgb2hed(image)[..., 2], 1.0) > cls.THRESHOLD
        centre_frac = ndimage.uniform_filter(dab.astype(np.float64), cls.CENTRE)
        tiles = {"train": cls.TILE_ORDER[:10], "val": cls.TILE_ORDER[10:13], "test": cls.TILE_ORDER[13:]}[split]
        per_row = image.shape[1] // cls.TILE
        half = cls.PATCH // 2
        pad = max(0, size // 2 - half + 1)  # how far past a tile the widest patch reaches
        images, labels = [], []
        offsets = range(0, cls.TILE - cls.PATCH + 1, cls.STRIDE)
        for t in sorted(tiles):
            ty, tx = (t // per_row) * cls.TILE, (t % per_row) * cls.TILE
            tile = np.pad(image[ty:ty + cls.TILE, tx:tx + cls.TILE], ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
            for oy in offsets:
                for ox in offsets:
                    cy, cx = oy + half + pad, ox + half + pad  # label centre in the padded tile
                    images.append(tile[cy - size // 2: cy - size // 2 + size, cx - size // 2: cx - size // 2 + size])
                    # uniform_filter of an even window is centred between pixels c-1 and c
                    labels.append(centre_frac[ty + oy + half, tx + ox + half] >= 0.5)
        return np.stack(images), np.array(labels, dtype=np.int64)


class TissueZoom(TissuePatches):
    """The tissue patches at any magnification: ``67 × 67`` context patches about the same
    centres, with the same labels, for a ``33 × 33`` network input cut by
    :func:`~wavenets.data.zoom` at zoom 0.5–2× (2×: the central 16.5 px magnified; 0.5×: 66 px,
    anti-aliased).

    **Labels in physical units.** The label is the tissue rule ("DAB-positive staining covers
    half of the central 8 × 8 source pixels") evaluated on the source image, so it is the same
    at every zoom: zooming changes how many pixels the stained region spans, never whether it is
    there. Splits, tiles and class balance are those of :class:`TissuePatches`; tiles are
    reflected at their edges, so no split reads another's pixels at any zoom.
    """

    name = "tissue_zoom"
    CONTEXT = 67
    #: the network input size (odd: the centre stays on a pixel at every pyramid level)
    zoom_size = 33
    #: the widest zoom-out the context supports without reflection
    min_zoom = 0.5

    def __init__(self, split: str = "train", root=None):
        images, labels = self._cut(split, self.CONTEXT)
        ImageDataset.__init__(self, images, labels)


class TissueZoomWide(TissueZoom):
    """:class:`TissueZoom` with twice the field of view: ``133 × 133`` context patches for a
    ``65 × 65`` network input, zoom 0.5–2×, for foveated pyramids
    (:class:`~wavenets.models.PyramidPatchNet` with ``fovea = 33``) whose coarse levels need
    real context. Same centres, labels, splits; wider reflection of the tiles at their edges.
    """

    name = "tissue_zoom_wide"
    CONTEXT = 133
    zoom_size = 65


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
        digits, labels = self._load(split)
        imgs = np.pad(digits, ((0, 0), (2, 2), (2, 2))) * (255.0 / 16.0)
        super().__init__(np.round(imgs).astype(np.uint8)[..., None], labels)

    @staticmethod
    def _load(split: str) -> tuple[np.ndarray, np.ndarray]:
        """The ``[N, 8, 8]`` digits (0–16) and labels of ``split``, in index order."""
        load_digits = need("sklearn.datasets", "train", "loading the embedded digits").load_digits

        d = load_digits()
        sel = Digits._indices(split, d.target)
        return d.images[sel], d.target[sel]

    @staticmethod
    def _indices(split: str, target: np.ndarray) -> np.ndarray:
        """Sorted indices of ``split`` among the digits with labels ``target``."""
        split = check_split(split)
        rng = np.random.default_rng(0)
        idx = {s: [] for s in SPLITS}
        for c in range(10):
            members = rng.permutation(np.flatnonzero(target == c))
            a, b = int(0.6 * len(members)), int(0.8 * len(members))
            idx["train"] += members[:a].tolist()
            idx["val"] += members[a:b].tolist()
            idx["test"] += members[b:].tolist()
        return np.sort(np.array(idx[split]))


class DigitsScale(Digits):
    """MNIST-scale on scikit-learn's digits (the protocol of Sosnovik et al., ICLR 2020, on a
    different, smaller data set): every digit is magnified by a factor ``s`` drawn uniformly
    from ``[0.3, 1.0]`` (its 8 px box spans ``24·s`` px: 7–24 px), anti-aliased where it
    shrinks, and centred on a blank canvas. Train, validation and test digits all carry random
    scales; the draw is one fixed realisation (seed 0), so runs differ only in their training
    seed.

    Items are ``67 × 67`` context images for a ``33 × 33`` network input cut by
    :func:`~wavenets.data.zoom` (at 1× an exact centre crop; the digit always fits), so
    ``augment.zoom`` and ``eval.zooms`` work as on ``tissue_zoom``. Splits as :class:`Digits`.
    """

    name = "digits_scale"
    mean = (0.08,)  # of the central 33 x 33 px
    std = (0.22,)
    CONTEXT = 67
    zoom_size = 33
    min_zoom = 0.5
    #: pixels spanned by the 8 px digit box at scale 1
    FULL = 24
    SCALES = (0.3, 1.0)
    #: source canvas the digits are rendered from: holds the 67 px context at scale 0.3 (74.4 px)
    CANVAS = 76

    def __init__(self, split: str = "train", root=None):
        load_digits = need("sklearn.datasets", "train", "loading the embedded digits").load_digits

        d = load_digits()
        sel = self._indices(split, d.target)
        #: the magnification of every digit of this split (one fixed draw over all digits)
        self.scales = np.random.default_rng(0).uniform(*self.SCALES, size=len(d.target))[sel]
        ImageDataset.__init__(self, self._render(d.images[sel], self.scales), d.target[sel])

    @classmethod
    def _render(cls, digits: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """``[N, 8, 8]`` digits (0–16) at ``scales`` (8 px -> ``FULL·s`` px), centred in ``CONTEXT`` px, uint8."""
        import torch

        from ._transforms import zoom

        factors = cls.FULL * np.asarray(scales, dtype=np.float64) / 8  # source px -> context px
        view = cls.CONTEXT / min(1.0, float(factors.min()))  # source px the widest context reads
        if view > cls.CANVAS:  # past the canvas, zoom would reflect the digit into the frame
            raise ValueError(f"{cls.__name__}: a {cls.CONTEXT} px context at scale {float(np.min(scales)):.3g} reads "
                             f"{view:.1f} source px, more than the {cls.CANVAS} px canvas; raise CANVAS")
        pad = (cls.CANVAS - 8) // 2
        canvas = torch.from_numpy(np.pad(digits, ((0, 0), (pad, pad), (pad, pad))) * (255.0 / 16.0))[:, None]
        out = zoom(canvas, torch.from_numpy(factors), cls.CONTEXT)
        return out.clamp(0, 255).round().to(torch.uint8).numpy().transpose(0, 2, 3, 1)


class DigitsZoom(DigitsScale):
    """Single-scale digits for scale generalisation (Jansson & Lindeberg's protocol, on
    scikit-learn's digits): every digit at one magnification, its 8 px box spanning 16 px,
    centred on a blank ``67 × 67`` canvas. Train at 1× and test with ``eval.zooms`` over
    0.5–2× (8–32 px digits, a factor of 4). Splits as :class:`Digits`.
    """

    name = "digits_zoom"
    SCALES = (2 / 3, 2 / 3)


class DigitsZoomWide(DigitsZoom):
    """:class:`DigitsZoom` with twice the field of view: ``131 × 131`` context images for a
    ``65 × 65`` network input (the same 16 px digits, zoom 0.5–2×), for foveated pyramids
    (:class:`~wavenets.models.PyramidPatchNet` with ``fovea = 33``): at 2× the coarse levels
    still see the blank surround the fine levels saw at 1×, instead of the image frame."""

    name = "digits_zoom_wide"
    mean = (0.02,)  # of the central 65 x 65 px
    std = (0.115,)
    CONTEXT = 131
    zoom_size = 65
    CANVAS = 132
