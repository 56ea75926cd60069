"""Equivariance checks for your own modules (see :func:`equivariance_error`), and smooth
band-limited inputs to measure approximate equivariance on."""
from ._equivariance import assert_equivariant, default_tolerance, equivariance_error
from ._pyramid import assert_pyramid_equivariant, pyramid_contract, pyramid_equivariance_error
from ._signals import smooth_image, smooth_signal

__all__ = ["equivariance_error", "assert_equivariant", "default_tolerance", "smooth_image", "smooth_signal",
           "pyramid_contract", "pyramid_equivariance_error", "assert_pyramid_equivariant"]
