"""Equivariance checks for your own modules (see :func:`equivariance_error`), and smooth
band-limited inputs to measure approximate equivariance on."""
from ._equivariance import assert_equivariant, default_tolerance, equivariance_error
from ._signals import smooth_image, smooth_signal

__all__ = ["equivariance_error", "assert_equivariant", "default_tolerance", "smooth_image", "smooth_signal"]
