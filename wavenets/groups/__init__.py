"""Groups and how they act on coordinates, signals, features and kernels.

=============  ===========  ======  ===============================================
group          elements     dims    exact action on the pixel grid
=============  ===========  ======  ===============================================
``Trivial``    1            1, 2    always (plain CNN)
``Rotation``   n            2       rotations by multiples of 90° (n multiple of 4)
``Dihedral``   2n           2       the above and the flips
``Dilation``   n            1, 2    contractions by integer factors (decimation)
``Product``    |H|·|D|      common  both factors' exact elements (``Rotation(4) * Dilation(4)``:
                                    rot90 × decimation)
=============  ===========  ======  ===============================================
"""
from ._base import Block, Group, KernelPlan
from ._dilation import Dilation, resample
from ._product import Product
from ._finite import Dihedral, FiniteGroup, Rotation, Trivial, disk_mask

__all__ = [
    "Group",
    "KernelPlan",
    "Block",
    "FiniteGroup",
    "Trivial",
    "Rotation",
    "Dihedral",
    "Dilation",
    "Product",
    "resample",
    "disk_mask",
]
