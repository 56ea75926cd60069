"""The dimension table and the group interface: what wavenets.nn may assume about a group."""
import ast
from pathlib import Path

import pytest
import torch

import wavenets.groups
import wavenets.nn
from wavenets.nn import SpatialPool
from wavenets.nn._spatial import SPATIAL, spatial

NN = Path(wavenets.nn.__file__).parent
GROUP_TYPES = set(wavenets.groups.__all__) - {"Group", "KernelPlan", "Block", "resample", "disk_mask"}


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


@pytest.mark.parametrize("path", sorted(NN.glob("*.py")), ids=lambda p: p.name)
def test_nn_never_tests_for_a_concrete_group_type(path):
    """Layers ask the Group interface (``dilates_kernels``, ``octave_voices``, …); a new group
    must not need an edit in wavenets.nn."""
    tree = ast.parse(path.read_text())
    for call in _calls(tree, "isinstance") + _calls(tree, "issubclass"):
        names = {n.id for n in ast.walk(call.args[1]) if isinstance(n, ast.Name)}
        assert not names & GROUP_TYPES, f"{path.name}:{call.lineno} tests for {names & GROUP_TYPES}"


@pytest.mark.parametrize("path", sorted(NN.glob("*.py")), ids=lambda p: p.name)
def test_nn_has_no_dimension_branches(path):
    """``dim == 1`` / ``dim == 2`` choices live in the one table of wavenets.nn._spatial."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value in (1, 2, 3)
                                                 for c in node.comparators):
            left = node.left
            name = left.attr if isinstance(left, ast.Attribute) else getattr(left, "id", "")
            assert name != "dim", f"{path.name}:{node.lineno} branches on the dimension"


def test_dimension_table():
    assert sorted(SPATIAL) == [1, 2, 3]
    for dim, row in SPATIAL.items():
        x = torch.randn(1, 2, *(6,) * dim)
        w = torch.randn(3, 2, *(3,) * dim)
        assert row.conv(x, w, padding=1).shape == (1, 3, *(6,) * dim)
        assert isinstance(row.conv_module(2, 3, 3), torch.nn.Module)
        assert row.max_pool(x, 2).shape == row.avg_pool(x, 2).shape == (1, 2, *(3,) * dim)
        assert len(row.axes.split(", ")) == dim
    # a volume layer needs no code of its own: pooling on R^3 works from the table
    assert SpatialPool(2, dim=3)(torch.randn(1, 2, 4, 6, 6, 6)).shape == (1, 2, 4, 3, 3, 3)
    with pytest.raises(ValueError, match="spatial dimension must be one of"):
        spatial(4)


def test_group_interface_declares_what_the_core_calls():
    from wavenets.groups import Dihedral, Dilation, Group, Rotation, Trivial

    for name in ("dims", "dilates_kernels", "kernel_fan_in_taps", "octave_voices", "out_group", "check_dim",
                 "lifting_plan", "group_plan", "default_group_kernel_size", "act_on_signal", "act_on_features"):
        assert hasattr(Group, name), name
    assert Dilation(3).dilates_kernels
    assert not any(g.dilates_kernels for g in (Trivial(), Rotation(4), Dihedral(4)))
