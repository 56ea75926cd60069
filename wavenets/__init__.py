"""wavenets: group-equivariant convolutions for 1D and 2D signals.

One convolution core, parameterised by the group: ``Trivial`` (plain CNN), ``Rotation`` /
``Dihedral`` (SE(2) G-CNNs) and ``Dilation`` (scale-translation, Wavelet Networks).
"""
from . import groups, nn, testing
from .groups import Dihedral, Dilation, Rotation, Trivial

__version__ = "0.1.0"

__all__ = ["groups", "nn", "testing", "Trivial", "Rotation", "Dihedral", "Dilation", "__version__"]
