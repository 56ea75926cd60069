"""Octave levels laid end to end (wavenets.nn._pack): one call for the short levels of a pyramid
layer gives what the separate calls give, forward and backward, for every kind of layer the
pyramid runs (strided lifting, multi-block group convs, 'valid' and int padding, EXPAND, the
frozen export)."""
import pytest
import torch

import wavenets.nn._pack as pack
from wavenets.groups import Dilation, Trivial
from wavenets.models import MNet, SampleCNN, model_from_config
from wavenets.nn import GroupConv, LiftingConv, PerLevel, PyramidGroupConv, export, scale_pyramid
from wavenets.train import load_recipe

LENGTHS = [1500, 301, 150, 75, 38, 19, 10, 5, 3, 2, 1]  # one level above PACK_BELOW, the rest below


def _levels(c, g=None, lengths=LENGTHS):
    torch.manual_seed(1)
    shape = (2, c) if g is None else (2, c, g)
    return [torch.randn(*shape, n, dtype=torch.float64, requires_grad=True) for n in lengths]


def _grads(outs, xs):
    torch.manual_seed(2)
    loss = sum((o * torch.randn_like(o)).sum() for o in outs)
    return torch.autograd.grad(loss, xs)


@pytest.mark.parametrize("make", [
    lambda: LiftingConv(Dilation(1), 2, 3, 7, dim=1, stride=4),  # the pyramid front: strided 'same'
    lambda: LiftingConv(Trivial(), 2, 3, 8, dim=1, stride=3, padding="valid"),
    lambda: LiftingConv(Trivial(), 2, 3, 5, dim=1, stride=2, padding=4),
    lambda: GroupConv(Dilation(3), 2, 3, 3, dim=1, group_kernel_size=2, group_padding="valid"),
    lambda: GroupConv(Dilation(3, 2**0.5), 2, 3, 5, dim=1),  # several blocks, several dilations
])
def test_packed_convolution_equals_level_by_level(make):
    layer = make().double()
    lifting = isinstance(layer, LiftingConv)
    xs = [x for x in _levels(2, None if lifting else layer.group.order) if x.shape[-1] >= layer.kernel_size]
    ref = [layer(x) for x in xs]
    out = layer.forward_packed(xs)
    assert [o.shape for o in out] == [r.shape for r in ref]
    assert max((o - r).abs().max().item() for o, r in zip(out, ref)) < 1e-12
    for a, b in zip(_grads(out, xs), _grads(ref, xs)):
        assert torch.allclose(a, b, atol=1e-12)
    frozen = export(layer)  # the deployed form packs the same way
    assert max((o - r).abs().max().item() for o, r in zip(frozen.forward_packed(xs), ref)) < 1e-12


def test_packed_call_groups_inputs_by_their_other_axes():
    """A pyramid's top level may hold fewer voices: it runs alone, the others are packed."""
    xs = [torch.randn(2, 3, 40), torch.randn(2, 3, 20), torch.randn(2, 1, 10)]
    calls = []

    def run(t):
        calls.append(tuple(t.shape))
        return 2 * t

    out = pack.packed_call(run, xs, gap=1, out_span=lambda i, start: (start, xs[i].shape[-1]))
    assert all(torch.equal(o, 2 * x) for o, x in zip(out, xs))
    assert calls == [(2, 1, 10), (2, 3, 61)]  # the odd one alone; the two others in one call with a gap of 1


def _outputs(model, x, below, monkeypatch):
    monkeypatch.setattr(pack, "PACK_BELOW", below)
    model.zero_grad()
    y = model(x)
    (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
    return y.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("make", [
    lambda: MNet(Dilation(6), "m34res", 5, width=4, lift_kernel=15, layout="pyramid"),  # 3 scale taps, zero padding
    lambda: MNet(Dilation(9, 2**0.5), "m5", 5, width=4, lift_kernel=15, layout="pyramid"),  # voices
    lambda: SampleCNN(Dilation(9), 5, width=4, dropout=0.0, layout="pyramid"),
])
def test_packed_pyramid_networks_equal_level_by_level(make, monkeypatch):
    """Whole networks (training mode: batch statistics shared over levels), packed against one
    call per level, outputs and every parameter's gradient."""
    torch.manual_seed(0)
    model = make().double()
    x = torch.randn(3, 1, 4000 if isinstance(model, MNet) else 3**7, dtype=torch.float64)
    y0, g0 = _outputs(model, x, 0, monkeypatch)
    y1, g1 = _outputs(model, x, 1024, monkeypatch)
    assert torch.allclose(y0, y1, atol=1e-10)
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(g0, g1))


def test_pyramid_group_conv_packs_its_expansions(monkeypatch):
    """A layer spanning 3 scales reads two coarser levels through EXPAND: one packed call per
    octave step, equal to the per-level expansions."""
    torch.manual_seed(0)
    layer = PyramidGroupConv(Dilation(7), 2, 3, 3, dim=1, group_kernel_size=3).double()
    x = [lv.unsqueeze(2) for lv in scale_pyramid(torch.randn(2, 2, 3000, dtype=torch.float64), 7, 1)]
    monkeypatch.setattr(pack, "PACK_BELOW", 0)
    ref = layer(x)
    monkeypatch.setattr(pack, "PACK_BELOW", 1024)
    out = layer(x)
    assert max((o - r).abs().max().item() for o, r in zip(out, ref)) < 1e-12


@pytest.mark.parametrize("group, taps, gap", [
    (Dilation(7), 3, 1),  # two octaves of coarser slots, the smallest gap
    (Dilation(7), 2, 3),
    (Dilation(9, 2**0.5), 5, 2),  # two voices a level, a short top level (one voice)
])
def test_kept_stacks_of_the_short_levels_are_built_together(group, taps, gap, monkeypatch):
    """In eval mode the local stacks of the short levels (one part) are built at once, an octave
    of slots at a time, by one EXPAND of the whole part and a gather: the layer's outputs on the
    kept levels equal its level-by-level outputs (float64), and the joint build ran."""
    monkeypatch.setattr(pack, "PACK_BELOW", 700)
    torch.manual_seed(0)
    layer = PyramidGroupConv(group, 2, 3, 3, dim=1, group_kernel_size=taps).double().eval()
    v = group.octave_voices()
    levels = [torch.randn(2, 2, min(v, group.order - j * v), n, dtype=torch.float64)
              for j, n in enumerate([1500, 750, 375, 188, 94, 47, 24, 12, 6][:layer.in_levels])]
    together = []
    real = PyramidGroupConv._shared_stacks
    monkeypatch.setattr(PyramidGroupConv, "_shared_stacks", lambda *a: together.append(1) or real(*a))
    with torch.no_grad():
        ref = layer(levels)
        out = layer(pack.PackedLevels.pack(levels, gap)).zeroed().levels()
    assert together
    assert [o.shape for o in out] == [r.shape for r in ref]
    assert max((o - r).abs().max().item() for o, r in zip(out, ref)) < 1e-12


def test_packed_levels_lay_out_views_and_zero_their_gaps(monkeypatch):
    """PackedLevels: a level longer than PACK_BELOW is a part of its own (its tensor, no copy);
    the short ones share one part, the gap before, between and after them; levels read back as
    views; a short top level's missing slots are zero; zeroed() clears what a layer wrote there."""
    monkeypatch.setattr(pack, "PACK_BELOW", 8)
    levels = [torch.randn(2, 3, 2, n) for n in (20, 10, 5)] + [torch.randn(2, 3, 1, 3)]
    p = pack.PackedLevels.pack(levels, gap=2)
    assert p.part == [0, 1, 2, 2] and p.starts == [0, 0, 2, 9] and p.slots == [2, 2, 2, 1]
    assert p.parts[0] is levels[0] and p.parts[1] is levels[1] and p.parts[2].shape == (2, 3, 2, 14)
    assert all(torch.equal(a, b) for a, b in zip(p.levels(), levels))
    short = p.parts[2]
    assert short[..., :2].abs().sum() == 0 and short[..., 7:9].abs().sum() == 0 and short[..., 12:].abs().sum() == 0
    assert short[:, :, 1, 9:12].abs().sum() == 0  # the top level's missing slot
    q = p.map(lambda t: t + 1).zeroed()
    assert all(torch.equal(a, b + 1) for a, b in zip(q.levels(), levels))
    masks = q.masks()
    assert masks[0] is None and masks[1] is None and masks[2].sum() == 2 * 5 + 3
    assert (q.parts[2] * (1 - masks[2])).abs().sum() == 0


def _kept_and_level_by_level(model, x, monkeypatch):
    kept = []
    real = PyramidGroupConv._forward_kept
    monkeypatch.setattr(PyramidGroupConv, "_forward_kept", lambda self, h: kept.append(1) or real(self, h))
    with torch.no_grad():
        monkeypatch.setattr(pack, "KEEP_PACKED", True)
        y1 = model(x)
        monkeypatch.setattr(pack, "KEEP_PACKED", False)
        n = len(kept)
        y0 = model(x)
    assert n > 0 and len(kept) == n  # the first run kept the levels packed, the second did not
    return y1, y0


@pytest.mark.parametrize("make", [
    lambda: MNet(Dilation(9, start=1), "m34res", 5, width=4, lift_kernel=15, layout="pyramid"),  # residual, 3 taps
    lambda: MNet(Dilation(9), "m11", 5, width=4, lift_kernel=15, layout="pyramid"),  # 'valid' scale cropping
    lambda: MNet(Dilation(9, 2**0.5), "m5", 5, width=4, lift_kernel=15, layout="pyramid"),  # voices, 5-tap kernels
    lambda: model_from_config({**load_recipe("sounds_wnet_pyramid_vote")["model"], "width": 4, "order": 5,
                               "anchor_levels": 5}, in_channels=1, num_classes=6),  # the vote readout's recipe
])
@pytest.mark.parametrize("below", [1024, 60])
def test_eval_mode_keeps_the_levels_packed_and_equals_level_by_level(make, below, monkeypatch):
    """In eval mode the blocks run on levels kept packed from block to block (with long levels
    as parts of their own: PACK_BELOW 60); logits equal the level-by-level path (float64, random
    running statistics)."""
    monkeypatch.setattr(pack, "PACK_BELOW", below)
    torch.manual_seed(0)
    model = make().double()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    model.eval()
    x = torch.randn(3, 1, 6001, dtype=torch.float64)
    y1, y0 = _kept_and_level_by_level(model, x, monkeypatch)
    assert torch.allclose(y1, y0, rtol=0, atol=1e-12 * y0.abs().max().item())
    model.train()  # training (batch statistics over the levels) never packs the levels between blocks
    kept = []
    real = PyramidGroupConv._forward_kept
    monkeypatch.setattr(PyramidGroupConv, "_forward_kept", lambda self, h: kept.append(1) or real(self, h))
    monkeypatch.setattr(pack, "KEEP_PACKED", True)
    model(x)
    assert not kept


def test_kept_levels_follow_gradients_in_eval_mode(monkeypatch):
    """Eval mode with gradients wanted (a saliency map, an attack): the blocks still run on the
    levels kept packed, their stacks built with autograd-safe EXPANDs; input gradients equal the
    level-by-level path's (float64)."""
    torch.manual_seed(0)
    model = MNet(Dilation(9, start=1), "m34res", 5, width=4, lift_kernel=15, layout="pyramid").double().eval()
    x = torch.randn(2, 1, 6001, dtype=torch.float64)
    grads = []
    for keep in (True, False):
        monkeypatch.setattr(pack, "KEEP_PACKED", keep)
        xg = x.clone().requires_grad_()
        y = model(xg)
        (g,) = torch.autograd.grad((y * torch.arange(5.0, dtype=y.dtype)).sum(), xg)
        grads.append((y.detach(), g))
    (y1, g1), (y0, g0) = grads
    assert torch.allclose(y1, y0, rtol=0, atol=1e-12 * y0.abs().max().item())
    assert torch.allclose(g1, g0, rtol=0, atol=1e-12 * g0.abs().max().item())


def test_flat_levels_are_views_of_one_tensor_and_map_it_once():
    """FlatLevels: the levels are views of one [B, C, N] tensor; an elementwise map gives what it
    gives level by level; adopt() takes levels of the same shapes (copying a plain list once) and
    refuses others."""
    torch.manual_seed(0)
    shapes = [(2, 9), (2, 5), (1, 3)]
    flat = torch.randn(3, 4, sum(a * b for a, b in shapes))
    levels = pack.FlatLevels(flat, shapes)
    assert [tuple(t.shape) for t in levels] == [(3, 4, *s) for s in shapes]
    assert all(t.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr() for t in levels)
    relu = levels.map(torch.relu)
    assert isinstance(relu, pack.FlatLevels) and all(torch.equal(a, torch.relu(b)) for a, b in zip(relu, levels))
    plain = [t.clone() * 2 for t in levels]
    adopted = levels.adopt(plain)
    summed = levels.map(torch.add, adopted)
    assert all(torch.equal(s, a + b) for s, a, b in zip(summed, levels, plain))
    assert levels.adopt(relu) is relu
    assert levels.adopt(plain[:2]) is None and levels.adopt([t[..., :-1] for t in plain]) is None


def test_unpacked_outputs_get_their_gradients_and_zeros_elsewhere():
    """packed_call's unpacking (the outputs between the gaps, as views): gradcheck in float64 with
    some outputs unused (their gradient is zero, like the gaps')."""
    y = torch.randn(2, 3, 20, dtype=torch.float64, requires_grad=True)
    sizes = [1, 6, 2, 5, 2, 3, 1]

    def f(t):
        a, b, c = pack._Unpack.apply(t, sizes)
        return a * 2, c.sin()  # b unused

    assert torch.autograd.gradcheck(f, (y,))
    a, b, c = pack._Unpack.apply(y, sizes)
    (g,) = torch.autograd.grad(b.sum(), y)
    want = torch.zeros_like(y)
    want[..., 9:14] = 1
    assert torch.equal(g, want)


@pytest.mark.parametrize("make", [
    lambda: MNet(Dilation(6), "m34res", 5, width=4, lift_kernel=15, layout="pyramid"),  # residual, new channels
    lambda: MNet(Dilation(6, 2**0.5), "m11", 5, width=4, lift_kernel=15, layout="pyramid"),  # voices, no residual
    lambda: SampleCNN(Dilation(9), 5, width=4, dropout=0.0, layout="pyramid"),  # PerLevel(nn.ReLU)
])
def test_training_runs_elementwise_layers_once_on_flat_levels(make, monkeypatch):
    """Training: batch norm returns its levels as views of one tensor, and the ReLUs and residual
    sums after it run once on that tensor. Outputs and every gradient equal the level-by-level
    run (batch norm made to return a plain list; float64)."""
    import wavenets.nn._norm as norm
    torch.manual_seed(0)
    model = make().double().train()
    x = torch.randn(3, 1, 4000 if isinstance(model, MNet) else 3**7, dtype=torch.float64)
    flat_outputs = []
    last = [m for m in model.features if type(m).__name__ == "_Block" or
            isinstance(m, PerLevel) and isinstance(m.module, torch.nn.ReLU)][-1]  # the last block, or ReLU
    last.register_forward_hook(lambda m, i, o: flat_outputs.append(isinstance(o, pack.FlatLevels)))
    runs = []
    for flat in (True, False):
        if not flat:
            monkeypatch.setattr(norm, "FlatLevels", lambda y, shapes: list(pack.FlatLevels(y, shapes)))
        model.zero_grad()
        y = model(x)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
        runs.append((y.detach(), [p.grad.clone() for p in model.parameters()]))
    assert flat_outputs == [True, False]  # the flat run kept the levels flat to the last layers
    (y1, g1), (y0, g0) = runs
    assert torch.allclose(y1, y0, rtol=0, atol=1e-13 * y0.abs().max().item())
    assert all(torch.allclose(a, b, rtol=1e-10, atol=1e-12) for a, b in zip(g1, g0))


def test_pyramid_networks_trace_to_plain_operators():
    """torch.jit.trace of a pyramid W-Net (eval mode: packed levels, 3-tap stacks, EXPAND) records
    plain tensor operators, no Python autograd Function (which TorchScript and ONNX cannot
    serialise) and no write through out= (which a graph run with gradients cannot follow); the
    trace gives the eager logits and input gradients."""
    import warnings
    torch.manual_seed(0)
    model = MNet(Dilation(9, start=1), "m34res", 5, width=4, lift_kernel=15, layout="pyramid").eval()
    x = torch.randn(2, 1, 6001)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the trace's warnings about shapes read as Python numbers
        traced = torch.jit.trace(model, x, check_trace=False)
        assert "PythonOp" not in str(traced.inlined_graph)
        y = model(x)
        assert torch.allclose(traced(x), y, rtol=0, atol=1e-5 * y.abs().max().item())  # (float32, other rounding)
    # traced without gradients, the graph still runs with them (a saliency map of the traced model)
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(traced(xg).sum(), xg)
    (g0,) = torch.autograd.grad(model(xg).sum(), xg)
    assert torch.allclose(g, g0, rtol=0, atol=1e-5 * g0.abs().max().item())
