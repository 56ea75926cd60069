"""Whether a tracer or compiler records the current call."""
from __future__ import annotations

import torch


def _tracing() -> bool:
    """Whether a tracer or compiler records this call: they see plain tensor operations, not an
    :class:`torch.autograd.Function` (a custom backward, or one that writes through ``out=``)."""
    return torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling()
