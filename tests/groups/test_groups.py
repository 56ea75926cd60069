"""Group axioms for every group, and the actions as homomorphisms."""
import itertools
import math

import pytest
import torch

from wavenets.groups import Dihedral, Dilation, Rotation, Trivial, disk_mask

FINITE = [Trivial(), Rotation(1), Rotation(2), Rotation(4), Rotation(8), Rotation(16), Dihedral(1),
          Dihedral(4), Dihedral(8), Rotation(8, mask=True)]
DILATIONS = [Dilation(1), Dilation(5), Dilation(9), Dilation(6, 2**0.5), Dilation(4, 2**0.25)]


@pytest.mark.parametrize("group", FINITE, ids=repr)
def test_finite_group_axioms(group):
    n = group.order
    table = group.cayley_table()
    e = group.identity()
    assert table.shape == (n, n)
    assert torch.all(table >= 0), "a finite group must be closed"
    for a in range(n):  # Latin square: every row and column is a permutation
        assert sorted(table[a].tolist()) == list(range(n))
        assert sorted(table[:, a].tolist()) == list(range(n))
        assert table[e, a] == a and table[a, e] == a
        inv = group.inverse(a)
        assert table[a, inv] == e and table[inv, a] == e
    for a, b, c in itertools.product(range(n), repeat=3):
        assert table[table[a, b], c] == table[a, table[b, c]]


@pytest.mark.parametrize("group", [g for g in FINITE if not isinstance(g, Trivial)], ids=repr)
def test_matrices_represent_the_table(group):
    for a, b in itertools.product(range(group.order), repeat=2):
        prod = group.matrix(a, 2) @ group.matrix(b, 2)
        assert torch.allclose(prod, group.matrix(group.product(a, b), 2), atol=1e-12)
        assert torch.allclose(group.matrix(a, 2) @ group.matrix(a, 2).T, torch.eye(2, dtype=torch.float64),
                              atol=1e-12)


def test_rotation_elements_and_dihedral_layout():
    r = Rotation(8)
    assert torch.allclose(r.elements(), torch.arange(8, dtype=torch.float64) * math.pi / 4, atol=1e-15)
    d = Dihedral(4)
    assert d.order == 8
    assert torch.linalg.det(d.matrix(0, 2)) == 1 and torch.linalg.det(d.matrix(4, 2)) == -1
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert torch.equal(d.act_on_signal(x, 4), torch.flip(x, dims=[-1]))
    assert torch.equal(r.act_on_signal(x, 2), torch.rot90(x, 1, dims=(-2, -1)))


@pytest.mark.parametrize("group", DILATIONS, ids=repr)
def test_dilation_axioms_where_defined(group):
    n = group.order
    table = group.cayley_table()
    e = group.identity()
    assert torch.allclose(group.elements(), group.base ** torch.arange(n, dtype=torch.float64))
    for a, b in itertools.product(range(n), repeat=2):
        # closure exactly where the exponent stays in the sampled range
        assert (table[a, b] >= 0) == (a + b < n)
        if a + b < n:
            assert table[a, b] == a + b
            assert math.isclose(group.elements()[a] * group.elements()[b], group.elements()[a + b], rel_tol=1e-12)
    for a in range(n):
        assert table[e, a] == a
        assert group.inverse(a) == (0 if a == 0 else None)  # contractions are not sampled
    for a, b, c in itertools.product(range(n), repeat=3):
        if a + b + c < n:
            assert table[table[a, b], c] == table[a, table[b, c]]


def test_dilation_with_start_has_no_identity():
    g = Dilation(3, start=2)
    with pytest.raises(ValueError, match="identity"):
        g.identity()
    assert torch.allclose(g.elements(), torch.tensor([4.0, 8.0, 16.0], dtype=torch.float64))


@pytest.mark.parametrize("group", [Rotation(4), Rotation(8), Dihedral(4), Dihedral(2)], ids=repr)
def test_signal_and_feature_actions_are_homomorphisms(group):
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    feats = torch.randn(2, 3, group.order, 9, 9, dtype=torch.float64)
    exact = [g for g in range(group.order) if group.is_exact(g)]
    for a, b in itertools.product(exact, repeat=2):
        ab = group.product(a, b)
        assert torch.equal(group.act_on_signal(group.act_on_signal(x, b), a), group.act_on_signal(x, ab))
        assert torch.equal(group.act_on_features(group.act_on_features(feats, b), a),
                           group.act_on_features(feats, ab))


def test_act_on_coords_rotates_counter_clockwise_in_row_col_frame():
    r = Rotation(4)
    p = torch.tensor([[0.0, 1.0]], dtype=torch.float64)  # right of the centre
    up = torch.tensor([[-1.0, 0.0]], dtype=torch.float64)  # row -1: above the centre
    assert torch.allclose(r.act_on_coords(1, p), up, atol=1e-12)
    img = torch.zeros(1, 1, 3, 3)
    img[..., 1, 2] = 1  # the same point in an image
    assert torch.rot90(img, 1, dims=(-2, -1))[0, 0, 0, 1] == 1 == r.act_on_signal(img, 1)[0, 0, 0, 1]
    assert torch.allclose(Dilation(3).act_on_coords(2, p), 4 * p)


def test_dilation_signal_action():
    d = Dilation(4)
    x = torch.arange(10.0).view(1, 1, 10)
    assert torch.equal(d.act_on_signal(x, -1), x[..., ::2])
    assert torch.equal(d.act_on_signal(x, -2), x[..., ::4])
    assert d.is_exact(-1) and d.is_exact(0) and not d.is_exact(1)
    stretched = d.act_on_signal(x, 1)
    assert stretched.shape[-1] == 19
    assert torch.allclose(stretched[..., ::2], x)  # a ramp is reproduced by cubic interpolation
    assert torch.allclose(stretched[..., 3:-3:2], x[..., 1:-2] + 0.5)  # away from the zero padding
    assert not Dilation(4, 2**0.5).is_exact(-1) and Dilation(4, 2**0.5).is_exact(-2)


def test_dilation_feature_action_shifts_the_scale_axis_with_nan():
    d = Dilation(4)
    f = torch.arange(4.0).view(1, 1, 4, 1).expand(1, 1, 4, 6)
    out = d.act_on_features(f, -1)
    assert out.shape == (1, 1, 4, 3)
    assert torch.equal(out[0, 0, :3, 0], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.isnan(out[0, 0, 3]).all()


def test_disk_mask_counts():
    assert [int(disk_mask(k).sum()) for k in (3, 5, 7)] == [9, 21, 37]


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        Rotation(0)
    with pytest.raises(ValueError, match="base > 1"):
        Dilation(3, base=1.0)
    with pytest.raises(ValueError, match="direction"):
        Dilation(3, direction="up")
