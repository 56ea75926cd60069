"""Optional dependencies, by extra: ``pip install wavenets`` brings the layers (torch and numpy);
the rest of the toolkit names the extra it needs when a package is missing."""
from __future__ import annotations

import importlib

#: extra -> the packages it installs (pyproject.toml's [project.optional-dependencies] agrees: tested)
EXTRAS = {
    "train": ("sklearn", "skimage", "scipy", "matplotlib", "tqdm"),  # the engine, metrics, embedded data, curves
    "audio": ("soundfile", "soxr", "librosa"),  # librosa: the spectrogram front ends (spec_cnn)
    "pcam": ("h5py",),
    "plots": ("matplotlib",),
    "export": ("onnx", "onnxruntime", "onnxscript"),  # wavenets export --format onnx
}


class MissingExtra(ImportError):
    """A feature's optional dependency is not installed; the message names the extra."""


def need(module: str, extra: str, what: str):
    """``import module``, or a :class:`MissingExtra` that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        raise MissingExtra(f"{what} needs the package {top!r}, which is not installed ({err}); install it with "
                           f"pip install 'wavenets[{extra}]' (or '.[{extra}]' in a clone)") from None
