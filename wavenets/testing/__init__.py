"""Equivariance checks for your own modules (see :func:`equivariance_error`)."""
from ._equivariance import assert_equivariant, default_tolerance, equivariance_error

__all__ = ["equivariance_error", "assert_equivariant", "default_tolerance"]
